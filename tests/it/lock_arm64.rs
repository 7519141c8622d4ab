//! Acceptance 3 of the lock inputs: the same pinned, hashed requirements
//! file builds `linux/arm64` on this amd64 machine. The index serves numpy
//! for both architectures; pyko must pick and download the aarch64 wheel,
//! and every installed `.so` must be an aarch64 ELF object. The arm64 base
//! is Debian's arm64 packages unpacked without running them
//! (`tests/fixtures/arm64-base.sh`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::fixtures;
use crate::common::index::{self, IndexServer};
use crate::common::registry::Registry;
use crate::common::run::pyko_cmd;

const EM_AARCH64: u16 = 183;

fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("run tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// (arm64 base layout, arm64 wheel dir), cached by the fixture script.
pub(crate) fn arm64_fixture() -> (PathBuf, PathBuf) {
    for t in ["mmdebstrap", "umoci", "flock", "skopeo"] {
        fixtures::require_tool(t);
    }
    let script = fixtures::repo_root().join("tests/fixtures/arm64-base.sh");
    let out = run(Command::new("bash").arg(script));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    (PathBuf::from(lines[0]), PathBuf::from(lines[1]))
}

/// ELF `e_machine` of every `.so` in the (multi-member) gzip layer at `blob`.
fn so_machines(blob: &Path) -> Vec<(String, u16)> {
    let f = std::fs::File::open(blob).unwrap();
    let mut ar = tar::Archive::new(flate2::read::MultiGzDecoder::new(f));
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        if path.ends_with(".so") || path.contains(".so.") {
            let mut head = [0u8; 20];
            e.read_exact(&mut head).unwrap();
            assert_eq!(&head[..4], b"\x7fELF", "{path}");
            out.push((path, u16::from_le_bytes([head[18], head[19]])));
        }
    }
    out
}

#[test]
fn hashed_requirements_build_linux_arm64_on_amd64() {
    let (arm64_layout, arm64_wheels) = arm64_fixture();
    let reg = Registry::start();
    let base = format!("{}/library/python:3.11-arm64", reg.host);
    run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        &format!("oci:{}:latest", arm64_layout.display()),
        &format!("docker://{base}"),
    ]));

    // numpy for both architectures and a pure wheel, on one index.
    let mut wheels: Vec<PathBuf> = Vec::new();
    for dir in [fixtures::wheelhouse(), arm64_wheels] {
        for p in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            if n.starts_with("numpy-") || n.starts_with("packaging-") {
                wheels.push(p);
            }
        }
    }
    wheels.sort();
    assert_eq!(
        wheels.len(),
        3,
        "numpy x86_64 + aarch64, packaging: {wheels:?}"
    );
    let server = IndexServer::start(&wheels, false);
    let name = |p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
    let arm_numpy = wheels
        .iter()
        .find(|w| name(w).starts_with("numpy-") && name(w).contains("aarch64"))
        .unwrap();
    let amd_numpy = wheels
        .iter()
        .find(|w| name(w).starts_with("numpy-") && name(w).contains("x86_64"))
        .unwrap();
    let packaging = wheels
        .iter()
        .find(|w| name(w).starts_with("packaging-"))
        .unwrap();
    let version = |w: &PathBuf| name(w).split('-').nth(1).unwrap().to_string();

    // Both numpy hashes, as `pip-compile --generate-hashes` writes for a
    // multi-platform lock; the aarch64 one must be the one that is used.
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("requirements.txt");
    std::fs::write(
        &req,
        format!(
            "numpy=={} \\\n    --hash=sha256:{} \\\n    --hash=sha256:{}\npackaging=={} \\\n    --hash=sha256:{}\n",
            version(arm_numpy),
            index::sha256_hex(amd_numpy),
            index::sha256_hex(arm_numpy),
            version(packaging),
            index::sha256_hex(packaging),
        ),
    )
    .unwrap();

    let layout = dir.path().join("layout");
    let out = pyko_cmd(&dir.path().join("cache"))
        .args(["build", "--from", &base, "--platform", "linux/arm64"])
        .arg("--requirements")
        .arg(&req)
        .args([
            "--index-url",
            &server.url,
            "--cmd",
            "python3.11 -c 'import numpy'",
        ])
        .arg("--oci-layout")
        .arg(&layout)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pyko failed:\n{stderr}");

    // The index saw exactly one wheel download per package, the aarch64 one.
    let downloads: Vec<String> = server
        .log()
        .into_iter()
        .filter(|l| l.starts_with("GET /files/"))
        .collect();
    assert_eq!(downloads.len(), 2, "{downloads:#?}");
    assert!(
        downloads
            .iter()
            .any(|l| l.contains(&name(arm_numpy)) && l.contains("-> 200")),
        "{downloads:#?}"
    );
    assert!(
        downloads.iter().any(|l| l.contains(&name(packaging))),
        "{downloads:#?}"
    );
    assert!(
        !downloads.iter().any(|l| l.contains("x86_64")),
        "{downloads:#?}"
    );

    // The image: arm64 config, and every .so in the deps layer is aarch64.
    let idx = json(&layout.join("index.json"));
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest = json(&blob(idx["manifests"][0]["digest"].as_str().unwrap()));
    let config = json(&blob(manifest["config"]["digest"].as_str().unwrap()));
    assert_eq!(config["architecture"], "arm64");
    assert_eq!(config["os"], "linux");
    let layers = manifest["layers"].as_array().unwrap();
    let mut sos = Vec::new();
    // Skip the base (first) layer: it holds Debian's arm64 libraries.
    for l in &layers[1..] {
        sos.extend(so_machines(&blob(l["digest"].as_str().unwrap())));
    }
    assert!(sos.len() > 10, "numpy's extension modules: {sos:?}");
    assert!(
        sos.iter()
            .any(|(p, _)| p.contains("numpy/_core/_multiarray_umath")),
        "{sos:?}"
    );
    assert!(
        sos.iter().all(|(_, m)| *m == EM_AARCH64),
        "every .so is aarch64: {sos:?}"
    );
}
