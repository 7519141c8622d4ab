//! Publishing an image to a registry. Per blob: check (HEAD), mount from
//! another repository of the same registry, or upload — in that order, so
//! nothing is sent that the registry has or can link. Blobs go in parallel;
//! the manifest is PUT last, only once every blob it names is confirmed, so
//! a tag never points at an incomplete image.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::cache::Cache;
use crate::oci::digest::Digest;
use crate::oci::reference::Reference;
use crate::oci::{BlobSource, Image, ImageLayer, ImageSet};
use crate::registry::{Client, RegistryError};

/// Parallel blob transfers; a few streams saturate most links without
/// tripping registry rate limits.
const PARALLEL: usize = 4;

/// Pushes `set` to `dest` and returns the digest of its top manifest. An
/// index's images go first, by digest, and the index last under the tag
/// (`latest` without one), so the tag never names an image not all there.
///
/// `present` are blobs confirmed in `dest` moments ago (uploaded early,
/// while the build went on): not even HEADed again, unless the manifest is
/// refused for a missing blob.
pub fn push_set(
    client: &Client,
    set: &ImageSet,
    cache: &Cache,
    dest: &Reference,
    present: &HashSet<Digest>,
) -> Result<Digest, RegistryError> {
    let Some(index) = set.index_blob() else {
        return push_image(client, &set.images()[0], cache, dest, present);
    };
    for image in set.images() {
        let by_digest = Reference {
            tag: None,
            digest: Some(image.manifest_blob().digest),
            ..dest.clone()
        };
        push_image(client, image, cache, &by_digest, present)?;
    }
    let tag = dest.tag.as_deref().unwrap_or("latest");
    client.put_manifest(dest, tag, &index.bytes, &index.media_type)
}

/// Pushes `image` to `dest` (under its tag, else its digest, else `latest`)
/// and returns the manifest digest.
pub fn push(
    client: &Client,
    image: &Image,
    cache: &Cache,
    dest: &Reference,
) -> Result<Digest, RegistryError> {
    push_image(client, image, cache, dest, &HashSet::new())
}

/// [`push`], skipping the blobs in `present` (see [`push_set`]).
fn push_image(
    client: &Client,
    image: &Image,
    cache: &Cache,
    dest: &Reference,
    present: &HashSet<Digest>,
) -> Result<Digest, RegistryError> {
    // Each digest once, even if a layer repeats (e.g. an empty layer).
    let mut seen = HashSet::new();
    let all: Vec<&ImageLayer> = image
        .layers
        .iter()
        .filter(|l| seen.insert(&l.layer.digest))
        .collect();
    let mut layers: Vec<&ImageLayer> = all
        .iter()
        .copied()
        .filter(|l| !present.contains(&l.layer.digest))
        .collect();
    let manifest = image.manifest_blob();
    let target = match (&dest.tag, &dest.digest) {
        (Some(t), _) => t.clone(),
        (None, Some(d)) => d.to_string(),
        (None, None) => "latest".into(),
    };
    let mut attempt = 0;
    loop {
        push_blobs(client, &layers, cache, dest)?;
        let config = image.config_blob();
        if !client.blob_exists(dest, &config.digest)? {
            let (_, path) = cache.put_bytes(&config.bytes)?;
            client.upload_blob(dest, &config.digest, config.bytes.len() as u64, &path)?;
        }
        match client.put_manifest(dest, &target, &manifest.bytes, &manifest.media_type) {
            // Builds pushing the same blobs at once: distribution can answer
            // HEAD 200 for a blob another upload is still committing, then
            // refuse the manifest naming it. Confirm every blob again (each
            // HEAD is cheap; only what is really missing is sent) and retry.
            Err(e) if attempt < BLOB_UNKNOWN_RETRIES && names_unknown_blob(&e) => {
                attempt += 1;
                layers.clone_from(&all);
                std::thread::sleep(std::time::Duration::from_millis(250 * attempt as u64));
            }
            result => return result,
        }
    }
}

/// How often a manifest refused for an unknown blob is retried.
const BLOB_UNKNOWN_RETRIES: usize = 3;

fn names_unknown_blob(e: &RegistryError) -> bool {
    matches!(e, RegistryError::Status { status: 400 | 404, codes, .. }
        if codes.contains("MANIFEST_BLOB_UNKNOWN") || codes.contains("BLOB_UNKNOWN"))
}

/// Runs `push_blob` over the layers on up to `PARALLEL` scoped threads; the
/// first error stops the others from starting new blobs and is returned.
fn push_blobs(
    client: &Client,
    layers: &[&ImageLayer],
    cache: &Cache,
    dest: &Reference,
) -> Result<(), RegistryError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(layers.len()) {
            s.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(layer) = layers.get(i) else { break };
                    if let Err(e) = push_blob(client, layer, cache, dest) {
                        failed.store(true, Ordering::Relaxed);
                        first_error.lock().expect("error slot").get_or_insert(e);
                    }
                }
            });
        }
    });
    match first_error.into_inner().expect("error slot") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Pushes one layer written locally (HEAD, else upload) to `dest`.
pub fn push_local_blob(
    client: &Client,
    layer: &crate::oci::Layer,
    path: std::path::PathBuf,
    cache: &Cache,
    dest: &Reference,
) -> Result<(), RegistryError> {
    let layer = ImageLayer {
        layer: layer.clone(),
        source: BlobSource::File(path),
    };
    push_blob(client, &layer, cache, dest)
}

fn push_blob(
    client: &Client,
    layer: &ImageLayer,
    cache: &Cache,
    dest: &Reference,
) -> Result<(), RegistryError> {
    let digest = &layer.layer.digest;
    if client.blob_exists(dest, digest)? {
        crate::ui::record(|s| s.blobs_reused += 1);
        return Ok(());
    }
    if let BlobSource::Registry {
        registry,
        repository,
    } = &layer.source
    {
        if registry == &dest.registry
            && repository != &dest.repository
            && client.mount_blob(dest, digest, repository)?
        {
            crate::ui::record(|s| s.blobs_reused += 1);
            return Ok(());
        }
    }
    let path = client.materialize(layer, cache)?;
    client.upload_blob(dest, digest, layer.layer.size, &path)
}
