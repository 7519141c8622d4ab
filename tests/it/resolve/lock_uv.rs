//! Acceptance 3: a two-platform `pyko lock` is a PEP 751 file real uv
//! installs, per platform, to the set uv itself resolves; and `pyko build
//! --lock` of it is the very image the resolving build made.

use std::collections::BTreeMap;
use std::path::Path;

use super::example::dist_infos;
use super::{fixture_wheels, lock_packages, serve, sets, stderr, uv_cmd, uv_compile, Form, ARCHES};
use crate::common::fixtures::{self, Flavour};
use crate::common::run::pyko_cmd;

/// Builds the example app onto the slim base with `source` flags; returns
/// the manifest digest of the OCI layout.
fn build(source: &[&str], work: &Path, name: &str) -> String {
    let layout = work.join(name);
    let base = format!(
        "oci-layout:{}:latest",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let out = pyko_cmd(&work.join("cache"))
        .args(["build", "--from", &base, "--app"])
        .arg(fixtures::example_app())
        .args(["--cmd", "streamlit run app.py"])
        .args(source)
        .arg("--oci-layout")
        .arg(&layout)
        .output()
        .expect("run pyko");
    assert!(
        out.status.success(),
        "{name}: pyko failed:\n{}",
        stderr(&out)
    );
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    idx["manifests"][0]["digest"].as_str().unwrap().to_string()
}

#[test]
fn two_platform_lock_installs_with_uv_and_rebuilds_the_same_image() {
    let tmp = tempfile::tempdir().unwrap();
    let index = serve(Form::JsonMetadata, &fixture_wheels(), &BTreeMap::new());
    let set = sets()
        .into_iter()
        .find(|s| s.name == "datascience")
        .unwrap();
    let reqs = set.path.to_str().unwrap();
    let lock = tmp.path().join("pylock.toml");
    let out = pyko_cmd(&tmp.path().join("cache"))
        .args([
            "lock",
            "-r",
            reqs,
            "--python",
            "3.11",
            "--libc",
            "glibc-2.36",
        ])
        .args([
            "--platform",
            "linux/amd64,linux/arm64",
            "--index-url",
            &index.url,
        ])
        .arg("-o")
        .arg(&lock)
        .output()
        .expect("run pyko");
    assert!(out.status.success(), "pyko lock failed:\n{}", stderr(&out));

    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains("lock-version = \"1.0\""), "{text}");
    let packages = lock_packages(&lock);
    let uv_cache = tmp.path().join("uv-cache");
    for (uv_platform, platform) in ARCHES {
        let want = uv_compile(&set.path, uv_platform, "3.11", &index.url, &[], &uv_cache).unwrap();
        // Every package the platform needs is in the lock at that version.
        for (name, version) in &want {
            assert!(
                packages
                    .iter()
                    .any(|p| &p.name == name && &p.version == version),
                "{platform}: {name}=={version} missing from the lock:\n{text}"
            );
        }
        let target = tmp.path().join(platform.replace('/', "-"));
        let out = uv_cmd(&uv_cache)
            .args(["pip", "install", "-r"])
            .arg(&lock)
            .arg("--target")
            .arg(&target)
            .args(["--python-platform", uv_platform, "--python-version", "3.11"])
            .output()
            .expect("run uv");
        assert!(
            out.status.success(),
            "uv pip install -r pylock.toml ({platform}) failed:\n{}\n{text}",
            stderr(&out)
        );
        assert_eq!(
            dist_infos(&target),
            want,
            "{platform}: uv installed another set"
        );
    }
    // The two platforms' numpy are different files: one entry each, told
    // apart by markers.
    let numpy: Vec<_> = packages.iter().filter(|p| p.name == "numpy").collect();
    assert_eq!(numpy.len(), 2, "{text}");
    assert!(numpy.iter().all(|p| p.marker.is_some()), "{text}");

    let lock_s = lock.to_str().unwrap();
    let resolved = build(
        &["-r", reqs, "--index-url", &index.url],
        tmp.path(),
        "resolved",
    );
    let locked = build(&["--lock", lock_s], tmp.path(), "locked");
    assert_eq!(
        resolved, locked,
        "`build --lock` must give the resolved build's image"
    );
}
