//! `Env`: ENV's overrides and `PATH` prepends (a venv's `bin`) on top of the
//! base's variables, which keep their order.

use serde_json::{json, Map, Value};

use super::{array, ConfigError};

/// What `PATH` is when the base config has none: Docker's default.
pub(super) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub(super) fn apply(
    cfg: &mut Map<String, Value>,
    changes: &[(String, String)],
    path_prepend: &[String],
    steps: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let mut env = base_env(cfg)?;
    for (k, v) in changes {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(ConfigError::EnvName { name: k.clone() });
        }
        steps.push(format!("ENV {k}={v}"));
        set(&mut env, k, v.clone());
    }
    if !path_prepend.is_empty() {
        let old = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| DEFAULT_PATH.to_string());
        let mut parts: Vec<&str> = path_prepend.iter().map(String::as_str).collect();
        parts.extend(
            old.split(':')
                .filter(|p| !path_prepend.iter().any(|n| n == p)),
        );
        let new = parts.join(":");
        steps.push(format!("ENV PATH={new}"));
        set(&mut env, "PATH", new);
    }
    if !changes.is_empty() || !path_prepend.is_empty() {
        cfg.insert(
            "Env".into(),
            json!(env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()),
        );
    }
    Ok(())
}

/// The base's `Env` as pairs. Creates an empty `Env` when there is none, as
/// pyko always has (the config bytes, and so the pinned digests, depend on it).
fn base_env(cfg: &mut Map<String, Value>) -> Result<Vec<(String, String)>, ConfigError> {
    let mut env = Vec::new();
    for v in array(cfg, "Env", "config.Env")?.iter() {
        let s = v.as_str().ok_or_else(|| ConfigError::Malformed {
            what: "an entry of config.Env".into(),
            expected: "string",
        })?;
        let (k, val) = s.split_once('=').unwrap_or((s, ""));
        env.push((k.to_string(), val.to_string()));
    }
    Ok(env)
}

/// Overrides in place, so an overridden variable keeps its position.
fn set(env: &mut Vec<(String, String)>, k: &str, v: String) {
    match env.iter_mut().find(|(ek, _)| ek == k) {
        Some(e) => e.1 = v,
        None => env.push((k.to_string(), v)),
    }
}
