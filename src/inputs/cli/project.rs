//! The flags that choose what of a project to install, named as uv names
//! them so a `uv sync` user's habits carry over, and where the dependencies
//! come from when the user names no source: the app directory's uv.lock
//! (preferred, as `uv sync` uses it) or its pyproject.toml.

use std::path::{Path, PathBuf};

use clap::Args;

use super::FlagError;
use crate::sources::Selection;

#[derive(Args, Debug, Default)]
pub struct ProjectFlags {
    /// Install this dependency group too ([dependency-groups] of
    /// pyproject.toml, or of the project in uv.lock), as uv's --group
    /// (repeatable). Without it no group is installed, as `uv sync --no-dev`.
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// Install every dependency group, as uv's --all-groups.
    #[arg(long, conflicts_with = "no_dev")]
    pub all_groups: bool,
    /// No dependency groups: the default for images, accepted so that uv's
    /// `--no-dev` works unchanged.
    #[arg(long, conflicts_with = "groups")]
    pub no_dev: bool,
    /// Install the project's optional dependencies NAME
    /// ([project.optional-dependencies]), as uv's --extra (repeatable).
    #[arg(long = "extra", value_name = "NAME")]
    pub extras: Vec<String>,
    /// Install only this member of a uv workspace (with --lock uv.lock):
    /// its dependencies, as uv's --package.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
}

impl ProjectFlags {
    pub fn selection(&self) -> Selection {
        Selection {
            groups: self.groups.clone(),
            all_groups: self.all_groups,
            extras: self.extras.clone(),
            package: self.package.clone(),
        }
    }

    /// The selection flags mean something only for a project's files; with
    /// another source they would be silently ignored, so they are refused.
    pub fn check_applies(&self, source: Option<&Path>) -> Result<(), FlagError> {
        let given = if !self.groups.is_empty() {
            "--group"
        } else if self.all_groups {
            "--all-groups"
        } else if !self.extras.is_empty() {
            "--extra"
        } else if self.package.is_some() {
            "--package"
        } else {
            return Ok(());
        };
        let project_file = source
            .and_then(|f| f.file_name())
            .is_some_and(|n| n == "uv.lock" || n == "pyproject.toml");
        if project_file {
            return Ok(());
        }
        Err(FlagError {
            flag: given,
            message: format!(
                "chooses from a project's uv.lock or pyproject.toml, but the dependencies come from {}; give --lock uv.lock or -r pyproject.toml",
                source.map_or("--wheels DIR".to_string(), |f| f.display().to_string())
            ),
        })
    }
}

/// The project file found in `dir` when no source is named: uv.lock first
/// (a lock is what `uv sync` installs), else pyproject.toml; with a note
/// for stderr saying which was taken and why.
pub enum Found {
    Lock(PathBuf),
    PyProject(PathBuf),
}

pub fn find_project(dir: &Path) -> Option<(Found, String)> {
    let lock = dir.join("uv.lock");
    let pyproject = dir.join("pyproject.toml");
    if lock.is_file() {
        let why = if pyproject.is_file() {
            " (preferred over resolving pyproject.toml, as `uv sync` uses the lock; pass -r pyproject.toml to resolve)"
        } else {
            ""
        };
        let note = format!(
            "no --wheels, -r or --lock given: installing {}{why}",
            lock.display()
        );
        return Some((Found::Lock(lock), note));
    }
    if pyproject.is_file() {
        let note = format!(
            "no --wheels, -r or --lock given: resolving the dependencies of {}",
            pyproject.display()
        );
        return Some((Found::PyProject(pyproject), note));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_flags_need_a_project_file() {
        let flags = ProjectFlags {
            extras: vec!["web".into()],
            ..Default::default()
        };
        flags.check_applies(Some(Path::new("a/uv.lock"))).unwrap();
        flags
            .check_applies(Some(Path::new("a/pyproject.toml")))
            .unwrap();
        let e = flags
            .check_applies(Some(Path::new("requirements.txt")))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--extra chooses from a project's uv.lock or pyproject.toml, but the dependencies come from requirements.txt; give --lock uv.lock or -r pyproject.toml");
        let e = flags.check_applies(None).unwrap_err().to_string();
        assert!(e.contains("come from --wheels DIR"), "{e}");
        ProjectFlags::default().check_applies(None).unwrap();
    }

    #[test]
    fn a_lock_is_preferred_to_resolving_the_pyproject() {
        let dir = tempfile::tempdir().unwrap();
        assert!(find_project(dir.path()).is_none());
        std::fs::write(dir.path().join("pyproject.toml"), "[project]\n").unwrap();
        let (found, note) = find_project(dir.path()).unwrap();
        assert!(matches!(found, Found::PyProject(_)));
        assert!(note.contains("resolving the dependencies of"), "{note}");
        std::fs::write(dir.path().join("uv.lock"), "version = 1\n").unwrap();
        let (found, note) = find_project(dir.path()).unwrap();
        assert!(matches!(found, Found::Lock(p) if p.ends_with("uv.lock")));
        assert!(
            note.contains("preferred over resolving pyproject.toml"),
            "{note}"
        );
    }
}
