//! One error type for everything that talks to a registry. Each message names
//! the registry, the repository and the manifest or blob involved, the HTTP
//! status and the registry's own error codes, and says what to try next:
//! these messages are what a user sees when a CI job fails.

use std::path::PathBuf;

use crate::cache::CacheError;
use crate::http::HttpError;
use crate::oci::digest::Digest;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry {registry} at {url}: {detail}. {hint}")]
    Unreachable {
        registry: String,
        url: String,
        detail: String,
        hint: String,
    },
    #[error("{action} in {registry}/{repository}: HTTP {status}{codes}. {hint}")]
    Status {
        action: String,
        registry: String,
        repository: String,
        status: u16,
        /// The distribution error codes and messages, already formatted.
        codes: String,
        hint: String,
    },
    #[error("{action} in {registry}/{repository}: not authorized (HTTP {status}{codes}). {hint}")]
    Unauthorized {
        action: String,
        registry: String,
        repository: String,
        status: u16,
        codes: String,
        hint: String,
    },
    #[error("credential helper docker-credential-{helper} (named in {config} for registry {registry}) {problem}")]
    CredentialHelper {
        helper: String,
        config: PathBuf,
        registry: String,
        problem: String,
    },
    #[error("registry credentials file {path}: {detail}")]
    AuthFile { path: PathBuf, detail: String },
    #[error("token server {realm} for registry {registry}: {detail}")]
    Token {
        realm: String,
        registry: String,
        detail: String,
    },
    #[error("{what} from {registry}/{repository}: expected digest {expected}, got {actual}; the registry served other content than was asked for (retry, or check for a proxy rewriting responses)")]
    DigestMismatch {
        what: String,
        registry: String,
        repository: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("manifest {reference} has media type {media_type:?}: {why}")]
    UnsupportedManifest {
        reference: String,
        media_type: String,
        why: String,
    },
    #[error("{what} from {registry}/{repository} is larger than {limit} bytes; refusing to read it into memory")]
    TooLarge {
        what: String,
        registry: String,
        repository: String,
        limit: u64,
    },
    #[error("registry {registry}: {detail}")]
    Protocol { registry: String, detail: String },
    #[error("reading {path} to upload blob {digest}")]
    ReadLocal {
        path: PathBuf,
        digest: Digest,
        source: std::io::Error,
    },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// Formats the `errors` array of a distribution error body as
/// ` (CODE: message; CODE: message)`, or nothing if the body has none.
pub(crate) fn error_codes(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let Ok(b) = serde_json::from_slice::<Body>(body) else {
        return String::new();
    };
    let parts: Vec<String> = b
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.code, e.message))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

pub(crate) use crate::error::chain;
