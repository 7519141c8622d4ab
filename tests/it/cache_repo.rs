//! `--cache-repo`: the registry as the deps-layer cache every runner
//! shares. Runners are separate cache dirs; the registry's access log is the
//! witness of what moved.

use std::path::{Path, PathBuf};

use crate::common::fixtures::{self, Flavour};
use crate::common::index::{self, IndexServer};
use crate::common::registry::Registry;
use crate::common::run::pyko;

/// A few real wheels, one of them (numpy) big enough for a layer of its own.
fn wheels(dir: &Path) -> PathBuf {
    let w = dir.join("wheels");
    std::fs::create_dir(&w).unwrap();
    for p in std::fs::read_dir(fixtures::wheelhouse()).unwrap() {
        let p = p.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if ["packaging-", "idna-", "six-", "numpy-", "h11-"]
            .iter()
            .any(|s| n.starts_with(s))
        {
            std::fs::copy(&p, w.join(n)).unwrap();
        }
    }
    w
}

fn build(base: &str, wheels: &Path, cache: &Path, dest: &str, cache_repo: &str) -> String {
    let out = pyko(
        &[
            "build",
            "--from",
            base,
            "--wheels",
            wheels.to_str().unwrap(),
            "--app",
            fixtures::example_app().to_str().unwrap(),
            "--cache-repo",
            cache_repo,
            "--push",
            dest,
        ],
        cache,
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "pyko: {stderr}");
    stderr
}

fn uploaded(log: &str, from: usize) -> Vec<String> {
    log[from..]
        .lines()
        .filter(|l| l.contains("\"PUT /v2/") && l.contains("/blobs/uploads/"))
        .filter_map(|l| {
            let d = l.split("digest=").nth(1)?;
            let d = d.split([' ', '&', '"']).next()?;
            Some(d.replace("%3A", ":").replace("%3a", ":"))
        })
        .collect()
}

/// The deps layers of an image: every layer but the base's two and the app.
fn deps_layers(reg: &Registry, reference: &str) -> Vec<String> {
    let m = fixtures::inspect_raw(reg, reference);
    let l: Vec<String> = fixtures::layer_digests(&m);
    l[2..l.len() - 1].to_vec()
}

#[test]
fn second_runner_builds_and_uploads_no_deps_layer() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let wheels = wheels(tmp.path());
    let repo = format!("{}/ci/cache", reg.host);

    let first = build(
        &base,
        &wheels,
        &tmp.path().join("c1"),
        &format!("{}/team/app:1", reg.host),
        &repo,
    );
    assert!(first.contains("--cache-repo: stored"), "{first}");
    let deps1 = deps_layers(&reg, &format!("{}/team/app:1", reg.host));
    assert!(
        deps1.len() >= 2,
        "numpy alone plus the small group: {deps1:?}"
    );
    let log = reg.log();
    assert!(
        log.lines()
            .any(|l| l.contains("\"PUT /v2/ci/cache/manifests/pyko-")),
        "the entry is tagged in the cache repo"
    );

    // Runner 2: an empty cache, another destination repository.
    let mark = reg.log().len();
    let second = build(
        &base,
        &wheels,
        &tmp.path().join("c2"),
        &format!("{}/team/other:2", reg.host),
        &repo,
    );
    assert!(second.contains("from --cache-repo"), "{second}");
    assert!(
        !second.contains(" entries, "),
        "no deps layer written: {second}"
    );
    let deps2 = deps_layers(&reg, &format!("{}/team/other:2", reg.host));
    assert_eq!(deps1, deps2, "the same layers");
    let up = uploaded(&reg.log(), mark);
    for d in &deps2 {
        assert!(!up.contains(d), "deps layer {d} uploaded again: {up:#?}");
    }
    let log = reg.log();
    let mounts = log[mark..]
        .lines()
        .filter(|l| l.contains("\"POST /v2/team/other/blobs/uploads/") && l.contains("from=ci"))
        .count();
    assert!(
        mounts >= deps2.len(),
        "deps layers mounted from the cache repo"
    );
    // What the registry holds reads back with an independent tool.
    let out = tempfile::tempdir().unwrap();
    crate::common::run::skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}/team/other:2", reg.host),
        &format!("oci:{}:x", out.path().display()),
    ]);
}

