//! Uploads that start while the build goes on: each layer is offered as
//! soon as it is written, and a thread pushes it to the `--push`
//! repositories while the next layers compress. The push that follows
//! then skips what is confirmed here, so it is left with the config and
//! the manifest (which still go last, so a tag never names a partial
//! image).
//!
//! The first failure stops the early uploads and is the push's failure,
//! reported when the build is done: the upload code has already retried
//! what is worth retrying, and trying again in the push proper would turn
//! a registry's refusal (a redirect of an upload, say) into a silent second
//! attempt. Blobs uploaded for a build that then fails stay in the registry
//! unreferenced, as a failed `docker push` leaves them, until its garbage
//! collection.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Sender};
use std::thread::{Scope, ScopedJoinHandle};

use crate::cache::Cache;
use crate::inputs::spec::BuildSpec;
use crate::oci::{Digest, Layer, Reference};
use crate::output::push;
use crate::registry::{Client, RegistryError};
use crate::ui::Reporter;

/// Blobs known to be in a repository, by (registry, repository).
pub type Confirmed = HashMap<(String, String), HashSet<Digest>>;

/// The sending end; dropping it (or [`EarlyPush::finish`]) ends the uploads.
pub struct EarlyPush<'scope> {
    offers: Sender<(Layer, PathBuf)>,
    uploader: ScopedJoinHandle<'scope, Result<Confirmed, RegistryError>>,
}

/// Starts the uploader when the build pushes. With `--cache-repo` the deps
/// layers are stored there and mounted from it, so uploading them to the
/// destination as well would send them twice: no early uploads then.
pub fn start<'scope, 'env>(
    s: &'scope Scope<'scope, 'env>,
    spec: &'env BuildSpec,
    client: &'env Client,
    cache: &'env Cache,
    ui: &'env Reporter,
) -> Option<EarlyPush<'scope>> {
    if spec.cache_repo.is_some() {
        return None;
    }
    // One repository per registry: the push mounts into the others.
    let mut dests: Vec<&Reference> = Vec::new();
    for d in &spec.outputs.push {
        if !dests.iter().any(|e| e.registry == d.registry) {
            dests.push(d);
        }
    }
    if dests.is_empty() {
        return None;
    }
    let (offers, rx) = channel::<(Layer, PathBuf)>();
    let uploader = s.spawn(move || {
        let mut confirmed = Confirmed::new();
        let mut failed = None;
        for (layer, path) in rx {
            for dest in &dests {
                if failed.is_some() {
                    break;
                }
                match push::push_local_blob(client, &layer, path.clone(), cache, dest) {
                    Ok(()) => {
                        confirmed
                            .entry((dest.registry.clone(), dest.repository.clone()))
                            .or_default()
                            .insert(layer.digest.clone());
                    }
                    Err(e) => {
                        ui.debug(format!(
                            "early upload of {} to {} failed; no more early uploads",
                            layer.digest,
                            dest.name()
                        ));
                        failed = Some(e);
                    }
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(confirmed),
        }
    });
    Some(EarlyPush { offers, uploader })
}

impl EarlyPush<'_> {
    /// Queues a written layer for upload; never blocks the build.
    pub fn offer(&self, layer: &Layer, path: &std::path::Path) {
        // The uploader only stops at the end: a send cannot fail before.
        let _ = self.offers.send((layer.clone(), path.to_path_buf()));
    }

    /// Waits for the queued uploads and returns what they confirmed, or
    /// the first failure.
    pub fn finish(self) -> Result<Confirmed, RegistryError> {
        drop(self.offers);
        self.uploader.join().expect("early upload thread panicked")
    }
}
