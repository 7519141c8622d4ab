//! Running pyko and skopeo from tests, with failures that show stderr.

use std::path::Path;
use std::process::{Command, Output};

/// The pyko binary under test.
pub fn pyko_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pyko"))
}

/// A pyko command that cannot see the developer's settings: its own cache,
/// no SOURCE_DATE_EPOCH (pinned digests assume the default mtime), no
/// index URL inherited from pip or uv configuration, and no config file
/// (the example app ships a pyko.toml; tests/it/config.rs removes this).
pub fn pyko_cmd(cache: &Path) -> Command {
    let mut cmd = Command::new(pyko_bin());
    cmd.env("PYKO_CACHE_DIR", cache)
        .env("PYKO_NO_CONFIG", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PIP_INDEX_URL")
        .env_remove("UV_INDEX_URL");
    cmd
}

/// Runs `pyko args…` as [`pyko_cmd`] sets it up.
pub fn pyko(args: &[&str], cache: &Path) -> Output {
    pyko_cmd(cache).args(args).output().expect("run pyko")
}

/// Runs skopeo, asserting success; returns stdout.
pub fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo (see .ci/run)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}
