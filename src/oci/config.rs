//! Inheriting and extending the base config as a Dockerfile would: the base
//! config JSON is edited in place, so every field pyko does not know
//! (`Healthcheck`, `StopSignal`, `Volumes`, vendor extensions…) survives
//! unchanged and in its original order.

use serde_json::{json, Map, Value};

use crate::oci::Layer;

/// What `PATH` is when the base config has none: Docker's default.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `created` when `SOURCE_DATE_EPOCH` is unset: a fixed time keeps the config
/// digest, and so the image digest, reproducible.
pub const EPOCH: &str = "1970-01-01T00:00:00Z";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Exec(Vec<String>),
    /// Run by the image's shell (`Shell` from the base config, else
    /// `/bin/sh -c`), as Docker runs `CMD streamlit run app.py`.
    Shell(String),
}

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
    /// RFC 3339, see [`created_from_env`].
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
    #[error("port {port:?}: {reason}; expected PORT or PORT/PROTO with PORT 1–65535 and PROTO tcp, udp or sctp (e.g. 8501 or 53/udp)")]
    Port { port: String, reason: String },
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
    #[error(
        "SOURCE_DATE_EPOCH={0:?} is not a number of seconds since 1970-01-01; fix or unset it"
    )]
    SourceDateEpoch(String),
}

/// `created` from `SOURCE_DATE_EPOCH` if set, else [`EPOCH`].
pub fn created_from_env() -> Result<String, ConfigError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(rfc3339)
            .map_err(|_| ConfigError::SourceDateEpoch(v)),
        Err(_) => Ok(EPOCH.to_string()),
    }
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Normalizes `8501` to `8501/tcp` and checks range and protocol.
pub fn normalize_port(port: &str) -> Result<String, ConfigError> {
    let bad = |reason: &str| ConfigError::Port {
        port: port.to_string(),
        reason: reason.to_string(),
    };
    let (num, proto) = match port.split_once('/') {
        Some((n, p)) => (n, p.to_ascii_lowercase()),
        None => (port, "tcp".to_string()),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a port number"));
    }
    match num.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => {}
        _ => return Err(bad("out of range")),
    }
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad("unknown protocol"));
    }
    Ok(format!("{}/{proto}", num.trim_start_matches('0')))
}

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

fn command_json(cmd: &Command, shell: &[String], what: &'static str) -> Result<Value, ConfigError> {
    let argv = match cmd {
        Command::Exec(v) if v.is_empty() => return Err(ConfigError::EmptyCommand { what }),
        Command::Exec(v) => v.clone(),
        Command::Shell(s) if s.trim().is_empty() => return Err(ConfigError::EmptyCommand { what }),
        Command::Shell(s) => shell.iter().cloned().chain([s.clone()]).collect(),
    };
    Ok(json!(argv))
}

