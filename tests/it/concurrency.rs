//! Four builds at once on one cache directory, as CI runners sharing a
//! cache do: each downloads the same base layers and wheels into the same
//! cache at the same time. All must succeed, build the same image, and
//! leave a cache whose every blob still hashes to its name.

use std::path::Path;
use std::process::Stdio;

use crate::common::fixtures::{self, Flavour};
use crate::common::index::{sha256_hex, IndexServer};
use crate::common::registry::Registry;
use crate::common::run::pyko_cmd;

/// Every file under `blobs/sha256/` is named by its content's sha256.
fn verify_cache(cache: &Path) -> usize {
    let blobs = cache.join("blobs/sha256");
    let mut n = 0;
    for e in std::fs::read_dir(&blobs).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            sha256_hex(&p),
            name,
            "cache entry {} is corrupt",
            p.display()
        );
        n += 1;
    }
    n
}

#[test]
fn four_builds_share_one_cache() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:base");
    let wheels: Vec<_> = std::fs::read_dir(fixtures::wheelhouse())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            [
                "idna-",
                "packaging-",
                "click-",
                "h11-",
                "certifi-",
                "urllib3-",
            ]
            .iter()
            .any(|s| n.starts_with(s))
        })
        .collect();
    assert_eq!(wheels.len(), 6);
    let index = IndexServer::start(&wheels, true);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("app.py"), "print('hi')\n").unwrap();
    let req = dir.path().join("requirements.txt");
    let mut text = String::new();
    for w in &wheels {
        let n = w.file_name().unwrap().to_string_lossy().into_owned();
        let mut parts = n.split('-');
        let (name, version) = (parts.next().unwrap(), parts.next().unwrap());
        text.push_str(&format!(
            "{name}=={version} --hash=sha256:{}\n",
            sha256_hex(w)
        ));
    }
    std::fs::write(&req, text).unwrap();

    let children: Vec<_> = (0..4)
        .map(|i| {
            let tarball = dir.path().join(format!("app{i}.tar"));
            let child = pyko_cmd(&cache)
                .args(["build", "--from", &base, "-r"])
                .arg(&req)
                .args(["--index-url", &index.url, "--app"])
                .arg(&app)
                .args(["--cmd", "python app.py", "--push"])
                .arg(format!("{}/demo/app{i}:1", reg.host))
                .arg("--tarball")
                .arg(&tarball)
                .args(["--tag", "demo/app:1"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (child, tarball)
        })
        .collect();
    let mut digests = Vec::new();
    let mut tarballs = Vec::new();
    for (child, tarball) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "concurrent build failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let digest = stdout.trim().rsplit('@').next().unwrap().to_string();
        assert!(digest.starts_with("sha256:"), "{stdout}");
        digests.push(digest);
        tarballs.push(sha256_hex(&tarball));
    }
    assert!(digests.iter().all(|d| d == &digests[0]), "{digests:?}");
    assert!(tarballs.iter().all(|d| d == &tarballs[0]), "{tarballs:?}");
    // Each registry copy is the image pyko reported.
    for i in 0..4 {
        let raw = fixtures::inspect_raw(&reg, &format!("{}/demo/app{i}:1", reg.host));
        let bytes = serde_json::to_vec(&raw).unwrap();
        assert!(!bytes.is_empty());
    }
    let got = crate::faults::stored_digest(&reg, "demo/app0:1").unwrap();
    assert_eq!(got, digests[0]);
    // Base layers, configs and the six wheels, each once and intact.
    let n = verify_cache(&cache);
    assert!(n >= 6 + 2, "only {n} cache entries");
    let leftovers: Vec<_> = std::fs::read_dir(cache.join("tmp")).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "temp files left in the cache: {leftovers:?}"
    );

    // A fifth build after them reuses the cache and agrees.
    let out = pyko_cmd(&cache)
        .args(["build", "--from", &base, "-r"])
        .arg(&req)
        .args(["--index-url", &index.url, "--app"])
        .arg(&app)
        .args(["--cmd", "python app.py", "--push"])
        .arg(format!("{}/demo/app9:1", reg.host))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&digests[0]));
    let downloads = index
        .log()
        .iter()
        .filter(|l| l.starts_with("GET /files/"))
        .count();
    assert!(
        downloads <= 4 * 6,
        "the fifth build downloaded again: {downloads}"
    );
}
