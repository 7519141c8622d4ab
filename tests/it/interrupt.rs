//! SIGINT and SIGTERM in the middle of a build: while a base layer is
//! downloading (the proxy hangs mid-body), and while a blob is being
//! pushed. Nothing half-done may be left where it looks finished: no
//! tarball, no tag in the registry, no cache entry that fails its digest,
//! and the next build succeeds with the image a clean build makes.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::faults::{Fault, FaultProxy, Rule};
use crate::common::fixtures::{self, Flavour};
use crate::common::index::sha256_hex;
use crate::common::registry::Registry;
use crate::common::run::pyko_cmd;
use crate::faults::stored_digest;

fn build(proxy: &FaultProxy, dir: &Path, wheels: &Path) -> std::process::Command {
    let mut cmd = pyko_cmd(&dir.join("cache"));
    cmd.args(["build", "--from"])
        .arg(format!("{}/library/python:base", proxy.host))
        .arg("--wheels")
        .arg(wheels)
        .arg("--app")
        .arg(wheels)
        .args(["--cmd", "python", "--push"])
        .arg(format!("{}/demo/app:1", proxy.host))
        .arg("--tarball")
        .arg(dir.join("out/app.tar"));
    cmd
}

/// Interrupts with `signal` once the `nth` request of `kind` hangs.
fn interrupt_at(kind: crate::faults::Kind, nth: usize, signal: &str) {
    let reg = Registry::start();
    fixtures::push_base(&reg, Flavour::Slim, "library/python:base");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let wheels = fixtures::wheels_named(&dir.path().join("wheels"), &["idna-"]);
    let (method, path) = kind.pattern();
    // Hang after 64 KiB of the body: the transfer is well under way.
    let proxy = FaultProxy::start(
        &reg.host,
        vec![Rule::new(
            Some(method),
            path,
            nth,
            usize::MAX,
            Fault::Hang(64 << 10),
        )],
    );
    let mut child = build(&proxy, dir.path(), &wheels)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while proxy.rule(0).matched() < nth {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never reached {kind:?}: {:?}",
            proxy.log()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "build ended before {kind:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let st = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "{kind:?}: interrupted build succeeded");

    // A tarball written before the push began may stay, but only whole:
    // it must be the one the next (clean) build writes.
    let tarball = dir.path().join("out/app.tar");
    let kept = tarball.exists().then(|| sha256_hex(&tarball));
    let out: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "app.tar")
        .collect();
    assert!(
        out.is_empty(),
        "{kind:?} {signal}: left in the output dir: {out:?}"
    );
    assert_eq!(
        stored_digest(&reg, "demo/app:1"),
        None,
        "{kind:?}: tag pushed"
    );
    let cache = dir.path().join("cache");
    for e in std::fs::read_dir(cache.join("blobs/sha256")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            sha256_hex(&p),
            name,
            "{kind:?}: corrupt cache entry {}",
            p.display()
        );
    }

    // The next build, on the same cache with a healthy network, succeeds.
    // Same port: the base reference (with it) is in the image.
    let port: u16 = proxy.host.rsplit(':').next().unwrap().parse().unwrap();
    drop(proxy);
    let clean = FaultProxy::start_at(port, &reg.host, vec![]);
    let out = build(&clean, dir.path(), &wheels).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let stored = stored_digest(&reg, "demo/app:1").expect("pushed");
    assert!(printed.contains(&stored), "{printed} vs {stored}");
    if let Some(kept) = kept {
        assert_eq!(
            kept,
            sha256_hex(&tarball),
            "{kind:?}: the kept tarball was not whole"
        );
    }
    assert!(tarball.is_file());
    // What the killed build was writing is swept by the next one.
    let tmp: Vec<_> = std::fs::read_dir(cache.join("tmp")).unwrap().collect();
    assert!(
        tmp.is_empty(),
        "{kind:?} {signal}: temp files left in the cache: {tmp:?}"
    );
}

#[test]
fn sigint_mid_download() {
    // The first blob is the config; the second a layer, streamed to the cache.
    interrupt_at(crate::faults::Kind::BlobGet, 2, "-INT");
}

#[test]
fn sigterm_mid_push() {
    interrupt_at(crate::faults::Kind::UploadPut, 1, "-TERM");
}

/// Killed while the tarball itself is being written (the build stopped
/// with SIGSTOP the moment its temp file appears, so the signal lands
/// mid-write): the temp file beside the destination goes too.
#[test]
fn sigterm_mid_tarball_write() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let app = dir.path().join("app");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&app).unwrap();
    // 256 MiB that gzip cannot shrink: the tarball write takes a while.
    let mut f = std::fs::File::create(app.join("data.bin")).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..256 {
        for c in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&buf).unwrap();
    }
    drop(f);
    let wheels = fixtures::wheels_named(&dir.path().join("wheels"), &["idna-"]);
    let mut child = pyko_cmd(&dir.path().join("cache"))
        .args(["build", "--from"])
        .arg(format!(
            "oci-layout:{}:latest",
            fixtures::base_layout(Flavour::Debian).display()
        ))
        .arg("--wheels")
        .arg(&wheels)
        .arg("--app")
        .arg(&app)
        .arg("--tarball")
        .arg(out.join("app.tar"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let kill = |sig: &str| {
        let st = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap();
        assert!(st.success());
    };
    let started = Instant::now();
    let temp = loop {
        let found = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(".pyko-tarball-"));
        if let Some(n) = found {
            kill("-STOP");
            break n;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the build ended before its tarball write was seen"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no tarball write"
        );
        std::thread::sleep(Duration::from_micros(200));
    };
    kill("-TERM");
    kill("-CONT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15), "{status:?}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "after SIGTERM mid-write ({temp}): {left:?}"
    );
}
