//! Authorization headers for registry requests: none, Basic, or a Bearer
//! token fetched from the realm the registry names in its
//! `WWW-Authenticate` challenge. A registry's scheme is learnt from its
//! first 401 and remembered, and tokens are reused per (registry, scopes), so
//! parallel blob transfers do not each pay for a challenge round trip.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;

use super::credentials::{Credential, CredentialStore, Secret};
use super::error::{chain, RegistryError};
use crate::http::HttpClient;

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// `Basic realm="x"` or `Bearer realm="…",service="…",scope="…"`. Quoted
/// values may contain commas (`scope="repository:a:pull,push"`).
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    let mut params = HashMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remain) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.insert(key, value.to_string());
        s = remain.trim_start().trim_start_matches(',').trim_start();
    }
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.remove("realm")?,
            service: params.remove("service"),
        }),
        _ => None,
    }
}

/// The scope a Bearer challenge says was missing (`error="insufficient_scope"`),
/// i.e. the token server issued a token without the access asked for.
pub(crate) fn insufficient_scope(header: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    if !lower.starts_with("bearer") || !lower.contains("insufficient_scope") {
        return None;
    }
    let at = lower.find("scope=\"")? + "scope=\"".len();
    let rest = &header[at..];
    Some(rest[..rest.find('"')?].to_string())
}

struct Token {
    header: String,
    expires: Instant,
}

#[derive(Default)]
struct State {
    challenges: HashMap<String, Challenge>,
    tokens: HashMap<(String, String), Token>,
    creds: HashMap<String, Option<Credential>>,
}

pub(crate) struct Auth {
    store: CredentialStore,
    state: Mutex<State>,
}

impl Auth {
    pub(crate) fn new(store: CredentialStore) -> Auth {
        Auth {
            store,
            state: Mutex::new(State::default()),
        }
    }

    /// The credential for `registry`, looked up once; a helper is only run
    /// when a registry actually asks for credentials.
    pub(crate) fn credential(&self, registry: &str) -> Result<Option<Credential>, RegistryError> {
        let mut st = self.state.lock().expect("auth state lock");
        if let Some(c) = st.creds.get(registry) {
            return Ok(c.clone());
        }
        let c = self.store.lookup(registry)?;
        st.creds.insert(registry.to_string(), c.clone());
        Ok(c)
    }

    /// The header to send for `scopes`, from what is already known about the
    /// registry; `None` until it has challenged us (anonymous first).
    pub(crate) fn header(
        &self,
        http: &HttpClient,
        registry: &str,
        scopes: &[String],
    ) -> Result<Option<String>, RegistryError> {
        let challenge = self
            .state
            .lock()
            .expect("auth state lock")
            .challenges
            .get(registry)
            .cloned();
        match challenge {
            None => Ok(None),
            Some(c) => self.header_for(http, registry, &c, scopes),
        }
    }

    /// Records a 401's challenge and returns the header to retry with, or
    /// `None` when there is nothing better to send (no credentials).
    pub(crate) fn on_challenge(
        &self,
        http: &HttpClient,
        registry: &str,
        www_authenticate: Option<&str>,
        scopes: &[String],
    ) -> Result<Option<String>, RegistryError> {
        let Some(c) = www_authenticate.and_then(parse_challenge) else {
            return Ok(None);
        };
        {
            let mut st = self.state.lock().expect("auth state lock");
            st.challenges.insert(registry.to_string(), c.clone());
            st.tokens.remove(&(registry.to_string(), scopes.join(" ")));
        }
        self.header_for(http, registry, &c, scopes)
    }

    fn header_for(
        &self,
        http: &HttpClient,
        registry: &str,
        challenge: &Challenge,
        scopes: &[String],
    ) -> Result<Option<String>, RegistryError> {
        match challenge {
            Challenge::Basic => Ok(match self.credential(registry)? {
                Some(Credential {
                    secret: Secret::Basic { username, password },
                    ..
                }) => Some(basic(&username, &password)),
                _ => None,
            }),
            Challenge::Bearer { realm, service } => {
                let key = (registry.to_string(), scopes.join(" "));
                if let Some(t) = self.state.lock().expect("auth state lock").tokens.get(&key) {
                    if t.expires > Instant::now() {
                        return Ok(Some(t.header.clone()));
                    }
                }
                let cred = self.credential(registry)?;
                let token = fetch_token(
                    http,
                    registry,
                    realm,
                    service.as_deref(),
                    scopes,
                    cred.as_ref(),
                )?;
                let header = token.header.clone();
                self.state
                    .lock()
                    .expect("auth state lock")
                    .tokens
                    .insert(key, token);
                Ok(Some(header))
            }
        }
    }
}

