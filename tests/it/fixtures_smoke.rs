//! The fixtures themselves work: base images push (single manifest vs index),
//! the slim image runs CPython with the official layout, the wheelhouse is real.

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::Registry;
use std::time::{Duration, Instant};

fn media_type(v: &serde_json::Value) -> &str {
    v["mediaType"].as_str().unwrap_or("")
}

#[test]
fn base_images_push_as_manifest_and_index() {
    let reg = Registry::start();

    let t = Instant::now();
    let deb = fixtures::push_base(&reg, Flavour::Debian, "base/debian:latest");
    eprintln!("debian layout + push: {:.1?}", t.elapsed());
    assert_eq!(deb, format!("{}/base/debian:latest", reg.host));
    let raw = fixtures::inspect_raw(&reg, &deb);
    // umoci omits the optional `mediaType` field in manifests: the registry's
    // Content-Type says what it is (a case pyko must handle anyway).
    assert!(
        matches!(
            media_type(&raw),
            "" | "application/vnd.oci.image.manifest.v1+json"
        ),
        "{raw:#}"
    );
    assert!(raw.get("manifests").is_none(), "{raw:#}");
    assert_eq!(
        raw["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    assert_eq!(raw["layers"].as_array().unwrap().len(), 1, "{raw:#}");

    let t = Instant::now();
    let slim = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-slim");
    eprintln!("slim layout + push: {:.1?}", t.elapsed());
    let raw = fixtures::inspect_raw(&reg, &slim);
    assert_eq!(
        media_type(&raw),
        "application/vnd.oci.image.index.v1+json",
        "{raw:#}"
    );
    let m = &raw["manifests"][0];
    assert_eq!(m["platform"]["architecture"], "amd64", "{raw:#}");
    assert_eq!(m["platform"]["os"], "linux", "{raw:#}");
    let child = fixtures::inspect_raw(
        &reg,
        &format!(
            "{}/library/python@{}",
            reg.host,
            m["digest"].as_str().unwrap()
        ),
    );
    assert_eq!(child["layers"].as_array().unwrap().len(), 2, "{child:#}");
}

#[test]
fn base_configs_look_like_the_real_ones() {
    for f in Flavour::ALL {
        let out = std::process::Command::new("skopeo")
            .args(["inspect", "--config"])
            .arg(fixtures::base_oci_ref(f))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(cfg["architecture"], "amd64");
        assert_eq!(cfg["os"], "linux");
        assert_eq!(
            cfg["config"]["Cmd"],
            serde_json::json!(["python3"]),
            "{cfg:#}"
        );
        let env: Vec<&str> = cfg["config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        match f {
            Flavour::Debian => assert_eq!(
                env,
                ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
            ),
            Flavour::Slim => {
                assert_eq!(
                    env[0],
                    "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
                );
                assert!(env.contains(&"LANG=C.UTF-8"), "{env:?}");
                assert!(
                    env.iter().any(|e| e.starts_with("PYTHON_VERSION=3.11.")),
                    "{env:?}"
                );
            }
        }
    }
}

#[test]
fn slim_rootfs_runs_cpython_with_official_layout() {
    let layout = fixtures::base_layout(Flavour::Slim);
    let root = fixtures::unpack_oci(&layout, fixtures::BASE_TAG);
    for p in [
        "usr/local/bin/python3",
        "usr/local/bin/python",
        "usr/local/bin/pip3",
    ] {
        assert!(
            root.path().join(p).symlink_metadata().is_ok(),
            "{p} missing in slim rootfs"
        );
    }
    let out = root.chroot_ok(&[
        "python3",
        "-c",
        "import sys, ssl, sqlite3, zlib, ctypes, bz2, lzma, hashlib, json, sysconfig; \
         print(sys.executable); print(sysconfig.get_paths()['purelib']); print(sys.path); \
         print(ssl.OPENSSL_VERSION); print(sqlite3.sqlite_version); \
         print(len(open('/proc/self/status').read()) > 0, open('/dev/null').read() == '')",
    ]);
    eprintln!("{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "/usr/local/bin/python3");
    assert_eq!(lines[1], "/usr/local/lib/python3.11/site-packages");
    assert!(
        lines[2].contains("'/usr/local/lib/python3.11/site-packages'"),
        "{out}"
    );
    assert!(lines[3].starts_with("OpenSSL 3."), "{out}");
    assert_eq!(lines[5], "True True");
    // pip is there, like in the official image.
    let pip = root.chroot_ok(&["pip", "--version"]);
    assert!(pip.contains("python 3.11"), "{pip}");
    // Nothing mounted outside the chroot's own namespace.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(root.path().to_str().unwrap()), "{mounts}");
}

#[test]
fn debian_rootfs_runs_debian_python() {
    let root = fixtures::unpack_oci(&fixtures::base_layout(Flavour::Debian), fixtures::BASE_TAG);
    let out = root.chroot_ok(&[
        "python3",
        "-c",
        "import sys, ssl; print(sys.executable); print(sys.version_info[:2])",
    ]);
    assert_eq!(out, "/usr/bin/python3\n(3, 11)\n");
    assert!(root.path().join("usr/bin/python3.11").exists());
}

#[test]
fn spawned_server_answers_and_is_killed() {
    let root = fixtures::unpack_oci(&fixtures::base_layout(Flavour::Slim), fixtures::BASE_TAG);
    std::fs::create_dir_all(root.path().join("srv")).unwrap();
    std::fs::write(root.path().join("srv/hello.txt"), "hello from chroot\n").unwrap();
    let port = crate::common::registry::free_port().to_string();
    let mut child = root.spawn_in_chroot_at(
        "/srv",
        &["python3", "-m", "http.server", "--bind", "127.0.0.1", &port],
        &[("PYTHONUNBUFFERED", "1")],
    );
    let body = fixtures::wait_http(
        &format!("http://127.0.0.1:{port}/hello.txt"),
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(body, "hello from chroot\n");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(fixtures::wait_http(
        &format!("http://127.0.0.1:{port}/hello.txt"),
        Duration::from_millis(300)
    )
    .is_err());
}

#[test]
fn wheelhouse_has_the_real_wheels() {
    let dir = fixtures::wheelhouse();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".whl"))
        .collect();
    for want in [
        "numpy-",
        "pandas-",
        "scikit_learn-",
        "streamlit-",
        "joblib-",
        "scipy-",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(want)),
            "no {want}*.whl in {}: {names:?}",
            dir.display()
        );
    }
    for n in names.iter().filter(|n| !n.ends_with("-none-any.whl")) {
        assert!(
            n.contains("x86_64")
                && (n.contains("-cp311-") || n.contains("-abi3-") || n.contains("-py3-none-")),
            "unexpected wheel {n}"
        );
    }
    // requirements.txt pins every wheel.
    let reqs = std::fs::read_to_string(fixtures::example_app().join("requirements.txt")).unwrap();
    let pins = reqs
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .inspect(|l| assert!(l.contains("=="), "unpinned: {l}"))
        .count();
    assert_eq!(pins, names.len());
    assert!(fixtures::example_app().join("app.py").is_file());
}

#[test]
fn push_base_honours_tls_and_basic_auth() {
    let reg = Registry::start_with(crate::common::registry::RegistryOptions {
        basic: Some(("alice".into(), "s3cret".into())),
        tls: true,
        ..Default::default()
    });
    let r = fixtures::push_base(&reg, Flavour::Slim, "secure/python:3.11-slim");
    let raw = fixtures::inspect_raw(&reg, &r);
    assert_eq!(media_type(&raw), "application/vnd.oci.image.index.v1+json");
}
