//! A push-only build leaves the base where it is: on a fresh cache only the
//! layers detection needs are read (top down); once the target of a base
//! manifest is known (cached by its digest), no base layer blob is read or
//! downloaded, even when the blobs are gone from the local cache; the push finds it (HEAD) or mounts it from the base's
//! repository. The registry's access log is the witness.

use std::path::Path;

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::Registry;
use crate::common::run::pyko;

fn push(reg: &Registry, base: &str, wheels: &Path, cache: &Path, dest: &str) -> String {
    let out = pyko(
        &[
            "build",
            "--from",
            base,
            "--wheels",
            wheels.to_str().unwrap(),
            "--app",
            fixtures::example_app().to_str().unwrap(),
            "--push",
            &format!("{}/{dest}", reg.host),
        ],
        cache,
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "pyko: {stderr}");
    stderr
}

/// Access-log request lines (`METHOD path`) after byte `from`.
fn requests(log: &str, from: usize) -> Vec<String> {
    log[from..]
        .lines()
        .filter_map(|l| {
            let start = l
                .find("\"GET /v2/")
                .or_else(|| l.find("\"HEAD /v2/"))
                .or_else(|| l.find("\"POST /v2/"))
                .or_else(|| l.find("\"PUT /v2/"))?;
            let mut it = l[start + 1..].split(' ');
            Some(format!("{} {}", it.next()?, it.next()?))
        })
        .collect()
}

#[test]
fn warm_push_downloads_no_base_layer_and_mounts_across_repositories() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    for p in std::fs::read_dir(fixtures::wheelhouse()).unwrap() {
        let p = p.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if n.starts_with("packaging-") {
            std::fs::copy(&p, wheels.join(n)).unwrap();
        }
    }
    let cache = tmp.path().join("cache");
    // First build, on an empty cache: the target must be detected. The
    // config names Python 3.11 and a bookworm rootfs, and the top layer holds
    // /usr/local/bin/python3.11, so only that layer is downloaded.
    let mark = reg.log().len();
    let stderr = push(&reg, &base, &wheels, &cache, "demo/app:1");
    let first = requests(&reg.log(), mark);
    // The base's layers: all of ours but the deps layer (one wheel) and
    // the app layer.
    let m = fixtures::inspect_raw(&reg, &format!("{}/demo/app:1", reg.host));
    let layers: Vec<String> = fixtures::layer_digests(&m);
    let base_layers = &layers[..layers.len() - 2];
    assert_eq!(base_layers.len(), 2, "the slim fixture has two layers");
    let got: Vec<&String> = first
        .iter()
        .filter(|r| r.starts_with("GET ") && base_layers.iter().any(|d| r.ends_with(d.as_str())))
        .collect();
    assert_eq!(
        got,
        vec![&format!("GET /v2/library/python/blobs/{}", base_layers[1])],
        "only the top base layer is read: {first:#?}"
    );
    // The same target as detection over every layer of the merged rootfs.
    let full = full_target(Flavour::Slim);
    assert!(
        stderr.contains(&format!("target: {full}")),
        "lazy target differs from full detection ({full}): {stderr}"
    );
    for d in base_layers {
        // Gone from the cache: reading it again would mean downloading it
        // again, which the log would show.
        let blob = cache
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"));
        if blob.exists() {
            std::fs::remove_file(&blob).unwrap();
        }
    }

    // Warm builds, to another repository (mount) and to the same one
    // (HEAD): no blob of any repository is downloaded.
    for dest in ["other/app:2", "demo/app:3"] {
        let mark = reg.log().len();
        push(&reg, &base, &wheels, &cache, dest);
        let reqs = requests(&reg.log(), mark);
        let gets: Vec<&String> = reqs
            .iter()
            .filter(|r| {
                r.starts_with("GET ") && base_layers.iter().any(|d| r.ends_with(d.as_str()))
            })
            .collect();
        assert!(gets.is_empty(), "{dest}: base layer downloads {gets:#?}");
        if dest.starts_with("other/") {
            let mounts: Vec<&String> = reqs
                .iter()
                .filter(|r| {
                    r.starts_with("POST /v2/other/app/blobs/uploads/") && r.contains("from=library")
                })
                .collect();
            assert!(!mounts.is_empty(), "base layers mounted: {reqs:#?}");
        }
    }
}

/// The target `pyko::detect_target` gives from every layer of a fixture
/// layout (the reference the lazy, top-down detection must match).
pub(crate) fn full_target(f: Flavour) -> pyko::PythonTarget {
    let layout = fixtures::base_layout(f);
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let json = |p: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let mut doc = json(layout.join("index.json"));
    while doc.get("layers").is_none() {
        let m = doc["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"].is_null() || m["platform"]["architecture"] == "amd64")
            .expect("an amd64 manifest")
            .clone();
        doc = json(blob(m["digest"].as_str().unwrap()));
    }
    let config = json(blob(doc["config"]["digest"].as_str().unwrap()));
    let layers: Vec<_> = doc["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| blob(l["digest"].as_str().unwrap()))
        .collect();
    pyko::detect_target(&config, &layers, &Default::default()).expect("full detection")
}

/// Digests of blobs uploaded (`PUT …/blobs/uploads/…?digest=…`) in `log`
/// after byte `from`.
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

