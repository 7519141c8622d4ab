//! Reading from a registry: manifests and configs into memory (they are
//! small and capped), layers straight into the blob cache (never memory),
//! each checked against the digest it was asked for.

use crate::ui::progress::{self, Kind};
use std::io::Read;
use std::path::PathBuf;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;

use super::client::{scope, Client, Op};
use super::error::{chain, RegistryError};
use super::MAX_MANIFEST_BYTES;
use crate::cache::{Cache, CacheError};
use crate::oci::digest::Digest;
use crate::oci::media_types;
use crate::oci::reference::Reference;
use crate::oci::{BlobSource, ImageLayer};

/// A manifest or index exactly as the registry served it.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

impl Manifest {
    /// An OCI index or a Docker manifest list: pick a child by platform.
    pub fn is_index(&self) -> bool {
        self.media_type == media_types::OCI_INDEX || self.media_type == media_types::DOCKER_LIST
    }
}

const ACCEPTED: [&str; 4] = [
    media_types::OCI_MANIFEST,
    media_types::OCI_INDEX,
    media_types::DOCKER_MANIFEST,
    media_types::DOCKER_LIST,
];

impl Client {
    /// Fetches the manifest or index `reference` names. Pulling by digest
    /// checks the bytes against it; pulling by tag checks them against the
    /// `Docker-Content-Digest` the registry claims, when it sends one.
    pub fn get_manifest(&self, reference: &Reference) -> Result<Manifest, RegistryError> {
        refetch(|| self.get_manifest_once(reference))
    }

    fn get_manifest_once(&self, reference: &Reference) -> Result<Manifest, Attempt> {
        let op = Op {
            registry: &reference.registry,
            repository: &reference.repository,
            action: format!("pulling manifest {reference}"),
            scopes: vec![scope(&reference.repository, "pull")],
        };
        let url = format!(
            "{}{}/manifests/{}",
            self.base_url(&reference.registry),
            reference.repository,
            reference.pull_target()
        );
        let resp = self.send(&op, Method::GET, &url, &|rb| {
            Ok(rb.header(ACCEPT, ACCEPTED.join(", ")))
        })?;
        if !resp.status().is_success() {
            return Err(self.status_error(&op, resp).into());
        }
        let header_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
        let claimed = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        let bytes = read_capped(resp, MAX_MANIFEST_BYTES, &op, "manifest")?;
        let digest = Digest::of_bytes(&bytes);
        if let Some(expected) = reference.digest.clone().or(claimed) {
            if expected != digest {
                return Err(Attempt::Again(Box::new(RegistryError::DigestMismatch {
                    what: format!("manifest {reference}"),
                    registry: reference.registry.clone(),
                    repository: reference.repository.clone(),
                    expected,
                    actual: digest,
                })));
            }
        }
        let media_type = manifest_media_type(reference, header_type, &bytes)?;
        Ok(Manifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// A small blob (an image config), checked against `digest`.
    pub fn get_blob_bytes(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        refetch(|| self.get_blob_bytes_once(registry, repository, digest, limit))
    }

    fn get_blob_bytes_once(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        limit: u64,
    ) -> Result<Vec<u8>, Attempt> {
        let op = Op {
            registry,
            repository,
            action: format!("pulling blob {digest}"),
            scopes: vec![scope(repository, "pull")],
        };
        let url = format!("{}{repository}/blobs/{digest}", self.base_url(registry));
        let resp = self.send(&op, Method::GET, &url, &|rb| Ok(rb))?;
        if !resp.status().is_success() {
            return Err(self.status_error(&op, resp).into());
        }
        let bytes = read_capped(resp, limit, &op, &format!("blob {digest}"))?;
        let actual = Digest::of_bytes(&bytes);
        if &actual != digest {
            return Err(Attempt::Again(Box::new(RegistryError::DigestMismatch {
                what: format!("blob {digest}"),
                registry: registry.into(),
                repository: repository.into(),
                expected: digest.clone(),
                actual,
            })));
        }
        Ok(bytes)
    }

    /// A file holding the layer's compressed bytes: its own file for a local
    /// layer, else the cache entry, downloaded (streamed and verified) only
    /// if the cache does not already hold it.
    pub fn materialize(&self, layer: &ImageLayer, cache: &Cache) -> Result<PathBuf, RegistryError> {
        let (registry, repository) = match &layer.source {
            BlobSource::File(p) => return Ok(p.clone()),
            BlobSource::Registry {
                registry,
                repository,
            } => (registry, repository),
        };
        let digest = &layer.layer.digest;
        if let Some(p) = cache.get(digest, Some(layer.layer.size)) {
            crate::ui::record(|s| s.cache_hits.push(format!("layer {digest}")));
            return Ok(p);
        }
        let op = Op {
            registry,
            repository,
            action: format!("pulling layer {digest}"),
            scopes: vec![scope(repository, "pull")],
        };
        let url = format!("{}{repository}/blobs/{digest}", self.base_url(registry));
        let origin = format!("{registry}/{repository}");
        // A connection dropped mid-body surfaces as a read error from the
        // cache, and bytes mangled on the way as a digest mismatch (never
        // stored); the whole download is retried a couple of times for both.
        let mut tries = 0;
        loop {
            tries += 1;
            let resp = self.send(&op, Method::GET, &url, &|rb| Ok(rb))?;
            if !resp.status().is_success() {
                return Err(self.status_error(&op, resp));
            }
            let what = format!("layer {}", &digest.hex()[..12]);
            let resp = progress::bytes(Kind::Download, what, Some(layer.layer.size)).reader(resp);
            match cache.put_verified(digest, resp, &origin) {
                Err(CacheError::Read { .. } | CacheError::DigestMismatch { .. })
                    if tries < TRIES =>
                {
                    continue
                }
                r => return Ok(r?),
            }
        }
    }
}

/// Downloads of one thing, counting the first; the HTTP stack already
/// retries requests that got no answer, this is for answers that broke.
const TRIES: u32 = 3;

/// How one download attempt failed: for good, or in a way that a fresh
/// download may not (a body cut short, bytes not matching their digest).
enum Attempt {
    Fatal(Box<RegistryError>),
    Again(Box<RegistryError>),
}

impl From<RegistryError> for Attempt {
    fn from(e: RegistryError) -> Attempt {
        Attempt::Fatal(Box::new(e))
    }
}

fn refetch<T>(attempt: impl Fn() -> Result<T, Attempt>) -> Result<T, RegistryError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Ok(v) => return Ok(v),
            Err(Attempt::Again(_)) if tries < TRIES => continue,
            Err(Attempt::Again(e) | Attempt::Fatal(e)) => return Err(*e),
        }
    }
}

