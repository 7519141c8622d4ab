//! The fast path: `uv build --wheel` when uv is on PATH. uv does the same
//! isolated PEP 517 build against the same indexes; pyko keeps the
//! caching, the tag check and the installing.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::run::run;
use super::Context;

pub fn build(
    ctx: &Context,
    uv: &Path,
    sdist: &Path,
    work: &Path,
    out: &Path,
) -> Result<PathBuf, String> {
    let mut cmd = Command::new(uv);
    cmd.args(["build", "--wheel", "--no-config", "--quiet", "--out-dir"])
        .arg(out);
    for (i, url) in ctx.index_urls.iter().enumerate() {
        cmd.arg(if i == 0 { "--default-index" } else { "--index" })
            .arg(url);
    }
    cmd.arg(sdist).env("SOURCE_DATE_EPOCH", &ctx.epoch);
    run(cmd, "uv build", &work.join("uv.log"))?;
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match (wheels.pop(), wheels.is_empty()) {
        (Some(w), true) => Ok(w),
        _ => Err("uv build did not leave exactly one wheel".into()),
    }
}
