//! The registry client: which URL a registry name means, TLS trust, and the
//! one `send` every request goes through (authorization, challenges,
//! retries). The operations themselves live in `pull.rs` and `upload.rs`.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::time::Duration;

use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};

use super::auth::Auth;
use super::credentials::CredentialStore;
use super::error::{chain, error_codes, RegistryError};
use super::retry::{retry_after, Backoff, Failure};

#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Registries (`host` or `host:port`) to talk to over plain http.
    pub insecure_registries: Vec<String>,
    /// Extra PEM files of CA certificates to trust besides the system's.
    pub ca_certs: Vec<PathBuf>,
    /// Defaults to `pyko/<version>`.
    pub user_agent: Option<String>,
    /// Credential files to search instead of the ones the environment names
    /// (see `CredentialStore::from_env`); lets tests and embedders avoid
    /// process-wide environment variables.
    pub auth_files: Option<Vec<PathBuf>>,
    /// Where credentials come from, overriding `auth_files` (`pyko login`
    /// checks a password that is in no file yet).
    pub credential_store: Option<CredentialStore>,
}

/// Shared by all threads of a build: cheap to clone, tokens reused.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: Http,
    pub(crate) auth: std::sync::Arc<Auth>,
    pub(crate) insecure: Vec<String>,
    /// The scheme found for each registry that may speak plain http.
    pub(crate) schemes:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, &'static str>>>,
}

