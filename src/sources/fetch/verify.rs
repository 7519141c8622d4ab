//! What vouches for a fetched wheel: the pin's `--hash`es, the lock's
//! sha256, or nothing (a warning, or a refusal with `--require-hashes`).

use std::path::{Path, PathBuf};

use crate::oci::digest::HashingReader;
use crate::sources::{HashMismatch, Location, LockError, Pin};

/// How far a lock's hashes are enforced, and whether sdists are built.
#[derive(Clone, Debug, Default)]
pub(super) struct Policy {
    /// The pins come from a lock file, whose listed files and hashes are
    /// what the local and downloaded wheels must match.
    pub lock: bool,
    /// `--require-hashes`: a wheel no hash vouches for is refused, not
    /// installed with a warning.
    pub strict: bool,
    pub build: crate::sources::sdist::BuildPolicy,
}

/// How a user's wheel that stands for a lock's sdist was obtained.
pub(super) const LOCAL_UNHASHED: &str = "local, unhashed";

/// One fetched pin.
pub(super) struct Got {
    pub filename: String,
    /// The verified bytes.
    pub path: PathBuf,
    /// How it was obtained, for the progress line.
    pub how: &'static str,
    /// Why it could not be verified (said on stderr).
    pub warning: Option<String>,
}

impl Got {
    pub(super) fn new(filename: String, path: PathBuf, how: &'static str) -> Got {
        Got {
            filename,
            path,
            how,
            warning: None,
        }
    }
}

/// A lock pin's wheel no hash vouches for: a warning, or with
/// `--require-hashes` a refusal.
pub(super) fn unverified(
    pin: &Pin,
    strict: bool,
    what: String,
) -> Result<Option<String>, LockError> {
    if strict {
        return Err(refusal(pin, what));
    }
    Ok(Some(format!(
        "{what}; it is installed unverified (--require-hashes refuses it)"
    )))
}

pub(super) fn refusal(pin: &Pin, what: String) -> LockError {
    LockError::Package {
        name: pin.name.clone(),
        version: pin.version.to_string(),
        origin: pin.origin.clone(),
        message: format!(
            "{what}, and --require-hashes refuses an unverified wheel: regenerate the lock with hashes (`pyko lock`, `uv lock`), or drop --require-hashes"
        ),
    }
}

pub(super) fn where_of(location: &Location) -> String {
    match location {
        Location::Url(u) => u.clone(),
        Location::Path(p) => p.display().to_string(),
    }
}

pub(super) fn sha256_file(path: &Path) -> Result<String, LockError> {
    let read = |source| LockError::Read {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(read)?;
    let mut r = HashingReader::new(f);
    std::io::copy(&mut r, &mut std::io::sink()).map_err(read)?;
    Ok(r.finish().1.hex().to_string())
}

pub(super) fn check_hash(pin: &Pin, actual: &str, url: &str) -> Result<(), LockError> {
    if pin.hashes.is_empty() || pin.hashes.iter().any(|h| h == actual) {
        return Ok(());
    }
    Err(mismatch(pin, url, actual, &pin.hashes.join(" or sha256:")))
}

pub(super) fn mismatch(pin: &Pin, url: &str, actual: &str, allowed: &str) -> LockError {
    LockError::HashMismatch(Box::new(HashMismatch {
        name: pin.name.clone(),
        version: pin.version.to_string(),
        origin: pin.origin.clone(),
        url: url.to_string(),
        actual: actual.to_string(),
        allowed: format!("sha256:{allowed}"),
    }))
}
