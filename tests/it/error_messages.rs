//! One message per error class, as the real binary prints it, with its exit
//! code (the table on `pyko::ExitClass`): snapshots under `snapshots/`, with
//! temp paths, fixture paths, ports and digests masked.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::free_port;
use crate::common::run::pyko;

/// Stderr with what changes from run to run replaced by stable names.
fn masked(stderr: &str, tmp: &Path) -> String {
    let mut s = stderr.replace(tmp.to_str().unwrap(), "[TMP]");
    for (re, with) in [
        (r"/var/cache/pyko-fixtures/[^/:\s]+", "[FIXTURE]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]"),
        (r"\.pyko-tarball-[A-Za-z0-9]+", ".pyko-tarball-[RANDOM]"),
    ] {
        s = regex::Regex::new(re)
            .unwrap()
            .replace_all(&s, with)
            .into_owned();
    }
    s
}

/// Runs pyko, asserting `code` and an empty stdout; returns masked stderr.
fn fails_with(code: i32, args: &[&str], tmp: &Path) -> String {
    let out = pyko(args, &tmp.join("cache"));
    check(code, &out, tmp)
}

fn check(code: i32, out: &Output, tmp: &Path) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    masked(&stderr, tmp)
}

#[test]
fn usage_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let e = fails_with(2, &["build", "--no-such-flag"], tmp.path());
    insta::assert_snapshot!("usage", e);
}

/// The example from the issue: the cause used to be printed twice.
#[test]
fn bad_input_exits_3_and_names_the_cause_once() {
    let tmp = tempfile::tempdir().unwrap();
    let tarball = tmp.path().join("app.tar");
    let e = fails_with(
        3,
        &[
            "build",
            "--from",
            "python:3.12-slim",
            "--wheels",
            "/nonexistent/wh",
            "--tarball",
            tarball.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    insta::assert_snapshot!("bad_input", e);
}

#[test]
fn unreachable_registry_exits_4() {
    let tmp = tempfile::tempdir().unwrap();
    let from = format!("127.0.0.1:{}/library/python:3.11", free_port());
    let tarball = tmp.path().join("app.tar");
    let started = std::time::Instant::now();
    let e = fails_with(
        4,
        &[
            "build",
            "-q",
            "--from",
            &from,
            "--wheels",
            fixtures::wheelhouse().to_str().unwrap(),
            "--tarball",
            tarball.to_str().unwrap(),
        ],
        tmp.path(),
    );
    // A refused connection is retried only briefly (`http/retry.rs`).
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    insta::assert_snapshot!("registry_unreachable", e);
}

#[test]
fn unwritable_output_exits_5() {
    let tmp = tempfile::tempdir().unwrap();
    // One wheel without dependencies keeps the build short.
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let certifi = std::fs::read_dir(fixtures::wheelhouse())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("certifi-")
        })
        .expect("certifi in the wheelhouse");
    std::fs::copy(&certifi, wheels.join(certifi.file_name().unwrap())).unwrap();
    let from = format!(
        "oci-layout:{}:latest",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let tarball = tmp.path().join("no-such-dir").join("app.tar");
    let e = fails_with(
        5,
        &[
            "build",
            "-q",
            "--from",
            &from,
            "--wheels",
            wheels.to_str().unwrap(),
            "--tarball",
            tarball.to_str().unwrap(),
        ],
        tmp.path(),
    );
    insta::assert_snapshot!("output", e);
}

/// Proxies come from the environment, and `NO_PROXY` exempts a host: a
/// "proxy" that answers 404 to everything sees the request only without it.
#[test]
fn proxy_from_env_and_no_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    {
        let seen = seen.clone();
        std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            for s in proxy.incoming() {
                let mut s = s.unwrap();
                let mut line = String::new();
                std::io::BufReader::new(&s).read_line(&mut line).unwrap();
                seen.lock().unwrap().push(line);
                let _ = s.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
    }
    let registry = format!("127.0.0.1:{}", free_port());
    let from = format!("{registry}/library/python:3.11");
    let tarball = tmp.path().join("app.tar");
    let wheels = fixtures::wheelhouse();
    let run = |no_proxy: &str| {
        Command::new(env!("CARGO_BIN_EXE_pyko"))
            .args(["build", "--from", &from, "--wheels"])
            .arg(&wheels)
            .arg("--tarball")
            .arg(&tarball)
            .env("PYKO_CACHE_DIR", tmp.path().join("cache"))
            .env("HTTP_PROXY", &proxy_url)
            .env("NO_PROXY", no_proxy)
            .env_remove("http_proxy")
            .env_remove("no_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .output()
            .unwrap()
    };
    let e = check(4, &run("example.invalid"), tmp.path());
    assert!(e.contains("HTTP 404"), "{e}");
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with(&format!("GET http://{registry}/v2/"))),
        "{requests:?}"
    );
    seen.lock().unwrap().clear();
    let e = check(4, &run("127.0.0.1"), tmp.path());
    assert!(e.contains("Connection refused"), "{e}");
    assert!(seen.lock().unwrap().is_empty());
}
