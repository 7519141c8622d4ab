//! A real package index on 127.0.0.1: a static tree of PEP 503 HTML pages
//! (with `#sha256=` fragments) and PEP 691 JSON pages beside them, served
//! over HTTP by a std-thread server that negotiates the page format from
//! `Accept` like a real index. Every request is logged.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sha2::Digest as _;

pub const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

pub struct IndexServer {
    pub root: PathBuf,
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

/// sha256 hex of a file.
pub fn sha256_hex(p: &Path) -> String {
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(p).unwrap(), &mut h).unwrap();
    hex::encode(h.finalize())
}

/// `simple/<project>/` pages (HTML and, when `json`, JSON) listing the
/// wheels, the files under `files/` (hard links, no copies). Extra files
/// (e.g. a fake sdist) can be added to `files`.
pub fn write_tree(root: &Path, wheels: &[PathBuf], json: bool) -> BTreeMap<String, String> {
    let mut projects: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    std::fs::create_dir_all(root.join("files")).unwrap();
    let mut hashes = BTreeMap::new();
    for w in wheels {
        let name = w.file_name().unwrap().to_string_lossy().into_owned();
        let dest = root.join("files").join(&name);
        if std::fs::hard_link(w, &dest).is_err() {
            std::fs::copy(w, &dest).unwrap();
        }
        let sha = sha256_hex(w);
        let project = normalize(name.split('-').next().unwrap());
        hashes.insert(name.clone(), sha.clone());
        projects.entry(project).or_default().push((name, sha));
    }
    for (project, files) in projects {
        let dir = root.join("simple").join(&project);
        std::fs::create_dir_all(&dir).unwrap();
        let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
        let mut jfiles = Vec::new();
        for (name, sha) in &files {
            html.push_str(&format!(
                "<a href=\"../../files/{name}#sha256={sha}\" data-requires-python=\"&gt;=3.8\">{name}</a><br/>\n"
            ));
            jfiles.push(serde_json::json!({
                "filename": name, "url": format!("../../files/{name}"),
                "hashes": {"sha256": sha},
            }));
        }
        html.push_str("</body></html>\n");
        std::fs::write(dir.join("index.html"), html).unwrap();
        if json {
            let page = serde_json::json!({
                "meta": {"api-version": "1.1"}, "name": project, "files": jfiles,
            });
            std::fs::write(dir.join("index.json"), page.to_string()).unwrap();
        }
    }
    hashes
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
    /// Serves a fresh tree of `wheels`.
    pub fn start(wheels: &[PathBuf], json: bool) -> IndexServer {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), wheels, json);
        Self::serve(dir)
    }

    pub fn serve(dir: tempfile::TempDir) -> IndexServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let root = dir.path().to_path_buf();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (root, log, stop) = (root.clone(), log.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (root, log) = (root.clone(), log.clone());
                    std::thread::spawn(move || {
                        let _ = handle(conn, &root, &log);
                    });
                }
            });
        }
        IndexServer {
            url: format!("http://127.0.0.1:{port}/simple/"),
            root,
            log,
            stop,
            _dir: dir,
        }
    }

    /// `"GET /path accept=… -> status type"` lines.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
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

fn handle(conn: TcpStream, root: &Path, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let mut accept = String::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.trim().eq_ignore_ascii_case("accept") {
                    accept = v.trim().to_string();
                }
            }
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
        let rel = path
            .split(['?', '#'])
            .next()
            .unwrap()
            .trim_start_matches('/');
        if rel.split('/').any(|s| s == "..") {
            return Ok(());
        }
        let mut file = root.join(rel);
        let mut ctype = "application/octet-stream";
        if file.is_dir() {
            let json = file.join("index.json");
            if accept.contains(JSON_TYPE) && json.is_file() {
                file = json;
                ctype = JSON_TYPE;
            } else {
                file = file.join("index.html");
                ctype = "text/html; charset=utf-8";
            }
        }
        let status = if file.is_file() { 200 } else { 404 };
        log.lock()
            .unwrap()
            .push(format!("GET {path} accept={accept} -> {status} {ctype}"));
        if status == 404 {
            let body = b"not found";
            write!(
                conn,
                "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
                body.len()
            )?;
            conn.write_all(body)?;
            continue;
        }
        let mut f = std::fs::File::open(&file)?;
        let len = f.metadata()?.len();
        write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: {ctype}\r\n\r\n"
        )?;
        let mut buf = vec![0; 1 << 16];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            conn.write_all(&buf[..n])?;
        }
        conn.flush()?;
    }
}
