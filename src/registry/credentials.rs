//! Where registry credentials come from: the files `docker login` and
//! `podman login` write, and the credential helpers they name. Reading the
//! same files as those tools means a CI job that can `docker push` can
//! `pyko build --push` with no extra setup.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;

use super::error::RegistryError;
use crate::oci::reference::DOCKER_HUB;

/// A credential for one registry, and the file it came from (for messages).
#[derive(Clone, Debug)]
pub struct Credential {
    pub secret: Secret,
    pub source: PathBuf,
}

#[derive(Clone)]
pub enum Secret {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token server.
    IdentityToken(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Secret::IdentityToken(_) => f.write_str("IdentityToken(***)"),
        }
    }
}

/// The credential files to search, in order; the first one that knows the
/// registry wins.
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    files: Vec<PathBuf>,
    /// A credential given directly (e.g. to `pyko login`), checked first.
    fixed: Option<(String, Credential)>,
}

#[derive(serde::Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

impl CredentialStore {
    /// `$REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, `$HOME/.docker/config.json`.
    /// Unset variables (even `HOME`) just drop their entry.
    pub fn from_env() -> CredentialStore {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let mut files = Vec::new();
        files.extend(var("REGISTRY_AUTH_FILE"));
        files.extend(var("DOCKER_CONFIG").map(|d| d.join("config.json")));
        files.extend(var("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
        files.extend(var("HOME").map(|d| d.join(".docker/config.json")));
        CredentialStore { files, fixed: None }
    }

    pub fn from_files(files: Vec<PathBuf>) -> CredentialStore {
        CredentialStore { files, fixed: None }
    }

    /// Only `credential`, for `registry`; no files.
    pub fn fixed(registry: &str, credential: Credential) -> CredentialStore {
        CredentialStore {
            files: vec![],
            fixed: Some((registry.to_string(), credential)),
        }
    }

    /// Credentials for `registry` (canonical name), or `None` for anonymous.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>, RegistryError> {
        if let Some((r, c)) = &self.fixed {
            if r == registry {
                return Ok(Some(c.clone()));
            }
        }
        for path in &self.files {
            let text = match std::fs::read(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(auth_file(path, e.to_string())),
            };
            let cfg: ConfigFile = serde_json::from_slice(&text)
                .map_err(|e| auth_file(path, format!("not valid JSON: {e}")))?;
            if let Some(c) = lookup_in(&cfg, path, registry)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}

fn auth_file(path: &Path, detail: String) -> RegistryError {
    RegistryError::AuthFile {
        path: path.to_path_buf(),
        detail,
    }
}

/// The spellings `docker login` uses as keys for a registry.
fn matches(key: &str, registry: &str) -> bool {
    let host = key
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("");
    host == registry
        || registry == DOCKER_HUB
            && matches!(
                host,
                "index.docker.io" | "registry-1.docker.io" | "docker.io"
            )
}

fn lookup_in(
    cfg: &ConfigFile,
    path: &Path,
    registry: &str,
) -> Result<Option<Credential>, RegistryError> {
    let helper = cfg
        .cred_helpers
        .iter()
        .find(|(k, _)| matches(k, registry))
        .map(|(_, v)| v);
    if let Some(h) = helper {
        return run_helper(h, path, registry);
    }
    if let Some(store) = &cfg.creds_store {
        if let Some(c) = run_helper(store, path, registry)? {
            return Ok(Some(c));
        }
    }
    let Some((_, entry)) = cfg.auths.iter().find(|(k, _)| matches(k, registry)) else {
        return Ok(None);
    };
    let cred = |secret| Credential {
        secret,
        source: path.to_path_buf(),
    };
    if let Some(t) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Some(cred(Secret::IdentityToken(t.clone()))));
    }
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return Ok(Some(cred(Secret::Basic {
            username: u.clone(),
            password: p.clone(),
        })));
    }
    if let Some(a) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(a.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                auth_file(
                    path,
                    format!("\"auth\" for {registry} is not base64 of user:password"),
                )
            })?;
        let (u, p) = decoded.split_once(':').ok_or_else(|| {
            auth_file(
                path,
                format!("\"auth\" for {registry} has no ':' between user and password"),
            )
        })?;
        return Ok(Some(cred(Secret::Basic {
            username: u.to_string(),
            password: p.to_string(),
        })));
    }
    Ok(None)
}

