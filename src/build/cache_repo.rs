//! The registry cache (`--cache-repo REF`): the registry every runner can
//! reach keeps, per deps-layer set key, a small OCI artifact (artifactType
//! [`ARTIFACT_TYPE`]) whose config maps the key to the layers' descriptors,
//! diff_ids and history lines, and whose `layers` name those blobs, so they
//! live in that repository (and no garbage collection takes them while the
//! entry is there). A runner with an empty local cache reads the entry and
//! lets the push HEAD or mount the layers: nothing is installed or written.
//!
//! Everything here is best effort: the cache only ever saves work, so a
//! missing, unreachable or malformed entry is a warning and the build goes
//! on as without it. Writers of one key write the same bytes (layers are
//! content-addressed, the entry is serialized deterministically), so
//! concurrent runners are safe: the last PUT stores what the first did.

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::cache::Cache;
use crate::oci::{media_types, Digest, Layer, Reference};
use crate::registry::{Client, RegistryError};
use crate::ui::Reporter;

/// pyko's artifact type for a key → layers entry.
pub const ARTIFACT_TYPE: &str = "application/vnd.pyko.layer-key.v1+json";

/// Entries are tiny; this only guards memory against a bogus one.
const MAX_ENTRY_BYTES: u64 = 1 << 20;

/// What an entry's config blob holds.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Entry {
    key: String,
    /// Each layer's descriptor and history line.
    pub layers: Vec<(Layer, String)>,
    /// What else is shared under the key: the target detected in a base,
    /// so a fresh runner reads no base layer either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// A tag is at most 128 characters of `[A-Za-z0-9_.-]`: a hash of the key.
fn tag_for(key: &str) -> String {
    format!("pyko-{}", &hex::encode(Sha256::digest(key))[..40])
}

fn tagged(repo: &Reference, key: &str) -> Reference {
    Reference {
        tag: Some(tag_for(key)),
        digest: None,
        ..repo.clone()
    }
}

/// The entry stored under `key`, or `None` (said as a warning unless the
/// entry simply does not exist yet).
pub fn lookup(client: &Client, repo: &Reference, key: &str, ui: &Reporter) -> Option<Entry> {
    let at = tagged(repo, key);
    let manifest = match client.get_manifest(&at) {
        Ok(m) => m,
        Err(RegistryError::Status { status: 404, .. }) => {
            ui.debug(format!("--cache-repo: no entry {at} yet"));
            return None;
        }
        Err(e) => {
            ui.warn(format!(
                "warning: --cache-repo {repo}: cannot read {at}, building without it: {}",
                crate::error::chain(&e)
            ));
            return None;
        }
    };
    let read = || -> Result<Entry, String> {
        let m: serde_json::Value =
            serde_json::from_slice(&manifest.bytes).map_err(|e| e.to_string())?;
        if m["artifactType"] != ARTIFACT_TYPE {
            return Err(format!(
                "not a pyko entry (artifactType {})",
                m["artifactType"]
            ));
        }
        let digest: Digest = serde_json::from_value(m["config"]["digest"].clone())
            .map_err(|e| format!("config digest: {e}"))?;
        let bytes = client
            .get_blob_bytes(&repo.registry, &repo.repository, &digest, MAX_ENTRY_BYTES)
            .map_err(|e| crate::error::chain(&e))?;
        let entry: Entry = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if entry.key != key {
            return Err("its key is another build's".into());
        }
        Ok(entry)
    };
    match read() {
        Ok(entry) => Some(entry),
        Err(why) => {
            ui.warn(format!(
                "warning: --cache-repo {repo}: entry {at} unusable, building without it: {why}"
            ));
            None
        }
    }
}

/// A layer just written: its descriptor, history line and blob file.
pub type Written<'a> = (&'a Layer, &'a str, &'a Path);

/// Makes sure every layer blob is in `repo` (HEAD, else upload the local
/// file) and stores the entry for `key` (`what` names it in messages).
/// Returns whether it did.
pub fn store(
    client: &Client,
    repo: &Reference,
    key: &str,
    (layers, value): (&[Written], Option<serde_json::Value>),
    what: &str,
    cache: &Cache,
    ui: &Reporter,
) -> bool {
    match try_store(client, repo, key, layers, value, cache) {
        Ok(()) => {
            ui.info(format!(
                "--cache-repo: stored {what} as {}",
                tagged(repo, key)
            ));
            true
        }
        Err(e) => {
            ui.warn(format!(
                "warning: --cache-repo {repo}: cannot store {what} (the build goes on): {}",
                crate::error::chain(&e)
            ));
            false
        }
    }
}

fn try_store(
    client: &Client,
    repo: &Reference,
    key: &str,
    layers: &[Written],
    value: Option<serde_json::Value>,
    cache: &Cache,
) -> Result<(), RegistryError> {
    for (layer, _, path) in layers {
        if !client.blob_exists(repo, &layer.digest)? {
            client.upload_blob(repo, &layer.digest, layer.size, path)?;
        }
    }
    let entry = serde_json::to_vec(&Entry {
        key: key.to_string(),
        layers: layers
            .iter()
            .map(|(l, h, _)| ((*l).clone(), h.to_string()))
            .collect(),
        value,
    })
    .expect("entry serializes");
    let config = Digest::of_bytes(&entry);
    if !client.blob_exists(repo, &config)? {
        let (_, path) = cache.put_bytes(&entry)?;
        client.upload_blob(repo, &config, entry.len() as u64, &path)?;
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_types::OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": ARTIFACT_TYPE, "digest": config, "size": entry.len()},
        "layers": layers.iter().map(|(l, _, _)| serde_json::json!({
            "mediaType": l.media_type, "digest": l.digest, "size": l.size,
        })).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
    client.put_manifest(repo, &tag_for(key), &bytes, media_types::OCI_MANIFEST)?;
    Ok(())
}
