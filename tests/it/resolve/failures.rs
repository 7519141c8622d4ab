//! Acceptance 4: with real packages, an unsatisfiable set is explained in
//! sentences that name the packages and versions, a misspelt name says no
//! index has it, and a failed build leaves nothing behind: no output, no
//! temp files in the cache or in TMPDIR.

use std::collections::BTreeMap;
use std::path::Path;

use super::{fixture_wheels, serve, stderr, Form};
use crate::common::fixtures::{self, Flavour};
use crate::common::run::pyko_cmd;

/// A failed `pyko build` of `requirements` onto the slim base writing a
/// tarball and a layout; returns its stderr after checking exit code 3
/// and that nothing is left behind.
fn failed_build(requirements: &str, tmp: &Path) -> String {
    let index = serve(Form::Json, &fixture_wheels(), &BTreeMap::new());
    let reqs = tmp.join("requirements.txt");
    std::fs::write(&reqs, requirements).unwrap();
    let (out_dir, cache, tmpdir) = (tmp.join("out"), tmp.join("cache"), tmp.join("tmpdir"));
    for d in [&out_dir, &tmpdir] {
        std::fs::create_dir(d).unwrap();
    }
    let base = format!(
        "oci-layout:{}:latest",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let out = pyko_cmd(&cache)
        .env("TMPDIR", &tmpdir)
        .args(["build", "--from", &base, "-r"])
        .arg(&reqs)
        .args(["--index-url", &index.url, "--app"])
        .arg(fixtures::example_app())
        .arg("--tarball")
        .arg(out_dir.join("app.tar"))
        .arg("--oci-layout")
        .arg(out_dir.join("layout"))
        .output()
        .expect("run pyko");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let left = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .map(|r| r.map(|e| e.unwrap().path().display().to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(left(&out_dir), Vec::<String>::new(), "outputs left behind");
    assert_eq!(left(&tmpdir), Vec::<String>::new(), "files left in TMPDIR");
    assert_eq!(
        left(&cache.join("tmp")),
        Vec::<String>::new(),
        "temp files in the cache"
    );
    err
}

#[test]
fn unsatisfiable_set_is_explained_naming_packages_and_versions() {
    let tmp = tempfile::tempdir().unwrap();
    // celery 5.6.3 needs kombu>=5.6 (its METADATA), which kombu<5.3 forbids.
    let err = failed_build("celery==5.6.3\nkombu<5.3\n", tmp.path());
    for needle in ["celery", "5.6.3", "kombu", "Because", "cannot be satisfied"] {
        assert!(err.contains(needle), "explanation lacks {needle:?}:\n{err}");
    }
}

#[test]
fn misspelt_name_says_no_index_has_it() {
    let tmp = tempfile::tempdir().unwrap();
    let err = failed_build("numpy\nstreamlitt\n", tmp.path());
    assert!(err.contains("streamlitt"), "{err}");
    assert!(err.contains("requirements.txt:2"), "{err}");
    assert!(err.contains("no index has a project"), "{err}");
}
