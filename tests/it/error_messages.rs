//! One message per error class, as the real binary prints it, with its exit
//! code (the table on `pyko::ExitClass`): snapshots under `snapshots/`, with
//! temp paths, fixture paths, ports and digests masked.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::fixtures::{self, Flavour};
use crate::common::index::IndexServer;
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
    let certifi = fixtures::wheel("certifi-");
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

/// A tiny pure-Python wheel `name-version` whose METADATA requires
/// `requires`, with a correct RECORD.
pub fn tiny_wheel(dir: &Path, name: &str, version: &str, requires: &[&str]) -> std::path::PathBuf {
    tiny_wheel_tagged(dir, name, version, requires, "py3-none-any")
}

/// [`tiny_wheel`] with the wheel tag `tag` (e.g. for one platform only).
pub fn tiny_wheel_tagged(
    dir: &Path,
    name: &str,
    version: &str,
    requires: &[&str],
    tag: &str,
) -> std::path::PathBuf {
    use base64::Engine as _;
    use sha2::Digest as _;
    use std::io::Write as _;
    let module = name.replace('-', "_");
    let info = format!("{module}-{version}.dist-info");
    let mut metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        metadata.push_str(&format!("Requires-Dist: {r}\n"));
    }
    let files = [
        (
            format!("{module}/__init__.py"),
            format!("V = {version:?}\n"),
        ),
        (format!("{info}/METADATA"), metadata),
        (
            format!("{info}/WHEEL"),
            format!("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n"),
        ),
    ];
    let path = dir.join(format!("{module}-{version}-{tag}.whl"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    let mut record = String::new();
    for (name, body) in &files {
        zip.start_file(name.as_str(), opts).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
        let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(body.as_bytes()));
        record.push_str(&format!("{name},sha256={hash},{}\n", body.len()));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    zip.start_file(format!("{info}/RECORD"), opts).unwrap();
    zip.write_all(record.as_bytes()).unwrap();
    zip.finish().unwrap();
    path
}

/// An index of tiny wheels where `app-web` 2.0 needs `helper<1` and 1.0
/// needs `helper>=1` (both helpers exist), for conflicts and typos.
fn tiny_index(dir: &Path) -> IndexServer {
    let wheels = dir.join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let list = [
        tiny_wheel(&wheels, "app-web", "1.0", &["helper>=1"]),
        tiny_wheel(&wheels, "app-web", "2.0", &["helper<1"]),
        tiny_wheel(&wheels, "helper", "0.5", &[]),
        tiny_wheel(&wheels, "helper", "1.2", &[]),
    ];
    IndexServer::start(&list, true)
}

/// Runs `pyko lock` on `requirements` against the tiny index, writing into
/// `out/`; asserts `code` and that `out/` stays empty.
fn lock_fails(requirements: &str, tmp: &Path) -> String {
    let index = tiny_index(tmp);
    let req = tmp.join("requirements.txt");
    std::fs::write(&req, requirements).unwrap();
    let out_dir = tmp.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let lock = out_dir.join("pylock.toml");
    let e = fails_with(
        3,
        &[
            "lock",
            "-r",
            req.to_str().unwrap(),
            "--python",
            "3.11",
            "--platform",
            "linux/amd64",
            "--index-url",
            &index.url,
            "-o",
            lock.to_str().unwrap(),
        ],
        tmp,
    );
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert!(left.is_empty(), "nothing written on failure: {left:?}");
    e
}

/// app-web 2.0 needs helper<1 and the app needs helper>=1; app-web 1.0
/// needs helper>=1 too, but the app also asks for app-web>=2: no answer.
#[test]
fn resolution_conflict_exits_3_with_the_explanation() {
    let tmp = tempfile::tempdir().unwrap();
    let e = lock_fails("app-web>=2\nhelper>=1\n", tmp.path());
    for named in ["app-web", "helper", "2.0"] {
        assert!(e.contains(named), "{named}: {e}");
    }
    insta::assert_snapshot!("resolve_conflict", e);
}

#[test]
fn misspelt_project_exits_3_naming_it_and_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let e = lock_fails("helper\napp-wbe\n", tmp.path());
    assert!(e.contains("app-wbe"), "{e}");
    assert!(e.contains("requirements.txt:2"), "{e}");
    insta::assert_snapshot!("resolve_not_found", e);
}

/// The same refusal from `pyko build`, before any image is written.
#[test]
fn build_with_a_misspelt_requirement_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tiny_index(tmp.path());
    let req = tmp.path().join("requirements.txt");
    std::fs::write(&req, "app-wbe>=1\n").unwrap();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let from = format!(
        "oci-layout:{}:latest",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let e = fails_with(
        3,
        &[
            "build",
            "--from",
            &from,
            "-r",
            req.to_str().unwrap(),
            "--index-url",
            &index.url,
            "--tarball",
            out_dir.join("app.tar").to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(e.contains("app-wbe"), "{e}");
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn bad_resolver_flags_exit_3_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let req = tmp.path().join("requirements.txt");
    std::fs::write(&req, "helper\n").unwrap();
    let req = req.to_str().unwrap();
    let e = fails_with(
        3,
        &[
            "lock",
            "-r",
            req,
            "--python",
            "3.11",
            "--exclude-newer",
            "June 1st",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!("lock_bad_exclude_newer", e);
    let e = fails_with(
        3,
        &["lock", "-r", req, "--python", "3.11", "--libc", "glibc2.36"],
        tmp.path(),
    );
    assert!(e.contains("--libc \"glibc2.36\""), "{e}");
    // Neither --from nor --python: clap's usage error.
    let e = fails_with(2, &["lock", "-r", req], tmp.path());
    assert!(e.contains("--from <IMAGE>|--python <X.Y>"), "{e}");
}
