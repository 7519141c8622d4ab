//! A client for the "simple" package index API: the JSON form (PEP 691)
//! when the server offers it, the HTML form (PEP 503) otherwise. It only
//! lists a project's files; choosing and verifying is the caller's job.

use std::sync::OnceLock;

use regex::Regex;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Url;

use crate::http::HttpClient;

pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple/";

const ACCEPT_SIMPLE: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index URL {0:?} is not a URL; write e.g. https://host/simple/")]
    BadUrl(String),
    #[error("index {url}")]
    Http { url: String, source: reqwest::Error },
    #[error("index {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("index {url}: not a valid PEP 691 JSON page: {message}")]
    Json { url: String, message: String },
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

/// What the index says about a file's separately served METADATA.
#[allow(dead_code)] // TODO(resolver): the page parsers fill it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CoreMetadataHint {
    /// Not offered: fetch it from the wheel itself.
    #[default]
    Absent,
    /// Offered at `{url}.metadata`, with its sha256 when the index gave one.
    Available { sha256: Option<String> },
}

impl IndexFile {
    /// Placeholder values for the fields a page parser did not fill.
    // TODO(resolver): the parsers fill every field; remove.
    #[allow(dead_code)]
    fn default_fields() -> IndexFile {
        IndexFile {
            filename: String::new(),
            url: Url::parse("http://invalid/").expect("static URL"),
            sha256: None,
            yanked: false,
            requires_python: None,
            upload_time: None,
            core_metadata: CoreMetadataHint::Absent,
            size: None,
        }
    }
}

/// Sends through the build's one HTTP stack, so an index behind a private
/// CA or a flaky proxy is trusted and retried like the registry.
pub struct IndexClient {
    http: HttpClient,
    urls: Vec<Url>,
}

