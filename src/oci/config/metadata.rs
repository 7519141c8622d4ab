//! The fields WORKDIR, USER and LABEL set.

use serde_json::{json, Map, Value};

use super::{object, ConfigError};

/// Relative to the base's `WorkingDir` as in Docker, then cleaned.
pub(super) fn workdir(cfg: &mut Map<String, Value>, wd: Option<&str>, steps: &mut Vec<String>) {
    let Some(wd) = wd else { return };
    let base = cfg.get("WorkingDir").and_then(Value::as_str).unwrap_or("/");
    let joined = if wd.starts_with('/') {
        wd.to_string()
    } else {
        format!("{base}/{wd}")
    };
    let wd = crate::oci::path::clean(&format!("/{joined}"));
    steps.push(format!("WORKDIR {wd}"));
    cfg.insert("WorkingDir".into(), json!(wd));
}

pub(super) fn user(cfg: &mut Map<String, Value>, user: Option<&str>, steps: &mut Vec<String>) {
    if let Some(u) = user {
        steps.push(format!("USER {u}"));
        cfg.insert("User".into(), json!(u));
    }
}

/// Added to the inherited labels; a key already there gets the new value.
pub(super) fn labels(
    cfg: &mut Map<String, Value>,
    labels: &[(String, String)],
    steps: &mut Vec<String>,
) -> Result<(), ConfigError> {
    if labels.is_empty() {
        return Ok(());
    }
    let map = object(cfg, "Labels", "config.Labels")?;
    for (k, v) in labels {
        if k.is_empty() {
            return Err(ConfigError::LabelName { name: k.clone() });
        }
        steps.push(format!("LABEL {k}={v}"));
        map.insert(k.clone(), json!(v));
    }
    Ok(())
}
