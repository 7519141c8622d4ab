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
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{Scope, ScopedJoinHandle};

use crate::cache::Cache;
use crate::inputs::spec::BuildSpec;
use crate::layer::writer::Watch;
use crate::oci::{Digest, Layer, Reference};
use crate::output::push;
use crate::registry::{Client, Growing, Grown, RegistryError, Streamed};
use crate::ui::Reporter;

/// Blobs known to be in a repository, by (registry, repository).
pub type Confirmed = HashMap<(String, String), HashSet<Digest>>;

/// The sending end; dropping it (or [`EarlyPush::finish`]) ends the uploads.
pub struct EarlyPush<'scope> {
    offers: Sender<(Layer, PathBuf)>,
    uploader: ScopedJoinHandle<'scope, ()>,
    shared: Arc<Shared>,
    client: &'scope Client,
    /// Where layers stream to while they are written; the other
    /// registries get them from the uploader once they are.
    first: &'scope Reference,
    ui: &'scope Reporter,
}

/// What the uploader and the streams found, between them.
#[derive(Default)]
struct Shared {
    confirmed: Mutex<Confirmed>,
    failed: Mutex<Option<RegistryError>>,
}

impl Shared {
    fn confirm(&self, dest: &Reference, digest: &Digest) {
        lock(&self.confirmed)
            .entry((dest.registry.clone(), dest.repository.clone()))
            .or_default()
            .insert(digest.clone());
    }

    fn has(&self, dest: &Reference, digest: &Digest) -> bool {
        lock(&self.confirmed)
            .get(&(dest.registry.clone(), dest.repository.clone()))
            .is_some_and(|d| d.contains(digest))
    }

    /// Keeps the first failure; the later ones follow from it or would be
    /// reported the same way.
    fn fail(&self, ui: &Reporter, digest: &str, dest: &Reference, e: RegistryError) {
        ui.debug(format!(
            "early upload of {digest} to {} failed; no more early uploads",
            dest.name()
        ));
        lock(&self.failed).get_or_insert(e);
    }

    fn failed(&self) -> bool {
        lock(&self.failed).is_some()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
    let first = *dests.first()?;
    let shared = Arc::new(Shared::default());
    let (offers, rx) = channel::<(Layer, PathBuf)>();
    let found = shared.clone();
    let uploader = s.spawn(move || {
        for (layer, path) in rx {
            for dest in &dests {
                if found.failed() {
                    return;
                }
                if found.has(dest, &layer.digest) {
                    continue;
                }
                match push::push_local_blob(client, &layer, path.clone(), cache, dest) {
                    Ok(()) => found.confirm(dest, &layer.digest),
                    Err(e) => found.fail(ui, layer.digest.as_str(), dest, e),
                }
            }
        }
    });
    Some(EarlyPush {
        offers,
        uploader,
        shared,
        client,
        first,
        ui,
    })
}

impl EarlyPush<'_> {
    /// Queues a written layer for upload; never blocks the build.
    pub fn offer(&self, layer: &Layer, path: &Path) {
        // A send fails only once the uploader stopped on a failure, which
        // `finish` reports.
        let _ = self.offers.send((layer.clone(), path.to_path_buf()));
    }

    /// Runs `write` (which writes a layer, telling its watch how the file
    /// grows) while the layer streams to the first registry as it grows,
    /// then offers it to the others, or to the first if the stream did not
    /// commit it (a layer smaller than a chunk, a layer from the cache).
    /// `packages` (what the layer holds) names it until its digest is
    /// known.
    pub fn write<E>(
        &self,
        packages: &str,
        write: impl FnOnce(Option<&dyn Watch>) -> Result<(Layer, PathBuf), E>,
    ) -> Result<(Layer, PathBuf), E> {
        let written = if self.shared.failed() {
            write(None)
        } else {
            let growth = Arc::new(Growth::default());
            let blob: Arc<dyn Growing> = growth.clone();
            let what = upload_label(packages);
            let (written, streamed) = std::thread::scope(|s| {
                let up = s.spawn(|| self.client.upload_growing(self.first, blob, &what));
                let written = write(Some(&*growth));
                growth.end(written.as_ref().ok().map(|(l, _)| l));
                (written, up.join().expect("layer upload thread panicked"))
            });
            if let Ok((layer, _)) = &written {
                match streamed {
                    Ok(Streamed::Uploaded) => self.shared.confirm(self.first, &layer.digest),
                    Ok(Streamed::Present) => {
                        crate::ui::record(|s| s.blobs_reused += 1);
                        self.shared.confirm(self.first, &layer.digest);
                    }
                    Ok(Streamed::NotSent) => {}
                    Err(e) => self.shared.fail(self.ui, &what, self.first, e),
                }
            }
            written
        };
        if let Ok((layer, path)) = &written {
            self.offer(layer, path);
        }
        written
    }

    /// Waits for the queued uploads and returns what they confirmed, or
    /// the first failure.
    pub fn finish(self) -> Result<Confirmed, RegistryError> {
        drop(self.offers);
        self.uploader.join().expect("early upload thread panicked");
        let failed = lock(&self.shared.failed).take();
        match failed {
            Some(e) => Err(e),
            None => Ok(std::mem::take(&mut *lock(&self.shared.confirmed))),
        }
    }
}

/// A streamed layer's name in the log before its digest is known: its
/// first package, and how many more it holds.
fn upload_label(what: &str) -> String {
    let mut names = what.split(' ');
    let first = names.next().unwrap_or_default();
    match names.count() {
        0 => format!("layer of {first}"),
        n => format!("layer of {first} and {n} more"),
    }
}

/// A layer file as it is written, for the stream that uploads it.
#[derive(Default)]
struct Growth {
    state: Mutex<GrowthState>,
    changed: Condvar,
}

#[derive(Default)]
struct GrowthState {
    file: Option<File>,
    written: u64,
    /// Set once the write is over: the layer, or `None` if it failed.
    end: Option<Option<(Digest, u64)>>,
}

impl Growth {
    fn end(&self, layer: Option<&Layer>) {
        lock(&self.state).end = Some(layer.map(|l| (l.digest.clone(), l.size)));
        self.changed.notify_all();
    }
}

impl Watch for Growth {
    fn started(&self, file: &File) {
        // Without a second handle the stream just never starts.
        lock(&self.state).file = file.try_clone().ok();
    }

    fn grew(&self, written: u64) {
        lock(&self.state).written = written;
        self.changed.notify_all();
    }
}

impl Growing for Growth {
    fn wait(&self, at_least: u64) -> Grown {
        let mut state = lock(&self.state);
        loop {
            match &state.end {
                Some(Some((digest, size))) => {
                    return Grown::Done {
                        digest: digest.clone(),
                        size: *size,
                    }
                }
                Some(None) => return Grown::Abandoned,
                None if state.written >= at_least => return Grown::Written(state.written),
                None => state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    fn file(&self) -> Option<File> {
        lock(&self.state).file.as_ref()?.try_clone().ok()
    }
}
