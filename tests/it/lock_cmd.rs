//! `pyko lock` end to end on tiny wheels the test builds: two platforms
//! whose answers differ (a version with a wheel for x86_64 only, a
//! dependency behind a `platform_machine` marker), read back by real uv
//! for each platform and by `pyko build --lock`, which must give the image
//! the resolved build gives.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fixtures::{self, Flavour};
use crate::common::index::{sha256_hex, IndexServer};
use crate::common::run::pyko;
use crate::error_messages::{tiny_wheel, tiny_wheel_tagged};

const AMD: &str = "cp311-cp311-manylinux_2_17_x86_64";
const ARM: &str = "cp311-cp311-manylinux_2_17_aarch64";

fn uv() -> PathBuf {
    let out = Command::new("bash")
        .arg(fixtures::repo_root().join("tests/fixtures/uv.sh"))
        .output()
        .expect("run tests/fixtures/uv.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn wheels(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    vec![
        tiny_wheel(
            dir,
            "app-web",
            "1.0",
            &["helper>=1", "armdep ; platform_machine == 'aarch64'"],
        ),
        tiny_wheel(dir, "helper", "0.5", &[]),
        tiny_wheel(dir, "helper", "1.2", &[]),
        tiny_wheel(dir, "armdep", "0.3", &[]),
        tiny_wheel_tagged(dir, "fast", "1.0", &[], AMD),
        tiny_wheel_tagged(dir, "fast", "1.0", &[], ARM),
        tiny_wheel_tagged(dir, "fast", "2.0", &[], AMD),
    ]
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// name==version of every `*.dist-info` under `dir`.
fn installed(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            let stem = n.strip_suffix(".dist-info")?;
            let (name, version) = stem.rsplit_once('-')?;
            Some(format!("{}=={version}", name.replace('_', "-")))
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn two_platform_lock_installs_with_uv_and_builds_the_resolved_image() {
    let tmp = tempfile::tempdir().unwrap();
    let files = wheels(&tmp.path().join("wheels"));
    let index = IndexServer::start(&files, true);
    let req = tmp.path().join("requirements.txt");
    std::fs::write(&req, "app-web\nfast\n").unwrap();
    let cache = tmp.path().join("cache");
    let lock_into = |name: &str| -> (PathBuf, String) {
        let lock = tmp.path().join(name).join("pylock.toml");
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        let out = pyko(
            &[
                "lock",
                "-r",
                req.to_str().unwrap(),
                "--python",
                "3.11",
                "--platform",
                "linux/amd64,linux/arm64",
                "--index-url",
                &index.url,
                "-o",
                lock.to_str().unwrap(),
            ],
            &cache,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
        (lock, stderr(&out))
    };
    let (lock, err) = lock_into("a");
    for (n, tag) in [(3, "x86_64"), (4, "aarch64")] {
        let said = format!("resolved {n} packages for cp311-cp311-manylinux_2_36_{tag} in ");
        assert!(err.contains(&said), "{said}: {err}");
    }
    let text = std::fs::read_to_string(&lock).unwrap();
    // The same inputs give the same bytes.
    let (again, _) = lock_into("b");
    assert_eq!(std::fs::read_to_string(again).unwrap(), text);

    let doc: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(doc["lock-version"].as_str(), Some("1.0"));
    assert_eq!(doc["created-by"].as_str(), Some("pyko"));
    assert_eq!(doc["requires-python"].as_str(), Some("==3.11.*"));
    assert_eq!(doc["environments"].as_array().unwrap().len(), 2);
    let hashes: std::collections::BTreeMap<String, String> = files
        .iter()
        .map(|f| {
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                sha256_hex(f),
            )
        })
        .collect();
    let mut entries = Vec::new();
    for p in doc["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let version = p["version"].as_str().unwrap();
        let marker = p.get("marker").and_then(|m| m.as_str()).unwrap_or("");
        let mut wheel_names = Vec::new();
        for w in p["wheels"].as_array().unwrap() {
            let file = w["name"].as_str().unwrap();
            assert_eq!(
                w["hashes"]["sha256"].as_str(),
                Some(hashes[file].as_str()),
                "{file}"
            );
            assert!(w["url"].as_str().unwrap().ends_with(file), "{file}");
            wheel_names.push(file.to_string());
        }
        entries.push((
            format!("{name}=={version}"),
            marker.to_string(),
            wheel_names.len(),
        ));
    }
    let aarch64 = "platform_machine == 'aarch64'".to_string();
    assert_eq!(
        entries,
        vec![
            ("app-web==1.0".into(), String::new(), 1),
            ("armdep==0.3".into(), aarch64.clone(), 1),
            ("fast==1.0".into(), aarch64, 1),
            ("fast==2.0".into(), "platform_machine == 'x86_64'".into(), 1),
            ("helper==1.2".into(), String::new(), 1),
        ]
    );
    assert_eq!(
        doc["tool"]["pyko"]["requested"].as_array().unwrap().len(),
        2,
        "{text}"
    );

    // Real uv installs each platform's set from the file.
    for (platform, want) in [
        (
            "x86_64-manylinux_2_36",
            set(&["app-web==1.0", "fast==2.0", "helper==1.2"]),
        ),
        (
            "aarch64-manylinux_2_36",
            set(&["app-web==1.0", "armdep==0.3", "fast==1.0", "helper==1.2"]),
        ),
    ] {
        let target = tmp.path().join(format!("uv-{platform}"));
        let out = Command::new(uv())
            .args(["pip", "install", "--no-config", "-r"])
            .arg(&lock)
            .arg("--target")
            .arg(&target)
            .args(["--python-platform", platform, "--python-version", "3.11"])
            .env("UV_CACHE_DIR", tmp.path().join("uv-cache"))
            .output()
            .unwrap();
        assert!(out.status.success(), "uv {platform}: {}", stderr(&out));
        assert_eq!(installed(&target), want, "{platform}");
    }

    // `build --lock` gives the image the resolved build gives.
    let from = format!(
        "oci-layout:{}:latest",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let digest = |input: &[&str], name: &str| -> String {
        let layout = tmp.path().join(name);
        let mut args = vec!["build", "--from", &from, "--index-url", &index.url];
        args.extend_from_slice(input);
        args.extend_from_slice(&["--oci-layout", layout.to_str().unwrap()]);
        let out = pyko(&args, &tmp.path().join(format!("cache-{name}")));
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        index["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let resolved = digest(&["-r", req.to_str().unwrap()], "resolved");
    let locked = digest(&["--lock", lock.to_str().unwrap()], "locked");
    assert_eq!(resolved, locked);
}

/// `pyko lock -r pyproject.toml` reads the project's `[project]
/// dependencies` (as `build -r` does), not pip's format: the same packages
/// as a requirements file naming them. A requires-python that no 3.11 meets
/// is refused naming the file, and no lock is written.
#[test]
fn a_pyproject_is_locked_from_its_dependencies() {
    let tmp = tempfile::tempdir().unwrap();
    let files = wheels(&tmp.path().join("wheels"));
    let index = IndexServer::start(&files, true);
    let cache = tmp.path().join("cache");
    let lock = |input: &Path, name: &str| -> (std::process::Output, PathBuf) {
        let out_file = tmp.path().join(name);
        let out = pyko(
            &[
                "lock",
                "-r",
                input.to_str().unwrap(),
                "--python",
                "3.11",
                "--index-url",
                &index.url,
                "-o",
                out_file.to_str().unwrap(),
            ],
            &cache,
        );
        (out, out_file)
    };
    let packages = |file: &Path| -> (toml::Value, toml::Value) {
        let doc: toml::Value = toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        (
            doc["packages"].clone(),
            doc["tool"]["pyko"]["requested"].clone(),
        )
    };
    let req = tmp.path().join("requirements.txt");
    std::fs::write(&req, "app-web\nfast\n").unwrap();
    let (out, from_req) = lock(&req, "pylock.req.toml");
    assert!(out.status.success(), "{}", stderr(&out));

    let project = tmp.path().join("proj");
    std::fs::create_dir(&project).unwrap();
    let pyproject = project.join("pyproject.toml");
    let write = |requires: &str| {
        std::fs::write(
            &pyproject,
            format!(
                "[project]\nname = \"demo\"\nversion = \"0.1\"\nrequires-python = \"{requires}\"\n\
                 dependencies = [\"app-web\", \"fast\"]\n"
            ),
        )
        .unwrap()
    };
    // A patch bound the image's 3.11 may meet (its patch is not known).
    write(">=3.11.2");
    let (out, from_project) = lock(&pyproject, "pylock.proj.toml");
    assert!(out.status.success(), "{}", stderr(&out));
    let (pkgs, requested) = packages(&from_project);
    assert_eq!((pkgs.clone(), requested), packages(&from_req));
    assert_eq!(pkgs.as_array().unwrap().len(), 3, "{pkgs}");

    write(">=3.12");
    let (out, refused) = lock(&pyproject, "pylock.refused.toml");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&pyproject.display().to_string()) && err.contains("requires Python >=3.12"),
        "{err}"
    );
    assert!(!refused.exists());
}