#[test]
fn four_runners_on_one_key_and_an_unreachable_cache_repo() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let wheels = wheels(tmp.path());
    let repo = format!("{}/ci/shared", reg.host);
    let digests: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let (base, wheels, repo, tmp, host) =
                    (&base, &wheels, &repo, tmp.path(), &reg.host);
                s.spawn(move || {
                    build(
                        base,
                        wheels,
                        &tmp.join(format!("r{i}")),
                        &format!("{host}/team/app:r{i}"),
                        repo,
                    );
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        (0..4)
            .map(|i| {
                fixtures::inspect_raw(&reg, &format!("{}/team/app:r{i}", reg.host)).to_string()
            })
            .collect()
    });
    assert!(
        digests.windows(2).all(|w| w[0] == w[1]),
        "one image for all four"
    );

    // Nothing listens on port 1: a warning, and the build still succeeds.
    let stderr = build(
        &base,
        &wheels,
        &tmp.path().join("r5"),
        &format!("{}/team/app:r5", reg.host),
        "127.0.0.1:1/ci/cache",
    );
    assert!(stderr.contains("warning: --cache-repo"), "{stderr}");
}

/// A lock (or a hashed requirements file) names every wheel with its
/// sha256, so a fresh runner finds the deps layers in the cache repo from
/// those hashes alone: the index serves no wheel, the registry no base
/// layer, and no deps layer is uploaded. The key does not depend on where
/// the hashes came from, so hashed requirements hit the lock's entry.
#[test]
fn a_fresh_runner_with_locked_hashes_downloads_no_wheel_and_no_base_layer() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixtures::wheels_named(
        &tmp.path().join("wheels"),
        &["packaging-", "idna-", "numpy-", "h11-"],
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let index = IndexServer::start(&files, false);
    let pins: Vec<String> = files
        .iter()
        .map(|f| {
            let n = f.file_name().unwrap().to_string_lossy().into_owned();
            let mut parts = n.split('-');
            format!("{}=={}", parts.next().unwrap(), parts.next().unwrap())
        })
        .collect();
    let pin_refs: Vec<&str> = pins.iter().map(String::as_str).collect();
    let (uv_lock, _) = crate::lock::uv_locks_of(&index.url, tmp.path(), &pin_refs);
    let hashed: String = files
        .iter()
        .zip(&pins)
        .map(|(f, p)| format!("{p} --hash=sha256:{}\n", index::sha256_hex(f)))
        .collect();
    let req = tmp.path().join("requirements.txt");
    std::fs::write(&req, hashed).unwrap();

    let repo = format!("{}/ci/cache", reg.host);
    let app = fixtures::example_app();
    let build = |source: &[&str], runner: &str| -> (String, serde_json::Value) {
        let dest = format!("{}/team/{runner}:1", reg.host);
        let mut args = vec![
            "build",
            "--from",
            &base,
            "--app",
            app.to_str().unwrap(),
            "--cache-repo",
            &repo,
            "--push",
            &dest,
        ];
        args.extend_from_slice(source);
        let out = pyko(&args, &tmp.path().join(runner));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{runner}: {stderr}");
        (stderr, fixtures::inspect_raw(&reg, &dest))
    };
    let lock = ["--lock", uv_lock.to_str().unwrap()];
    index.clear_log(); // uv's own requests
    let (first, image1) = build(&lock, "first");
    assert!(first.contains("--cache-repo: stored"), "{first}");
    let got = index.requests();
    assert_eq!(
        got.iter().filter(|r| r.is_wheel()).count(),
        files.len(),
        "the first runner downloads each wheel: {got:#?}"
    );
    // The base fixture's two layers come first.
    let base_layers: Vec<String> = image1["layers"].as_array().unwrap()[..2]
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();

    let req_args = [
        "--requirements",
        req.to_str().unwrap(),
        "--index-url",
        &index.url,
    ];
    for (runner, source) in [("second", &lock[..]), ("third", &req_args[..])] {
        index.clear_log();
        let mark = reg.log().len();
        let (stderr, image) = build(source, runner);
        assert!(stderr.contains("from --cache-repo"), "{runner}: {stderr}");
        assert_eq!(image, image1, "{runner}: the same manifest");
        let got = index.requests();
        assert!(
            got.iter().all(|r| !r.is_wheel()),
            "{runner}: no wheel downloaded: {got:#?}"
        );
        let log = reg.log();
        let up = uploaded(&log, mark);
        for d in deps_layers(&reg, &format!("{}/team/{runner}:1", reg.host)) {
            assert!(!up.contains(&d), "{runner}: deps layer {d} uploaded");
        }
        let base_gets: Vec<&str> = log[mark..]
            .lines()
            .filter(|l| {
                l.contains("\"GET /v2/") && base_layers.iter().any(|d| l.contains(d.as_str()))
            })
            .collect();
        assert!(
            base_gets.is_empty(),
            "{runner}: base layers read: {base_gets:#?}"
        );
    }
}
