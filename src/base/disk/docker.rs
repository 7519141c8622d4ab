//! The `docker save` reader: `manifest.json` names each image's config and
//! layer files by path (always inside an archive, whose members are in the
//! cache already). Uncompressed layers are kept uncompressed, with the
//! OCI `…layer.v1.tar` media type (digest = diff_id): recompressing would
//! make up a blob that exists nowhere else, and every reader and registry
//! accepts tar layers.

use std::io::{self, Read};
use std::path::Path;

use super::{diff_ids, DiskError, Reader};
use crate::base::BaseImage;
use crate::oci::compression::Detected;
use crate::oci::media_types;
use crate::oci::{BlobSource, ImageLayer, Layer, Platform};

/// One image of `manifest.json`.
#[derive(serde::Deserialize)]
struct Entry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

impl Reader<'_> {
    pub(super) fn docker_image(&self, platform: &Platform) -> Result<BaseImage, DiskError> {
        let (path, _, _) = self.file("manifest.json")?;
        let entries: Vec<Entry> = self.json(&path, "manifest.json")?;
        let tags = |e: &Entry| e.repo_tags.clone().unwrap_or_default();
        let entry = match &self.base.tag {
            Some(t) => entries
                .iter()
                .find(|e| {
                    tags(e)
                        .iter()
                        .any(|rt| rt == t || rt.ends_with(&format!("/{t}")))
                })
                .ok_or_else(|| {
                    let all: Vec<String> = entries.iter().flat_map(tags).collect();
                    self.invalid(format!("no image tagged {t:?}; it has: {}", all.join(", ")))
                })?,
            None if entries.len() == 1 => &entries[0],
            None => {
                return Err(self.invalid(format!(
                    "holds {} images; name one with :NAME:TAG",
                    entries.len()
                )))
            }
        };
        let (config_path, config_digest, _) = self.file(&entry.config)?;
        let config: serde_json::Value = self.json(&config_path, &entry.config)?;
        let diff_ids = diff_ids(&config, entry.layers.len()).map_err(|e| self.invalid(e))?;
        let mut layers = Vec::new();
        for (name, diff_id) in entry.layers.iter().zip(diff_ids) {
            let (path, digest, size) = self.file(name)?;
            let kind = compression_of(&path).map_err(|e| self.io(e))?;
            if kind == Detected::Plain && digest != diff_id {
                return Err(self.invalid(format!(
                    "layer {name} has digest {digest} but the config says {diff_id}"
                )));
            }
            layers.push(ImageLayer {
                layer: Layer {
                    digest,
                    diff_id,
                    size,
                    media_type: match kind {
                        Detected::Gzip => media_types::OCI_LAYER_TAR_GZIP,
                        Detected::Zstd => media_types::OCI_LAYER_TAR_ZSTD,
                        Detected::Plain => media_types::OCI_LAYER_TAR,
                    }
                    .into(),
                },
                source: BlobSource::File(path),
            });
        }
        // No manifest in a classic archive: the config digest stands for
        // the image (it is what `docker images` calls the image ID).
        self.finish(config, layers, config_digest, None, platform)
    }
}

/// `docker save` writes plain tars; newer engines may keep a pulled
/// layer's compression.
fn compression_of(path: &Path) -> io::Result<Detected> {
    let mut magic = [0u8; 4];
    let mut f = fs_err::File::open(path)?;
    let n = f.read(&mut magic)?;
    Ok(crate::oci::compression::detect(&magic[..n]))
}
