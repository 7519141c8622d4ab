//! Talking to OCI/Docker registries over the distribution API: pulling
//! manifests and blobs into the cache, and checking, mounting and uploading
//! blobs and manifests for a push. Blocking I/O on plain threads; blobs
//! always stream between the network and files, never through memory.

mod auth;
mod client;
mod credentials;
mod error;
pub mod login;
mod pull;
mod scheme;
mod stream;
mod upload;

pub use client::{Client, ClientOptions};
pub use error::RegistryError;
pub use pull::Manifest;
pub use stream::{Growing, Grown, Streamed};

/// Manifests larger than this are refused rather than read into memory; real
/// ones are a few KiB, and distribution itself caps them at 4 MiB.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
