//! Acceptance 3: a two-platform `pyko lock` is a PEP 751 file real uv
//! installs, per platform, to the set uv itself resolves; and `pyko build
//! --lock` of it is the very image the resolving build made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// `pyko lock` of `set` for amd64 + arm64 (glibc 2.36, the slim base's);
/// real uv installs it per platform to the set uv resolves itself.
/// Returns the lock.
fn lock_and_install(set: &str, index_url: &str, tmp: &Path) -> PathBuf {
    let set = sets().into_iter().find(|s| s.name == set).unwrap();
    let lock = tmp.join(format!("{}/pylock.toml", set.name));
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let out = pyko_cmd(&tmp.join("cache"))
        .args(["lock", "-r"])
        .arg(&set.path)
        .args(["--python", "3.11", "--libc", "glibc-2.36"])
        .args([
            "--platform",
            "linux/amd64,linux/arm64",
            "--index-url",
            index_url,
        ])
        .arg("-o")
        .arg(&lock)
        .output()
        .expect("run pyko");
    assert!(out.status.success(), "pyko lock failed:\n{}", stderr(&out));
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains("lock-version = \"1.0\""), "{text}");
    let packages = lock_packages(&lock);
    let uv_cache = tmp.join("uv-cache");
    for (uv_platform, platform) in ARCHES {
        let want = uv_compile(&set.path, uv_platform, "3.11", index_url, &[], &uv_cache).unwrap();
        // Every package the platform needs is in the lock at that version,
        // with a wheel for the platform.
        let arch = uv_platform.split('-').next().unwrap();
        for (name, version) in &want {
            assert!(
                packages.iter().any(|p| &p.name == name
                    && &p.version == version
                    && p.wheels
                        .iter()
                        .any(|w| w.ends_with("-none-any.whl") || w.contains(arch))),
                "{platform}: no {name}=={version} wheel for {arch} in the lock:\n{text}"
            );
        }
        let target = tmp.join(format!("{}-{}", set.name, platform.replace('/', "-")));
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
        std::fs::remove_dir_all(&target).unwrap();
    }
    lock
}

/// Packages only one platform has carry a marker that says which, and uv
/// honours it (orjson on amd64 only, py-cpuinfo on arm64 only).
#[test]
fn two_platform_lock_with_arch_markers_installs_per_platform_with_uv() {
    let tmp = tempfile::tempdir().unwrap();
    let index = serve(Form::Json, &fixture_wheels(), &BTreeMap::new());
    let lock = lock_and_install("arch-markers", &index.url, tmp.path());
    let packages = lock_packages(&lock);
    for (name, machine) in [("orjson", "x86_64"), ("py-cpuinfo", "aarch64")] {
        let p = packages.iter().find(|p| p.name == name).unwrap();
        let m = p
            .marker
            .as_deref()
            .unwrap_or_else(|| panic!("{name} has no marker"));
        assert!(m.contains(machine), "{name}: marker {m:?}");
    }
}

#[test]
fn two_platform_lock_installs_with_uv_and_rebuilds_the_same_image() {
    let tmp = tempfile::tempdir().unwrap();
    let index = serve(Form::Json, &fixture_wheels(), &BTreeMap::new());
    let lock = lock_and_install("datascience", &index.url, tmp.path());
    let set = sets()
        .into_iter()
        .find(|s| s.name == "datascience")
        .unwrap();
    let reqs = set.path.to_str().unwrap();
    let resolved = build(
        &["-r", reqs, "--index-url", &index.url],
        tmp.path(),
        "resolved",
    );
    let locked = build(&["--lock", lock.to_str().unwrap()], tmp.path(), "locked");
    assert_eq!(
        resolved, locked,
        "`build --lock` must give the resolved build's image"
    );
}
