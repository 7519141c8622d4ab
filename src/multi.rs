//! Several platforms from one wheel directory: one image per platform (each
//! takes the wheels that fit it; the installer picks, and a platform without
//! a fitting wheel fails naming it), pushed behind one OCI index. Nothing is
//! emulated: targets are read from each platform's base files.

use std::path::PathBuf;

use crate::build::{mount_from, platform_image, BuildError, Outcome, Reporter};
use crate::cache::Cache;
use crate::digest::Digest;
use crate::image::{BlobSource, Image, MEDIA_TYPE_OCI_INDEX};
use crate::layer::Layer;
use crate::reference::Reference;
use crate::registry::Client;
use crate::spec::BuildSpec;

/// The OCI index over `images` (in the order asked for), as stored.
pub fn index_blob(images: &[Image]) -> (Vec<u8>, Digest) {
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|img| {
            let m = img.manifest_blob();
            let p = img.platform();
            let mut platform = serde_json::json!({
                "architecture": p.architecture,
                "os": p.os,
            });
            if let Some(v) = &p.variant {
                platform["variant"] = v.clone().into();
            }
            serde_json::json!({
                "mediaType": m.media_type,
                "digest": m.digest.as_str(),
                "size": m.bytes.len(),
                "platform": platform,
            })
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_OCI_INDEX,
        "manifests": manifests,
    });
    let bytes = serde_json::to_vec(&index).expect("a JSON value serializes");
    let digest = Digest::of_bytes(&bytes);
    (bytes, digest)
}

pub(crate) fn build_index(
    spec: &BuildSpec,
    ui: &Reporter,
    client: &Client,
    cache: &Cache,
    app_layer: Option<&(Layer, PathBuf)>,
) -> Result<Outcome, BuildError> {
    if spec.outputs.tarball.is_some() {
        return Err(BuildError::MultiPlatformOutput);
    }
    let mut images = Vec::new();
    let mut all_cached = true;
    for platform in &spec.platforms {
        let (image, cached) = platform_image(spec, platform, app_layer, client, cache, ui)
            .map_err(|e| BuildError::Platform(platform.to_string(), Box::new(e)))?;
        ui.info(format!(
            "image {} for {platform}",
            image.manifest_blob().digest
        ));
        all_cached &= cached;
        images.push(image);
    }
    let (index, digest) = index_blob(&images);
    ui.info(format!("index {digest} ({} platforms)", images.len()));

    if let Some(dir) = &spec.outputs.oci_layout {
        let mut local = images.clone();
        for image in &mut local {
            for l in &mut image.layers {
                l.source = BlobSource::File(client.materialize(l, cache)?);
            }
        }
        let name = spec.outputs.tags.first().map(String::as_str);
        crate::output::layout::write_layout_index(dir, &local, &index, name)?;
        ui.info(format!("wrote OCI layout {}", dir.display()));
    }
    let mut pushed = Vec::new();
    let mut done: Vec<&Reference> = Vec::new();
    for dest in &spec.outputs.push {
        for image in &images {
            let by_digest = Reference {
                tag: None,
                digest: Some(image.manifest_blob().digest),
                ..dest.clone()
            };
            crate::output::push::push(client, &mount_from(image, dest, &done), cache, &by_digest)?;
        }
        let target = dest.tag.clone().unwrap_or_else(|| "latest".to_string());
        client.put_manifest(dest, &target, &index, MEDIA_TYPE_OCI_INDEX)?;
        done.push(dest);
        ui.info(format!("pushed {dest}"));
        pushed.push(format!("{}@{digest}", dest.name()));
    }
    Ok(Outcome {
        pushed,
        manifest_digest: digest,
        deps_cached: all_cached,
    })
}
