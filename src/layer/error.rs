//! The one error type of the layer stage: building entries (app directory,
//! COPY, .dockerignore) and writing them. Each message names the path at
//! fault; a cause is in the text or returned by `source()`, never both.

use std::io;
use std::path::PathBuf;

use crate::cache::CacheError;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer entry {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error(
        "layer entry {path:?} is listed twice; two inputs write the same path — remove one of them"
    )]
    Duplicate { path: String },
    #[error("layer entry {path:?} needs {parent:?} to be a directory, but another input makes it a file or symlink")]
    ParentNotDir { parent: String, path: String },
    #[error("layer entry {path:?}: declared {declared} bytes but only {actual} were written; was the file truncated while building?")]
    TooShort {
        path: String,
        declared: u64,
        actual: u64,
    },
    #[error("layer entry {path:?}: more than the declared {declared} bytes were written; was the file modified while building?")]
    TooLong { path: String, declared: u64 },
    #[error("layer entry {path:?}")]
    Contents { path: String, source: io::Error },
    /// The cause sits mid-sentence, so it is a plain field, not a source.
    #[error("writing layer blob {path}: {error}; check free space and permissions of the cache directory")]
    Write { path: PathBuf, error: io::Error },
    #[error("layer compression pipeline stopped")]
    Pipeline { source: io::Error },
    #[error("{0}: level out of range; gzip takes 0–12, zstd 1–19")]
    Level(crate::oci::Compression),
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The cause sits mid-sentence, so it is a plain field, not a source.
    #[error("{path}: cannot read it ({error}); fix its permissions or list it in .dockerignore")]
    Unreadable { path: PathBuf, error: io::Error },
    #[error("{path} is a {kind}, which cannot be copied into an image; remove it or list it in .dockerignore")]
    SpecialFile { path: PathBuf, kind: &'static str },
    #[error("{path}:{line}: bad .dockerignore pattern {pattern:?}: {reason}")]
    Dockerignore {
        path: PathBuf,
        line: usize,
        pattern: String,
        reason: String,
    },
    #[error("{path} is not valid UTF-8; rename it (image paths must be UTF-8 here)")]
    NonUtf8Path { path: PathBuf },
    #[error("{origin}: {message}")]
    Copy { origin: String, message: String },
}
