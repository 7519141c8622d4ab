//! A distribution token server for tests: checks Basic credentials, grants
//! repository actions from a table, and signs RS256 JWTs with a fresh RSA
//! key whose self-signed certificate the registry trusts
//! (`rootcertbundle`). The JWT header carries that certificate as `x5c`,
//! which is how distribution finds the verifying key.
//!
//! Signing shells out to `openssl dgst -sign` (the harness already needs
//! openssl for TLS registries), so the tests add no crypto crates.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;

pub const SERVICE: &str = "test-registry";
pub const ISSUER: &str = "test-issuer";

/// `user` may do `actions` (e.g. `"pull,push"`) on `repository`.
#[derive(Clone, Debug)]
pub struct Grant {
    pub user: String,
    pub repository: String,
    pub actions: Vec<String>,
}

pub fn grant(user: &str, repository: &str, actions: &str) -> Grant {
    Grant {
        user: user.into(),
        repository: repository.into(),
        actions: actions.split(',').map(str::to_string).collect(),
    }
}

/// One token request as the server saw it.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `None` for anonymous.
    pub user: Option<String>,
    pub scopes: Vec<String>,
    /// 200 (token issued) or 401 (bad credentials).
    pub status: u16,
}

pub struct TokenServer {
    pub dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT/token`
    pub realm: String,
    pub requests: Arc<Mutex<Vec<TokenRequest>>>,
}

struct Config {
    users: Vec<(String, String)>,
    grants: Vec<Grant>,
    key: PathBuf,
    x5c: String,
}

impl TokenServer {
    pub fn start(users: &[(&str, &str)], grants: &[Grant]) -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        super::image::run(Command::new("openssl").current_dir(d).args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "token-key.pem",
            "-out",
            "token-cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=pyko test token issuer",
        ]));
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(d.join("token-cert.pem"))
            .output()
            .unwrap();
        assert!(der.status.success());
        let cfg = Arc::new(Config {
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            grants: grants.to_vec(),
            key: d.join("token-key.pem"),
            x5c: base64::engine::general_purpose::STANDARD.encode(der.stdout),
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let realm = format!("http://{}/token", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        // The thread ends with the test process; the listener is never
        // shared, so a dropped server just leaves it idle.
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (cfg, log) = (cfg.clone(), log.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &cfg, &log);
                });
            }
        });
        TokenServer {
            dir,
            realm,
            requests,
        }
    }

    /// The certificate the registry must trust for our tokens.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("token-cert.pem")
    }

    /// The registry's `auth:` section (for `RegistryOptions::auth_yaml`).
    pub fn auth_yaml(&self) -> String {
        format!(
            "auth:\n  token: {{realm: \"{}\", service: {SERVICE}, issuer: {ISSUER}, rootcertbundle: {}}}\n",
            self.realm,
            self.cert().display()
        )
    }

    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, cfg: &Config, log: &Mutex<Vec<TokenRequest>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            }
        }
    }
    let url = reqwest::Url::parse(&format!("http://token{target}")).unwrap();
    let mut service = None;
    let mut scopes = Vec::new();
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "service" => service = Some(v.to_string()),
            "scope" => scopes.extend(v.split(' ').map(str::to_string)),
            _ => {}
        }
    }
    let user = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        });
    let known = user.as_ref().map(|(u, p)| {
        cfg.users
            .iter()
            .any(|(cu, cp)| cu == u && cp == p)
            .then(|| u.clone())
    });
    let (status, body) = match known {
        Some(None) => (
            401,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad user name or password"}]}"#
                .to_string(),
        ),
        _ if service.as_deref() != Some(SERVICE) => (400, "{}".to_string()),
        known => {
            let who = known.flatten();
            let token = sign(
                cfg,
                who.as_deref().unwrap_or(""),
                &access(cfg, who.as_deref(), &scopes),
            );
            (
                200,
                serde_json::json!({"token": token, "expires_in": 300}).to_string(),
            )
        }
    };
    log.lock().unwrap().push(TokenRequest {
        user: user.map(|(u, _)| u),
        scopes,
        status,
    });
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

/// The `access` claim: each requested `repository:NAME:ACTIONS` scope cut
/// down to what the table grants `user` (anonymous users get nothing) —
/// like real token servers, which issue a weaker token rather than refuse.
fn access(cfg: &Config, user: Option<&str>, scopes: &[String]) -> serde_json::Value {
    let mut out = Vec::new();
    for s in scopes {
        let mut parts = s.splitn(3, ':');
        let (Some("repository"), Some(name), Some(actions)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let allowed: Vec<&str> = actions
            .split(',')
            .filter(|a| {
                cfg.grants.iter().any(|g| {
                    Some(g.user.as_str()) == user
                        && g.repository == name
                        && g.actions.iter().any(|ga| ga == a)
                })
            })
            .collect();
        out.push(serde_json::json!({"type": "repository", "name": name, "actions": allowed}));
    }
    serde_json::Value::Array(out)
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sign(cfg: &Config, subject: &str, access: &serde_json::Value) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [cfg.x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": subject,
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", std::process::id()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&cfg.key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl dgst -sign failed");
    format!("{signing_input}.{}", b64url(&out.stdout))
}
