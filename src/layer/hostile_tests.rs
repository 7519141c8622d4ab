//! App directories built to attack the image or the build machine.

use std::fs;

use super::app::app_entries;
use super::Node;

#[test]
fn whiteout_named_app_files_are_refused() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir(t.path().join("pkg")).unwrap();
    fs::write(t.path().join("pkg/.wh.python3"), "x").unwrap();
    let err = app_entries(t.path(), "/app", None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(".wh.python3") && err.contains("deleting"),
        "{err}"
    );
}

/// A file listed by the walk and swapped for a link to a secret before the
/// layer is written must not carry the secret into the image.
#[test]
fn a_file_swapped_for_a_symlink_after_the_walk_is_not_followed() {
    let t = tempfile::tempdir().unwrap();
    let secret = t.path().join("secret");
    fs::write(&secret, "password").unwrap();
    let app = t.path().join("app");
    fs::create_dir(&app).unwrap();
    fs::write(app.join("a.txt"), "12345678").unwrap();
    let entries = app_entries(&app, "/app", None).unwrap();
    let e = entries.iter().find(|e| e.path == "app/a.txt").unwrap();
    fs::remove_file(app.join("a.txt")).unwrap();
    std::os::unix::fs::symlink(&secret, app.join("a.txt")).unwrap();
    let Node::File { contents, .. } = &e.node else {
        panic!("a.txt is a file")
    };
    let mut out = Vec::new();
    let err = contents.write_to(&mut out).unwrap_err();
    assert!(out.is_empty(), "read through the link");
    assert!(err.to_string().contains("a.txt"), "{err}");
}
