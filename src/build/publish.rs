//! The outputs, written once for one image or many: the OCI layout and
//! tarball need every byte locally; pushes leave base layers where they
//! are, so a registry can mount them.

use std::convert::Infallible;
use std::path::PathBuf;

use super::early::Confirmed;
use super::{materialize, BuildError};
use crate::cache::Cache;
use crate::inputs::spec::{BuildSpec, TarballDest};
use crate::oci::{host_architecture, BlobSource, Image, ImageSet, Reference};
use crate::output::{layout, push, tarball};
use crate::registry::Client;
use crate::ui::Reporter;

/// Writes every output `spec` asks for; returns `REF@digest` per push.
///
/// `early` are the blobs the early uploads confirmed, per repository.
pub(super) fn publish(
    spec: &BuildSpec,
    set: &ImageSet,
    early: &Confirmed,
    client: &Client,
    cache: &Cache,
    ui: &Reporter,
) -> Result<Vec<String>, BuildError> {
    let outputs = &spec.outputs;
    // File outputs need every byte; a push keeps base layers where they are
    // (so it can mount them), hence a separate copy with local sources.
    if outputs.tarball.is_some() || outputs.oci_layout.is_some() {
        let local = set.with_sources(|image| {
            let paths = materialize(client, &image.layers, cache)?;
            Ok::<_, BuildError>(paths.into_iter().map(BlobSource::File).collect())
        })?;
        if let Some(dir) = &outputs.oci_layout {
            layout::write_set(dir, &local, outputs.tags.first().map(String::as_str))?;
            ui.info(format!("wrote OCI layout {}", dir.display()));
        }
        if let Some(dest) = &outputs.tarball {
            let path = match dest {
                TarballDest::File(p) => p.clone(),
                TarballDest::Stdout => PathBuf::from("-"),
            };
            tarball::write_set(&path, &local, docker_image(&local, ui), &outputs.tags)?;
            ui.info(format!("wrote tarball {}", path.display()));
        }
    }
    let mut pushed = Vec::new();
    let mut done: Vec<&Reference> = Vec::new();
    for dest in &outputs.push {
        let present = early
            .get(&(dest.registry.clone(), dest.repository.clone()))
            .cloned()
            .unwrap_or_default();
        let digest = push::push_set(client, &mount_from(set, dest, &done), cache, dest, &present)?;
        done.push(dest);
        ui.info(format!(
            "pushed {}",
            Reference {
                digest: None,
                ..dest.clone()
            }
        ));
        // `repo@digest` without the tag: the one form every tool (docker,
        // skopeo, crane, kubectl) accepts, and immune to the tag moving.
        pushed.push(format!("{}@{digest}", dest.name()));
    }
    Ok(pushed)
}

/// The image a tarball's Docker `manifest.json` lists (an engine without
/// multi-platform storage loads one per tag): this machine's, if built.
fn docker_image<'a>(set: &'a ImageSet, ui: &Reporter) -> &'a Image {
    let images = set.images();
    if set.index_blob().is_none() {
        return &images[0];
    }
    let host = host_architecture();
    match images.iter().find(|i| i.platform().architecture == host) {
        Some(i) => i,
        None => {
            ui.info(format!(
                "note: no image for this machine's platform (linux/{host}); the tarball's manifest.json (read by `docker load` before Engine 25) lists {}",
                images[0].platform()
            ));
            &images[0]
        }
    }
}

/// For the second and later `--push` to one registry: local layers are
/// offered for mounting from a repository pushed already, so each blob
/// crosses the wire once whatever the number of tags and repositories. A
/// refused mount falls back to uploading from the cache, where they are.
fn mount_from(set: &ImageSet, dest: &Reference, done: &[&Reference]) -> ImageSet {
    let Some(prev) = done.iter().find(|p| p.registry == dest.registry) else {
        return set.clone();
    };
    let mounted = set.with_sources(|image| {
        let sources = image.layers.iter().map(|l| match &l.source {
            BlobSource::File(_) => BlobSource::Registry {
                registry: prev.registry.clone(),
                repository: prev.repository.clone(),
            },
            other => other.clone(),
        });
        Ok::<_, Infallible>(sources.collect())
    });
    match mounted {
        Ok(set) => set,
        Err(never) => match never {},
    }
}
