//! Several platforms from one wheel directory: one image per platform (each
//! takes the wheels that fit it; the installer picks, and a platform without
//! a fitting wheel fails naming it, or is skipped with a note under
//! `--platform all`), behind one OCI index: pushed, in a layout, or in one
//! tarball. Nothing is emulated: targets are read from each platform's base
//! files.

use std::path::PathBuf;

use super::{mount_from, platform_image, BuildError, Outcome};
use crate::cache::Cache;
use crate::inputs::spec::{BaseSource, BuildSpec, TarballDest};
use crate::oci::digest::Digest;
use crate::oci::media_types;
use crate::oci::reference::Reference;
use crate::oci::Layer;
use crate::oci::{BlobSource, Image, Platform};
use crate::registry::Client;
use crate::ui::Reporter;

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
        "mediaType": media_types::OCI_INDEX,
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
    let platforms = if spec.all_platforms {
        let p = base_platforms(spec, client, cache)?;
        let names: Vec<String> = p.iter().map(ToString::to_string).collect();
        ui.info(format!("--platform all: the base has {}", names.join(", ")));
        p
    } else {
        spec.platforms.clone()
    };
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    let mut all_cached = true;
    for platform in &platforms {
        let (image, cached) = match platform_image(spec, platform, app_layer, client, cache, ui) {
            Ok(built) => built,
            Err(e) if spec.all_platforms && wheels_missing(&e) => {
                // Always said, even with --quiet: an image silently lacking
                // a platform would only show up when a node fails to pull.
                eprintln!("note: --platform all: skipping {platform}: {e}");
                skipped.push(format!("{platform}: {e}"));
                continue;
            }
            Err(e) => return Err(BuildError::Platform(platform.to_string(), Box::new(e))),
        };
        ui.info(format!(
            "image {} for {platform}",
            image.manifest_blob().digest
        ));
        all_cached &= cached;
        images.push(image);
    }
    if images.is_empty() {
        return Err(BuildError::NoPlatformFits(format!(
            "the wheels fit none of the base's platforms; add wheels built for one of them:\n{}",
            skipped.join("\n")
        )));
    }
    let (index, digest) = index_blob(&images);
    ui.info(format!("index {digest} ({} platforms)", images.len()));

    if spec.outputs.oci_layout.is_some() || spec.outputs.tarball.is_some() {
        let mut local = images.clone();
        for image in &mut local {
            for l in &mut image.layers {
                l.source = BlobSource::File(client.materialize(l, cache)?);
            }
        }
        if let Some(dir) = &spec.outputs.oci_layout {
            let name = spec.outputs.tags.first().map(String::as_str);
            crate::output::layout::write_layout_index(dir, &local, &index, name)?;
            ui.info(format!("wrote OCI layout {}", dir.display()));
        }
        if let Some(dest) = &spec.outputs.tarball {
            let path = match dest {
                TarballDest::File(p) => p.clone(),
                TarballDest::Stdout => PathBuf::from("-"),
            };
            let host = host_platform();
            let docker = match local.iter().find(|i| i.platform().architecture == host) {
                Some(i) => i,
                None => {
                    ui.info(format!(
                        "note: no image for this machine's platform (linux/{host}); the tarball's manifest.json (read by `docker load` before Engine 25) lists {}",
                        local[0].platform()
                    ));
                    &local[0]
                }
            };
            crate::output::tarball::write_tarball_index(
                &path,
                &local,
                &index,
                docker,
                &spec.outputs.tags,
            )?;
            ui.info(format!("wrote tarball {}", path.display()));
        }
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
        client.put_manifest(dest, &target, &index, media_types::OCI_INDEX)?;
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

/// The build machine's architecture in OCI's spelling: the one image of a
/// multi-platform tarball that `docker load` (which keeps one per tag) gets.
pub fn host_platform() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// Errors that mean "the wheel set cannot serve this platform" (no wheel
/// built for it, or an incomplete set), as opposed to a broken input that
/// must fail the whole build.
fn wheels_missing(e: &BuildError) -> bool {
    use crate::sources::LockError;
    use crate::wheel::WheelError;
    let wheel = |w: &WheelError| {
        matches!(
            w,
            WheelError::Incompatible(_)
                | WheelError::Unmet { .. }
                | WheelError::UnsupportedPlatform { .. }
        )
    };
    match e {
        BuildError::Wheel(w) => wheel(w),
        BuildError::Lock(LockError::Wheel(w)) => wheel(w),
        BuildError::Lock(LockError::Package { .. }) => true,
        _ => false,
    }
}

/// The platforms `--platform all` builds: every entry of the base's index
/// (attestations skipped), or a single-manifest base's own platform.
fn base_platforms(
    spec: &BuildSpec,
    client: &Client,
    cache: &Cache,
) -> Result<Vec<Platform>, BuildError> {
    let fallback = crate::base::default_platform();
    let single =
        match &spec.base {
            BaseSource::Registry(r) => {
                let top = client.get_manifest(r)?;
                if top.is_index() {
                    let index: crate::base::IndexJson = serde_json::from_slice(&top.bytes)
                        .map_err(|e| crate::base::BaseError::Malformed {
                            reference: r.to_string(),
                            what: "index",
                            digest: top.digest.clone(),
                            detail: e.to_string(),
                        })?;
                    let mut out: Vec<Platform> = Vec::new();
                    for p in index.manifests.iter().filter_map(|d| d.platform.as_ref()) {
                        let p = p.to_platform();
                        if p.os != "unknown" && !out.contains(&p) {
                            out.push(p);
                        }
                    }
                    return Ok(out);
                }
                crate::base::resolve(client, r, &fallback, cache)?
            }
            BaseSource::Disk(d) => crate::base::disk::resolve(d, &fallback, cache)?,
        };
    Ok(vec![single.image.platform()])
}
