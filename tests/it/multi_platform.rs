//! `--platform linux/amd64,linux/arm64` from one wheel directory: one image
//! per platform behind an OCI index, nothing emulated. The arm64 base is
//! Debian's arm64 packages unpacked without running them
//! (`tests/fixtures/arm64-base.sh`), the arm64 wheels real ones from PyPI.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::Registry;
use crate::common::run::pyko;

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
/// The `.so` files of every layer of manifest `m` (deps are spread over
/// several layers, one per big wheel), with their ELF machine.
fn image_sos(m: &serde_json::Value, blob: impl Fn(&str) -> PathBuf) -> Vec<(String, u16)> {
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| {
            let hex = l["digest"].as_str().unwrap().trim_start_matches("sha256:");
            so_machines(&blob(hex))
        })
        .collect()
}

fn numpy_sos(sos: &[(String, u16)]) -> usize {
    sos.iter().filter(|(p, _)| p.contains("/numpy/")).count()
}

fn so_machines(blob: &Path) -> Vec<(String, u16)> {
    let f = std::fs::File::open(blob).unwrap();
    let mut ar = tar::Archive::new(flate2::read::MultiGzDecoder::new(f));
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        // Base layers also hold .so symlinks and hard links: only regular
        // files have an ELF header to read.
        if path.ends_with(".so") && e.header().entry_type().is_file() {
            let mut head = [0u8; 20];
            e.read_exact(&mut head).unwrap();
            assert_eq!(&head[..4], b"\x7fELF", "{path}");
            out.push((path, u16::from_le_bytes([head[18], head[19]])));
        }
    }
    out
}

/// (numpy for both architectures plus a pure wheel, the same without the
/// aarch64 numpy) under `dir`.
fn wheel_dirs(dir: &Path, arm64_wheels: &Path) -> (PathBuf, PathBuf) {
    let wheels = dir.join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let mut copied = 0;
    for d in [fixtures::wheelhouse(), arm64_wheels.to_path_buf()] {
        for p in std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()) {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            if n.starts_with("numpy-") || n.starts_with("packaging-") {
                std::fs::copy(&p, wheels.join(&n)).unwrap();
                copied += 1;
            }
        }
    }
    assert_eq!(copied, 3, "numpy x86_64 + aarch64, packaging");
    let only_amd64 = dir.join("only-amd64");
    std::fs::create_dir(&only_amd64).unwrap();
    for p in std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
    {
        if !p.to_string_lossy().contains("aarch64") {
            std::fs::copy(&p, only_amd64.join(p.file_name().unwrap())).unwrap();
        }
    }
    (wheels, only_amd64)
}

#[test]
fn amd64_and_arm64_behind_one_index() {
    for t in ["skopeo", "curl"] {
        fixtures::require_tool(t);
    }
    let (arm64_layout, arm64_wheels) = arm64_fixture();
    let reg = Registry::start();
    let base = push_multi_base(&reg, &arm64_layout);

    let tmp = tempfile::tempdir().unwrap();
    let (wheels, only_amd64) = wheel_dirs(tmp.path(), &arm64_wheels);
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
        let sos = image_sos(&m, |hex| dir.join(hex));
        assert!(numpy_sos(&sos) > 10, "numpy's extension modules: {sos:?}");
        assert!(
            sos.iter().all(|(_, m)| *m == machine),
            "{arch}: every .so is e_machine {machine}: {sos:?}"
        );
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn archs(index: &serde_json::Value) -> Vec<String> {
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_string())
        .collect()
}

