//! `Entrypoint` and `Cmd`, and the one container command type every input
//! (flags, Dockerfile) produces.

use serde_json::{json, Map, Value};

use super::ConfigError;

/// A container command in Docker's two forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `["streamlit", "run", "app.py"]`
    Exec(Vec<String>),
    /// `streamlit run app.py`: run by the image's shell (`Shell` from the
    /// base config, else `/bin/sh -c`), as Docker runs it.
    Shell(String),
}

/// Setting an entrypoint drops an inherited `Cmd` unless `cmd` is also set,
/// as Docker does: the base's Cmd was meant for the base's entrypoint.
pub(super) fn apply(
    cfg: &mut Map<String, Value>,
    entrypoint: Option<&Command>,
    cmd: Option<&Command>,
    steps: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let shell = shell(cfg);
    if let Some(ep) = entrypoint {
        let v = argv(ep, &shell, "the entrypoint")?;
        steps.push(format!("ENTRYPOINT {v}"));
        cfg.insert("Entrypoint".into(), v);
        if cmd.is_none() {
            cfg.remove("Cmd");
        }
    }
    if let Some(c) = cmd {
        let v = argv(c, &shell, "the command")?;
        steps.push(format!("CMD {v}"));
        cfg.insert("Cmd".into(), v);
    }
    Ok(())
}

/// The base's `Shell` (Docker's SHELL instruction), else `/bin/sh -c`.
fn shell(cfg: &Map<String, Value>) -> Vec<String> {
    cfg.get("Shell")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
}

fn argv(cmd: &Command, shell: &[String], what: &'static str) -> Result<Value, ConfigError> {
    let argv = match cmd {
        Command::Exec(v) if v.is_empty() => return Err(ConfigError::EmptyCommand { what }),
        Command::Exec(v) => v.clone(),
        Command::Shell(s) if s.trim().is_empty() => return Err(ConfigError::EmptyCommand { what }),
        Command::Shell(s) => shell.iter().cloned().chain([s.clone()]).collect(),
    };
    Ok(json!(argv))
}

#[cfg(test)]
mod tests {
    use super::super::tests::base;
    use super::super::{apply, ConfigChanges, EPOCH};
    use super::*;

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
    fn empty_commands_are_refused() {
        let cmd = ConfigChanges {
            cmd: Some(Command::Exec(vec![])),
            ..Default::default()
        };
        assert!(apply(&base(), &cmd, &[]).is_err());
    }
}