/// The new image config: `base_config` with `changes` applied and `added`
/// layers (with their history `created_by`) appended.
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
    let mut steps: Vec<String> = Vec::new();

    {
        let cfg = object(top, "config", "config")?;

        if !changes.exposed_ports.is_empty() {
            let ports = object(cfg, "ExposedPorts", "config.ExposedPorts")?;
            for p in &changes.exposed_ports {
                let p = normalize_port(p)?;
                steps.push(format!("EXPOSE {p}"));
                ports.insert(p, json!({}));
            }
        }

        let mut env: Vec<(String, String)> = Vec::new();
        for v in array(cfg, "Env", "config.Env")?.iter() {
            let s = v.as_str().ok_or_else(|| ConfigError::Malformed {
                what: "an entry of config.Env".into(),
                expected: "string",
            })?;
            let (k, val) = s.split_once('=').unwrap_or((s, ""));
            env.push((k.to_string(), val.to_string()));
        }
        let set = |env: &mut Vec<(String, String)>, k: &str, v: String| match env
            .iter_mut()
            .find(|(ek, _)| ek == k)
        {
            Some(e) => e.1 = v,
            None => env.push((k.to_string(), v)),
        };
        for (k, v) in &changes.env {
            if k.is_empty() || k.contains('=') || k.contains('\0') {
                return Err(ConfigError::EnvName { name: k.clone() });
            }
            steps.push(format!("ENV {k}={v}"));
            set(&mut env, k, v.clone());
        }
        if !changes.path_prepend.is_empty() {
            let old = env
                .iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| DEFAULT_PATH.to_string());
            let mut parts: Vec<&str> = changes.path_prepend.iter().map(String::as_str).collect();
            parts.extend(
                old.split(':')
                    .filter(|p| !changes.path_prepend.iter().any(|n| n == p)),
            );
            let new = parts.join(":");
            steps.push(format!("ENV PATH={new}"));
            set(&mut env, "PATH", new);
        }
        if !changes.env.is_empty() || !changes.path_prepend.is_empty() {
            cfg.insert(
                "Env".into(),
                json!(env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()),
            );
        }

        if let Some(wd) = &changes.workdir {
            let base = cfg.get("WorkingDir").and_then(Value::as_str).unwrap_or("/");
            let joined = if wd.starts_with('/') {
                wd.clone()
            } else {
                format!("{base}/{wd}")
            };
            let wd = super::path::clean(&format!("/{joined}"));
            steps.push(format!("WORKDIR {wd}"));
            cfg.insert("WorkingDir".into(), json!(wd));
        }

        if let Some(u) = &changes.user {
            steps.push(format!("USER {u}"));
            cfg.insert("User".into(), json!(u));
        }

        if !changes.labels.is_empty() {
            let labels = object(cfg, "Labels", "config.Labels")?;
            for (k, v) in &changes.labels {
                if k.is_empty() {
                    return Err(ConfigError::LabelName { name: k.clone() });
                }
                steps.push(format!("LABEL {k}={v}"));
                labels.insert(k.clone(), json!(v));
            }
        }

        let shell: Vec<String> = cfg
            .get("Shell")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
        if let Some(ep) = &changes.entrypoint {
            let v = command_json(ep, &shell, "the entrypoint")?;
            steps.push(format!("ENTRYPOINT {v}"));
            cfg.insert("Entrypoint".into(), v);
            if changes.cmd.is_none() {
                cfg.remove("Cmd");
            }
        }
        if let Some(c) = &changes.cmd {
            let v = command_json(c, &shell, "the command")?;
            steps.push(format!("CMD {v}"));
            cfg.insert("Cmd".into(), v);
        }
    }

    top.insert("created".into(), json!(changes.created));

    let base_layers = {
        let rootfs = object(top, "rootfs", "rootfs")?;
        rootfs.entry("type").or_insert_with(|| json!("layers"));
        let ids = array(rootfs, "diff_ids", "rootfs.diff_ids")?;
        let n = ids.len();
        ids.extend(added.iter().map(|(l, _)| json!(l.diff_id.as_str())));
        n
    };

    let history = array(top, "history", "history")?;
    let non_empty = history
        .iter()
        .filter(|h| {
            !h.get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .count();
    // Readers pair non-empty history entries with layers; a base without
    // (complete) history would shift ours onto its layers.
    for _ in non_empty..base_layers {
        history.push(json!({
            "created": changes.created,
            "created_by": "base layer (no history recorded)",
            "comment": "pyko",
        }));
    }
    if !steps.is_empty() {
        history.push(json!({
            "created": changes.created,
            "created_by": steps.join("; "),
            "comment": "pyko",
            "empty_layer": true,
        }));
    }
    for (_, created_by) in added {
        history.push(json!({
            "created": changes.created,
            "created_by": created_by,
            "comment": "pyko",
        }));
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::digest::Digest;

    fn base() -> Value {
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
    fn entrypoint_resets_inherited_cmd_and_uses_base_shell() {
        let mut b = base();
        b["config"]["Shell"] = json!(["/bin/bash", "-lc"]);
        let changes = ConfigChanges {
            entrypoint: Some(Command::Shell("exec gunicorn app:app".into())),
            ..Default::default()
        };
        let c = apply(&b, &changes, &[]).unwrap();
        assert_eq!(
            c["config"]["Entrypoint"],
            json!(["/bin/bash", "-lc", "exec gunicorn app:app"])
        );
        assert!(c["config"].get("Cmd").is_none());
        let changes = ConfigChanges {
            entrypoint: Some(Command::Exec(vec!["python".into()])),
            cmd: Some(Command::Exec(vec!["app.py".into()])),
            ..Default::default()
        };
        let c = apply(&b, &changes, &[]).unwrap();
        assert_eq!(c["config"]["Cmd"], json!(["app.py"]));
        assert_eq!(c["created"], EPOCH);
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
            json!([format!("PATH=/venv/bin:{DEFAULT_PATH}")])
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
        for p in ["0", "65536", "http", "80/tcpx", "80-90", "", "/tcp"] {
            let err = normalize_port(p).unwrap_err();
            assert!(err.to_string().contains(&format!("{p:?}")), "{err}");
        }
        assert_eq!(normalize_port("0443/TCP").unwrap(), "443/tcp");
        let env = ConfigChanges {
            env: vec![("A=B".into(), "c".into())],
            ..Default::default()
        };
        let err = apply(&base(), &env, &[]).unwrap_err();
        assert!(err.to_string().contains("\"A=B\""), "{err}");
        let cmd = ConfigChanges {
            cmd: Some(Command::Exec(vec![])),
            ..Default::default()
        };
        assert!(apply(&base(), &cmd, &[]).is_err());
        assert!(apply(&json!([]), &ConfigChanges::default(), &[]).is_err());
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), EPOCH);
        assert_eq!(rfc3339(315_532_800), "1980-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
