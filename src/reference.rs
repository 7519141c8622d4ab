//! Image references (`python:3.12-slim`, `host:5000/a/b:tag@sha256:…`),
//! normalised the way Docker does. (Parser being written.)

use crate::digest::Digest;

/// A normalised reference: `registry` is the canonical name (`docker.io` for
/// Docker Hub; the API host is chosen by the registry client), `repository`
/// has `library/` added for Docker Hub's official images.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}
