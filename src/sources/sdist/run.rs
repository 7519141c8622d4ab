//! Runs one step of a build (a backend hook, `uv build`, `python -m venv`)
//! with a time limit, keeping its stderr in a file so a failure can quote
//! the last lines.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one build step may take: a big C extension compiles for
/// minutes; a hung backend must not hang the build forever.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Runs `cmd` (stdout and stderr both to `log`); `Err` carries a message
/// that ends with the log's last lines.
pub fn run(mut cmd: Command, what: &str, log: &Path) -> Result<(), String> {
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{what}: cannot run {program}: {e}"))?;
    let limit = TIMEOUT;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} took longer than {}s and was stopped{}",
                    limit.as_secs(),
                    tail(log)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{what}: waiting for {program}: {e}")),
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status}){}", tail(log)))
    }
}

/// The log's last lines, indented, for the end of an error message.
fn tail(log: &Path) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "; it printed nothing".into();
    }
    let last = &lines[lines.len().saturating_sub(15)..];
    format!("; its last output:\n    {}", last.join("\n    "))
}
