//! The fault matrix: every kind of request pyko makes, through the fault
//! proxy (`common::faults`), with every fault a network or registry can
//! throw at it. Each cell is a full `pyko build`, and must end either in the
//! image a clean run builds (same manifest digest, read back from the real
//! registry with skopeo, same tarball or layout bytes) or in the expected
//! error naming the request — never a wrong image, a partial output, or a
//! tag pointing at blobs the registry does not have.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::common::faults::{Fault, FaultProxy, Rule};
use crate::common::fixtures::{self, Flavour};
use crate::common::index::{write_tree, IndexServer};
use crate::common::registry::Registry;
use crate::common::run::pyko_cmd;

/// A request kind, and the proxy pattern that picks it out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    ManifestGet,
    BlobGet,
    BlobHead,
    UploadPost,
    UploadPut,
    ManifestPut,
    IndexPage,
    WheelGet,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::ManifestGet,
        Kind::BlobGet,
        Kind::BlobHead,
        Kind::UploadPost,
        Kind::UploadPut,
        Kind::ManifestPut,
        Kind::IndexPage,
        Kind::WheelGet,
    ];

    pub fn pattern(self) -> (&'static str, &'static str) {
        match self {
            Kind::ManifestGet => ("GET", "^/v2/library/python/manifests/"),
            // The base's config and layers (the tarball needs the layers).
            Kind::BlobGet => ("GET", "^/v2/library/python/blobs/sha256:"),
            Kind::BlobHead => ("HEAD", "^/v2/demo/app/blobs/sha256:"),
            // Mount requests are upload POSTs too.
            Kind::UploadPost => ("POST", "^/v2/demo/app/blobs/uploads/$"),
            Kind::UploadPut => ("PUT", "^/v2/demo/app/blobs/uploads/."),
            Kind::ManifestPut => ("PUT", "^/v2/demo/app/manifests/"),
            Kind::IndexPage => ("GET", "^/simple/"),
            Kind::WheelGet => ("GET", "^/files/"),
        }
    }

    fn is_index(self) -> bool {
        matches!(self, Kind::IndexPage | Kind::WheelGet)
    }

    /// What the error must say to name the request: every entry, each
    /// entry being alternatives split by `|` (the action, or the URL a
    /// connection error names).
    fn names(self) -> &'static [&'static str] {
        match self {
            Kind::ManifestGet => &["library/python", "manifest"],
            Kind::BlobGet => &["library/python", "sha256:"],
            Kind::BlobHead => &["demo/app", "checking for blob|/blobs/sha256:"],
            Kind::UploadPost => &["demo/app", "blob"],
            Kind::UploadPut => &["demo/app", "uploading blob|/blobs/uploads/"],
            Kind::ManifestPut => &["demo/app", "pushing manifest|/manifests/"],
            Kind::IndexPage => &["/simple/|.whl"],
            Kind::WheelGet => &[".whl"],
        }
    }
}

/// The faults of a column: name, fault, how many requests get it.
fn faults(redirect_to: &str) -> Vec<(&'static str, Fault, usize)> {
    let forever = usize::MAX;
    vec![
        ("reset", Fault::ResetAfter(100), 1),
        ("stall 3s", Fault::Stall(Duration::from_secs(3)), 1),
        ("500", Fault::Status(500), 1),
        ("502", Fault::Status(502), 1),
        ("503", Fault::Status(503), 1),
        ("429 Retry-After", Fault::TooMany(1), 1),
        ("truncated", Fault::Truncate(100), 1),
        ("flipped", Fault::Flip(200), 1),
        ("404 upload gone", Fault::DropUpload, 1),
        ("redirect", Fault::Redirect(redirect_to.to_string()), 1),
        ("503 always", Fault::Status(503), forever),
        ("reset always", Fault::ResetAfter(100), forever),
        ("flipped always", Fault::Flip(200), forever),
    ]
}

/// Which cells end in an error rather than the clean image, and why.
fn expect_error(kind: Kind, fault: &str) -> bool {
    match fault {
        // Permanent faults: retried within the budget, then reported.
        "503 always" | "reset always" => true,
        // Bytes that never match their digest or hash; HEAD has no body,
        // and a manifest PUT's answer has none to corrupt.
        "flipped always" => !matches!(
            kind,
            Kind::BlobHead | Kind::ManifestPut | Kind::UploadPost | Kind::UploadPut
        ),
        // The index page is not integrity-protected: a page cut short is
        // refused as malformed, and a flipped byte lands in a hash, so the
        // download is refused. A wheel whose bytes do not match its hash is
        // refused (as pip does), never installed.
        "truncated" | "flipped" => kind.is_index(),
        // An upload body is streamed and cannot be sent again to where a
        // redirect points: a clear error, not a silent re-upload elsewhere.
        "redirect" => kind == Kind::UploadPut,
        // A 404 is the registry's word that the thing is not there: for a
        // HEAD it means "upload it", for an upload session "open a new
        // one"; for everything else it is a clean error.
        "404 upload gone" => matches!(
            kind,
            Kind::ManifestGet
                | Kind::BlobGet
                | Kind::ManifestPut
                | Kind::IndexPage
                | Kind::WheelGet
        ),
        _ => false,
    }
}