impl IndexClient {
    /// `urls`: the primary index first, then extra indexes (pip merges
    /// them all; so do we).
    pub fn new(urls: &[String], http: &HttpClient) -> Result<IndexClient, IndexError> {
        let urls = urls
            .iter()
            .map(|u| {
                let with_slash = if u.ends_with('/') {
                    u.clone()
                } else {
                    format!("{u}/")
                };
                Url::parse(&with_slash).map_err(|_| IndexError::BadUrl(u.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(IndexClient {
            http: http.clone(),
            urls,
        })
    }

    pub fn urls(&self) -> &[Url] {
        &self.urls
    }

    /// Every file of `project` (a normalized name) on every index.
    pub fn files(&self, project: &str) -> Result<Vec<IndexFile>, IndexError> {
        let mut all = Vec::new();
        for base in &self.urls {
            let url = base
                .join(&format!("{project}/"))
                .map_err(|_| IndexError::BadUrl(base.to_string()))?;
            let err = |source| IndexError::Http {
                url: url.to_string(),
                source,
            };
            let mut tries = 0;
            // A page cut off mid-body is fetched again (the HTTP stack's
            // retries end when the headers arrive).
            let (resp, final_url, ctype, body) = loop {
                tries += 1;
                let r = self.http.send(
                    &|c| Ok(c.get(url.clone()).header(ACCEPT, ACCEPT_SIMPLE)),
                    err,
                )?;
                if !r.status().is_success() {
                    break (Some(r), None, String::new(), String::new());
                }
                let final_url = r.url().clone();
                let ctype = r
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                match r.text() {
                    Ok(body) => break (None, Some(final_url), ctype, body),
                    Err(_) if tries < 3 => continue,
                    Err(source) => {
                        return Err(IndexError::Http {
                            url: url.to_string(),
                            source,
                        })
                    }
                }
            };
            if let Some(resp) = resp {
                if resp.status().as_u16() == 404 {
                    continue;
                }
                return Err(IndexError::Status {
                    url: url.to_string(),
                    status: resp.status().as_u16(),
                });
            }
            let final_url = final_url.expect("set with the body");
            if ctype.starts_with("application/vnd.pypi.simple.v1+json") {
                all.extend(parse_json(&body, &final_url)?);
            } else {
                all.extend(parse_html(&body, &final_url));
            }
        }
        Ok(all)
    }
}

/// PEP 691: `{"files": [{"filename", "url", "hashes": {"sha256"}, "yanked"}]}`.
pub fn parse_json(body: &str, base: &Url) -> Result<Vec<IndexFile>, IndexError> {
    #[derive(serde::Deserialize)]
    struct Page {
        files: Vec<File>,
    }
    #[derive(serde::Deserialize)]
    struct File {
        filename: String,
        url: String,
        #[serde(default)]
        hashes: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        yanked: serde_json::Value,
    }
    let page: Page = serde_json::from_str(body).map_err(|e| IndexError::Json {
        url: base.to_string(),
        message: e.to_string(),
    })?;
    page.files
        .into_iter()
        .map(|f| {
            let url = base.join(&f.url).map_err(|_| IndexError::Json {
                url: base.to_string(),
                message: format!("file URL {:?} does not parse", f.url),
            })?;
            Ok(IndexFile {
                filename: f.filename,
                url,
                sha256: f.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
                yanked: !matches!(
                    f.yanked,
                    serde_json::Value::Bool(false) | serde_json::Value::Null
                ),
                ..IndexFile::default_fields()
            })
        })
        .collect()
}

/// PEP 503: the `<a href>` anchors of the page; the file name is the last
/// path segment of the URL, the hash is its `#sha256=` fragment.
pub fn parse_html(body: &str, base: &Url) -> Vec<IndexFile> {
    static ANCHOR: OnceLock<Regex> = OnceLock::new();
    static HREF: OnceLock<Regex> = OnceLock::new();
    let anchor = ANCHOR.get_or_init(|| Regex::new(r"(?is)<a\s([^>]*)>").expect("regex"));
    let href = HREF.get_or_init(|| {
        Regex::new(r#"(?is)\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#).expect("regex")
    });
    let mut files = Vec::new();
    for a in anchor.captures_iter(body) {
        let attrs = &a[1];
        let Some(h) = href.captures(attrs) else {
            continue;
        };
        let raw = h
            .get(1)
            .or(h.get(2))
            .or(h.get(3))
            .map_or("", |m| m.as_str());
        let Ok(mut url) = base.join(&unescape(raw)) else {
            continue;
        };
        let sha256 = url
            .fragment()
            .and_then(|f| f.strip_prefix("sha256=").map(|h| h.to_ascii_lowercase()));
        url.set_fragment(None);
        let Some(filename) = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .map(percent_decode)
        else {
            continue;
        };
        if filename.is_empty() {
            continue;
        }
        let yanked = attrs.to_ascii_lowercase().contains("data-yanked");
        files.push(IndexFile {
            filename,
            url,
            sha256,
            yanked,
            ..IndexFile::default_fields()
        });
    }
    files
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_anchors_hashes_and_relative_urls() {
        let base = Url::parse("http://127.0.0.1:1/simple/numpy/").unwrap();
        let html = r#"<html><body>
<a href="../../files/numpy-2.0-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=ABCDEF" data-requires-python="&gt;=3.9">numpy-2.0</a>
<a href='https://files.example/x/numpy-2.0.tar.gz' data-yanked="">numpy-2.0.tar.gz</a>
<a href=numpy-1.0%2Blocal-py3-none-any.whl>x</a>
</body></html>"#;
        let files = parse_html(html, &base);
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[0].url.as_str(),
            "http://127.0.0.1:1/files/numpy-2.0-cp311-cp311-manylinux_2_28_x86_64.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("abcdef"));
        assert!(!files[0].yanked);
        assert_eq!(files[1].filename, "numpy-2.0.tar.gz");
        assert!(files[1].yanked);
        assert_eq!(files[2].filename, "numpy-1.0+local-py3-none-any.whl");
    }

    #[test]
    fn json_page() {
        let base = Url::parse("http://127.0.0.1:1/simple/numpy/").unwrap();
        let json = r#"{"meta":{"api-version":"1.1"},"name":"numpy","files":[
            {"filename":"numpy-2.0-py3-none-any.whl","url":"/f/numpy-2.0-py3-none-any.whl","hashes":{"sha256":"AA"}},
            {"filename":"numpy-1.0-py3-none-any.whl","url":"x.whl","hashes":{},"yanked":"broken"}]}"#;
        let files = parse_json(json, &base).unwrap();
        assert_eq!(
            files[0].url.as_str(),
            "http://127.0.0.1:1/f/numpy-2.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("aa"));
        assert!(files[1].yanked);
        assert_eq!(
            files[1].url.as_str(),
            "http://127.0.0.1:1/simple/numpy/x.whl"
        );
        assert!(parse_json("{}", &base).is_err());
    }
}
