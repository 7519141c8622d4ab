//! The registry client: the one `send` every request goes through
//! (authorization and challenges on top of the HTTP stack's retries) and
//! what an unexpected answer means. Which URL a registry name means is in
//! `scheme.rs`; the operations themselves live in `pull.rs` and `upload.rs`.

use std::path::PathBuf;

use reqwest::blocking::{RequestBuilder, Response};
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};

use super::auth::Auth;
use super::credentials::CredentialStore;
use super::error::{chain, error_codes, RegistryError};
use crate::http::{HttpClient, HttpOptions};

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
    pub(crate) http: HttpClient,
    pub(crate) auth: std::sync::Arc<Auth>,
    pub(crate) insecure: Vec<String>,
    /// The scheme found for each registry that may speak plain http.
    pub(crate) schemes:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, &'static str>>>,
    /// The chunk size each registry accepted after refusing a whole blob
    /// (413), so later blobs go in chunks straight away.
    pub(crate) upload_chunks:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>,
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
        let http = HttpClient::new(&HttpOptions {
            ca_certs: opts.ca_certs,
            user_agent: opts.user_agent,
        })?;
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
            upload_chunks: Default::default(),
        })
    }

    /// The HTTP stack this client sends through, for other clients (the
    /// package index) that must trust and retry the same way.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Sends one request (`build` adds headers and body to a fresh builder
    /// on every attempt), answering an auth challenge once; the HTTP stack
    /// retries transient failures. Returns any response with a status other
    /// than 401, 429 and 5xx; the caller decides what the status means.
    pub(crate) fn send(
        &self,
        op: &Op,
        method: Method,
        url: &str,
        build: &dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Response, RegistryError> {
        // The registry's credentials go only to its own scheme, host and
        // port: an upload Location may point anywhere.
        let own = self.is_own_origin(op.registry, url);
        let mut header = match own {
            true => self.auth.header(&self.http, op.registry, &op.scopes)?,
            false => None,
        };
        let mut challenged = false;
        loop {
            let resp = self.http.send(
                &|http| {
                    let rb = build(http.request(method.clone(), url))?;
                    Ok(match &header {
                        Some(h) => rb.header(AUTHORIZATION, h),
                        None => rb,
                    })
                },
                |e| self.unreachable(op.registry, url, &e),
            )?;
            match resp.status() {
                StatusCode::UNAUTHORIZED if !own => {
                    return Err(RegistryError::Protocol {
                        registry: op.registry.to_string(),
                        detail: format!(
                            "{}: the registry sent us to {}, which is not its own address ({}), and that asked for credentials (HTTP 401); pyko sends the registry's credentials only to the registry itself. Configure the registry's public URL (distribution: http.host) to its own address",
                            op.action,
                            origin(url),
                            origin(&self.base_url(op.registry)),
                        ),
                    })
                }
                StatusCode::UNAUTHORIZED if !challenged => {
                    challenged = true;
                    let www = resp
                        .headers()
                        .get(WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok());
                    match self
                        .auth
                        .on_challenge(&self.http, op.registry, www, &op.scopes)?
                    {
                        Some(h) => header = Some(h),
                        None => return Err(self.status_error(op, resp)),
                    }
                }
                s if s == StatusCode::UNAUTHORIZED
                    || s == StatusCode::TOO_MANY_REQUESTS
                    || s.is_server_error() =>
                {
                    return Err(self.status_error(op, resp))
                }
                _ => return Ok(resp),
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
        let resp_location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
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
            // The HTTP stack follows redirects it can; one it returns had a
            // streamed body that cannot be sent twice.
            300..=399 => {
                let to = resp_location.unwrap_or_else(|| "no Location".into());
                RegistryError::Status {
                    action,
                    registry,
                    repository,
                    status,
                    codes,
                    hint: format!(
                        "The registry redirected this request to {to}, which pyko does not follow for uploads; push to the registry that the redirect names"
                    ),
                }
            }
            _ => {
                let hint = match status {
                    404 => "Check that the repository name, tag and digest are right",
                    413 => "The registry, or a proxy in front of it, refuses request bodies this large, even in 1 MiB chunks or at its OCI-Chunk-Min-Length; raise its limit (nginx: client_max_body_size)",
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

/// `scheme://host:port` of a URL, without path or query (an upload URL's
/// query carries session state that does not belong in messages).
pub(crate) fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or_default()
        ),
        Err(_) => "an unparsable URL".into(),
    }
}

impl Client {
    /// Whether `url` has the scheme, host and port of `registry`'s API.
    pub(crate) fn is_own_origin(&self, registry: &str, url: &str) -> bool {
        let parse = |u: &str| reqwest::Url::parse(u).ok();
        match (parse(url), parse(&self.base_url(registry))) {
            (Some(a), Some(b)) => {
                a.scheme() == b.scheme()
                    && a.host_str() == b.host_str()
                    && a.port_or_known_default() == b.port_or_known_default()
            }
            _ => false,
        }
    }
}

/// `repository:NAME:ACTIONS`, the token scope for one repository.
pub(crate) fn scope(repository: &str, actions: &str) -> String {
    format!("repository:{repository}:{actions}")
}
