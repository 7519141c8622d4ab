//! A distribution's core metadata (the wheel's `METADATA`), fetched as
//! cheaply as the index allows: the PEP 658 `.metadata` file when offered,
//! else HTTP range requests for the zip's central directory and the one
//! member, else the whole wheel into the blob cache (where the build later
//! finds it). Cached by the file's sha256, so a warm resolution makes no
//! request for metadata at all.

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::Requirement;

use crate::cache::Cache;
use crate::http::HttpClient;
use crate::sources::index::IndexFile;

/// What the resolver needs from `METADATA`.
#[derive(Clone, Debug)]
pub struct CoreMetadata {
    /// Normalized (PEP 503) name.
    pub name: String,
    pub version: Version,
    pub requires_python: Option<VersionSpecifiers>,
    /// `Requires-Dist`, markers unevaluated (extras are in the markers).
    pub requires_dist: Vec<Requirement>,
    /// `Provides-Extra`, normalized.
    pub provides_extra: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The file or URL and what went wrong, said in one sentence.
    #[error("metadata of {file}: {message}")]
    Fetch { file: String, message: String },
    #[error("metadata of {file}: {message}")]
    Parse { file: String, message: String },
}

/// Shares the build's HTTP stack and blob cache.
#[derive(Clone)]
pub struct MetadataClient {
    http: HttpClient,
    cache: Cache,
}

impl MetadataClient {
    pub fn new(http: &HttpClient, cache: &Cache) -> MetadataClient {
        MetadataClient {
            http: http.clone(),
            cache: cache.clone(),
        }
    }

    /// The metadata of `file` (a wheel the index listed).
    pub fn get(&self, file: &IndexFile) -> Result<CoreMetadata, MetadataError> {
        let _ = (&self.http, &self.cache);
        Err(MetadataError::Fetch {
            file: file.filename.clone(),
            message: "TODO(resolver): not written yet".into(),
        })
    }
}

/// Parses `METADATA` text (RFC 822 headers); `origin` names it in errors.
pub fn parse(bytes: &[u8], origin: &str) -> Result<CoreMetadata, MetadataError> {
    let _ = bytes;
    Err(MetadataError::Parse {
        file: origin.to_string(),
        message: "TODO(resolver): not written yet".into(),
    })
}