/// Small real wheels (pure Python), so a cell builds in seconds.
fn small_wheels(dir: &Path) -> PathBuf {
    let d = dir.join("wheels");
    std::fs::create_dir_all(&d).unwrap();
    for e in std::fs::read_dir(fixtures::wheelhouse()).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if ["idna-", "packaging-", "click-", "h11-"]
            .iter()
            .any(|s| n.starts_with(s))
        {
            std::fs::hard_link(&p, d.join(&n))
                .or_else(|_| std::fs::copy(&p, d.join(&n)).map(|_| ()))
                .unwrap();
        }
    }
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 4);
    d
}

fn app(dir: &Path) -> PathBuf {
    let a = dir.join("app");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::write(
        a.join("app.py"),
        "import idna, packaging, click, h11\nprint('ok')\n",
    )
    .unwrap();
    a
}

pub struct Outcome {
    pub out: Output,
    /// The pushed manifest digest as the registry itself reports it.
    pub stored: Option<String>,
    /// sha256 of the tarball or the layout's index.json, if written.
    pub output: Option<String>,
    /// Requests the fault's pattern matched.
    pub hits: usize,
    pub log: Vec<String>,
}

/// A fault for a cell: on which kind, what, for how many requests.
#[derive(Clone)]
pub struct Cell {
    pub kind: Kind,
    pub fault: Fault,
    pub count: usize,
}

fn sha(p: &Path) -> Option<String> {
    p.exists().then(|| crate::common::index::sha256_hex(p))
}

/// The manifest digest the registry holds under `reference`, asked directly
/// (not through the proxy).
pub fn stored_digest(reg: &Registry, reference: &str) -> Option<String> {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/{reference}", reg.host))
        .output()
        .unwrap();
    out.status.success().then(|| {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout)))
    })
}

/// The proxy in front of `upstream` with `cell`'s rule; a redirect points
/// at `other`, "another host" (by name) in front of the same upstream.
fn proxies(port: u16, upstream: &str, cell: Option<&Cell>) -> (FaultProxy, FaultProxy) {
    let other = FaultProxy::start(upstream, vec![]);
    let other_host = format!("localhost:{}", other.host.rsplit(':').next().unwrap());
    let rules = cell
        .map(|c| {
            let (method, path) = c.kind.pattern();
            let fault = match &c.fault {
                Fault::Redirect(_) => Fault::Redirect(other_host.clone()),
                f => f.clone(),
            };
            vec![Rule::new(Some(method), path, 1, c.count, fault)]
        })
        .unwrap_or_default();
    (FaultProxy::start_at(port, upstream, rules), other)
}

fn hits(proxy: &FaultProxy, cell: Option<&Cell>) -> usize {
    cell.map(|_| proxy.rule(0).matched()).unwrap_or(1)
}

/// One registry cell: pull the base through the proxy, push through it,
/// write a tarball (which needs the base layers' bytes).
pub fn registry_cell(
    port: u16,
    cell: Option<&Cell>,
    dir: &Path,
    wheels: &Path,
    app: &Path,
) -> Outcome {
    let reg = Registry::start();
    fixtures::push_base(&reg, Flavour::Slim, "library/python:base");
    let (proxy, _other) = proxies(port, &reg.host, cell);
    let tarball = dir.join("app.tar");
    let out = pyko_cmd(&dir.join("cache"))
        .args(["build", "--from"])
        .arg(format!("{}/library/python:base", proxy.host))
        .arg("--wheels")
        .arg(wheels)
        .arg("--app")
        .arg(app)
        .args(["--cmd", "python app.py", "--push"])
        .arg(format!("{}/demo/app:1", proxy.host))
        .arg("--tarball")
        .arg(&tarball)
        .args(["--tag", "demo/app:1"])
        .output()
        .unwrap();
    Outcome {
        out,
        stored: stored_digest(&reg, "demo/app:1"),
        output: sha(&tarball),
        hits: hits(&proxy, cell),
        log: proxy.log(),
    }
}