fn basic(user: &str, pass: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {b}")
}

/// The distribution token protocol: GET with Basic credentials (or none), or
/// the OAuth2 refresh-token POST for an identity token.
fn fetch_token(
    http: &HttpClient,
    registry: &str,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    cred: Option<&Credential>,
) -> Result<Token, RegistryError> {
    let fail = |detail: String| RegistryError::Token {
        realm: realm.to_string(),
        registry: registry.to_string(),
        detail,
    };
    if let Some(c) = cred {
        if let Some(why) = cleartext_realm(realm) {
            return Err(fail(format!(
                "{why}; pyko will not send the credentials from {} over it. Ask the registry's operator to serve the token endpoint over https",
                c.source.display()
            )));
        }
    }
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = service {
        query.push(("service", s));
    }
    for s in scopes {
        query.push(("scope", s));
    }
    let resp = http.send(
        &|http| {
            Ok(match cred.map(|c| &c.secret) {
                Some(Secret::IdentityToken(t)) => {
                    let mut form = query.clone();
                    form.extend([
                        ("grant_type", "refresh_token"),
                        ("refresh_token", t),
                        ("client_id", "pyko"),
                    ]);
                    http.post(realm).form(&form)
                }
                Some(Secret::Basic { username, password }) => http
                    .get(realm)
                    .query(&query)
                    .header(reqwest::header::AUTHORIZATION, basic(username, password)),
                None => http.get(realm).query(&query),
            })
        },
        |e| fail(chain(&e)),
    )?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.bytes().unwrap_or_default();
        let who = match cred {
            Some(c) => format!("the credentials from {} were rejected", c.source.display()),
            None => "anonymous access was refused; log in (docker login) or add credentials to a Docker config.json".into(),
        };
        return Err(fail(format!(
            "HTTP {}{}: {who}",
            status.as_u16(),
            super::error::error_codes(&body)
        )));
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        token: Option<String>,
        access_token: Option<String>,
        expires_in: Option<u64>,
    }
    let r: Reply = serde_json::from_reader(resp)
        .map_err(|e| fail(format!("reply is not a token: {}", chain(&e))))?;
    let token = r
        .token
        .or(r.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("reply has no token".into()))?;
    Ok(Token {
        header: format!("Bearer {token}"),
        expires: expiry(Instant::now(), r.expires_in),
    })
}

/// When a token stops being reused: renewed a little early so it does not
/// expire between check and use, and capped at a day so a server's huge
/// `expires_in` cannot overflow the clock.
fn expiry(now: Instant, expires_in: Option<u64>) -> Instant {
    let life = expires_in.unwrap_or(60).clamp(10, 86_400) - 5;
    now + Duration::from_secs(life)
}

/// Why a token realm must not get a password: plain http to a host other
/// than this machine. `None` when it may.
fn cleartext_realm(realm: &str) -> Option<String> {
    let url = reqwest::Url::parse(realm).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let loopback = super::scheme::plain_http_allowed(url.host_str()?, &[]);
    (!loopback).then(|| format!("the token realm {realm} is plain http to another machine"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_go_to_a_cleartext_realm_elsewhere() {
        assert!(cleartext_realm("http://auth.example.com/token").is_some());
        assert!(cleartext_realm("http://10.0.0.5:5001/token").is_some());
        assert!(cleartext_realm("http://127.0.0.1:5001/token").is_none());
        assert!(cleartext_realm("http://localhost/token").is_none());
        assert!(cleartext_realm("http://[::1]:80/token").is_none());
        assert!(cleartext_realm("https://auth.example.com/token").is_none());
    }

    #[test]
    fn huge_expires_in_does_not_overflow() {
        let now = Instant::now();
        assert!(expiry(now, Some(u64::MAX)) <= now + Duration::from_secs(86_400));
        assert_eq!(expiry(now, Some(0)), now + Duration::from_secs(5));
        assert_eq!(expiry(now, None), now + Duration::from_secs(55));
    }

    #[test]
    fn parses_challenges() {
        assert_eq!(
            parse_challenge("Basic realm=\"basic-realm\""),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                "Bearer realm=\"https://auth.example/token\",service=\"reg\",scope=\"repository:a/b:pull,push\""
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("reg".into())
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=http://x/t"),
            Some(Challenge::Bearer {
                realm: "http://x/t".into(),
                service: None
            })
        );
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(
            insufficient_scope(
                "Bearer realm=\"http://t/token\",service=\"r\",scope=\"repository:b:pull,push\",error=\"insufficient_scope\""
            ),
            Some("repository:b:pull,push".into())
        );
        assert_eq!(
            insufficient_scope("Bearer realm=\"http://t/token\",scope=\"repository:b:pull\""),
            None
        );
    }
}
