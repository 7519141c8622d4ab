//! The one HTTP stack every network request goes through, registry and
//! package index alike, so that `--ca-cert`, `SSL_CERT_FILE`, proxies and
//! retries behave the same for a base image, a token and a wheel.
//!
//! - Trust: the system roots plus the user's PEM files (`tls.rs`).
//! - Proxies: reqwest's own reading of `HTTPS_PROXY`, `HTTP_PROXY`,
//!   `ALL_PROXY` and `NO_PROXY` (lower-case too), as curl reads them. A
//!   loopback address is proxied too unless `NO_PROXY` lists it (e.g.
//!   `NO_PROXY=127.0.0.1,localhost`).
//! - Retries: transient failures are retried with backoff (`retry.rs`);
//!   the caller sees the last response or error and decides what it means.
//! - Timeouts: 10 s to connect, so a dead host fails fast; 120 s for the
//!   response headers and for each read of the body, a stall rather than a
//!   total limit, so a large wheel or layer can take as long as it needs.

mod retry;
mod tls;
pub mod trace;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::AUTHORIZATION;
use reqwest::{StatusCode, Url};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use retry::{retry_after, Backoff, Failure};

#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    /// Extra PEM files of CA certificates to trust besides the system's
    /// (`SSL_CERT_FILE` is added to these).
    pub ca_certs: Vec<PathBuf>,
    /// Defaults to `pyko/<version>`.
    pub user_agent: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("CA certificate {path}: {detail}")]
    CaCert { path: PathBuf, detail: String },
    #[error("setting up the HTTP client: {0}")]
    Setup(String),
}

/// Cheap to clone; clones share one connection pool and the credentials.
#[derive(Clone)]
pub struct HttpClient {
    client: Client,
    basic_auth: Arc<RwLock<Vec<OriginAuth>>>,
}

/// Basic-auth credentials for one scheme+host+port, as pip keeps them per
/// netloc: an index URL's `user:pass@` also covers the file links the index
/// serves from the same origin, and no other host ever sees them.
struct OriginAuth {
    origin: reqwest::Url,
    user: String,
    password: Option<String>,
}

