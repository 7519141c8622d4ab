//! A client for the "simple" package index API: the JSON form (PEP 691)
//! when the server offers it, the HTML form (PEP 503) otherwise. It only
//! lists a project's files; choosing and verifying is the caller's job.
//!
//! An index URL may carry `user:pass@`: the password is taken out of the
//! URL at once (given to the HTTP stack for that origin, which also covers
//! the index's own file links) so no message, log or lock file can show it.

mod credentials;
mod html;
mod json;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Url;

use crate::http::HttpClient;

use credentials::{redact_str, redact_url};
pub use html::parse_html;
pub use json::parse_json;

pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple/";

const ACCEPT_SIMPLE: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Holds the URL already redacted.
    #[error("index URL {0:?} is not a URL; write e.g. https://host/simple/")]
    BadUrl(String),
    #[error("index {url}")]
    Http { url: String, source: reqwest::Error },
    #[error("index {url}: HTTP {status}{}", status_hint(*status))]
    Status { url: String, status: u16 },
    #[error("index {url}: not a valid PEP 691 JSON page: {message}")]
    Json { url: String, message: String },
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => "; the index wants credentials: write them in the URL (https://user:password@host/simple/) or check them",
        _ => "",
    }
}

/// One file of a project as the index lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    pub filename: String,
    pub url: Url,
    /// Lowercase hex, from the JSON `hashes` or the `#sha256=` fragment.
    pub sha256: Option<String>,
    pub yanked: bool,
    /// `requires-python` (JSON) / `data-requires-python` (HTML), unparsed.
    pub requires_python: Option<String>,
    /// PEP 700 `upload-time` as Unix seconds (JSON pages only).
    pub upload_time: Option<i64>,
    /// PEP 658/714: whether `{url}.metadata` exists, and its sha256.
    pub core_metadata: CoreMetadataHint,
    /// PEP 700 `size`, when listed.
    pub size: Option<u64>,
}

impl IndexFile {
    /// A wheel on this machine (`--wheels DIR`, a wheel just built from an
    /// sdist): no index vouches for it, so nothing but its name and place.
    pub fn local(filename: String, url: Url) -> IndexFile {
        IndexFile {
            filename,
            url,
            sha256: None,
            yanked: false,
            requires_python: None,
            upload_time: None,
            core_metadata: CoreMetadataHint::default(),
            size: None,
        }
    }
}

/// What the index says about a file's separately served METADATA.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CoreMetadataHint {
    /// Not offered: fetch it from the wheel itself.
    #[default]
    Absent,
    /// Offered at `{url}.metadata`, with its sha256 when the index gave one.
    Available { sha256: Option<String> },
}

/// One index: the URL requests go to (no credentials in it) and the one
/// messages show (`user:****@`).
struct Base {
    url: Url,
    shown: Url,
}

/// Sends through the build's one HTTP stack, so an index behind a private
/// CA or a flaky proxy is trusted and retried like the registry.
pub struct IndexClient {
    http: HttpClient,
    bases: Vec<Base>,
    urls: Vec<Url>,
}

impl IndexClient {
    /// `urls`: the primary index first, then extra indexes (pip merges
    /// them all; so do we).
    pub fn new(urls: &[String], http: &HttpClient) -> Result<IndexClient, IndexError> {
        let mut bases = Vec::new();
        for u in urls {
            let with_slash = if u.ends_with('/') {
                u.clone()
            } else {
                format!("{u}/")
            };
            let mut url = Url::parse(&with_slash).map_err(|_| IndexError::BadUrl(redact_str(u)))?;
            if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
                return Err(IndexError::BadUrl(redact_str(u)));
            }
            let shown = redact_url(&url);
            if !url.username().is_empty() {
                http.add_basic_auth(&url);
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            bases.push(Base { url, shown });
        }
        Ok(IndexClient {
            http: http.clone(),
            urls: bases.iter().map(|b| b.url.clone()).collect(),
            bases,
        })
    }

    /// The index URLs without their credentials (safe to print).
    pub fn urls(&self) -> &[Url] {
        &self.urls
    }

    /// Every file of `project` (a normalized name) on every index.
    pub fn files(&self, project: &str) -> Result<Vec<IndexFile>, IndexError> {
        let mut all = Vec::new();
        for base in &self.bases {
            let page = format!("{project}/");
            let bad = || IndexError::BadUrl(base.shown.to_string());
            let url = base.url.join(&page).map_err(|_| bad())?;
            let shown = base.shown.join(&page).map_err(|_| bad())?.to_string();
            let err = |source| IndexError::Http {
                url: shown.clone(),
                source,
            };
            // A page cut off mid-body is fetched again (the HTTP stack's
            // retries end when the headers arrive).
            let mut tries = 0;
            let (final_url, ctype, body) = loop {
                tries += 1;
                let resp = self.http.send(
                    &|c| Ok(c.get(url.clone()).header(ACCEPT, ACCEPT_SIMPLE)),
                    err,
                )?;
                if resp.status().as_u16() == 404 {
                    break (None, String::new(), String::new());
                }
                if !resp.status().is_success() {
                    return Err(IndexError::Status {
                        url: shown,
                        status: resp.status().as_u16(),
                    });
                }
                let final_url = resp.url().clone();
                let ctype = resp
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                match resp.text() {
                    Ok(body) => break (Some(final_url), ctype, body),
                    Err(_) if tries < 3 => continue,
                    Err(source) => {
                        return Err(IndexError::Http {
                            url: shown.clone(),
                            source,
                        })
                    }
                }
            };
            let Some(final_url) = final_url else {
                continue;
            };
            if ctype.starts_with("application/vnd.pypi.simple.v1+json") {
                all.extend(parse_json(&body, &final_url)?);
            } else {
                all.extend(parse_html(&body, &final_url));
            }
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpOptions;

    #[test]
    fn credentials_leave_the_urls_and_the_messages() {
        let http = HttpClient::new(&HttpOptions::default()).unwrap();
        let c =
            IndexClient::new(&["https://bob:hunter2@127.0.0.1:1/simple".into()], &http).unwrap();
        assert_eq!(c.urls()[0].as_str(), "https://127.0.0.1:1/simple/");
        for bad in [
            "bob:hunter2@host/simple",
            "https://bob:hunter2@ho st/simple/",
        ] {
            let e = IndexClient::new(&[bad.into()], &http).err().unwrap();
            let m = e.to_string();
            assert!(m.contains("bob:****@") && !m.contains("hunter2"), "{m}");
        }
    }
}
