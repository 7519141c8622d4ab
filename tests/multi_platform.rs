//! `--platform linux/amd64,linux/arm64` from one wheel directory: one image
//! per platform behind an OCI index, nothing emulated. The arm64 base is
//! Debian's arm64 packages unpacked without running them
//! (`tests/fixtures/arm64-base.sh`), the arm64 wheels real ones from PyPI.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::fixtures::{self, Flavour};
use common::registry::Registry;

fn pyko(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pyko"))
        .args(args)
        .env("PYKO_CACHE_DIR", cache)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run pyko")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("run tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// (arm64 base layout, arm64 wheel dir), cached by the fixture script.
fn arm64_fixture() -> (PathBuf, PathBuf) {
    for t in ["mmdebstrap", "umoci", "flock"] {
        fixtures::require_tool(t);
    }
    let script = fixtures::repo_root().join("tests/fixtures/arm64-base.sh");
    let out = run(Command::new("bash").arg(script));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    (PathBuf::from(lines[0]), PathBuf::from(lines[1]))
}

/// Pushes the amd64 Debian base and the arm64 base, then one OCI index
/// over both as `library/python:3.11-multi`.
fn push_multi_base(reg: &Registry, arm64_layout: &Path) -> String {
    let amd64 = fixtures::push_base(reg, Flavour::Debian, "library/python:amd64");
    let arm64 = format!("{}/library/python:arm64", reg.host);
    run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        &format!("oci:{}:latest", arm64_layout.display()),
        &format!("docker://{arm64}"),
    ]));
    let entry = |r: &str, arch: &str| {
        let raw = run(Command::new("skopeo").args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{r}"),
        ]));
        use sha2::Digest;
        serde_json::json!({
            // umoci's manifests carry no mediaType; the index must.
            "mediaType": json(&raw)["mediaType"]
                .as_str()
                .unwrap_or("application/vnd.oci.image.manifest.v1+json"),
            "digest": format!("sha256:{}", hex::encode(sha2::Sha256::digest(raw.as_bytes()))),
            "size": raw.len(),
            "platform": {"architecture": arch, "os": "linux"},
        })
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&amd64, "amd64"), entry(&arm64, "arm64")],
    });
    run(Command::new("curl").args([
        "-fsS",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.index.v1+json",
        "--data-binary",
        &index.to_string(),
        &format!("http://{}/v2/library/python/manifests/3.11-multi", reg.host),
    ]));
    format!("{}/library/python:3.11-multi", reg.host)
}

/// ELF `e_machine` of every `.so` in the (multi-member) gzip layer at `blob`.
fn so_machines(blob: &Path) -> Vec<(String, u16)> {
    let f = std::fs::File::open(blob).unwrap();
    let mut ar = tar::Archive::new(flate2::read::MultiGzDecoder::new(f));
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        if path.ends_with(".so") {
            let mut head = [0u8; 20];
            e.read_exact(&mut head).unwrap();
            assert_eq!(&head[..4], b"\x7fELF", "{path}");
            out.push((path, u16::from_le_bytes([head[18], head[19]])));
        }
    }
    out
}

#[test]
fn amd64_and_arm64_behind_one_index() {
    for t in ["skopeo", "curl"] {
        fixtures::require_tool(t);
    }
    let (arm64_layout, arm64_wheels) = arm64_fixture();
    let reg = Registry::start();
    let base = push_multi_base(&reg, &arm64_layout);

    // One wheel dir: numpy for both architectures plus a pure wheel.
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let mut copied = 0;
    for dir in [fixtures::wheelhouse(), arm64_wheels] {
        for p in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            if n.starts_with("numpy-") || n.starts_with("packaging-") {
                std::fs::copy(&p, wheels.join(&n)).unwrap();
                copied += 1;
            }
        }
    }
    assert_eq!(copied, 3, "numpy x86_64 + aarch64, packaging");

    // Without the arm64 wheel, the arm64 platform fails naming it.
    let only_amd64 = tmp.path().join("only-amd64");
    std::fs::create_dir(&only_amd64).unwrap();
    for p in std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
    {
        if !p.to_string_lossy().contains("aarch64") {
            std::fs::copy(&p, only_amd64.join(p.file_name().unwrap())).unwrap();
        }
    }
    let dest = format!("{}/demo/multi:1", reg.host);
    let layout = tmp.path().join("layout");
    let cache = tmp.path().join("cache");
    let out = pyko(
        &[
            "build",
            "--from",
            &base,
            "--platform",
            "linux/amd64,linux/arm64",
            "--wheels",
            only_amd64.to_str().unwrap(),
            "--push",
            &dest,
        ],
        &cache,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("linux/arm64") && err.contains("numpy"),
        "names the platform and the package:\n{err}"
    );

    let out = pyko(
        &[
            "build",
            "--from",
            &base,
            "--platform",
            "linux/amd64,linux/arm64",
            "--wheels",
            wheels.to_str().unwrap(),
            "--cmd",
            "python3.11 -c 'import numpy'",
            "--push",
            &dest,
            "--oci-layout",
            layout.to_str().unwrap(),
            "--tag",
            "multi:1",
        ],
        &cache,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pyko failed:\n{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let index_digest = stdout.trim().rsplit_once('@').unwrap().1.to_string();

    let raw = run(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{dest}"),
    ]));
    {
        use sha2::Digest;
        assert_eq!(
            format!(
                "sha256:{}",
                hex::encode(sha2::Sha256::digest(raw.as_bytes()))
            ),
            index_digest
        );
    }
    let index = json(&raw);
    let layout_index = json(&std::fs::read_to_string(layout.join("index.json")).unwrap());
    assert_eq!(
        layout_index["manifests"][0]["digest"],
        index_digest.as_str()
    );
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let archs: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);

    for (arch, machine) in [("arm64", 183u16), ("amd64", 62)] {
        let cfg = json(&run(Command::new("skopeo").args([
            "--override-arch",
            arch,
            "inspect",
            "--config",
            "--tls-verify=false",
            &format!("docker://{dest}"),
        ])));
        assert_eq!(cfg["architecture"], arch);
        // The layout holds the same index under the --tag name.
        let local = json(&run(Command::new("skopeo").args([
            "--override-arch",
            arch,
            "inspect",
            "--config",
            &format!("oci:{}:multi:1", layout.display()),
        ])));
        assert_eq!(local, cfg, "{arch}: layout and registry agree");
        let dir = tmp.path().join(format!("copy-{arch}"));
        run(Command::new("skopeo").args([
            "--override-arch",
            arch,
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{dest}"),
            &format!("dir:{}", dir.display()),
        ]));
        let m = json(&std::fs::read_to_string(dir.join("manifest.json")).unwrap());
        let deps = m["layers"].as_array().unwrap().last().unwrap()["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string();
        let sos = so_machines(&dir.join(deps));
        assert!(sos.len() > 10, "numpy's extension modules: {sos:?}");
        assert!(
            sos.iter().all(|(_, m)| *m == machine),
            "{arch}: every .so is e_machine {machine}: {sos:?}"
        );
    }
}
