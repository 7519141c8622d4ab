//! OCI image indexes: a multi-platform image's top manifest, and the shape
//! of an image layout's `index.json`; and `ImageSet`, the one or many
//! platform images a build publishes, under the manifest that names them.

use serde::{Deserialize, Serialize};

use super::descriptor::Descriptor;
use super::digest::Digest;
use super::image::{Blob, Image};
use super::media_types::OCI_INDEX;
use super::BlobSource;

/// An image index as stored. Field order is serialization order, and so
/// part of the digest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexJson {
    #[serde(rename = "schemaVersion", default = "schema_version")]
    pub schema_version: u32,
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

fn schema_version() -> u32 {
    2
}

impl IndexJson {
    pub fn new(manifests: Vec<Descriptor>) -> IndexJson {
        IndexJson {
            schema_version: 2,
            media_type: OCI_INDEX.to_string(),
            manifests,
        }
    }

    pub fn blob(&self) -> Blob {
        let bytes = serde_json::to_vec(self).expect("an index serializes");
        Blob {
            digest: Digest::of_bytes(&bytes),
            bytes,
            media_type: OCI_INDEX.to_string(),
        }
    }
}

/// What a build publishes: one image per platform, under the manifest that
/// names them all. A single-platform build's top manifest is its image's
/// own (so the digest pushed is the one `docker pull` shows); several
/// platforms, or `--platform all`, get an OCI index over them, in the
/// order asked for.
#[derive(Clone, Debug)]
pub struct ImageSet {
    images: Vec<Image>,
    index: Option<Blob>,
}

impl ImageSet {
    pub fn single(image: Image) -> ImageSet {
        ImageSet {
            images: vec![image],
            index: None,
        }
    }

    /// `images` behind an OCI index; `None` when there are none.
    pub fn index(images: Vec<Image>) -> Option<ImageSet> {
        if images.is_empty() {
            return None;
        }
        let index = IndexJson::new(images.iter().map(Image::descriptor).collect()).blob();
        Some(ImageSet {
            images,
            index: Some(index),
        })
    }

    pub fn images(&self) -> &[Image] {
        &self.images
    }

    /// The index blob, for a set that has one.
    pub fn index_blob(&self) -> Option<&Blob> {
        self.index.as_ref()
    }

    /// The manifest a tag points at: the index, or the only image's.
    pub fn top(&self) -> Blob {
        match &self.index {
            Some(index) => index.clone(),
            None => self.images[0].manifest_blob(),
        }
    }

    /// How a layout's `index.json` names the set: the index, or the image
    /// with its platform.
    pub fn top_descriptor(&self) -> Descriptor {
        match &self.index {
            Some(index) => Descriptor::of(index),
            None => self.images[0].descriptor(),
        }
    }

    /// The same set with each image's layer sources replaced by `sources`
    /// (one per layer, in order). Digests cannot change: only where the
    /// bytes are read from does.
    pub fn with_sources<E>(
        &self,
        mut sources: impl FnMut(&Image) -> Result<Vec<BlobSource>, E>,
    ) -> Result<ImageSet, E> {
        let mut set = self.clone();
        for image in &mut set.images {
            let new = sources(image)?;
            assert_eq!(new.len(), image.layers.len(), "one source per layer");
            for (l, source) in image.layers.iter_mut().zip(new) {
                l.source = source;
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::Layer;

    fn image(arch: &str, variant: Option<&str>) -> Image {
        let mut config = serde_json::json!({"architecture": arch, "os": "linux"});
        if let Some(v) = variant {
            config["variant"] = v.into();
        }
        let d = Digest::of_bytes(arch.as_bytes());
        Image {
            config,
            layers: vec![super::super::ImageLayer {
                layer: Layer {
                    digest: d.clone(),
                    diff_id: d,
                    size: 3,
                    media_type: crate::oci::media_types::OCI_LAYER_TAR_GZIP.into(),
                },
                source: BlobSource::File("/x".into()),
            }],
            annotations: [("k".to_string(), "v".to_string())].into(),
        }
    }

    /// The bytes (so the digests) are those of the JSON pyko wrote before
    /// the types existed: key order and optional fields matter.
    #[test]
    fn index_bytes_are_the_documented_json() {
        let images = vec![image("amd64", None), image("arm64", Some("v8"))];
        let expected = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": images.iter().map(|i| {
                let m = i.manifest_blob();
                let mut p = serde_json::json!({"architecture": i.platform().architecture, "os": "linux"});
                if let Some(v) = i.platform().variant {
                    p["variant"] = v.into();
                }
                serde_json::json!({"mediaType": m.media_type, "digest": m.digest.as_str(), "size": m.bytes.len(), "platform": p})
            }).collect::<Vec<_>>(),
        });
        let set = ImageSet::index(images.clone()).unwrap();
        assert_eq!(set.top().bytes, serde_json::to_vec(&expected).unwrap());
        assert_eq!(set.top_descriptor().media_type, OCI_INDEX);

        let c = images[0].config_blob();
        let l = &images[0].layers[0].layer;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": crate::oci::media_types::OCI_MANIFEST,
            "config": {"mediaType": c.media_type, "digest": c.digest.as_str(), "size": c.bytes.len()},
            "layers": [{"mediaType": l.media_type, "digest": l.digest.as_str(), "size": l.size}],
            "annotations": {"k": "v"},
        });
        let single = ImageSet::single(images[0].clone());
        assert_eq!(single.top().bytes, serde_json::to_vec(&manifest).unwrap());
        assert!(single.index_blob().is_none());
        assert!(ImageSet::index(Vec::new()).is_none());
    }
}
