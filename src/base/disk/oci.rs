//! The OCI reader: `index.json` → (index →) manifest → config and layers,
//! from a layout directory or an archive alike.

use std::path::Path;

use super::{diff_ids, DiskError, Reader};
use crate::base::{self, BaseError, BaseImage};
use crate::oci::media_types;
use crate::oci::{
    BlobSource, Descriptor, ImageLayer, IndexJson, Layer, ManifestJson, Platform,
    REF_NAME_ANNOTATION,
};

impl Reader<'_> {
    pub(super) fn oci_image(&self, platform: &Platform) -> Result<BaseImage, DiskError> {
        let (index_path, _, _) = self.file("index.json")?;
        let index: IndexJson = self.json(&index_path, "index.json")?;
        let top = match &self.base.tag {
            Some(t) => index
                .manifests
                .iter()
                .find(|d| {
                    d.annotations
                        .get(REF_NAME_ANNOTATION)
                        .is_some_and(|n| n == t)
                })
                .ok_or_else(|| {
                    self.invalid(format!(
                        "no image tagged {t:?}; it has: {}",
                        names(&index.manifests)
                    ))
                })?,
            None if index.manifests.len() == 1 => &index.manifests[0],
            None => {
                return Err(self.invalid(format!(
                    "holds {} images; name one with :TAG (it has: {})",
                    index.manifests.len(),
                    names(&index.manifests)
                )))
            }
        };
        let (mut desc_path, _) = self.blob(&top.digest)?;
        let mut manifest_digest = top.digest.clone();
        let mut index_digest = None;
        if is_index(&top.media_type, &desc_path) {
            let child_index: IndexJson = self.json(&desc_path, "index")?;
            let child = base::pick(&child_index.manifests, platform).ok_or_else(|| {
                BaseError::NoSuchPlatform {
                    reference: self.base.to_string(),
                    wanted: platform.to_string(),
                    available: base::available(&child_index.manifests),
                }
            })?;
            index_digest = Some(top.digest.clone());
            manifest_digest = child.digest.clone();
            desc_path = self.blob(&child.digest)?.0;
        }
        let m: ManifestJson = self.json(&desc_path, "manifest")?;
        let (config_path, _) = self.blob(&m.config.digest)?;
        let config: serde_json::Value = self.json(&config_path, "config")?;
        let diff_ids = diff_ids(&config, m.layers.len()).map_err(|e| self.invalid(e))?;
        let mut layers = Vec::new();
        for (d, diff_id) in m.layers.into_iter().zip(diff_ids) {
            let (path, _) = self.blob(&d.digest)?;
            layers.push(ImageLayer {
                layer: Layer {
                    digest: d.digest,
                    diff_id,
                    size: d.size,
                    media_type: base::oci_layer_media_type(d.media_type),
                },
                source: BlobSource::File(path),
            });
        }
        // Kept for `pyko inspect` (base name and digest); a build replaces them.
        let mut base = self.finish(config, layers, manifest_digest, index_digest, platform)?;
        base.image.annotations = m.annotations;
        Ok(base)
    }
}

fn names(ds: &[Descriptor]) -> String {
    let v: Vec<&str> = ds
        .iter()
        .filter_map(|d| d.annotations.get(REF_NAME_ANNOTATION).map(String::as_str))
        .collect();
    if v.is_empty() {
        "no tagged images".into()
    } else {
        v.join(", ")
    }
}

/// By media type, or by content when the descriptor has none (old layouts).
fn is_index(media_type: &str, path: &Path) -> bool {
    match media_type {
        media_types::OCI_INDEX | media_types::DOCKER_LIST => true,
        "" => std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v.get("manifests").is_some()),
        _ => false,
    }
}
