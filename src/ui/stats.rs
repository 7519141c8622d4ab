//! The counts behind the final summary line and `--json`.

use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub bytes_downloaded: u64,
    pub bytes_uploaded: u64,
    /// Blobs (layers and configs) sent to a registry.
    pub blobs_uploaded: u64,
    /// Blobs a registry already had or mounted from another repository.
    pub blobs_reused: u64,
    /// Layers written by this build (not taken from the cache).
    pub layers_built: u64,
    /// Layers taken from the cache instead of written again.
    pub layers_cached: u64,
    pub cache_hits: Vec<String>,
    pub warnings: Vec<String>,
    /// Every byte stream that finished, in the order they finished.
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub kind: &'static str,
    pub what: String,
    pub bytes: u64,
    pub seconds: f64,
}