/// What a request is doing, for authorization scopes and error messages.
pub(crate) struct Op<'a> {
    pub registry: &'a str,
    pub repository: &'a str,
    /// e.g. `pulling manifest docker.io/library/python:3.12`.
    pub action: String,
    /// Token scopes, e.g. `repository:library/python:pull`.
    pub scopes: Vec<String>,
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, RegistryError> {
        let ua = opts
            .user_agent
            .unwrap_or_else(|| format!("pyko/{}", env!("CARGO_PKG_VERSION")));
        // reqwest drops Authorization when a redirect leaves the host, which
        // is what blob downloads redirected to a CDN or object store need.
        let mut certs = opts.ca_certs.clone();
        certs.extend(std::env::var_os("SSL_CERT_FILE").map(PathBuf::from));
        let mut extra = Vec::new();
        for path in certs {
            extra.extend(read_pem_certs(&path)?);
        }
        let tls = super::tls::client_config(extra).map_err(RegistryError::HttpClient)?;
        let http = Http::builder()
            .user_agent(ua)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .use_preconfigured_tls(tls)
            .build()
            .map_err(|e| RegistryError::HttpClient(chain(&e)))?;
        let store = match (opts.credential_store, opts.auth_files) {
            (Some(store), _) => store,
            (None, Some(files)) => CredentialStore::from_files(files),
            (None, None) => CredentialStore::from_env(),
        };
        Ok(Client {
            http,
            auth: std::sync::Arc::new(Auth::new(store)),
            insecure: opts.insecure_registries,
            schemes: Default::default(),
        })
    }

    /// Sends one request (`build` adds headers and body to a fresh builder
    /// on every attempt), answering an auth challenge once and retrying
    /// transient failures. Returns any response with a status other than
    /// 401, 429 and 5xx; the caller decides what the status means.
    pub(crate) fn send(
        &self,
        op: &Op,
        method: Method,
        url: &str,
        build: &dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Response, RegistryError> {
        let mut backoff = Backoff::new();
        let mut header = self.auth.header(&self.http, op.registry, &op.scopes)?;
        let mut challenged = false;
        loop {
            let mut rb = build(self.http.request(method.clone(), url))?;
            if let Some(h) = &header {
                rb = rb.header(AUTHORIZATION, h);
            }
            let failure = match rb.send() {
                Err(e) => {
                    let failure = if e.is_connect() {
                        Failure::Connect
                    } else {
                        Failure::Transient { retry_after: None }
                    };
                    match backoff.next(&failure) {
                        Some(d) => {
                            std::thread::sleep(d);
                            continue;
                        }
                        None => return Err(self.unreachable(op.registry, url, &e)),
                    }
                }
                Ok(r) if r.status() == StatusCode::UNAUTHORIZED && !challenged => {
                    challenged = true;
                    let www = r
                        .headers()
                        .get(WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok());
                    match self
                        .auth
                        .on_challenge(&self.http, op.registry, www, &op.scopes)?
                    {
                        Some(h) => {
                            header = Some(h);
                            continue;
                        }
                        None => return Err(self.status_error(op, r)),
                    }
                }
                Ok(r)
                    if r.status() == StatusCode::TOO_MANY_REQUESTS
                        || r.status().is_server_error() =>
                {
                    let f = Failure::Transient {
                        retry_after: retry_after(r.headers()),
                    };
                    (f, r)
                }
                Ok(r) if r.status() == StatusCode::UNAUTHORIZED => {
                    return Err(self.status_error(op, r))
                }
                Ok(r) => return Ok(r),
            };
            let (f, resp) = failure;
            match backoff.next(&f) {
                Some(d) => std::thread::sleep(d),
                None => return Err(self.status_error(op, resp)),
            }
        }
    }

    fn unreachable(&self, registry: &str, url: &str, e: &reqwest::Error) -> RegistryError {
        let detail = chain(e);
        let hint = if detail.contains("certificate") || detail.contains("UnknownIssuer") {
            "The registry's certificate is not trusted: pass its CA with --ca-cert FILE or SSL_CERT_FILE"
        } else if url.starts_with("https") && detail.contains("InvalidContentType") {
            "It may speak plain http: if so, add it with --insecure-registry"
        } else {
            "Check the host name and port, and that the registry is running and reachable"
        };
        RegistryError::Unreachable {
            registry: registry.to_string(),
            url: url.to_string(),
            detail,
            hint: hint.to_string(),
        }
    }

    /// Turns an unexpected response into an error naming the operation, the
    /// status and the registry's error codes, with a hint for the usual cause.
    pub(crate) fn status_error(&self, op: &Op, resp: Response) -> RegistryError {
        let status = resp.status().as_u16();
        let denied = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(super::auth::insufficient_scope);
        let mut body = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(resp, 64 * 1024), &mut body);
        let codes = error_codes(&body);
        let (registry, repository, action) = (
            op.registry.to_string(),
            op.repository.to_string(),
            op.action.clone(),
        );
        match status {
            401 | 403 => {
                let hint = match self.auth.credential(op.registry) {
                    // Authenticated, but the token lacks the access: say which.
                    Ok(Some(c)) if denied.is_some() => format!(
                        "The token server did not grant {} on {} (insufficient_scope): the credentials from {} lack that access to {}/{}; ask for access, or use a repository you may write to",
                        denied.unwrap_or_default(),
                        op.registry,
                        c.source.display(),
                        op.registry,
                        op.repository
                    ),
                    Ok(Some(c)) => format!(
                        "The credentials for {} from {} were rejected or lack permission for this repository; check the user name, password and access rights",
                        op.registry,
                        c.source.display()
                    ),
                    Ok(None) => format!(
                        "No credentials for {} were found; log in (docker login {}) or add them to a Docker config.json",
                        op.registry, op.registry
                    ),
                    Err(e) => e.to_string(),
                };
                RegistryError::Unauthorized {
                    action,
                    registry,
                    repository,
                    status,
                    codes,
                    hint,
                }
            }
            _ => {
                let hint = match status {
                    404 => "Check that the repository name, tag and digest are right",
                    429 => "The registry is rate-limiting us; wait and retry, or log in for a higher limit",
                    s if s >= 500 => "The registry failed; retry later",
                    _ => "The registry refused the request",
                };
                RegistryError::Status {
                    action,
                    registry,
                    repository,
                    status,
                    codes,
                    hint: hint.into(),
                }
            }
        }
    }
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, RegistryError> {
    let err = |detail: String| RegistryError::CaCert {
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

/// `repository:NAME:ACTIONS`, the token scope for one repository.
pub(crate) fn scope(repository: &str, actions: &str) -> String {
    format!("repository:{repository}:{actions}")
}