impl HttpClient {
    pub fn new(opts: &HttpOptions) -> Result<HttpClient, HttpError> {
        let ua = opts
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("pyko/{}", env!("CARGO_PKG_VERSION")));
        let mut certs = opts.ca_certs.clone();
        certs.extend(std::env::var_os("SSL_CERT_FILE").map(PathBuf::from));
        let mut extra = Vec::new();
        for path in certs {
            extra.extend(read_pem_certs(&path)?);
        }
        let tls = tls::client_config(extra).map_err(HttpError::Setup)?;
        // reqwest drops Authorization when a redirect leaves the host, which
        // is what blob downloads redirected to a CDN or object store need.
        let client = Client::builder()
            .user_agent(ua)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .use_preconfigured_tls(tls)
            .redirect(redirect_policy())
            .build()
            .map_err(|e| HttpError::Setup(crate::error::chain(&e)))?;
        Ok(HttpClient {
            client,
            basic_auth: Arc::default(),
        })
    }

    /// Remembers `url`'s `user:pass@` for every later request to its
    /// origin that carries no Authorization of its own.
    pub(crate) fn add_basic_auth(&self, url: &Url) {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let mut origin = url.clone();
        origin.set_path("/");
        let _ = origin.set_username("");
        let _ = origin.set_password(None);
        let mut all = self.basic_auth.write().expect("no panics while locked");
        all.retain(|a| !same_origin(&a.origin, &origin));
        all.push(OriginAuth {
            origin,
            user: decode(url.username()),
            password: url.password().map(decode),
        });
    }

    fn authorize(&self, req: &mut reqwest::blocking::Request) {
        if req.headers().contains_key(AUTHORIZATION) {
            return;
        }
        let all = self.basic_auth.read().expect("no panics while locked");
        if let Some(a) = all.iter().find(|a| same_origin(&a.origin, req.url())) {
            use base64::Engine as _;
            let pair = format!("{}:{}", a.user, a.password.as_deref().unwrap_or(""));
            let value = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            );
            if let Ok(mut v) = reqwest::header::HeaderValue::from_str(&value) {
                v.set_sensitive(true);
                req.headers_mut().insert(AUTHORIZATION, v);
            }
        }
    }

    /// The underlying client, for a request that must not be retried (a
    /// probe whose failure is itself the answer).
    pub(crate) fn raw(&self) -> &Client {
        &self.client
    }

    /// Sends the request `build` makes, retrying connection failures,
    /// dropped connections, 429 and 5xx with backoff. `build` is called for
    /// every attempt, since a body can be sent only once. Returns the first
    /// response that is not transient, else the last one; a request that
    /// never got a response becomes the caller's error through `failed`.
    pub(crate) fn send<E>(
        &self,
        build: &dyn Fn(&Client) -> Result<RequestBuilder, E>,
        failed: impl FnOnce(reqwest::Error) -> E,
    ) -> Result<Response, E> {
        let mut backoff = Backoff::new();
        loop {
            let (client, req) = build(&self.client)?.build_split();
            let sent = req.and_then(|mut req| {
                self.authorize(&mut req);
                trace::request(&req);
                client.execute(req)
            });
            if let Ok(r) = &sent {
                trace::response(r);
            }
            let (failure, last) = match sent {
                Ok(r) if is_transient(r.status()) => (
                    Failure::Transient {
                        retry_after: retry_after(r.headers()),
                    },
                    Ok(r),
                ),
                Ok(r) => return Ok(r),
                Err(e) if e.is_connect() => (Failure::Connect, Err(e)),
                Err(e) => (Failure::Transient { retry_after: None }, Err(e)),
            };
            match backoff.next(&failure) {
                Some(d) => std::thread::sleep(d),
                None => return last.map_err(failed),
            }
        }
    }

    /// GET `url` with retries; any status comes back, the caller checks it.
    pub fn get(&self, url: reqwest::Url) -> Result<Response, reqwest::Error> {
        self.send(&|c| Ok(c.get(url.clone())), |e| e)
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, HttpError> {
    let err = |detail: String| HttpError::CaCert {
        path: path.to_path_buf(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(err("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// reqwest's own policy, except that it keeps Authorization on a redirect
/// to the same host and port over plain http: that downgrade is refused.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt.previous().last().is_some_and(|prev| {
            prev.scheme() == "https"
                && attempt.url().scheme() == "http"
                && prev.host_str() == attempt.url().host_str()
                && prev.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if downgrade {
            let msg = format!(
                "refusing a redirect from https to plain http on the same host and port ({}), which would send credentials in the clear",
                attempt.url().origin().ascii_serialization()
            );
            attempt.error(msg)
        } else if attempt.previous().len() >= 10 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_cert_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let not_pem = dir.path().join("empty.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        for (path, want) in [
            (&missing, "No such file"),
            (&not_pem, "holds no PEM certificate"),
        ] {
            let opts = HttpOptions {
                ca_certs: vec![path.clone()],
                ..Default::default()
            };
            let e = HttpClient::new(&opts).err().expect("must fail").to_string();
            assert!(
                e.contains(&path.display().to_string()) && e.contains(want),
                "{e}"
            );
        }
    }

    /// A refused connection is retried a few times, quickly, then reported.
    #[test]
    fn refused_connection_fails_fast() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let http = HttpClient::new(&HttpOptions::default()).unwrap();
        let url = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let started = std::time::Instant::now();
        let e = http.get(url).expect_err("nothing listens");
        assert!(e.is_connect(), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// 503 is retried and a later success returned; 404 is returned at once.
    #[test]
    fn transient_statuses_are_retried() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for status in ["503 Service Unavailable", "200 OK", "404 Not Found"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).unwrap();
                let reply = format!(
                    "HTTP/1.1 {status}\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                s.write_all(reply.as_bytes()).unwrap();
            }
        });
        let http = HttpClient::new(&HttpOptions::default()).unwrap();
        let url = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        assert_eq!(http.get(url.clone()).unwrap().status(), 200);
        assert_eq!(http.get(url).unwrap().status(), 404);
        server.join().unwrap();
    }
}
