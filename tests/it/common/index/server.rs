//! The index's HTTP side: std threads, one per connection, keep-alive,
//! `Accept` negotiation of the page format, GET and HEAD, single byte
//! ranges (`a-b`, `a-`, `-n`) when the form allows them, optional basic
//! auth; every request logged.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Mutex;

use super::{Form, Logged, JSON_TYPE};

pub struct Config {
    pub form: Form,
    /// The whole `Authorization` header value required, if any.
    pub authorization: Option<String>,
}

pub fn handle(
    conn: TcpStream,
    root: &Path,
    cfg: &Config,
    log: &Mutex<Vec<Logged>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let (mut accept, mut range, mut auth) = (String::new(), None, None);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let v = v.trim().to_string();
                match k.trim().to_ascii_lowercase().as_str() {
                    "accept" => accept = v,
                    "range" => range = Some(v),
                    "authorization" => auth = Some(v),
                    _ => {}
                }
            }
        }
        let mut words = request.split_whitespace();
        let method = words.next().unwrap_or("GET").to_string();
        let path = words.next().unwrap_or("/").to_string();
        let mut entry = Logged {
            method: method.clone(),
            path: path.clone(),
            accept: accept.clone(),
            range: range.clone(),
            authorized: auth.is_some(),
            status: 0,
            content_type: String::new(),
            bytes: 0,
        };
        let reply = respond(root, cfg, &method, &path, &accept, range.as_deref(), auth);
        entry.status = reply.status;
        entry.content_type = reply.ctype.to_string();
        entry.bytes = if method == "HEAD" { 0 } else { reply.len };
        log.lock().unwrap().push(entry);
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nContent-Type: {}\r\n",
            reply.status,
            reason(reply.status),
            reply.len,
            reply.ctype
        );
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        conn.write_all(head.as_bytes())?;
        if method != "HEAD" {
            match reply.body {
                Body::Bytes(b) => conn.write_all(&b)?,
                Body::File(mut f, start) => {
                    f.seek(SeekFrom::Start(start))?;
                    std::io::copy(&mut f.take(reply.len), &mut conn)?;
                }
            }
        }
        conn.flush()?;
    }
}

enum Body {
    Bytes(Vec<u8>),
    /// The file and where the sent part starts.
    File(std::fs::File, u64),
}

struct Reply {
    status: u16,
    ctype: &'static str,
    len: u64,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

fn text(status: u16, msg: &str) -> Reply {
    Reply {
        status,
        ctype: "text/plain",
        len: msg.len() as u64,
        headers: Vec::new(),
        body: Body::Bytes(msg.as_bytes().to_vec()),
    }
}

fn respond(
    root: &Path,
    cfg: &Config,
    method: &str,
    path: &str,
    accept: &str,
    range: Option<&str>,
    auth: Option<String>,
) -> Reply {
    if cfg.authorization.is_some() && auth != cfg.authorization {
        let mut r = text(401, "credentials required");
        r.headers
            .push(("WWW-Authenticate", "Basic realm=\"pyko-test\"".into()));
        return r;
    }
    if method != "GET" && method != "HEAD" {
        return text(405, "GET or HEAD only");
    }
    let decoded = percent_decode(path.split(['?', '#']).next().unwrap());
    let rel = decoded.trim_start_matches('/');
    if rel.split('/').any(|s| s == "..") {
        return text(400, "no ..");
    }
    let mut file = root.join(rel);
    let mut ctype = "application/octet-stream";
    let mut page = false;
    if file.is_dir() {
        page = true;
        let json = file.join("index.json");
        if accept.contains(JSON_TYPE) && json.is_file() {
            file = json;
            ctype = JSON_TYPE;
        } else {
            file = file.join("index.html");
            ctype = "text/html; charset=utf-8";
        }
    }
    let Ok(f) = std::fs::File::open(&file) else {
        return text(404, "not found");
    };
    let len = f.metadata().unwrap().len();
    let ranged = !page && cfg.form != Form::HtmlNoRange;
    let mut headers = Vec::new();
    if ranged {
        headers.push(("Accept-Ranges", "bytes".to_string()));
    }
    let whole = |headers| Reply {
        status: 200,
        ctype,
        len,
        headers,
        body: Body::File(f, 0),
    };
    let Some(spec) = range.filter(|_| ranged) else {
        return whole(headers);
    };
    match parse_range(spec, len) {
        Some(Some((start, end))) => {
            let f = std::fs::File::open(&file).unwrap();
            headers.push(("Content-Range", format!("bytes {start}-{end}/{len}")));
            Reply {
                status: 206,
                ctype,
                len: end - start + 1,
                headers,
                body: Body::File(f, start),
            }
        }
        Some(None) => {
            let mut r = text(416, "range not satisfiable");
            r.headers.push(("Content-Range", format!("bytes */{len}")));
            r
        }
        // Several ranges or a malformed one: RFC 9110 lets a server ignore it.
        None => whole(headers),
    }
}

/// `bytes=a-b` / `a-` / `-n` → Some(Some(first, last)); unsatisfiable →
/// Some(None); anything else → None.
fn parse_range(spec: &str, len: u64) -> Option<Option<(u64, u64)>> {
    let r = spec.trim().strip_prefix("bytes=")?;
    if r.contains(',') {
        return None;
    }
    let (a, b) = r.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (n > 0 && len > 0).then(|| (len.saturating_sub(n), len - 1))
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().ok()?.min(len.saturating_sub(1))
        };
        (start < len && start <= end).then_some((start, end))
    };
    Some(range)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        _ => "Status",
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
