//! PEP 517 without pip: an isolated venv of the build machine's
//! interpreter, its `[build-system] requires` resolved by pyko's own
//! resolver for that interpreter against the same index, installed by
//! pyko's own wheel installer, then `shim.py` calls the backend's
//! `get_requires_for_build_wheel` (whose answer is installed too) and
//! `build_wheel`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::host::Host;
use super::run::run;
use super::unpack::BuildSystem;
use super::Context;
use crate::layer::{Entry, Node};
use crate::sources::resolve::{self, IndexSource, Request, UserRequirement};
use crate::sources::{pins_of, LockError};
use crate::wheel::{self, InstallOptions, Tags};

const SHIM: &str = include_str!("shim.py");

/// Builds the wheel of `tree` into `out`; returns its path. `work` is a
/// scratch directory for the venv, logs and the shim's answers.
pub fn build(
    ctx: &Context,
    python: &Path,
    host: &Host,
    tree: &Path,
    system: &BuildSystem,
    work: &Path,
    out: &Path,
) -> Result<PathBuf, String> {
    let venv = work.join("venv");
    let mut cmd = Command::new(python);
    cmd.args(["-I", "-m", "venv", "--without-pip"]).arg(&venv);
    run(cmd, "creating the build venv", &work.join("venv.log"))?;
    let target = host.venv_target(&venv)?;
    let tags = Tags::for_target(&target).map_err(|e| e.to_string())?;
    install_requires(ctx, &system.requires, &tags, &target, work)?;

    let shim = work.join("pyko_pep517_shim.py");
    std::fs::write(&shim, SHIM).map_err(|e| format!("{}: {e}", shim.display()))?;
    let backend_path = serde_json::to_string(&system.backend_path).expect("strings serialize");
    let hook = |name: &str, extra: Option<&Path>| -> Result<serde_json::Value, String> {
        let answer = work.join(format!("{name}.json"));
        let mut cmd = Command::new(venv.join("bin").join("python"));
        cmd.arg(&shim)
            .args([name, &system.backend, &backend_path])
            .arg(&answer)
            .args(extra)
            .current_dir(tree)
            .env("SOURCE_DATE_EPOCH", &ctx.epoch)
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .env("PYTHONNOUSERSITE", "1");
        let what = format!("the build backend {} ({name})", system.backend);
        run(cmd, &what, &work.join(format!("{name}.log")))?;
        let text = std::fs::read(&answer).map_err(|e| format!("{what}: no answer: {e}"))?;
        serde_json::from_slice(&text).map_err(|e| format!("{what}: bad answer: {e}"))
    };
    let extra: Vec<String> = serde_json::from_value(hook("requires", None)?)
        .map_err(|e| format!("get_requires_for_build_wheel returned no list of strings: {e}"))?;
    if !extra.is_empty() {
        // One resolution of everything, installed over the first: the
        // files of a package both include are the same bytes.
        let mut all = system.requires.clone();
        all.extend(extra);
        install_requires(ctx, &all, &tags, &target, work)?;
    }
    let name = hook("wheel", Some(out))?;
    let name = name
        .as_str()
        .ok_or("build_wheel returned no file name")?
        .to_string();
    let wheel = out.join(&name);
    if name.contains('/') || !wheel.is_file() {
        return Err(format!(
            "build_wheel named {name:?}, which it did not write"
        ));
    }
    Ok(wheel)
}

/// Resolves `requires` for the host (wheels only: a build requirement is
/// never itself built) and installs them into the venv `target` describes.
fn install_requires(
    ctx: &Context,
    requires: &[String],
    tags: &Tags,
    target: &crate::target::PythonTarget,
    work: &Path,
) -> Result<(), String> {
    if requires.is_empty() {
        return Ok(());
    }
    let requirements = requires
        .iter()
        .map(|r| {
            crate::sources::pep508::parse_requirement(r)
                .map(|requirement| UserRequirement {
                    requirement,
                    origin: "[build-system] requires".into(),
                })
                .map_err(|e| format!("build requirement {r:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let request = Request {
        requirements,
        ..Default::default()
    };
    let source = IndexSource::new(ctx.index, ctx.metadata);
    let resolved = resolve::resolve(&request, tags, &source)
        .map_err(|e| format!("its build requirements: {}", crate::error::chain(&e)))?;
    // The installer reads tags from file names: each blob gets its name
    // back through a link.
    let named = work.join("requires");
    std::fs::create_dir_all(&named).map_err(|e| format!("{}: {e}", named.display()))?;
    let mut wheels = Vec::new();
    for pin in pins_of(&resolved, tags, |_| Vec::new()) {
        let (filename, blob) =
            crate::sources::fetch::fetch_pinned(&pin, tags, ctx.http, ctx.cache, ctx.ui)
                .map_err(|e: LockError| crate::error::chain(&e))?;
        let path = named.join(filename);
        if !path.exists() && std::fs::hard_link(&blob, &path).is_err() {
            std::fs::copy(&blob, &path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        wheels.push(path);
    }
    let installed =
        wheel::install(&wheels, target, &InstallOptions { requested: None }).map_err(|e| {
            format!(
                "installing its build requirements: {}",
                crate::error::chain(&e)
            )
        })?;
    for entry in installed.entries {
        write_entry(entry)?;
    }
    Ok(())
}

/// Writes one installer entry at its absolute path (the venv's scheme).
fn write_entry(entry: Entry) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let path = Path::new("/").join(&entry.path);
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    match entry.node {
        Node::Dir => std::fs::create_dir_all(&path).map_err(err),
        Node::File { contents, .. } => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(err)?;
            }
            let _ = std::fs::remove_file(&path);
            let mut f = std::fs::File::create(&path).map_err(err)?;
            contents.write_to(&mut f).map_err(err)?;
            f.set_permissions(std::fs::Permissions::from_mode(entry.mode))
                .map_err(err)
        }
        Node::Symlink { target } => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(err)?;
            }
            let _ = std::fs::remove_file(&path);
            std::os::unix::fs::symlink(target, &path).map_err(err)
        }
    }
}
