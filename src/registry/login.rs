//! `pyko login` / `pyko logout`: the same Docker `config.json` that `docker
//! login` writes, so either tool's login serves both. Credentials are checked
//! against the registry before anything is written, and the file is
//! replaced atomically with mode 0600: a failed or interrupted login never
//! loses the other entries in it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use reqwest::Method;

use super::client::{Client, ClientOptions, Op};
use super::credentials::{self, Credential, CredentialStore, Secret};
use super::error::RegistryError;
use crate::oci::reference::DOCKER_HUB;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("logging in to {registry}")]
    Registry {
        registry: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("Docker config {path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error("no Docker config location: set DOCKER_CONFIG or HOME")]
    NoConfigDir,
    #[error("pyko login reads the password from stdin: pipe it in and pass --password-stdin")]
    NoPasswordStdin,
    #[error("--password-stdin: stdin held no password")]
    EmptyPassword,
    #[error("--password-stdin: reading the password from stdin")]
    Stdin(#[source] std::io::Error),
}

/// What `pyko login` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct LoginRequest {
    pub registry: String,
    pub username: String,
    /// The password comes from stdin only, never a flag: a flag's value is
    /// visible to every user of the machine.
    pub password_stdin: bool,
    /// Reach the registry over plain http.
    pub insecure: bool,
    pub ca_certs: Vec<PathBuf>,
}

/// `pyko login`: reads the password from `stdin`, checks it against the
/// registry and stores it in `config`. Returns the registry's canonical
/// name, as the credentials were filed under it.
pub fn login_from_stdin(
    req: LoginRequest,
    stdin: impl Read,
    config: &Path,
) -> Result<String, LoginError> {
    if !req.password_stdin {
        return Err(LoginError::NoPasswordStdin);
    }
    let password = read_password(stdin)?;
    let registry = canonical_registry(&req.registry);
    let opts = ClientOptions {
        insecure_registries: if req.insecure {
            vec![registry.clone()]
        } else {
            vec![]
        },
        ca_certs: req.ca_certs,
        ..Default::default()
    };
    login(opts, &registry, &req.username, &password, config)?;
    Ok(registry)
}

/// The whole of stdin but one trailing newline (`\n` or `\r\n`, as `echo`
/// or a Windows editor adds): spaces may be part of a password, so nothing
/// else is trimmed.
fn read_password(mut stdin: impl Read) -> Result<String, LoginError> {
    let mut password = String::new();
    stdin
        .read_to_string(&mut password)
        .map_err(LoginError::Stdin)?;
    let p = password.strip_suffix('\n').unwrap_or(&password);
    let p = p.strip_suffix('\r').unwrap_or(p);
    if p.is_empty() {
        return Err(LoginError::EmptyPassword);
    }
    Ok(p.to_string())
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`, as docker.
pub fn default_config_path() -> Result<PathBuf, LoginError> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("DOCKER_CONFIG")
        .or_else(|| var("HOME").map(|h| h.join(".docker")))
        .map(|d| d.join("config.json"))
        .ok_or(LoginError::NoConfigDir)
}

/// The key `docker login` files a registry under.
fn config_key(registry: &str) -> String {
    if registry == DOCKER_HUB {
        "https://index.docker.io/v1/".into()
    } else {
        registry.into()
    }
}

/// `docker.io` for every spelling of Docker Hub, else as given.
pub fn canonical_registry(registry: &str) -> String {
    let r = registry
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = r.split('/').next().unwrap_or(r);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_HUB.into(),
        h => h.into(),
    }
}

/// Checks `username`/`password` against `registry`'s `/v2/` (answering a
/// Basic or Bearer challenge with them), then stores them in `config`.
pub fn login(
    opts: ClientOptions,
    registry: &str,
    username: &str,
    password: &str,
    config: &Path,
) -> Result<(), LoginError> {
    let registry = canonical_registry(registry);
    let fail = |source| LoginError::Registry {
        registry: registry.clone(),
        source: Box::new(source),
    };
    let cred = Credential {
        secret: Secret::Basic {
            username: username.into(),
            password: password.into(),
        },
        source: PathBuf::from("the password given to pyko login"),
    };
    let client = Client::new(ClientOptions {
        credential_store: Some(CredentialStore::fixed(&registry, cred)),
        ..opts
    })
    .map_err(fail)?;
    let op = Op {
        registry: &registry,
        repository: "",
        action: "checking the credentials".into(),
        scopes: vec![],
    };
    let url = client.base_url(&registry);
    let resp = client
        .send(&op, Method::GET, &url, &|rb| Ok(rb))
        .map_err(fail)?;
    if !resp.status().is_success() {
        return Err(fail(client.status_error(&op, resp)));
    }

    let mut doc = read_config(config)?;
    let helper = credentials::helper_for(&doc, &registry);
    if let Some(h) = helper {
        credentials::helper_store(&h, config, &registry, username, password).map_err(fail)?;
        return Ok(());
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let obj = doc.as_object_mut().ok_or_else(|| LoginError::Config {
        path: config.to_path_buf(),
        detail: "is not a JSON object".into(),
    })?;
    let auths = obj.entry("auths").or_insert_with(|| serde_json::json!({}));
    let Some(auths) = auths.as_object_mut() else {
        return Err(LoginError::Config {
            path: config.to_path_buf(),
            detail: "\"auths\" is not a JSON object".into(),
        });
    };
    // Drop other spellings of the same registry so one entry decides.
    auths.retain(|k, _| canonical_registry(k) != registry);
    auths.insert(config_key(&registry), serde_json::json!({ "auth": auth }));
    write_config(config, &doc)
}

/// Forgets `registry`'s credentials; `false` if there were none.
pub fn logout(registry: &str, config: &Path) -> Result<bool, LoginError> {
    let registry = canonical_registry(registry);
    let mut doc = read_config(config)?;
    if let Some(h) = credentials::helper_for(&doc, &registry) {
        return credentials::helper_erase(&h, config, &registry).map_err(|source| {
            LoginError::Registry {
                registry: registry.clone(),
                source: Box::new(source),
            }
        });
    }
    let Some(auths) = doc.get_mut("auths").and_then(|a| a.as_object_mut()) else {
        return Ok(false);
    };
    let before = auths.len();
    auths.retain(|k, _| canonical_registry(k) != registry);
    if auths.len() == before {
        return Ok(false);
    }
    write_config(config, &doc)?;
    Ok(true)
}

fn read_config(path: &Path) -> Result<serde_json::Value, LoginError> {
    match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(serde_json::json!({})),
        Ok(b) => serde_json::from_slice(&b).map_err(|e| LoginError::Config {
            path: path.to_path_buf(),
            detail: format!("not valid JSON ({e}); fix or remove it"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::json!({})),
        Err(e) => Err(LoginError::Config {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// Write aside with mode 0600, then rename over: readers see the old file or
/// the new one, never half of one, and the secret is never world-readable.
/// A config.json that is a symlink (dotfile managers, a mounted secret) is
/// written through, as docker's CLI does, so the link survives.
fn write_config(link: &Path, doc: &serde_json::Value) -> Result<(), LoginError> {
    let resolved = match std::fs::symlink_metadata(link) {
        Ok(m) if m.file_type().is_symlink() => {
            Some(std::fs::canonicalize(link).map_err(|e| LoginError::Config {
                path: link.to_path_buf(),
                detail: format!(
                    "it is a symlink whose target cannot be reached ({e}); fix or remove the link"
                ),
            })?)
        }
        _ => None,
    };
    let path = resolved.as_deref().unwrap_or(link);
    let err = |detail: String| LoginError::Config {
        path: path.to_path_buf(),
        detail,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| err(format!("creating {}: {e}", dir.display())))?;
    }
    // NamedTempFile is created 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| err(e.to_string()))?;
    let mut text = serde_json::to_vec_pretty(doc).expect("JSON value serializes");
    text.push(b'\n');
    tmp.write_all(&text)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_symlinked_config_is_written_through() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("dotfiles/docker.json");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "{\"auths\":{}}\n").unwrap();
        let link = t.path().join("config.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_config(
            &link,
            &serde_json::json!({"auths": {"r.example": {"auth": "eDp5"}}}),
        )
        .unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let got: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
        assert_eq!(got["auths"]["r.example"]["auth"], "eDp5");
        // A dangling link is named, not replaced.
        std::fs::remove_file(&real).unwrap();
        let e = write_config(&link, &serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("symlink"), "{e}");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    use super::*;

    #[test]
    fn password_loses_one_trailing_newline_only() {
        let read = |s: &str| read_password(s.as_bytes());
        assert_eq!(read("secret\n").unwrap(), "secret");
        assert_eq!(read("secret\r\n").unwrap(), "secret");
        assert_eq!(read("secret").unwrap(), "secret");
        assert_eq!(read(" pa ss \n").unwrap(), " pa ss ");
        assert_eq!(read("two\n\n").unwrap(), "two\n");
        for empty in ["", "\n", "\r\n"] {
            assert!(matches!(read(empty), Err(LoginError::EmptyPassword)));
        }
    }

    #[test]
    fn password_only_from_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        let req = LoginRequest {
            registry: "127.0.0.1:1".into(),
            username: "u".into(),
            ..Default::default()
        };
        let e = login_from_stdin(req.clone(), "pw\n".as_bytes(), &config).unwrap_err();
        assert!(matches!(e, LoginError::NoPasswordStdin), "{e}");
        let req = LoginRequest {
            password_stdin: true,
            ..req
        };
        let e = login_from_stdin(req, "\n".as_bytes(), &config).unwrap_err();
        assert!(matches!(e, LoginError::EmptyPassword), "{e}");
        assert!(!config.exists());
    }
}