/// The credential helper a parsed config names for `registry`
/// (`credHelpers` first, then `credsStore`), as `docker login` picks it.
pub(crate) fn helper_for(doc: &serde_json::Value, registry: &str) -> Option<String> {
    doc.get("credHelpers")
        .and_then(|h| h.as_object())
        .and_then(|h| h.iter().find(|(k, _)| matches(k, registry)))
        .and_then(|(_, v)| v.as_str())
        .or_else(|| doc.get("credsStore").and_then(|s| s.as_str()))
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

fn server_url(registry: &str) -> String {
    if registry == DOCKER_HUB {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    }
}

/// `docker-credential-NAME store`, as `docker login` does with a helper.
pub(crate) fn helper_store(
    name: &str,
    config: &Path,
    registry: &str,
    username: &str,
    password: &str,
) -> Result<(), RegistryError> {
    let input = serde_json::json!({
        "ServerURL": server_url(registry),
        "Username": username,
        "Secret": password,
    })
    .to_string();
    helper_call(name, config, registry, "store", &input).map(|_| ())
}

/// `docker-credential-NAME erase`; `false` if the helper had nothing stored.
pub(crate) fn helper_erase(
    name: &str,
    config: &Path,
    registry: &str,
) -> Result<bool, RegistryError> {
    match helper_call(name, config, registry, "erase", &server_url(registry)) {
        Ok(_) => Ok(true),
        Err(RegistryError::CredentialHelper { problem, .. })
            if problem.contains("credentials not found") =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

fn helper_call(
    name: &str,
    config: &Path,
    registry: &str,
    verb: &str,
    input: &str,
) -> Result<String, RegistryError> {
    let fail = |problem: String| RegistryError::CredentialHelper {
        helper: name.to_string(),
        config: config.to_path_buf(),
        registry: registry.to_string(),
        problem,
    };
    let mut child = Command::new(format!("docker-credential-{name}"))
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => fail(format!(
                "is not installed or not on PATH; install docker-credential-{name} or remove it from {}",
                config.display()
            )),
            _ => fail(format!("could not be started: {e}")),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("failed: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let said = format!(
            "{} {}",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return Err(fail(format!(
            "{verb} failed ({}): {}",
            out.status,
            helper_said(&said)
        )));
    }
    Ok(stdout)
}

/// What a failing helper printed, fit for a terminal or CI log: helpers
/// print their error on stdout, but a broken one may print the credential
/// itself (a JSON reply, a token), so anything that looks like one is
/// withheld and the rest is cut to one short line.
fn helper_said(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    let lower = line.to_ascii_lowercase();
    let secretish = ["secret", "password", "token", "{", "bearer", "basic "]
        .iter()
        .any(|w| lower.contains(w))
        || line
            .split_whitespace()
            .any(|w| w.len() >= 24 && !w.contains('/'));
    if line.is_empty() {
        "(it printed nothing)".into()
    } else if secretish {
        "(its output is withheld: it may hold a credential)".into()
    } else if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Runs `docker-credential-NAME get` with the server URL on stdin, per the
/// docker-credential-helpers protocol.
fn run_helper(
    name: &str,
    config: &Path,
    registry: &str,
) -> Result<Option<Credential>, RegistryError> {
    let stdout = match helper_call(name, config, registry, "get", &server_url(registry)) {
        Ok(out) => out,
        Err(RegistryError::CredentialHelper { problem, .. })
            if problem.contains("credentials not found") =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let fail = |problem: String| RegistryError::CredentialHelper {
        helper: name.to_string(),
        config: config.to_path_buf(),
        registry: registry.to_string(),
        problem,
    };
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let r: Reply = serde_json::from_str(&stdout).map_err(|e| {
        fail(format!(
            "printed something that is not credentials JSON: {e}"
        ))
    })?;
    let secret = if r.username == "<token>" {
        Secret::IdentityToken(r.secret)
    } else {
        Secret::Basic {
            username: r.username,
            password: r.secret,
        }
    };
    Ok(Some(Credential {
        secret,
        source: config.to_path_buf(),
    }))
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
