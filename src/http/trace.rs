//! The `-vv` request and response lines. Every secret is replaced before
//! the line is made, so no log level or subscriber can leak one: URL
//! passwords, signed-URL and token query values, and the value (not the
//! scheme) of every credential header.

use reqwest::blocking::{Request, Response};
use reqwest::header::HeaderMap;
use reqwest::Url;

const REDACTED: &str = "***";

/// Headers whose value is a credential, whatever the scheme.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-registry-auth",
];

/// Query parameters that carry a credential (registry tokens, presigned
/// object-store URLs).
fn secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "password",
        "secret",
        "signature",
        "sig",
        "credential",
        "key",
        "auth",
    ]
    .iter()
    .any(|s| n.contains(s))
}

pub(super) fn request(req: &Request) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(
            "> {} {}{}",
            req.method(),
            url(req.url()),
            headers(req.headers())
        );
    }
}

pub(super) fn response(resp: &Response) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(
            "< {} {}{}",
            resp.status().as_u16(),
            url(resp.url()),
            headers(resp.headers())
        );
    }
}

/// The URL with its password and secret query values replaced.
pub fn url(u: &Url) -> String {
    let mut u = u.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some(REDACTED));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret_param(&k) {
                    REDACTED.into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

fn headers(h: &HeaderMap) -> String {
    let mut out = String::new();
    for (name, value) in h {
        let value = value.to_str().unwrap_or("<binary>");
        let shown = if SECRET_HEADERS.contains(&name.as_str()) {
            // `Bearer ***`: the scheme says which auth was used.
            match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                None => REDACTED.to_string(),
            }
        } else if name.as_str() == "location" {
            Url::parse(value).map_or_else(|_| value.to_string(), |u| url(&u))
        } else if name.as_str() == "www-authenticate" {
            value.to_string()
        } else if secret_param(name.as_str()) {
            REDACTED.to_string()
        } else {
            value.to_string()
        };
        out.push_str(&format!("\n    {name}: {shown}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, AUTHORIZATION};

    #[test]
    fn urls_lose_passwords_and_signed_query_values() {
        let u = Url::parse(
            "https://user:hunter2@blobs.example/x?X-Amz-Signature=abc&X-Amz-Credential=AKIA&n=1&access_token=t0k",
        )
        .unwrap();
        let shown = url(&u);
        for secret in ["hunter2", "abc", "AKIA", "t0k"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("user:***@") && shown.contains("n=1"),
            "{shown}"
        );
    }

    #[test]
    fn credential_headers_keep_only_their_scheme() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer eyJsecret"));
        h.insert("x-auth-token", HeaderValue::from_static("s3cr3t"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert(
            "location",
            HeaderValue::from_static("https://cdn.example/b?sig=zzz&id=7"),
        );
        let shown = headers(&h);
        for secret in ["eyJsecret", "s3cr3t", "zzz"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("authorization: Bearer ***"), "{shown}");
        assert!(shown.contains("content-type: application/json"), "{shown}");
        assert!(shown.contains("id=7"), "{shown}");
    }
}
