//! Core metadata without whole wheels (issue 12) and index credentials
//! (issue 17, hole 3), against the test index in its three forms over the
//! example's 39 real wheels: the same metadata from every form, each form
//! reached the cheap way its server allows (told by the server's log), a
//! warm cache that asks nothing, and passwords that never show.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pyko::{Cache, CoreMetadata, HttpClient, HttpOptions, IndexClient, IndexFile, MetadataClient};

use crate::common::fixtures;
use crate::common::index::{self, wheel_metadata, Form, IndexOptions, IndexServer};

/// 2024-01-02T03:04:05Z (the harness default) in Unix seconds.
const DEFAULT_UPLOAD_SECONDS: i64 = 1_704_164_645;

pub(crate) fn wheels() -> Vec<PathBuf> {
    let mut w: Vec<PathBuf> = std::fs::read_dir(fixtures::wheelhouse())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    w.sort();
    assert_eq!(w.len(), 39, "the example's wheelhouse");
    w
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

pub(crate) fn new_http() -> HttpClient {
    HttpClient::new(&HttpOptions::default()).unwrap()
}

fn projects(wheels: &[PathBuf]) -> Vec<String> {
    let mut p: Vec<String> = wheels
        .iter()
        .map(|w| index::normalize(file_name(w).split('-').next().unwrap()))
        .collect();
    p.dedup();
    p
}

/// Every file the index lists for the wheels' projects.
fn listed(index: &IndexClient, wheels: &[PathBuf]) -> Vec<IndexFile> {
    let mut files = Vec::new();
    for p in projects(wheels) {
        files.extend(index.files(&p).unwrap());
    }
    assert_eq!(files.len(), wheels.len());
    files
}

/// What a resolver reads of the metadata, as comparable text.
fn summary(m: &CoreMetadata) -> String {
    format!(
        "{} deps {} {} python={:?} dist={:?} extras={:?}",
        m.requires_dist.len(),
        m.name,
        m.version,
        m.requires_python.as_ref().map(|s| s.to_string()),
        m.requires_dist
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>(),
        m.provides_extra
    )
}

/// The metadata of every file, from six threads sharing one client.
fn get_all(client: &MetadataClient, files: &[IndexFile]) -> BTreeMap<String, String> {
    let out = std::sync::Mutex::new(BTreeMap::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(f) = files.get(i) else { break };
                let m = client
                    .get(f)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.filename));
                out.lock().unwrap().insert(f.filename.clone(), summary(&m));
            });
        }
    });
    out.into_inner().unwrap()
}

