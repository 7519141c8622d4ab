//! `--wheels DIR` beside an index when the requirements need resolving:
//! a package that exists only in the directory must still resolve (pip's
//! `--find-links` merged with the index), and the image must be the one the
//! index alone gives when it has every wheel.

use std::path::PathBuf;

use crate::common::fixtures::manifest_digest as layout_digest;
use crate::common::fixtures::{self, Flavour};
use crate::common::index::IndexServer;
use crate::common::registry::Registry;
use crate::common::run::pyko;

fn example_wheels() -> Vec<PathBuf> {
    let mut w: Vec<PathBuf> = std::fs::read_dir(fixtures::wheelhouse())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    w.sort();
    w
}

#[test]
fn a_package_only_in_the_wheel_dir_resolves_and_gives_the_index_image() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let dir = tempfile::tempdir().unwrap();
    let wheels = example_wheels();
    let is_streamlit = |p: &PathBuf| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("streamlit-")
    };
    let (local, rest): (Vec<PathBuf>, Vec<PathBuf>) =
        wheels.iter().cloned().partition(is_streamlit);
    assert_eq!(local.len(), 1, "the example has one streamlit wheel");
    let full = IndexServer::start(&wheels, true);
    let partial = IndexServer::start(&rest, true);
    let local_dir = dir.path().join("local");
    std::fs::create_dir(&local_dir).unwrap();
    std::fs::copy(&local[0], local_dir.join(local[0].file_name().unwrap())).unwrap();
    let req = dir.path().join("requirements.txt");
    std::fs::write(&req, "joblib\nnumpy\npandas\nscikit-learn\nstreamlit\n").unwrap();
    let app = fixtures::example_app();

    let build = |name: &str, index: &str, extra: &[&str]| {
        let layout = dir.path().join(name);
        let mut args = vec![
            "build",
            "--from",
            &base,
            "--app",
            app.to_str().unwrap(),
            "-r",
            req.to_str().unwrap(),
            "--index-url",
            index,
            "--oci-layout",
            layout.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = pyko(&args, &dir.path().join(format!("cache-{name}")));
        (out, layout)
    };

    let (out, layout) = build("index", &full.url, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_index = layout_digest(&layout);

    // Without the directory the partial index cannot satisfy streamlit.
    let (out, layout) = build("partial", &partial.url, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("streamlit"), "{err}");
    assert!(!layout.exists());

    let (out, layout) = build(
        "with-dir",
        &partial.url,
        &["--wheels", local_dir.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("resolved 39 packages"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("streamlit-") && l.contains("local")),
        "streamlit must come from the directory:\n{err}"
    );
    assert_eq!(layout_digest(&layout), from_index);
    // Nothing of streamlit was asked of the index that does not have it
    // beyond its (404) listing.
    assert!(
        !partial.log().iter().any(|l| l.contains("files/streamlit-")),
        "{:#?}",
        partial.log()
    );
}