/// One index cell: a disk base, pinned requirements from the index through
/// the proxy, an OCI layout out.
pub fn index_cell(
    port: u16,
    cell: Option<&Cell>,
    dir: &Path,
    wheels: &Path,
    app: &Path,
) -> Outcome {
    let tree = tempfile::tempdir().unwrap();
    let list: Vec<PathBuf> = std::fs::read_dir(wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    write_tree(tree.path(), &list, true);
    let index = IndexServer::serve(tree);
    let upstream = index.url.trim_start_matches("http://");
    let upstream = upstream.split('/').next().unwrap().to_string();
    let (proxy, _other) = proxies(port, &upstream, cell);
    let req = dir.join("requirements.txt");
    std::fs::write(&req, REQUIREMENTS).unwrap();
    let layout = dir.join("layout");
    let out = pyko_cmd(&dir.join("cache"))
        .args(["build", "--from"])
        .arg(format!(
            "oci-layout:{}:latest",
            fixtures::base_layout(Flavour::Slim).display()
        ))
        .arg("-r")
        .arg(&req)
        .arg("--index-url")
        .arg(format!("http://{}/simple/", proxy.host))
        .arg("--app")
        .arg(app)
        .args(["--cmd", "python app.py", "--oci-layout"])
        .arg(&layout)
        .output()
        .unwrap();
    Outcome {
        out,
        stored: None,
        output: sha(&layout.join("index.json")),
        hits: hits(&proxy, cell),
        log: proxy.log(),
    }
}

const REQUIREMENTS: &str = "idna==3.20\npackaging==26.4\nclick==8.5.1\nh11==0.16.0\n";

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Judges one cell against the clean run; `Err` says what is wrong.
fn judge(kind: Kind, fault: &str, got: &Outcome, clean: &Outcome) -> Result<(), String> {
    let err = stderr(&got.out);
    if got.hits == 0 {
        return Err("the pattern matched no request".into());
    }
    if expect_error(kind, fault) {
        if got.out.status.success() {
            return Err("built, but the fault is permanent".into());
        }
        let named = |n: &&str| n.split('|').any(|alt| err.contains(alt));
        if let Some(missing) = kind.names().iter().find(|n| !named(n)) {
            return Err(format!(
                "error does not name the request ({missing:?}): {err}"
            ));
        }
        // A push that fails after a complete tarball was written leaves
        // that tarball; anything else there is a partial output.
        if got.output.is_some() && got.output != clean.output {
            return Err("failed and left a partial or wrong output".into());
        }
        // A manifest PUT whose answer was lost may have been stored: then
        // it must be the complete, right image.
        if got.stored.is_some() && got.stored != clean.stored {
            return Err(format!("failed but the registry holds {:?}", got.stored));
        }
        return Ok(());
    }
    if !got.out.status.success() {
        let tail: Vec<&str> = err.lines().rev().take(4).collect();
        return Err(format!("failed: {tail:?}"));
    }
    if got.output != clean.output {
        return Err(format!(
            "output differs: {:?} != {:?}",
            got.output, clean.output
        ));
    }
    if got.stored != clean.stored {
        return Err(format!(
            "registry holds {:?}, clean run {:?}",
            got.stored, clean.stored
        ));
    }
    let printed = String::from_utf8_lossy(&got.out.stdout);
    if let Some(d) = &got.stored {
        if !printed.contains(d.as_str()) {
            return Err(format!("stdout {printed:?} lacks {d}"));
        }
    }
    Ok(())
}

/// `PYKO_FAULTS=kind` (e.g. `UploadPut`) narrows the matrix while debugging.
#[test]
fn fault_matrix() {
    let fixtures_dir = tempfile::tempdir().unwrap();
    let wheels = small_wheels(fixtures_dir.path());
    let app = app(fixtures_dir.path());
    let only = std::env::var("PYKO_FAULTS").ok();
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| only.as_ref().is_none_or(|o| format!("{k:?}") == *o))
        .collect();
    let mut cells = Vec::new();
    for kind in &kinds {
        for (name, fault, count) in faults("") {
            cells.push((
                *kind,
                name,
                Cell {
                    kind: *kind,
                    fault,
                    count,
                },
            ));
        }
    }
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                // Each worker keeps one proxy port, so its images name the
                // same base, and compares with its own clean runs.
                let port = crate::common::registry::free_port();
                let clean_dir = tempfile::tempdir().unwrap();
                let clean = |d: &str| {
                    let d = clean_dir.path().join(d);
                    std::fs::create_dir(&d).unwrap();
                    d
                };
                let clean_reg = registry_cell(port, None, &clean("r"), &wheels, &app);
                let clean_idx = index_cell(port, None, &clean("i"), &wheels, &app);
                for c in [&clean_reg, &clean_idx] {
                    assert!(c.out.status.success(), "clean build: {}", stderr(&c.out));
                    assert!(c.output.is_some());
                }
                assert!(clean_reg.stored.is_some());
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((kind, name, cell)) = cells.get(i) else {
                        break;
                    };
                    let dir = tempfile::tempdir().unwrap();
                    let (got, clean) = if kind.is_index() {
                        let got = index_cell(port, Some(cell), dir.path(), &wheels, &app);
                        (got, &clean_idx)
                    } else {
                        let got = registry_cell(port, Some(cell), dir.path(), &wheels, &app);
                        (got, &clean_reg)
                    };
                    let verdict = judge(*kind, name, &got, clean)
                        .map_err(|e| format!("{e}\n      proxy log: {:?}", got.log));
                    results.lock().unwrap().push((i, *kind, *name, verdict));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let mut failed = 0;
    for (_, kind, name, verdict) in &results {
        let expect = if expect_error(*kind, name) {
            "error"
        } else {
            "image"
        };
        match verdict {
            Ok(()) => eprintln!("ok    {kind:?} × {name} -> {expect}"),
            Err(e) => {
                failed += 1;
                eprintln!("FAIL  {kind:?} × {name} (want {expect}): {e}");
            }
        }
    }
    eprintln!(
        "fault matrix: {} passed, {failed} failed",
        results.len() - failed
    );
    assert_eq!(failed, 0, "fault matrix has red cells (see above)");
}