/// `--platform all` finds both platforms in the base, and the tarball
/// carries the whole index for OCI readers plus the host's image for
/// `docker load`; with only x86_64 numpy, `all` skips arm64 and says why.
#[test]
fn platform_all_into_one_tarball() {
    for t in ["skopeo", "curl", "podman"] {
        fixtures::require_tool(t);
    }
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "the tarball's Docker image is the host's platform; this test expects an amd64 host"
    );
    let (arm64_layout, arm64_wheels) = arm64_fixture();
    let reg = Registry::start();
    let base = push_multi_base(&reg, &arm64_layout);
    let tmp = tempfile::tempdir().unwrap();
    let (wheels, only_amd64) = wheel_dirs(tmp.path(), &arm64_wheels);
    let cache = tmp.path().join("cache");
    let tar = tmp.path().join("multi.tar");
    let out = pyko(
        &[
            "build",
            "--from",
            &base,
            "--platform",
            "all",
            "--wheels",
            wheels.to_str().unwrap(),
            "--cmd",
            "python3.11 -c 'import numpy'",
            "--tarball",
            tar.to_str().unwrap(),
            "--tag",
            "localhost/multi:1",
        ],
        &cache,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pyko failed:\n{stderr}");
    assert!(!stderr.contains("skipping"), "{stderr}");
    let archive = format!("oci-archive:{}", tar.display());

    // index.json names one index, which lists both platforms.
    let raw = run(Command::new("skopeo").args(["inspect", "--raw", &archive]));
    let index = json(&raw);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(archs(&index), ["amd64", "arm64"]);
    let index_digest = sha256(raw.as_bytes());
    let mut ar = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    let mut files = std::collections::BTreeMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        if e.header().size().unwrap() < 1 << 16 && !path.ends_with('/') {
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            files.insert(path, s);
        }
    }
    let top = json(&files["index.json"]);
    assert_eq!(top["manifests"][0]["digest"], index_digest.as_str());
    assert_eq!(
        top["manifests"][0]["annotations"]["io.containerd.image.name"],
        "localhost/multi:1"
    );
    let amd64_manifest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();

    // Docker's manifest.json: only the amd64 image, under the tag.
    let docker = json(&files["manifest.json"]);
    assert_eq!(docker.as_array().unwrap().len(), 1, "{docker}");
    assert_eq!(
        docker[0]["RepoTags"],
        serde_json::json!(["localhost/multi:1"])
    );
    let cfg = json(&run(Command::new("skopeo").args([
        "inspect",
        "--config",
        &format!("docker-archive:{}", tar.display()),
    ])));
    assert_eq!(cfg["architecture"], "amd64");
    let copied = tmp.path().join("from-docker-archive");
    run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        &format!("docker-archive:{}", tar.display()),
        &format!("oci:{}:x", copied.display()),
    ]));
    let cfg_path = format!(
        "blobs/sha256/{}",
        docker[0]["Config"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
    );
    let amd64_cfg_digest = format!("sha256:{}", cfg_path.rsplit('/').next().unwrap());
    let copied_cfg = json(&run(Command::new("skopeo").args([
        "inspect",
        "--config",
        &format!("oci:{}:x", copied.display()),
    ])));
    assert_eq!(copied_cfg, cfg);

    // Each platform out of the archive, as its own image.
    for (arch, machine) in [("arm64", 183u16), ("amd64", 62)] {
        let dir = tmp.path().join(format!("oci-{arch}"));
        run(Command::new("skopeo").args([
            "--override-arch",
            arch,
            "copy",
            "--quiet",
            &archive,
            &format!("oci:{}:x", dir.display()),
        ]));
        let cfg = json(&run(Command::new("skopeo").args([
            "inspect",
            "--config",
            &format!("oci:{}:x", dir.display()),
        ])));
        assert_eq!(cfg["architecture"], arch);
        let m = json(&run(Command::new("skopeo").args([
            "inspect",
            "--raw",
            &format!("oci:{}:x", dir.display()),
        ])));
        if arch == "amd64" {
            assert_eq!(m["config"]["digest"], amd64_cfg_digest.as_str());
        }
        let sos = image_sos(&m, |hex| dir.join("blobs/sha256").join(hex));
        assert!(numpy_sos(&sos) > 10, "numpy's extension modules: {sos:?}");
        assert!(sos.iter().all(|(_, m)| *m == machine), "{arch}: {sos:?}");
    }

    // podman loads it, and gets the host's (amd64) image.
    let root = tmp.path().join("podman");
    let podman = crate::common::podman::Podman::new(&root);
    let podman = |args: &[&str]| podman.run(args);
    let loaded = podman(&["load", "-i", tar.to_str().unwrap()]);
    assert!(loaded.contains("localhost/multi:1"), "{loaded}");
    let info = json(&podman(&["image", "inspect", "localhost/multi:1"]));
    assert_eq!(info[0]["Architecture"], "amd64", "{info}");
    assert_eq!(
        info[0]["Config"]["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "python3.11 -c 'import numpy'"])
    );

    // Only x86_64 numpy: arm64 is skipped, named with the package.
    let layout = tmp.path().join("layout-amd64");
    let out = pyko(
        &[
            "build",
            "--from",
            &base,
            "--platform",
            "all",
            "--wheels",
            only_amd64.to_str().unwrap(),
            "--cmd",
            "python3.11 -c 'import numpy'",
            "--oci-layout",
            layout.to_str().unwrap(),
            "--tag",
            "one",
        ],
        &cache,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pyko failed:\n{stderr}");
    let note = stderr
        .lines()
        .find(|l| l.contains("skipping"))
        .unwrap_or_else(|| panic!("no skip note:\n{stderr}"));
    assert!(
        note.contains("linux/arm64") && note.contains("numpy"),
        "{note}"
    );
    let raw = run(Command::new("skopeo").args([
        "inspect",
        "--raw",
        &format!("oci:{}:one", layout.display()),
    ]));
    let index = json(&raw);
    assert_eq!(archs(&index), ["amd64"]);
    // The same amd64 layers as in the two-platform tarball (the config's
    // history counts the wheels in the directory, so it differs).
    let here = index["manifests"][0]["digest"].as_str().unwrap();
    let local =
        json(&std::fs::read_to_string(layout.join("blobs/sha256").join(&here[7..])).unwrap());
    let there = json(&files[&format!("blobs/sha256/{}", &amd64_manifest[7..])]);
    assert_eq!(local["layers"], there["layers"]);
    // The base, numpy's own layer (a big wheel), the group of small ones.
    assert_eq!(local["layers"].as_array().unwrap().len(), 3, "{local}");

    // A wheel for neither platform: an error naming both.
    let neither = tmp.path().join("neither");
    std::fs::create_dir(&neither).unwrap();
    for p in std::fs::read_dir(&only_amd64)
        .unwrap()
        .map(|e| e.unwrap().path())
    {
        let n = p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("x86_64", "s390x");
        std::fs::copy(&p, neither.join(n)).unwrap();
    }
    let out = pyko(
        &[
            "build",
            "--from",
            &base,
            "--platform",
            "all",
            "--wheels",
            neither.to_str().unwrap(),
            "--oci-layout",
            tmp.path().join("none").to_str().unwrap(),
        ],
        &cache,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let last = stderr
        .rsplit_once("--platform all:")
        .map(|x| x.1)
        .unwrap_or("");
    assert!(
        last.contains("linux/amd64") && last.contains("linux/arm64"),
        "{stderr}"
    );
}
