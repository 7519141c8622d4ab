//! Running pyko and skopeo from tests, with failures that show stderr.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the pyko binary with its own cache and no SOURCE_DATE_EPOCH.
pub fn pyko(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pyko"))
        .args(args)
        .env("PYKO_CACHE_DIR", cache)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run pyko")
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
