//! Content descriptors: how a manifest names its config and layers, and how
//! an index (or a layout's `index.json`) names its manifests. One type for
//! reading and writing, so what pyko writes is what it can read back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::image::Blob;
use super::platform::Platform;

/// Names an image in a layout's `index.json` (the `TAG` of `oci:DIR:TAG`).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// Field order is serialization order, and so part of every digest pyko
/// writes: `mediaType`, `digest`, `size`, `platform`, `annotations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Empty when read from an old layout that leaves it out.
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: &Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest.clone(),
            size,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The descriptor of a serialized blob (config, manifest, index).
    pub fn of(blob: &Blob) -> Descriptor {
        Descriptor::new(&blob.media_type, &blob.digest, blob.bytes.len() as u64)
    }

    pub fn with_platform(self, platform: Platform) -> Descriptor {
        Descriptor {
            platform: Some(platform),
            ..self
        }
    }

    pub fn with_annotation(mut self, key: &str, value: &str) -> Descriptor {
        self.annotations.insert(key.to_string(), value.to_string());
        self
    }
}
