//! Where the wheels come from when the user brings a requirements file or
//! a lock file instead of a wheel directory: parse it (`requirements`,
//! `pylock`, `uvlock`), resolve top-level requirements for the *target*
//! (`resolve`, wired in by `resolving`), pick the best wheel per package,
//! download it from the index or the lock's URL into the blob cache
//! (verified by sha256), and hand the installer a directory of wheels with
//! their real file names. `lockfile` writes what a resolution chose.

mod fetch;
pub mod index;
pub mod lockfile;
// `CoreMetadata::provides_extra` and `Resolved::files` are read by nothing
// yet (extras are in the markers; a lock lists the chosen wheels).
#[allow(dead_code)]
pub mod metadata;
mod pep508;
pub mod pylock;
pub mod pyproject;
pub mod requirements;
#[allow(dead_code)]
pub mod resolve;
mod resolving;
pub mod sdist;
pub mod uvlock;

use std::path::PathBuf;

use pep440_rs::Version;
use pep508_rs::MarkerEnvironment;

use crate::cache::CacheError;
use crate::sources::index::IndexError;
use crate::wheel::{Tags, WheelError};

pub use fetch::pin_wheels;
pub use resolving::{index_source, pins_of, resolve_for};

/// What the user named as the source of the wheels.
#[derive(Clone, Debug)]
pub enum WheelInput {
    /// `--wheels DIR`: already resolved for the target.
    Dir(PathBuf),
    /// `--requirements FILE`, with `--wheels DIR` as a local source looked
    /// at before the index, and `--index-url`s (CLI, then env) that win over
    /// the file's own.
    Requirements {
        file: PathBuf,
        /// Requirements text standing for `file`'s content (a Dockerfile's
        /// `RUN pip install` lines); `file` then only names it in messages.
        inline: Option<String>,
        local: Option<PathBuf>,
        index_url: Option<String>,
        extra_index_urls: Vec<String>,
        /// `-c FILE`s from the command line (the file's own `-c` lines add).
        constraints: Vec<PathBuf>,
        /// `--pre`, `--exclude-newer` (a `--pre` line in the file adds).
        options: resolve::ResolveOptions,
        /// `--require-hashes` (a line in the file adds).
        require_hashes: bool,
        /// `--extra`/`--group`, read when `file` is a pyproject.toml.
        selection: Selection,
        /// `--no-build`, `--build-python`.
        build: sdist::BuildPolicy,
    },
    /// `--lock pylock.toml|uv.lock`.
    Lock {
        file: PathBuf,
        local: Option<PathBuf>,
        /// `--require-hashes`: a locked wheel without a sha256 is refused,
        /// not installed with a warning.
        require_hashes: bool,
        /// `--group`/`--extra`/`--package`, read when `file` is a uv.lock.
        selection: Selection,
        /// `--index-url` (or `UV_INDEX_URL`): where an sdist's build
        /// requirements come from when the lock does not name an index.
        index_url: Option<String>,
        /// `--no-build`, `--build-python`.
        build: sdist::BuildPolicy,
    },
}

/// Which parts of a project to install, chosen with uv's flags of the same
/// names. The default is `uv sync --no-dev`'s: the project's dependencies,
/// no extras, no dependency groups (an image is not a dev environment).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--group NAME`: a `[dependency-groups]` group (repeatable).
    pub groups: Vec<String>,
    /// `--all-groups`: every group.
    pub all_groups: bool,
    /// `--extra NAME`: an `[project.optional-dependencies]` key.
    pub extras: Vec<String>,
    /// `--package NAME`: one member of a uv workspace, as uv's flag.
    pub package: Option<String>,
}

/// One pinned distribution, wherever it came from.
#[derive(Clone, Debug)]
pub struct Pin {
    /// Normalized (PEP 503) name.
    pub name: String,
    pub version: Version,
    /// Accepted sha256 digests (hex); empty means "trust the index's".
    pub hashes: Vec<String>,
    /// `file:line` or `file [name]`, for messages.
    pub origin: String,
    /// Candidates a lock file lists; empty means "ask the index".
    pub wheels: Vec<LockedWheel>,
    /// The lock lists only an sdist (or, with `sdist` None, a source
    /// tree the user's wheel stands for): a wheel the user brings (`--wheels
    /// DIR`) with this name and version stands for it, else the sdist is
    /// built; the index is not asked (the lock chose that file, not
    /// whatever the index offers).
    pub sdist_only: bool,
    /// The sdist the lock lists, built when no wheel fits.
    pub sdist: Option<sdist::LockedSdist>,
}

impl Pin {
    /// What the lock holds for a `sdist_only` pin, for messages: an sdist
    /// file, or (with no sdist) a directory or git source tree.
    pub fn lock_lists(&self) -> &'static str {
        match self.sdist {
            Some(_) => "the lock lists only an sdist",
            None => "the lock lists a source tree (directory or git), not a wheel",
        }
    }
}

/// A wheel a lock file lists, by URL or local path.
#[derive(Clone, Debug)]
pub struct LockedWheel {
    pub filename: String,
    pub location: Location,
    pub sha256: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Url(String),
    Path(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {text:?}: {message}")]
    Requirements {
        file: PathBuf,
        line: usize,
        text: String,
        message: String,
    },
    #[error("{file}: {message}")]
    LockFile { file: PathBuf, message: String },
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Wheel(#[from] WheelError),
    #[error("{name}=={version} ({origin}): {message}")]
    Package {
        name: String,
        version: String,
        origin: String,
        message: String,
    },
    #[error(transparent)]
    HashMismatch(Box<HashMismatch>),
    #[error("downloading {url}: {message}")]
    Download { url: String, message: String },
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
}

/// Checks the local part of the input before any network access, so a typo
/// fails in milliseconds.
pub fn check_input(input: &WheelInput) -> Result<(), LockError> {
    let (file, local) = match input {
        WheelInput::Dir(dir) => {
            crate::wheel::find_wheels(dir)?;
            return Ok(());
        }
        WheelInput::Requirements {
            inline: Some(_),
            local,
            ..
        } => {
            if let Some(dir) = local {
                crate::wheel::find_wheels(dir)?;
            }
            return Ok(());
        }
        WheelInput::Requirements {
            file,
            local,
            constraints,
            ..
        } => {
            for c in constraints {
                std::fs::metadata(c).map_err(|source| LockError::Read {
                    path: c.clone(),
                    source,
                })?;
            }
            (file, local)
        }
        WheelInput::Lock { file, local, .. } => (file, local),
    };
    if let Err(source) = std::fs::metadata(file) {
        return Err(LockError::Read {
            path: file.clone(),
            source,
        });
    }
    if let Some(dir) = local {
        crate::wheel::find_wheels(dir)?;
    }
    Ok(())
}

/// A downloaded or local file whose sha256 the pin (or the index) does not
/// allow: the file changed, or the pin is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{name}=={version} ({origin}): {url}: hash mismatch: got sha256:{actual}, expected {allowed}; the file changed or the pin is wrong")]
pub struct HashMismatch {
    pub name: String,
    pub version: String,
    pub origin: String,
    pub url: String,
    pub actual: String,
    pub allowed: String,
}

/// The marker environment of the target interpreter (the installer's own,
/// so a lock and the completeness check never disagree about a marker).
pub fn marker_environment(tags: &Tags) -> MarkerEnvironment {
    crate::wheel::marker_environment(tags)
}

#[cfg(test)]
mod tests;