fn read_capped(
    resp: reqwest::blocking::Response,
    limit: u64,
    op: &Op,
    what: &str,
) -> Result<Vec<u8>, Attempt> {
    let mut bytes = Vec::new();
    resp.take(limit + 1).read_to_end(&mut bytes).map_err(|e| {
        Attempt::Again(Box::new(RegistryError::Protocol {
            registry: op.registry.to_string(),
            detail: format!("{}: reading the {what}: {}", op.action, chain(&e)),
        }))
    })?;
    if bytes.len() as u64 > limit {
        return Err(Attempt::Fatal(Box::new(RegistryError::TooLarge {
            what: what.to_string(),
            registry: op.registry.to_string(),
            repository: op.repository.to_string(),
            limit,
        })));
    }
    Ok(bytes)
}

/// The Content-Type if it is one we understand, else the manifest's own
/// `mediaType`; schema 1 and anything unknown is refused by name.
fn manifest_media_type(
    reference: &Reference,
    header: Option<String>,
    bytes: &[u8],
) -> Result<String, RegistryError> {
    let body: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let field = body
        .get("mediaType")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let unsupported = |media_type: String, why: &str| RegistryError::UnsupportedManifest {
        reference: reference.to_string(),
        media_type,
        why: why.to_string(),
    };
    for candidate in [header.clone(), field.clone()].into_iter().flatten() {
        if ACCEPTED.contains(&candidate.as_str()) {
            return Ok(candidate);
        }
    }
    let seen = header.or(field).unwrap_or_default();
    if seen == media_types::DOCKER_SCHEMA1
        || seen == media_types::DOCKER_SCHEMA1_SIGNED
        || body.get("schemaVersion").and_then(|v| v.as_u64()) == Some(1)
    {
        return Err(unsupported(
            seen,
            "Docker schema 1 manifests are obsolete and not supported; re-push the image with a current tool",
        ));
    }
    // An OCI manifest may omit `mediaType`; its shape tells what it is.
    if body.get("schemaVersion").and_then(|v| v.as_u64()) == Some(2) {
        if body.get("manifests").is_some() {
            return Ok(media_types::OCI_INDEX.to_string());
        }
        if body.get("config").is_some() && body.get("layers").is_some() {
            return Ok(media_types::OCI_MANIFEST.to_string());
        }
    }
    Err(unsupported(
        seen,
        "expected an OCI image manifest or index, or a Docker schema 2 manifest or manifest list",
    ))
}
