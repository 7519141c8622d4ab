//! Resolving the base image: from a reference to the manifest for one
//! platform and its config, as an `Image` whose layers still live in the
//! registry. Nothing here downloads a layer; outputs fetch (or mount) them
//! only if they need the bytes.

pub mod disk;

use crate::cache::Cache;
use crate::oci::media_types;
use crate::oci::{
    BlobSource, Descriptor, Digest, Image, ImageLayer, IndexJson, Layer, ManifestJson, Platform,
    Reference,
};
use crate::registry::{Client, Manifest, RegistryError};

/// Image configs are small; this only guards memory against a bogus one.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

#[derive(Clone, Debug)]
pub struct BaseImage {
    /// What the user asked for, as `--from` spells it (a registry reference
    /// or `oci-layout:DIR:tag`, …).
    pub name: String,
    /// The single-platform manifest actually used.
    pub manifest_digest: Digest,
    /// The index (manifest list) it was picked from, if any.
    pub index_digest: Option<Digest>,
    pub image: Image,
}

#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    /// Boxed: registry errors carry a lot of context and would make every
    /// `Result` here large.
    #[error(transparent)]
    Registry(Box<RegistryError>),
    #[error("base image {reference} has no manifest for platform {wanted}; it has: {available}. Pick one of those with --platform")]
    NoSuchPlatform {
        reference: String,
        wanted: String,
        available: String,
    },
    #[error("base image {reference}: {what} {digest} is malformed: {detail}")]
    Malformed {
        reference: String,
        what: &'static str,
        digest: Digest,
        detail: String,
    },
}

impl From<RegistryError> for BaseError {
    fn from(e: RegistryError) -> BaseError {
        BaseError::Registry(Box::new(e))
    }
}

/// `linux/amd64` unless the caller asks otherwise.
pub fn default_platform() -> Platform {
    Platform {
        os: "linux".into(),
        architecture: "amd64".into(),
        variant: None,
    }
}

pub fn resolve(
    client: &Client,
    reference: &Reference,
    platform: &Platform,
    cache: &Cache,
) -> Result<BaseImage, BaseError> {
    let malformed = |what, digest: &Digest, detail: String| BaseError::Malformed {
        reference: reference.to_string(),
        what,
        digest: digest.clone(),
        detail,
    };
    let top = client.get_manifest(reference)?;
    let (manifest, index_digest) = if top.is_index() {
        let index: IndexJson = serde_json::from_slice(&top.bytes)
            .map_err(|e| malformed("index", &top.digest, e.to_string()))?;
        let child = pick(&index.manifests, platform).ok_or_else(|| BaseError::NoSuchPlatform {
            reference: reference.to_string(),
            wanted: platform.to_string(),
            available: available(&index.manifests),
        })?;
        let child_ref = reference.with_digest(child.digest.clone());
        (client.get_manifest(&child_ref)?, Some(top.digest.clone()))
    } else {
        (top, None)
    };
    let image = image_from(client, reference, &manifest, cache)?;
    Ok(BaseImage {
        name: reference.to_string(),
        manifest_digest: manifest.digest,
        index_digest,
        image,
    })
}

/// Exact variant match first; an entry without a variant matches any
/// variant asked for (as `docker pull --platform` does for `arm64`/`v8`).
pub(crate) fn pick<'a>(entries: &'a [Descriptor], want: &Platform) -> Option<&'a Descriptor> {
    let same = |d: &&Descriptor, exact: bool| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == want.os
                && p.architecture == want.architecture
                && (p.variant == want.variant
                    || !exact && (p.variant.is_none() || want.variant.is_none()))
        })
    };
    entries
        .iter()
        .find(|d| same(d, true))
        .or_else(|| entries.iter().find(|d| same(d, false)))
}

/// The platforms an index offers, skipping attestation entries (`unknown/unknown`).
pub(crate) fn available(entries: &[Descriptor]) -> String {
    let mut v: Vec<String> = entries
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| p.os != "unknown")
        .map(Platform::to_string)
        .collect();
    v.dedup();
    if v.is_empty() {
        "no platforms listed".into()
    } else {
        v.join(", ")
    }
}

/// Builds the `Image`. Layer media types are kept as the manifest has them,
/// Docker's `…rootfs.diff.tar.gzip` included: registries and `docker load`
/// accept those inside an OCI manifest, and rewriting them would not change
/// the bytes anyway.
fn image_from(
    client: &Client,
    reference: &Reference,
    manifest: &Manifest,
    cache: &Cache,
) -> Result<Image, BaseError> {
    let malformed = |what, digest: &Digest, detail: String| BaseError::Malformed {
        reference: reference.to_string(),
        what,
        digest: digest.clone(),
        detail,
    };
    let m: ManifestJson = serde_json::from_slice(&manifest.bytes)
        .map_err(|e| malformed("manifest", &manifest.digest, e.to_string()))?;
    let cfg_digest = &m.config.digest;
    let config_bytes = match cache.get(cfg_digest, Some(m.config.size)) {
        Some(p) => std::fs::read(p)
            .ok()
            .filter(|b| &Digest::of_bytes(b) == cfg_digest),
        None => None,
    };
    let config_bytes = match config_bytes {
        Some(b) => b,
        None => {
            let b = client.get_blob_bytes(
                &reference.registry,
                &reference.repository,
                cfg_digest,
                MAX_CONFIG_BYTES,
            )?;
            cache.put_bytes(&b).map_err(RegistryError::from)?;
            b
        }
    };
    let config: serde_json::Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| malformed("config", cfg_digest, e.to_string()))?;
    let diff_ids: Vec<Digest> = config
        .pointer("/rootfs/diff_ids")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| malformed("config", cfg_digest, format!("rootfs.diff_ids: {e}")))?
        .unwrap_or_default();
    if diff_ids.len() != m.layers.len() {
        return Err(malformed(
            "config",
            cfg_digest,
            format!(
                "{} rootfs.diff_ids for {} layers",
                diff_ids.len(),
                m.layers.len()
            ),
        ));
    }
    // Kept for `pyko inspect` (base name and digest); a build replaces them.
    let annotations = m.annotations;
    let layers = m
        .layers
        .into_iter()
        .zip(diff_ids)
        .map(|(d, diff_id)| ImageLayer {
            layer: Layer {
                digest: d.digest,
                diff_id,
                size: d.size,
                media_type: oci_layer_media_type(d.media_type),
            },
            source: BlobSource::Registry {
                registry: reference.registry.clone(),
                repository: reference.repository.clone(),
            },
        })
        .collect();
    Ok(Image {
        config,
        layers,
        annotations,
    })
}

/// pyko writes OCI manifests, so a Docker schema2 base's layer types are
/// renamed to their OCI equivalents (same bytes, same digest); mixing the two
/// families in one manifest is something some readers reject.
pub(crate) fn oci_layer_media_type(media_type: String) -> String {
    match media_type.as_str() {
        media_types::DOCKER_LAYER_TAR_GZIP => media_types::OCI_LAYER_TAR_GZIP.into(),
        media_types::DOCKER_LAYER_TAR_ZSTD => media_types::OCI_LAYER_TAR_ZSTD.into(),
        media_types::DOCKER_FOREIGN_LAYER_TAR_GZIP => {
            media_types::OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP.into()
        }
        _ => media_type,
    }
}
