//! Bad input gets one clear error naming the thing, a non-zero exit, and no
//! output file left behind.

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::{free_port, Registry};
use crate::common::run::pyko;

/// Runs `pyko build` with `extra` flags (and a tarball destination) and
/// returns stderr, asserting failure and that no tarball (or temp file) is left.
fn fails(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("out").join("app.tar");
    std::fs::create_dir_all(tarball.parent().unwrap()).unwrap();
    let mut args = vec!["build", "--tarball", tarball.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = pyko(&args, &dir.path().join("cache"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "expected failure for {extra:?}; stderr: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let left: Vec<_> = std::fs::read_dir(tarball.parent().unwrap())
        .unwrap()
        .collect();
    assert!(left.is_empty(), "output left behind: {left:?}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {stderr}");
    errors[0].to_string()
}

fn wheels() -> String {
    fixtures::wheelhouse().display().to_string()
}

#[test]
fn missing_app_dir() {
    let e = fails(&[
        "--from",
        "127.0.0.1:1/x:y",
        "--wheels",
        &wheels(),
        "--app",
        "/nonexistent/app",
    ]);
    assert!(e.contains("/nonexistent/app"), "{e}");
}

#[test]
fn empty_wheel_dir() {
    let empty = tempfile::tempdir().unwrap();
    let e = fails(&[
        "--from",
        "127.0.0.1:1/x:y",
        "--wheels",
        empty.path().to_str().unwrap(),
    ]);
    assert!(e.contains(empty.path().to_str().unwrap()), "{e}");
}

#[test]
fn unreachable_registry() {
    let host = format!("127.0.0.1:{}", free_port());
    let started = std::time::Instant::now();
    let e = fails(&[
        "--from",
        &format!("{host}/library/python:3.11"),
        "--wheels",
        &wheels(),
    ]);
    assert!(e.contains(&host), "{e}");
    assert!(
        started.elapsed().as_secs() < 60,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn base_reference_that_does_not_exist() {
    let reg = Registry::start();
    fixtures::push_base(&reg, Flavour::Debian, "library/python:3.11-test");
    let missing = format!("{}/library/python:no-such-tag", reg.host);
    let e = fails(&["--from", &missing, "--wheels", &wheels()]);
    assert!(e.contains("no-such-tag"), "{e}");
}

#[test]
fn bad_port_flag() {
    let e = fails(&[
        "--from",
        "python:3.11",
        "--wheels",
        &wheels(),
        "--port",
        "http",
    ]);
    assert!(e.contains("--port") && e.contains("http"), "{e}");
}