/// Base on registry A, push to registry B: B is asked (HEAD) before
/// anything moves, each base layer crosses once (A → cache → B, the top one
/// already in the cache from detection), and a later build moves only what
/// B lacks — the new app layer and config, never a base layer.
#[test]
fn cross_registry_moves_only_what_the_destination_lacks() {
    let a = Registry::start();
    let b = Registry::start();
    let base = fixtures::push_base(&a, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    for p in std::fs::read_dir(fixtures::wheelhouse()).unwrap() {
        let p = p.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if n.starts_with("packaging-") {
            std::fs::copy(&p, wheels.join(n)).unwrap();
        }
    }
    let cache = tmp.path().join("cache");
    let (a0, b0) = (a.log().len(), b.log().len());
    push(&b, &base, &wheels, &cache, "team/app:1");
    let m = fixtures::inspect_raw(&b, &format!("{}/team/app:1", b.host));
    let layers: Vec<String> = fixtures::layer_digests(&m);
    let base_layers = &layers[..2];
    let (on_a, on_b) = (requests(&a.log(), a0), requests(&b.log(), b0));
    let b_up = uploaded(&b.log(), b0);
    for d in base_layers {
        let gets = on_a
            .iter()
            .filter(|r| *r == &format!("GET /v2/library/python/blobs/{d}"))
            .count();
        assert_eq!(gets, 1, "{d} crosses from A once: {on_a:#?}");
        let head = on_b
            .iter()
            .position(|r| *r == format!("HEAD /v2/team/app/blobs/{d}"))
            .unwrap_or_else(|| panic!("B asked about {d} first: {on_b:#?}"));
        let put = on_b
            .iter()
            .position(|r| {
                r.starts_with("PUT ")
                    && (r.contains(d.as_str()) || r.contains(&d.replace(':', "%3A")))
            })
            .unwrap_or_else(|| panic!("{d} uploaded to B: {on_b:#?}"));
        assert!(head < put, "HEAD on B before {d} moves: {on_b:#?}");
        assert_eq!(
            b_up.iter().filter(|u| *u == d).count(),
            1,
            "{d} uploaded to B once: {b_up:#?}"
        );
    }
    // B as it stands, read back by an independent tool.
    let copied = tempfile::tempdir().unwrap();
    crate::common::run::skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}/team/app:1", b.host),
        &format!("oci:{}:x", copied.path().display()),
    ]);

    // A changed app, base blobs gone from the local cache: B already holds
    // the base, so nothing of it is read from A or sent to B.
    for d in base_layers {
        let blob = cache
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"));
        if blob.exists() {
            std::fs::remove_file(&blob).unwrap();
        }
    }
    let app = tmp.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("main.py"), "print('changed')\n").unwrap();
    let (a1, b1) = (a.log().len(), b.log().len());
    let out = pyko(
        &[
            "build",
            "--from",
            &base,
            "--wheels",
            wheels.to_str().unwrap(),
            "--app",
            app.to_str().unwrap(),
            "--push",
            &format!("{}/team/app:2", b.host),
        ],
        &cache,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let on_a = requests(&a.log(), a1);
    assert!(
        !on_a
            .iter()
            .any(|r| r.starts_with("GET ") && r.contains("/blobs/")),
        "no blob read from A: {on_a:#?}"
    );
    let m2 = fixtures::inspect_raw(&b, &format!("{}/team/app:2", b.host));
    let app2 = m2["layers"][m2["layers"].as_array().unwrap().len() - 1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut b_up = uploaded(&b.log(), b1);
    b_up.sort();
    let mut want = vec![app2, m2["config"]["digest"].as_str().unwrap().to_string()];
    want.sort();
    assert_eq!(b_up, want, "only the new app layer and config move to B");
}

/// `pyko lock --from` needs only the target: on a fresh cache it reads the
/// base top down as far as detection needs (the top layer of the slim
/// fixture), and once the target is cached no base blob at all.
#[test]
fn lock_from_a_registry_base_reads_only_what_detection_needs() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(fixtures::wheels_named(
        &tmp.path().join("w"),
        &["packaging-"],
    ))
    .unwrap()
    .map(|e| e.unwrap().path())
    .collect();
    let index = crate::common::index::IndexServer::start(&files, true);
    let req = tmp.path().join("requirements.txt");
    std::fs::write(&req, "packaging\n").unwrap();
    let cache = tmp.path().join("cache");
    let lock = |n: u32| -> Vec<String> {
        let mark = reg.log().len();
        let out_file = tmp.path().join(format!("pylock.n{n}.toml"));
        let out = pyko(
            &[
                "lock",
                "-r",
                req.to_str().unwrap(),
                "--from",
                &base,
                "--index-url",
                &index.url,
                "-o",
                out_file.to_str().unwrap(),
            ],
            &cache,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&out_file).unwrap();
        assert!(text.contains("name = \"packaging\""), "{text}");
        requests(&reg.log(), mark)
            .into_iter()
            .filter(|r| r.starts_with("GET ") && r.contains("/blobs/"))
            .collect()
    };
    // The base is an index: its amd64 manifest's layers.
    let idx = fixtures::inspect_raw(&reg, &base);
    let amd64 = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["platform"]["architecture"] == "amd64")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let repo = base.rsplit_once(':').unwrap().0;
    let m = fixtures::inspect_raw(&reg, &format!("{repo}@{amd64}"));
    let layers: Vec<String> = fixtures::layer_digests(&m);
    let first = lock(1);
    let layer_gets: Vec<&String> = first
        .iter()
        .filter(|r| layers.iter().any(|d| r.ends_with(d.as_str())))
        .collect();
    assert_eq!(
        layer_gets,
        vec![&format!("GET /v2/library/python/blobs/{}", layers[1])],
        "only the top base layer: {first:#?}"
    );
    let second = lock(2);
    assert!(
        second
            .iter()
            .all(|r| !layers.iter().any(|d| r.ends_with(d.as_str()))),
        "no base layer once the target is cached: {second:#?}"
    );
}
