//! uv's lock file (`uv.lock`), read as `uv sync --no-dev` (and `uv export
//! --no-dev`) reads it: the lock is a universal resolution of a whole
//! workspace, so the set for the target is a walk of its dependency graph
//! from the project(s) being installed, with the target's markers. The
//! workspace members are the app itself (`COPY . .`), so they are never
//! installed from an index; their dependencies are. Dependency groups are
//! left out unless asked for, as an image is not a dev environment.

mod graph;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pep508_rs::MarkerEnvironment;
use serde::Deserialize;

use super::pylock::Lock;
use super::{LockError, Selection};

/// The lock format version pyko reads; uv refuses any other, and so do we.
const VERSION: u32 = 1;
/// The newest revision pyko knows (uv 0.13.9 writes 5). Revisions only add
/// fields a reader may ignore (uv reads newer ones too), so a newer one is
/// a warning, not a refusal.
const REVISION: u32 = 5;

#[derive(Deserialize)]
struct File {
    version: Option<u32>,
    revision: Option<u32>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    manifest: Manifest,
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize, Default)]
struct Manifest {
    #[serde(default)]
    members: Vec<String>,
    /// A non-project workspace root's own groups, as requirements.
    #[serde(default, rename = "dependency-groups")]
    dependency_groups: BTreeMap<String, Vec<ManifestRequirement>>,
}

#[derive(Deserialize)]
struct ManifestRequirement {
    name: String,
    marker: Option<String>,
    #[serde(default)]
    extras: Vec<String>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<Dep>,
    #[serde(default, rename = "optional-dependencies")]
    optional: BTreeMap<String, Vec<Dep>>,
    #[serde(default, rename = "dev-dependencies")]
    dev: BTreeMap<String, Vec<Dep>>,
    #[serde(default)]
    wheels: Vec<Wheel>,
    sdist: Option<toml::Value>,
}

#[derive(Deserialize, Clone)]
struct Dep {
    name: String,
    version: Option<String>,
    source: Option<BTreeMap<String, toml::Value>>,
    marker: Option<String>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Deserialize)]
struct Wheel {
    url: Option<String>,
    path: Option<String>,
    filename: Option<String>,
    hash: Option<String>,
}

/// The lock as `uv sync --no-dev` installs it, with no extras or groups and
/// no wheels of the user's.
pub fn parse(file: &Path, text: &str, env: &MarkerEnvironment) -> Result<Lock, LockError> {
    read(file, text, env, &Selection::default(), &[])
}

/// The pins `selection` (uv's `--group`, `--all-groups`, `--extra`,
/// `--package`) picks for the target of `env`. `local` are the wheels of
/// `--wheels DIR`: one of them may stand for a package the lock has only as
/// a source tree (a directory or git checkout), which pyko never builds.
pub fn read(
    file: &Path,
    text: &str,
    env: &MarkerEnvironment,
    selection: &Selection,
    local: &[PathBuf],
) -> Result<Lock, LockError> {
    let err = |message: String| LockError::LockFile {
        file: file.to_path_buf(),
        message,
    };
    let lock: File =
        toml::from_str(text).map_err(|e| err(format!("not a uv lock file: {}", e.message())))?;
    let mut warnings = Vec::new();
    match (lock.version, lock.revision.unwrap_or(0)) {
        (Some(VERSION), r) if r <= REVISION => {}
        (Some(VERSION), r) => warnings.push(format!(
            "{}: revision {r} is newer than pyko knows ({REVISION}); read as revision {REVISION}, as uv reads newer revisions",
            file.display()
        )),
        (v, _) => {
            return Err(err(format!(
                "uv.lock version {} is not supported (pyko reads version {VERSION}, as uv 0.5 to 0.13 write it); re-lock with such a uv",
                v.map_or("(missing)".to_string(), |v| v.to_string())
            )))
        }
    }
    if let Some(spec) = &lock.requires_python {
        super::pyproject::check_python(file, spec, env)?;
    }
    let walk = graph::walk(&lock, selection, env).map_err(err)?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut pins = Vec::new();
    for idx in walk.install {
        let p = &lock.package[idx];
        if let Some(why) = crate::wheel::invalid_project_name(&p.name) {
            return Err(err(format!("package name {why}")));
        }
        pins.push(source::pin(p, file, dir, local).map_err(err)?);
    }
    Ok(Lock {
        pins,
        requested: Some(walk.requested.into_iter().collect()),
        warnings,
    })
}

#[cfg(test)]
mod tests;
