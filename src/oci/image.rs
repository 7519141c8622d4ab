//! The image model: a config (kept as JSON so every field of the base's
//! config survives, including ones this crate does not know), its layers and
//! where their bytes can be had, and the manifest computed from them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::descriptor::Descriptor;
use super::digest::Digest;
use super::media_types::{OCI_CONFIG, OCI_MANIFEST};
use super::platform::Platform;

/// A finished layer blob: what a manifest's descriptor and the config's
/// `rootfs.diff_ids` need to know about it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Layer {
    /// Digest of the compressed blob (what manifests reference).
    pub digest: Digest,
    /// Digest of the uncompressed tar (what `rootfs.diff_ids` lists).
    pub diff_id: Digest,
    pub size: u64,
    pub media_type: String,
}

/// Where a layer's compressed bytes are. Base layers stay in their registry
/// until an output needs them, so a push to the same registry can mount them
/// without ever downloading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobSource {
    /// A file (usually in the blob cache) holding exactly the blob.
    File(PathBuf),
    /// A blob of `repository` in `registry` (canonical name, as in `Reference`).
    Registry {
        registry: String,
        repository: String,
    },
}

#[derive(Clone, Debug)]
pub struct ImageLayer {
    pub layer: Layer,
    pub source: BlobSource,
}

/// A single-platform image.
#[derive(Clone, Debug)]
pub struct Image {
    /// The full image config JSON (`architecture`, `os`, `config`, `rootfs`,
    /// `history`, …).
    pub config: serde_json::Value,
    pub layers: Vec<ImageLayer>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Serialized bytes plus their digest: what a registry or layout stores.
#[derive(Clone, Debug)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: String,
}

/// An image manifest as stored, for reading a base's and writing pyko's.
/// Field order is serialization order, and so part of the digest.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ManifestJson {
    #[serde(rename = "schemaVersion", default = "schema_version")]
    pub schema_version: u32,
    /// A Docker schema2 manifest says which it is here; old OCI ones may not.
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    /// Read for `pyko inspect`; a build never carries a base's on (its
    /// image gets its own, see `Image::annotations`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn schema_version() -> u32 {
    2
}

impl Image {
    /// The config as stored: compact JSON, fields in their original order
    /// (serde_json's `preserve_order`), so the digest is stable.
    pub fn config_blob(&self) -> Blob {
        let bytes = serde_json::to_vec(&self.config).expect("a JSON value serializes");
        let digest = Digest::of_bytes(&bytes);
        Blob {
            bytes,
            digest,
            media_type: OCI_CONFIG.to_string(),
        }
    }

    /// The OCI image manifest for this image.
    pub fn manifest_blob(&self) -> Blob {
        let m = ManifestJson {
            schema_version: 2,
            media_type: OCI_MANIFEST.to_string(),
            config: Descriptor::of(&self.config_blob()),
            layers: self
                .layers
                .iter()
                .map(|l| Descriptor::new(&l.layer.media_type, &l.layer.digest, l.layer.size))
                .collect(),
            annotations: self.annotations.clone(),
        };
        let bytes = serde_json::to_vec(&m).expect("a manifest serializes");
        let digest = Digest::of_bytes(&bytes);
        Blob {
            bytes,
            digest,
            media_type: OCI_MANIFEST.to_string(),
        }
    }

    /// How an index names this image: its manifest, and the platform.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::of(&self.manifest_blob()).with_platform(self.platform())
    }

    /// The platform recorded in the config (`os`, `architecture`, `variant`).
    pub fn platform(&self) -> Platform {
        let s = |k: &str| {
            self.config
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        Platform {
            os: s("os").unwrap_or_else(|| "linux".into()),
            architecture: s("architecture").unwrap_or_else(|| "amd64".into()),
            variant: s("variant"),
        }
    }
}
