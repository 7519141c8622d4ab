//! A fault-injection HTTP proxy on 127.0.0.1, in front of a real upstream
//! (the registry or the package index), so tests can make the network fail
//! the way real ones do: per request pattern (method + path regex + which
//! occurrence), reset the connection after N bytes, stall, answer 5xx or
//! 429 with Retry-After, truncate or corrupt a body, drop an upload
//! session, or redirect to another host.
//!
//! Each request goes to the upstream on a fresh connection and its whole
//! response is buffered before the fault is applied, so the fault lands on
//! exact byte offsets whatever the upstream's framing was.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to a matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Send the head and this many body bytes, then reset the connection
    /// (RST); a response with no more body than that is cut mid-head
    /// instead, so the fault bites on a HEAD or an empty 201 too.
    ResetAfter(usize),
    /// Wait this long before answering, then answer normally.
    Stall(Duration),
    /// Send the head and this many body bytes, then hang (until the test ends).
    Hang(usize),
    /// Answer with this status and no upstream request.
    Status(u16),
    /// 429 with `Retry-After: secs`.
    TooMany(u64),
    /// The body cut to this many bytes, with a matching Content-Length: a
    /// lie only the digest can catch.
    Truncate(usize),
    /// The body byte at this offset (clamped to the body) XOR 0xff.
    Flip(usize),
    /// 404 BLOB_UPLOAD_UNKNOWN, as a registry answers for an expired session.
    DropUpload,
    /// 307 to the same path on this `host:port`.
    Redirect(String),
    /// 200 with this Content-Type and body instead of the upstream's.
    Body(String, Vec<u8>),
    /// 413 for a request body over this many bytes (a proxy's
    /// `client_max_body_size`); smaller ones pass.
    BodyLimit(usize),
    /// Passes, adding `OCI-Chunk-Min-Length: N` to the answer (as a
    /// registry says it on the POST that opens an upload).
    ChunkMinLength(usize),
}

pub struct Rule {
    method: Option<String>,
    path: regex::Regex,
    /// 1-based occurrence of a matching request where the fault starts.
    nth: usize,
    /// How many matching requests from `nth` on get it.
    count: usize,
    fault: Fault,
    seen: AtomicUsize,
}

impl Rule {
    /// `fault` on the `nth` (1-based) request matching `method` (None: any)
    /// and the path regex, and on the `count - 1` after it.
    pub fn new(method: Option<&str>, path: &str, nth: usize, count: usize, fault: Fault) -> Rule {
        Rule {
            method: method.map(str::to_string),
            path: regex::Regex::new(path).expect("rule path regex"),
            nth,
            count,
            fault,
            seen: AtomicUsize::new(0),
        }
    }

    /// On every matching request.
    pub fn always(method: &str, path: &str, fault: Fault) -> Rule {
        Rule::new(Some(method), path, 1, usize::MAX, fault)
    }

    fn hit(&self, method: &str, path: &str) -> Option<Fault> {
        if self.method.as_deref().is_some_and(|m| m != method) || !self.path.is_match(path) {
            return None;
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        (n >= self.nth && n - self.nth < self.count).then(|| self.fault.clone())
    }

    /// How many requests matched so far (faulted or not).
    pub fn matched(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

pub struct FaultProxy {
    /// `127.0.0.1:PORT`
    pub host: String,
    rules: Arc<Vec<Rule>>,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Listens on a fresh port and forwards to `upstream` (`host:port`).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        FaultProxy::start_at(0, upstream, rules)
    }

    /// On a chosen port (0: any), for runs that must name the same host
    /// (the base reference is in the image's annotations). A port just
    /// released by another proxy may take a moment to be free.
    pub fn start_at(port: u16, upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("fault proxy on port {port}: {e}"),
            }
        };
        let host = listener.local_addr().unwrap().to_string();
        let rules = Arc::new(rules);
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, l, s, up) = (
            rules.clone(),
            log.clone(),
            stop.clone(),
            upstream.to_string(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, l, s, up) = (r.clone(), l.clone(), s.clone(), up.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &up, &r, &l, &s);
                });
            }
        });
        FaultProxy {
            host,
            rules,
            log,
            stop,
        }
    }

    /// `"METHOD PATH -> STATUS [fault] body=N"` per request, in arrival
    /// order (no fault, no body: no tag).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn rule(&self, i: usize) -> &Rule {
        &self.rules[i]
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.host);
    }
}

struct Request {
    method: String,
    path: String,
    /// Raw head lines after the request line, without the line ends.
    headers: Vec<String>,
    body: Vec<u8>,
}

fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A message body framed by Content-Length or chunked encoding; `None`
/// length with no chunking means "until the peer closes".
fn read_body(
    r: &mut impl BufRead,
    headers: &[String],
    until_eof: bool,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut line = String::new();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|e| std::io::Error::other(format!("chunk size {line:?}: {e}")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let mut t = String::new();
                    if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    }
    match header(headers, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        }
        None if until_eof => {
            r.read_to_end(&mut body)?;
        }
        None => {}
    }
    Ok(body)
}

fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<(String, Vec<String>)>> {
    let mut first = String::new();
    if r.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        headers.push(h.trim_end().to_string());
    }
    Ok(Some((first.trim_end().to_string(), headers)))
}