/// The lines of METADATA's headers whose name is `key`, read here without
/// pyko, to check its parser against.
fn headers(metadata: &[u8], key: &str) -> Vec<String> {
    String::from_utf8_lossy(metadata)
        .lines()
        // As Python's email parser: only an empty line ends the headers; a
        // line starting with whitespace (even a blank one) continues one.
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

#[test]
fn metadata_is_the_same_from_all_three_forms_and_fetched_cheaply() {
    let wheels = wheels();
    let sizes: BTreeMap<String, u64> = wheels
        .iter()
        .map(|w| (file_name(w), std::fs::metadata(w).unwrap().len()))
        .collect();
    let total: u64 = sizes.values().sum();
    let mut results = Vec::new();
    for form in Form::ALL {
        let server = IndexServer::start_with(&wheels, &IndexOptions::new(form));
        let http = new_http();
        let index = IndexClient::new(std::slice::from_ref(&server.url), &http).unwrap();
        let files = listed(&index, &wheels);
        for f in &files {
            let w = fixtures::wheelhouse().join(&f.filename);
            let rp = headers(&wheel_metadata(&w), "requires-python").pop();
            assert_eq!(f.requires_python, rp, "{form:?} {}", f.filename);
            assert_eq!(
                f.sha256.as_deref(),
                Some(server.hashes[&f.filename].as_str())
            );
            if form == Form::Json {
                assert_eq!(f.size, Some(sizes[&f.filename]));
                assert_eq!(f.upload_time, Some(DEFAULT_UPLOAD_SECONDS));
                assert!(matches!(
                    &f.core_metadata,
                    pyko::CoreMetadataHint::Available { sha256: Some(h) } if h.len() == 64
                ));
            } else {
                assert_eq!(f.core_metadata, pyko::CoreMetadataHint::Absent);
            }
        }
        let (cache, _guard) = Cache::ephemeral().unwrap();
        let client = MetadataClient::new(&http, &cache);
        server.clear_log();
        let started = std::time::Instant::now();
        let got = get_all(&client, &files);
        let cold = started.elapsed();
        let reqs = server.requests();
        let wheel_reqs: Vec<_> = reqs.iter().filter(|r| r.is_wheel()).collect();
        let meta_reqs: Vec<_> = reqs.iter().filter(|r| r.is_metadata()).collect();
        let bytes: u64 = reqs.iter().map(|r| r.bytes).sum();
        eprintln!(
            "{form:?}: {} requests ({} .metadata, {} wheel), {bytes} bytes of {total} in the wheels, {:.2}s",
            reqs.len(),
            meta_reqs.len(),
            wheel_reqs.len(),
            cold.as_secs_f64()
        );
        let log = server.log().join("\n");
        match form {
            Form::Json => {
                assert!(wheel_reqs.is_empty(), "form (a): no wheel GET\n{log}");
                assert_eq!(meta_reqs.len(), 39, "{log}");
                assert!(meta_reqs.iter().all(|r| r.status == 200), "{log}");
            }
            Form::HtmlRange => {
                assert!(meta_reqs.is_empty(), "{log}");
                assert!(
                    wheel_reqs
                        .iter()
                        .all(|r| r.method == "GET" && r.range.is_some() && r.status == 206),
                    "form (b): only ranged GETs of wheels\n{log}"
                );
                assert!(wheel_reqs.len() >= 39, "{log}");
                assert!(
                    bytes * 10 < total,
                    "ranged reads fetched {bytes} of {total} bytes\n{log}"
                );
            }
            Form::HtmlNoRange => {
                assert!(meta_reqs.is_empty(), "{log}");
                assert_eq!(wheel_reqs.len(), 39, "one GET per wheel\n{log}");
                for r in &wheel_reqs {
                    let name = r.path.rsplit('/').next().unwrap();
                    assert_eq!(r.status, 200, "{log}");
                    assert_eq!(r.bytes, sizes[name], "whole body of {name}");
                }
                // The whole wheels went into the blob cache, verified, for
                // the build to reuse.
                for (name, sha) in &server.hashes {
                    let d: pyko::Digest = format!("sha256:{sha}").parse().unwrap();
                    let blob = cache
                        .get(&d, None)
                        .unwrap_or_else(|| panic!("{name} cached"));
                    assert_eq!(&index::sha256_hex(&blob), sha);
                }
            }
        }
        // Warm: the same files again ask the server nothing.
        server.clear_log();
        let started = std::time::Instant::now();
        assert_eq!(get_all(&client, &files), got);
        eprintln!("{form:?} warm: {:.3}s", started.elapsed().as_secs_f64());
        assert!(server.requests().is_empty(), "{:#?}", server.log());
        results.push((form, got));
    }
    // Against the wheels' own METADATA, read without pyko.
    for (name, text) in &results[0].1 {
        let meta = wheel_metadata(&fixtures::wheelhouse().join(name));
        let deps = headers(&meta, "requires-dist");
        let (n, rest) = text.split_once(" deps ").unwrap();
        assert_eq!(n, deps.len().to_string(), "{name}: {text} vs {deps:?}");
        let (project, version) = rest.split_once(' ').unwrap();
        let v = version.split(' ').next().unwrap();
        assert_eq!(
            format!("{project}-{v}-"),
            format!("{}-{v}-", index::normalize(name.split('-').next().unwrap())),
            "{text}"
        );
    }
    for (form, got) in &results[1..] {
        assert_eq!(got, &results[0].1, "{form:?} differs from JSON + PEP 658");
    }
}

#[test]
fn upload_times_come_from_the_callers_map() {
    let wheels = wheels();
    let six = wheels
        .iter()
        .find(|w| file_name(w).starts_with("click-"))
        .unwrap()
        .clone();
    let mut opts = IndexOptions::new(Form::Json);
    opts.upload_times
        .insert(file_name(&six), "2023-05-06T07:08:09.5Z".into());
    let server = IndexServer::start_with(&wheels, &opts);
    let index = IndexClient::new(std::slice::from_ref(&server.url), &new_http()).unwrap();
    let files = index.files("click").unwrap();
    assert_eq!(files[0].upload_time, Some(1_683_356_889));
    assert_eq!(
        index.files("numpy").unwrap()[0].upload_time,
        Some(DEFAULT_UPLOAD_SECONDS)
    );
}

/// A wheel whose METADATA is not the file name's, and a `.metadata` file
/// that is not the one the index hashed: refused, naming what differs.
#[test]
fn mislabelled_wheels_and_tampered_metadata_are_refused() {
    let wheels = wheels();
    let six = wheels
        .iter()
        .find(|w| file_name(w).starts_with("click-"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("click-9.9.9-py3-none-any.whl");
    std::fs::copy(six, &fake).unwrap();
    for form in [Form::HtmlRange, Form::HtmlNoRange, Form::Json] {
        let server = IndexServer::start_with(std::slice::from_ref(&fake), &IndexOptions::new(form));
        let http = new_http();
        let index = IndexClient::new(std::slice::from_ref(&server.url), &http).unwrap();
        let (cache, _g) = Cache::ephemeral().unwrap();
        let client = MetadataClient::new(&http, &cache);
        let e = client
            .get(&index.files("click").unwrap()[0])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("click-9.9.9-py3-none-any.whl")
                && e.contains("click 8.5.1")
                && e.contains("click 9.9.9"),
            "{form:?}: {e}"
        );
    }
    let server = IndexServer::start_with(std::slice::from_ref(six), &IndexOptions::new(Form::Json));
    let meta = server
        .root
        .join("files")
        .join(format!("{}.metadata", file_name(six)));
    let mut bytes = std::fs::read(&meta).unwrap();
    bytes.extend_from_slice(b"Requires-Dist: evil\n");
    std::fs::write(&meta, bytes).unwrap();
    let http = new_http();
    let index = IndexClient::new(std::slice::from_ref(&server.url), &http).unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let e = MetadataClient::new(&http, &cache)
        .get(&index.files("click").unwrap()[0])
        .unwrap_err()
        .to_string();
    assert!(e.contains(".metadata") && e.contains("sha256"), "{e}");
}

/// The harness's older entry points still serve the same tree.
#[test]
fn legacy_tree_writer_lists_every_wheel() {
    let wheels = wheels();
    let dir = tempfile::tempdir().unwrap();
    let hashes = index::write_tree(dir.path(), &wheels, true);
    assert_eq!(hashes.len(), 39);
    let server = IndexServer::serve(dir);
    assert_eq!(server.form, Form::Json);
    let index = IndexClient::new(std::slice::from_ref(&server.url), &new_http()).unwrap();
    assert_eq!(listed(&index, &wheels).len(), 39);
}

fn uv() -> PathBuf {
    let out = std::process::Command::new("bash")
        .arg(fixtures::repo_root().join("tests/fixtures/uv.sh"))
        .output()
        .expect("run tests/fixtures/uv.sh");
    assert!(
        out.status.success(),
        "tests/fixtures/uv.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Real uv reads every form of the harness's index and resolves the
/// example's five top-level names to exactly its 39 pins; in form (a) it
/// takes the `.metadata` files and never a wheel, as pyko does.
#[test]
fn real_uv_resolves_against_every_form() {
    let wheels = wheels();
    let want: Vec<String> = wheels
        .iter()
        .map(|w| {
            let n = file_name(w);
            let mut parts = n.split('-');
            let name = index::normalize(parts.next().unwrap());
            format!("{name}=={}", parts.next().unwrap())
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("top.in");
    std::fs::write(&top, "joblib\nnumpy\npandas\nscikit-learn\nstreamlit\n").unwrap();
    for form in Form::ALL {
        let server = IndexServer::start_with(&wheels, &IndexOptions::new(form));
        let out = std::process::Command::new(uv())
            .args(["pip", "compile", "--quiet", "--no-header", "--no-annotate"])
            .args(["--python-version", "3.11", "--python-platform"])
            .args([
                "x86_64-manylinux_2_28",
                "--only-binary",
                ":all:",
                "--index-url",
            ])
            .arg(&server.url)
            .arg(&top)
            .env(
                "UV_CACHE_DIR",
                dir.path().join(format!("uv-cache-{form:?}")),
            )
            .env_remove("UV_INDEX_URL")
            .env("UV_NO_CONFIG", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{form:?}: {}\n{:#?}",
            String::from_utf8_lossy(&out.stderr),
            server.log()
        );
        let mut got: Vec<String> = stdout
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.trim().to_string())
            .collect();
        got.sort();
        let mut want = want.clone();
        want.sort();
        assert_eq!(got, want, "{form:?}");
        let reqs = server.requests();
        let log = server.log().join("\n");
        match form {
            Form::Json => {
                assert!(!reqs.iter().any(|r| r.is_wheel()), "{log}");
                assert!(
                    reqs.iter().filter(|r| r.is_metadata()).count() >= 39,
                    "{log}"
                );
            }
            Form::HtmlRange => assert!(
                reqs.iter()
                    .filter(|r| r.is_wheel() && r.method == "GET")
                    .all(|r| r.status == 206),
                "{log}"
            ),
            Form::HtmlNoRange => {
                assert!(reqs.iter().all(|r| r.status != 206), "{log}");
            }
        }
        let wheel_gets = reqs
            .iter()
            .filter(|r| r.is_wheel() && r.method == "GET")
            .count();
        let bytes: u64 = reqs.iter().map(|r| r.bytes).sum();
        eprintln!(
            "uv, {form:?}: {} requests, {wheel_gets} wheel GETs, {bytes} bytes",
            reqs.len()
        );
    }
}
