//! Inheriting and extending the base config as a Dockerfile would: the base
//! config JSON is edited in place, so every field pyko does not know
//! (`Healthcheck`, `StopSignal`, `Volumes`, vendor extensions…) survives
//! unchanged and in its original order. As go-containerregistry's `mutate`,
//! [`apply`] only orders the steps; each field group has its own file.

use serde_json::{json, Map, Value};

use crate::oci::Layer;

mod command;
mod env;
mod history;
mod metadata;
mod ports;

pub use command::Command;
pub use history::rfc3339;
pub use ports::{parse_port, PortError};

/// `created` for epoch 0, the default `SOURCE_DATE_EPOCH`
/// (`inputs::source_date_epoch`): a fixed time keeps the config digest, and
/// so the image digest, reproducible.
pub const EPOCH: &str = "1970-01-01T00:00:00Z";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigChanges {
    /// `8501`, `8501/tcp`, `53/udp`, `9000/sctp`.
    pub exposed_ports: Vec<String>,
    pub cmd: Option<Command>,
    /// Setting it drops an inherited `Cmd` unless `cmd` is also set, as
    /// Docker does: the base's Cmd was meant for the base's entrypoint.
    pub entrypoint: Option<Command>,
    pub env: Vec<(String, String)>,
    /// Directories put in front of `PATH` (e.g. a venv's `bin`).
    pub path_prepend: Vec<String>,
    /// Absolute, or relative to the base's `WorkingDir` as in Docker.
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub labels: Vec<(String, String)>,
    /// RFC 3339, see [`rfc3339`].
    pub created: String,
}

