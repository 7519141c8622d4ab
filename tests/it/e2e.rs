//! The walking skeleton end to end: real registry, real base images (both
//! flavours), the example app's real PyPI wheels, and independent readers
//! (skopeo, umoci, chroot) of everything pyko writes.

use crate::common::run::{json, pyko, skopeo};

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::Registry;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "pyko failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn sha256_file(p: &Path) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(p).unwrap(), &mut h).unwrap();
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Builds the example onto `flavour`, pushing and writing a tarball and an
/// OCI layout (tagged `app`) in one run.
struct Built {
    _reg: Registry,
    base_ref: String,
    pushed: String,
    tarball: PathBuf,
    dir: tempfile::TempDir,
}

fn build_example(flavour: Flavour) -> Built {
    let reg = Registry::start();
    let base_ref = fixtures::push_base(&reg, flavour, "library/python:3.11-test");
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("app.tar");
    let dest = format!("{}/demo/app:1.0", reg.host);
    let out = pyko(
        &[
            "build",
            "--from",
            &base_ref,
            "--wheels",
            fixtures::wheelhouse().to_str().unwrap(),
            "--app",
            fixtures::example_app().to_str().unwrap(),
            "--port",
            "8501",
            "--cmd",
            "streamlit run app.py",
            "--push",
            &dest,
            "--tarball",
            tarball.to_str().unwrap(),
            "--oci-layout",
            dir.path().join("layout").to_str().unwrap(),
            "--tag",
            "app",
        ],
        &dir.path().join("cache"),
    );
    let stdout = ok(&out);
    // stdout carries exactly one line: the pushed reference with its digest.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {stdout:?}");
    let pushed = lines[0].to_string();
    let repo = dest.rsplit_once(':').unwrap().0;
    assert!(pushed.starts_with(&format!("{repo}@sha256:")), "{pushed}");
    Built {
        _reg: reg,
        base_ref,
        pushed,
        tarball,
        dir,
    }
}

fn check_registry_image(b: &Built) {
    let repo_ref = format!("{}:1.0", b.pushed.split('@').next().unwrap());
    let docker = format!("docker://{}", b.pushed);
    let cfg = json(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--config",
        &docker,
    ]));
    let c = &cfg["config"];
    assert_eq!(c["ExposedPorts"], serde_json::json!({"8501/tcp": {}}));
    assert_eq!(
        c["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "streamlit run app.py"])
    );
    assert_eq!(c["WorkingDir"], "/app");
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.iter()
            .any(|e| e.starts_with("PATH=") && e.contains("/usr/bin")),
        "{env:?}"
    );

    // Layers are the base's plus ours, and diff_ids line up.
    let base_raw = json(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{}", b.base_ref),
    ]));
    let base_manifest = if base_raw.get("manifests").is_some() {
        let d = base_raw["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let name = b.base_ref.rsplit_once(':').unwrap().0;
        json(&skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{name}@{d}"),
        ]))
    } else {
        base_raw
    };
    let manifest = json(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &docker,
    ]));
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let digests = |m: &serde_json::Value| -> Vec<String> {
        m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect()
    };
    let (ours, theirs) = (digests(&manifest), digests(&base_manifest));
    // The base's layers, then the deps layers (the example's 8 wheels over
    // 10 MB installed one each, its 31 small ones in 4 groups), then the app.
    assert_eq!(ours.len(), theirs.len() + 8 + 4 + 1);
    assert_eq!(&ours[..theirs.len()], &theirs[..]);
    assert_eq!(
        cfg["rootfs"]["diff_ids"].as_array().unwrap().len(),
        ours.len()
    );

    // Every blob the registry serves matches its digest (computed here, not
    // trusted from the copy tool).
    let copy = b.dir.path().join("copy");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{repo_ref}"),
        &format!("dir:{}", copy.display()),
    ]);
    for d in ours.iter().chain(std::iter::once(
        &manifest["config"]["digest"].as_str().unwrap().to_string(),
    )) {
        let file = copy.join(d.trim_start_matches("sha256:"));
        assert_eq!(sha256_file(&file), *d, "blob {d}");
    }
}

fn check_tarball_runs(b: &Built, serve: bool) {
    let t = b.tarball.display().to_string();
    let from_docker = b.dir.path().join("from-docker");
    skopeo(&[
        "copy",
        &format!("docker-archive:{t}"),
        &format!("oci:{}:app", from_docker.display()),
    ]);
    let from_oci = b.dir.path().join("from-oci");
    skopeo(&[
        "copy",
        &format!("oci-archive:{t}"),
        &format!("oci:{}:app", from_oci.display()),
    ]);

    let rootfs = fixtures::unpack_oci(&from_oci, "app");
    let out = rootfs.chroot(&[
        "python3",
        "-c",
        "import numpy, pandas, sklearn, streamlit; print(numpy.__version__)",
    ]);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = rootfs.chroot(&["streamlit", "--version"]);
    assert!(
        out.status.success(),
        "launcher failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Streamlit, version"));

    if serve {
        let port = crate::common::registry::free_port();
        let cmd = format!(
            "cd /app && exec streamlit run app.py --server.port={port} --server.address=127.0.0.1 --server.headless=true --browser.gatherUsageStats=false"
        );
        // Served from pyko's own --oci-layout, unpacked by umoci.
        let layout_rootfs = fixtures::unpack_oci(&b.dir.path().join("layout"), "app");
        let mut child = layout_rootfs.spawn_in_chroot(&["/bin/sh", "-c", &cmd], &[]);
        let res = fixtures::wait_http(
            &format!("http://127.0.0.1:{port}/_stcore/health"),
            std::time::Duration::from_secs(90),
        );
        let _ = child.kill();
        let _ = child.wait();
        let body = res.expect("the example app answers on its health endpoint");
        assert!(body.contains("ok"), "{body}");
    }
}

#[test]
fn example_on_official_layout_base() {
    let b = build_example(Flavour::Slim);
    check_registry_image(&b);
    check_tarball_runs(&b, true);
}

#[test]
fn example_on_debian_system_python_base() {
    let b = build_example(Flavour::Debian);
    check_registry_image(&b);
    check_tarball_runs(&b, false);
}
