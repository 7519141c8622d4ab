//! A real package index on 127.0.0.1 over real wheels, in the three forms a
//! client must handle (`Form`): PEP 691 JSON with PEP 658 `.metadata`
//! files, PEP 503 HTML without metadata whose files answer range requests,
//! and HTML whose files ignore `Range`. Optional basic auth; every request
//! is logged (method, path, Range, status, bytes) so tests can say which
//! way a client took.

mod server;
mod tree;

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sha2::Digest as _;

pub use tree::wheel_metadata;

pub const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// (a) JSON pages (HTML too, for clients that ask for it) with
    /// `core-metadata` + `.metadata` files, `upload-time`,
    /// `requires-python`, `size`; files answer ranges.
    Json,
    /// (b) HTML only, no metadata files; files answer ranges (206).
    HtmlRange,
    /// (c) HTML only, no metadata files; `Range` ignored (200, whole body).
    HtmlNoRange,
}

impl Form {
    pub const ALL: [Form; 3] = [Form::Json, Form::HtmlRange, Form::HtmlNoRange];
}

#[derive(Clone, Debug)]
pub struct IndexOptions {
    pub form: Form,
    /// File name → RFC 3339 upload time; others get `DEFAULT_UPLOAD_TIME`.
    pub upload_times: BTreeMap<String, String>,
    /// `(user, password)` every request must present (basic auth).
    pub basic_auth: Option<(String, String)>,
}

impl IndexOptions {
    pub fn new(form: Form) -> IndexOptions {
        IndexOptions {
            form,
            upload_times: BTreeMap::new(),
            basic_auth: None,
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    /// As sent (not decoded).
    pub path: String,
    pub accept: String,
    pub range: Option<String>,
    pub authorized: bool,
    pub status: u16,
    pub content_type: String,
    /// Body bytes sent.
    pub bytes: u64,
}

impl Logged {
    pub fn is_wheel(&self) -> bool {
        self.path.ends_with(".whl")
    }
    pub fn is_metadata(&self) -> bool {
        self.path.ends_with(".whl.metadata")
    }
}

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} accept={} range={} auth={} sent={}B -> {} {}",
            self.method,
            self.path,
            self.accept,
            self.range.as_deref().unwrap_or("-"),
            self.authorized,
            self.bytes,
            self.status,
            self.content_type
        )
    }
}

pub struct IndexServer {
    pub root: PathBuf,
    /// `http://127.0.0.1:PORT/simple/` (no credentials in it).
    pub url: String,
    pub form: Form,
    /// file name → sha256 hex.
    pub hashes: BTreeMap<String, String>,
    log: Arc<Mutex<Vec<Logged>>>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

/// sha256 hex of a file.
pub fn sha256_hex(p: &Path) -> String {
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(p).unwrap(), &mut h).unwrap();
    hex::encode(h.finalize())
}

/// `simple/<project>/` pages (HTML and, when `json`, JSON with PEP 658
/// metadata files) listing the wheels, the files under `files/` (hard
/// links, no copies). Extra files (e.g. a fake sdist) can be added to
/// `files`.
pub fn write_tree(root: &Path, wheels: &[PathBuf], json: bool) -> BTreeMap<String, String> {
    tree::write(root, wheels, &IndexOptions::new(legacy_form(json)))
}

fn legacy_form(json: bool) -> Form {
    if json {
        Form::Json
    } else {
        Form::HtmlNoRange
    }
}

pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl IndexServer {
    /// Serves a fresh tree of `wheels`: JSON form (a) when `json`, else
    /// plain HTML without range support (c).
    pub fn start(wheels: &[PathBuf], json: bool) -> IndexServer {
        Self::start_with(wheels, &IndexOptions::new(legacy_form(json)))
    }

    pub fn start_with(wheels: &[PathBuf], opts: &IndexOptions) -> IndexServer {
        let dir = tempfile::tempdir().unwrap();
        let hashes = tree::write(dir.path(), wheels, opts);
        let mut s = Self::serve_with(dir, opts);
        s.hashes = hashes;
        s
    }

    /// Serves a tree the caller wrote (see `write_tree`).
    pub fn serve(dir: tempfile::TempDir) -> IndexServer {
        Self::serve_with(dir, &IndexOptions::new(Form::Json))
    }

    pub fn serve_with(dir: tempfile::TempDir, opts: &IndexOptions) -> IndexServer {
        use base64::Engine as _;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let root = dir.path().to_path_buf();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let cfg = Arc::new(server::Config {
            form: opts.form,
            authorization: opts.basic_auth.as_ref().map(|(u, p)| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
                )
            }),
        });
        {
            let (root, log, stop) = (root.clone(), log.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (root, log, cfg) = (root.clone(), log.clone(), cfg.clone());
                    std::thread::spawn(move || {
                        let _ = server::handle(conn, &root, &cfg, &log);
                    });
                }
            });
        }
        IndexServer {
            url: format!("http://127.0.0.1:{port}/simple/"),
            form: opts.form,
            hashes: BTreeMap::new(),
            root,
            log,
            stop,
            _dir: dir,
        }
    }

    /// `http://user:password@127.0.0.1:PORT/simple/`.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        self.url
            .replacen("http://", &format!("http://{user}:{password}@"), 1)
    }

    /// One line per request, `METHOD PATH accept=… range=… auth=… sent=NB
    /// -> STATUS CONTENT-TYPE` (the type last, as tests match on it).
    pub fn log(&self) -> Vec<String> {
        self.requests().iter().map(|r| r.to_string()).collect()
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }
}

impl Drop for IndexServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(
            self.url
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap(),
        );
    }
}