fn read_request(r: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let Some((first, headers)) = read_head(r)? else {
        return Ok(None);
    };
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let body = read_body(r, &headers, false)?;
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

/// The upstream's answer: status line, headers (framing ones removed) and
/// the de-chunked body.
struct Response {
    status: String,
    headers: Vec<String>,
    body: Vec<u8>,
    /// HEAD: the upstream's Content-Length, kept, with no body sent.
    head_length: Option<String>,
}

fn forward(upstream: &str, req: &Request) -> std::io::Result<Response> {
    let mut up = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for h in &req.headers {
        let name = h
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !matches!(
            name.as_str(),
            "connection" | "content-length" | "transfer-encoding"
        ) {
            head.push_str(h);
            head.push_str("\r\n");
        }
    }
    if !req.body.is_empty() || header(&req.headers, "content-length").is_some() {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    let mut r = BufReader::new(up);
    let (status, headers) =
        read_head(&mut r)?.ok_or_else(|| std::io::Error::other("upstream closed"))?;
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let no_body = req.method == "HEAD" || code == 204 || code == 304 || (100..200).contains(&code);
    let head_length = (req.method == "HEAD")
        .then(|| header(&headers, "content-length").map(str::to_string))
        .flatten();
    let body = if no_body {
        Vec::new()
    } else {
        read_body(&mut r, &headers, true)?
    };
    let headers = headers
        .into_iter()
        .filter(|h| {
            let name = h
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            !matches!(
                name.as_str(),
                "connection" | "content-length" | "transfer-encoding" | "keep-alive"
            )
        })
        .collect();
    Ok(Response {
        status,
        headers,
        body,
        head_length,
    })
}

fn head_bytes(resp: &Response, length: usize) -> Vec<u8> {
    let mut s = format!("{}\r\n", resp.status);
    for h in &resp.headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    let len = resp
        .head_length
        .clone()
        .unwrap_or_else(|| length.to_string());
    s.push_str(&format!("Content-Length: {len}\r\n\r\n"));
    s.into_bytes()
}

fn simple(status: &str, extra: &str, body: &str) -> Response {
    Response {
        status: format!("HTTP/1.1 {status}"),
        headers: extra
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .chain(["Content-Type: application/json".to_string()])
            .collect(),
        body: body.as_bytes().to_vec(),
        head_length: None,
    }
}

/// Closes with RST rather than FIN: what a crashed middlebox does.
fn reset(conn: TcpStream) {
    let sock = socket2::Socket::from(conn);
    let _ = sock.set_linger(Some(Duration::ZERO));
    drop(sock);
}

fn serve(
    conn: TcpStream,
    upstream: &str,
    rules: &[Rule],
    log: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    while let Some(req) = read_request(&mut reader)? {
        let bare = req.path.split('?').next().unwrap_or("");
        let fault = rules.iter().find_map(|r| r.hit(&req.method, bare));
        let tag = fault
            .as_ref()
            .map(|f| format!(" [{f:?}]"))
            .unwrap_or_default();
        let resp = match &fault {
            Some(Fault::Status(code)) => simple(
                &format!("{code} Injected"),
                "",
                r#"{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}"#,
            ),
            Some(Fault::TooMany(secs)) => simple(
                "429 Too Many Requests",
                &format!("Retry-After: {secs}"),
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"injected rate limit"}]}"#,
            ),
            Some(Fault::DropUpload) => simple(
                "404 Not Found",
                "",
                r#"{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}"#,
            ),
            Some(Fault::Redirect(to)) => simple(
                "307 Temporary Redirect",
                &format!("Location: http://{to}{}", req.path),
                "",
            ),
            Some(Fault::BodyLimit(n)) if req.body.len() > *n => simple(
                "413 Request Entity Too Large",
                "",
                r#"{"errors":[{"code":"SIZE_INVALID","message":"injected body limit"}]}"#,
            ),
            Some(Fault::ChunkMinLength(n)) => {
                let mut resp = forward(upstream, &req)?;
                resp.headers.push(format!("OCI-Chunk-Min-Length: {n}"));
                resp
            }
            Some(Fault::Body(ctype, body)) => Response {
                status: "HTTP/1.1 200 OK".into(),
                headers: vec![format!("Content-Type: {ctype}")],
                body: body.clone(),
                head_length: None,
            },
            _ => forward(upstream, &req)?,
        };
        let sent = match req.body.len() {
            0 => String::new(),
            n => format!(" body={n}"),
        };
        log.lock().unwrap().push(format!(
            "{} {} -> {}{tag}{sent}",
            req.method,
            req.path,
            resp.status.split_whitespace().nth(1).unwrap_or("?")
        ));
        let mut body = resp.body.clone();
        match fault {
            Some(Fault::ResetAfter(n)) => {
                let head = head_bytes(&resp, body.len());
                if body.len() <= n || req.method == "HEAD" {
                    conn.write_all(&head[..head.len() / 2])?;
                } else {
                    conn.write_all(&head)?;
                    conn.write_all(&body[..n])?;
                }
                conn.flush()?;
                reset(conn);
                return Ok(());
            }
            Some(Fault::Hang(n)) => {
                conn.write_all(&head_bytes(&resp, body.len()))?;
                conn.write_all(&body[..n.min(body.len())])?;
                conn.flush()?;
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return Ok(());
            }
            Some(Fault::Stall(d)) => std::thread::sleep(d),
            Some(Fault::Truncate(n)) => body.truncate(n),
            Some(Fault::Flip(at)) if !body.is_empty() => {
                let at = at.min(body.len() - 1);
                body[at] ^= 0xff;
            }
            _ => {}
        }
        conn.write_all(&head_bytes(&resp, body.len()))?;
        if req.method != "HEAD" {
            conn.write_all(&body)?;
        }
        conn.flush()?;
    }
    Ok(())
}