impl Default for ConfigChanges {
    fn default() -> Self {
        ConfigChanges {
            exposed_ports: Vec::new(),
            cmd: None,
            entrypoint: None,
            env: Vec::new(),
            path_prepend: Vec::new(),
            workdir: None,
            user: None,
            labels: Vec::new(),
            created: EPOCH.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("environment variable name {name:?} is invalid: it must be non-empty and contain no '=' or NUL")]
    EnvName { name: String },
    #[error("label {name:?} is invalid: label keys must be non-empty")]
    LabelName { name: String },
    #[error("{what} is empty; give a command (e.g. --cmd 'python app.py')")]
    EmptyCommand { what: &'static str },
    #[error("base image config: {what} is not a JSON {expected}; the base image is malformed")]
    Malformed {
        what: String,
        expected: &'static str,
    },
}

/// The new image config: `base_config` with `changes` applied and `added`
/// layers (with their history `created_by`) appended. The order of the
/// steps is the order new keys appear in the JSON, so it is part of the
/// image digest.
pub fn apply(
    base_config: &Value,
    changes: &ConfigChanges,
    added: &[(Layer, String)],
) -> Result<Value, ConfigError> {
    let mut root = base_config.clone();
    let top = root.as_object_mut().ok_or_else(|| ConfigError::Malformed {
        what: "the config".into(),
        expected: "object",
    })?;
    // What the config changes say, as Dockerfile instructions, for history.
    let mut steps: Vec<String> = Vec::new();
    let cfg = object(top, "config", "config")?;
    ports::expose(cfg, &changes.exposed_ports, &mut steps)?;
    env::apply(cfg, &changes.env, &changes.path_prepend, &mut steps)?;
    metadata::workdir(cfg, changes.workdir.as_deref(), &mut steps);
    metadata::user(cfg, changes.user.as_deref(), &mut steps);
    metadata::labels(cfg, &changes.labels, &mut steps)?;
    command::apply(
        cfg,
        changes.entrypoint.as_ref(),
        changes.cmd.as_ref(),
        &mut steps,
    )?;
    history::apply(top, &changes.created, &steps, added)?;
    Ok(root)
}

/// `parent[key]` as an object, created when missing or null.
fn object<'a>(
    parent: &'a mut Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<&'a mut Map<String, Value>, ConfigError> {
    let v = parent.entry(key).or_insert_with(|| json!({}));
    if v.is_null() {
        *v = json!({});
    }
    v.as_object_mut().ok_or_else(|| ConfigError::Malformed {
        what: what.to_string(),
        expected: "object",
    })
}

/// `parent[key]` as an array, created when missing or null.
fn array<'a>(
    parent: &'a mut Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<&'a mut Vec<Value>, ConfigError> {
    let v = parent.entry(key).or_insert_with(|| json!([]));
    if v.is_null() {
        *v = json!([]);
    }
    v.as_array_mut().ok_or_else(|| ConfigError::Malformed {
        what: what.to_string(),
        expected: "array",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::digest::Digest;

    pub(super) fn base() -> Value {
        json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHON_VERSION=3.11.2"],
                "Cmd": ["python3"],
                "StopSignal": "SIGINT",
                "ExposedPorts": {"80/tcp": {}},
                "WorkingDir": "/srv"
            },
            "rootfs": {"type": "layers", "diff_ids": [Digest::of_bytes(b"base").as_str()]},
            "history": [
                {"created": "2024-01-01T00:00:00Z", "created_by": "ENV LANG=C.UTF-8", "empty_layer": true},
                {"created": "2024-01-01T00:00:00Z", "created_by": "ADD rootfs.tar /"}
            ],
            "x-vendor": {"keep": [1, 2]}
        })
    }

    fn layer(tag: &[u8]) -> Layer {
        Layer {
            digest: Digest::of_bytes(&[tag, b"gz"].concat()),
            diff_id: Digest::of_bytes(tag),
            size: 1,
            media_type: crate::oci::media_types::OCI_LAYER_TAR_GZIP.into(),
        }
    }

    #[test]
    fn applies_like_a_dockerfile_and_keeps_unknown_fields() {
        let changes = ConfigChanges {
            exposed_ports: vec!["8501".into(), "53/UDP".into()],
            cmd: Some(Command::Shell("streamlit run app.py".into())),
            env: vec![
                ("LANG".into(), "en_US.UTF-8".into()),
                ("APP".into(), "1".into()),
            ],
            path_prepend: vec!["/app/.venv/bin".into(), "/usr/bin".into()],
            workdir: Some("app".into()),
            user: Some("1000:1000".into()),
            labels: vec![(
                "org.opencontainers.image.source".into(),
                "https://x/y".into(),
            )],
            created: rfc3339(1_700_000_000),
            ..Default::default()
        };
        let added = [
            (layer(b"deps"), "pyko deps".to_string()),
            (layer(b"app"), "COPY . /srv/app".to_string()),
        ];
        let c = apply(&base(), &changes, &added).unwrap();
        let cfg = &c["config"];
        assert_eq!(
            cfg["ExposedPorts"],
            json!({"80/tcp": {}, "8501/tcp": {}, "53/udp": {}})
        );
        assert_eq!(cfg["Cmd"], json!(["/bin/sh", "-c", "streamlit run app.py"]));
        assert!(cfg.get("Entrypoint").is_none());
        assert_eq!(
            cfg["Env"],
            json!([
                "PATH=/app/.venv/bin:/usr/bin:/usr/local/bin:/bin",
                "LANG=en_US.UTF-8",
                "PYTHON_VERSION=3.11.2",
                "APP=1"
            ])
        );
        assert_eq!(cfg["WorkingDir"], "/srv/app");
        assert_eq!(cfg["User"], "1000:1000");
        assert_eq!(cfg["StopSignal"], "SIGINT");
        assert_eq!(
            cfg["Labels"]["org.opencontainers.image.source"],
            "https://x/y"
        );
        assert_eq!(c["x-vendor"], json!({"keep": [1, 2]}));
        assert_eq!(c["created"], "2023-11-14T22:13:20Z");
        let ids = c["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[2], json!(Digest::of_bytes(b"app").as_str()));
        let hist = c["history"].as_array().unwrap();
        let non_empty: Vec<_> = hist
            .iter()
            .filter(|h| h.get("empty_layer").is_none())
            .collect();
        assert_eq!(non_empty.len(), ids.len());
        assert_eq!(hist.last().unwrap()["created_by"], "COPY . /srv/app");
        assert_eq!(hist.last().unwrap()["comment"], "pyko");
        // Field order of the base is kept (preserve_order), new ones appended.
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "architecture",
                "os",
                "config",
                "rootfs",
                "history",
                "x-vendor",
                "created"
            ]
        );
    }

    #[test]
    fn minimal_base_gets_rootfs_history_and_default_path() {
        let changes = ConfigChanges {
            path_prepend: vec!["/venv/bin".into()],
            ..Default::default()
        };
        let b = json!({"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}});
        let c = apply(&b, &changes, &[(layer(b"a"), "x".into())]).unwrap();
        assert_eq!(
            c["config"]["Env"],
            json!([format!("PATH=/venv/bin:{}", env::DEFAULT_PATH)])
        );
        let hist = c["history"].as_array().unwrap();
        assert_eq!(
            hist.iter()
                .filter(|h| h.get("empty_layer").is_none())
                .count(),
            2
        );
        assert_eq!(c["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn bad_inputs_are_named() {
        let env = ConfigChanges {
            env: vec![("A=B".into(), "c".into())],
            ..Default::default()
        };
        let err = apply(&base(), &env, &[]).unwrap_err();
        assert!(err.to_string().contains("\"A=B\""), "{err}");
        assert!(apply(&json!([]), &ConfigChanges::default(), &[]).is_err());
    }
}
