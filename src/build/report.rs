//! `pyko build --json`: one document describing what was built, for CI
//! steps and scripts (schema and its version: docs/json-schema.md).

use serde::Serialize;

use crate::inspect::contents::{self, Holds};
use crate::oci::{BlobSource, ImageSet};
use crate::ui::{Reporter, Stats};

/// Bumped on any change a consumer could trip on (a field removed or its
/// meaning changed); fields may be added within a version.
pub const SCHEMA: &str = "pyko.build/v1";

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub pyko_version: &'static str,
    /// The top manifest: the image's own, or the index over the platforms.
    pub digest: String,
    pub media_type: String,
    /// `REF@DIGEST` per `--push`.
    pub pushed: Vec<String>,
    pub images: Vec<ImageReport>,
    pub cache_hits: Vec<String>,
    pub warnings: Vec<String>,
    pub stats: StatsReport,
    pub timings: Timings,
}

#[derive(Debug, Serialize)]
pub struct ImageReport {
    pub platform: String,
    pub manifest_digest: String,
    pub config_digest: String,
    /// Compressed bytes of every layer.
    pub size: u64,
    pub layers: Vec<LayerReport>,
}

#[derive(Debug, Serialize)]
pub struct LayerReport {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    /// `base`, `deps` or `app`.
    pub role: &'static str,
    pub holds: Option<Holds>,
}

#[derive(Debug, Serialize)]
pub struct StatsReport {
    pub layers_built: u64,
    pub layers_cached: u64,
    pub blobs_uploaded: u64,
    pub blobs_reused: u64,
    pub bytes_uploaded: u64,
    pub bytes_downloaded: u64,
}

#[derive(Debug, Serialize)]
pub struct Timings {
    pub total_seconds: f64,
    pub steps: Vec<crate::ui::Step>,
}

/// `contents`: read each pyko layer back for what it holds (`--json`).
pub fn report(set: &ImageSet, pushed: &[String], contents: bool, ui: &Reporter) -> Report {
    let top = set.top();
    let images = set.images().iter().map(|i| image(i, contents)).collect();
    let s: Stats = ui.stats();
    Report {
        schema: SCHEMA,
        pyko_version: crate::inputs::cli_docs::VERSION,
        digest: top.digest.to_string(),
        media_type: top.media_type,
        pushed: pushed.to_vec(),
        images,
        cache_hits: s.cache_hits,
        warnings: s.warnings,
        stats: StatsReport {
            layers_built: s.layers_built,
            layers_cached: s.layers_cached,
            blobs_uploaded: s.blobs_uploaded,
            blobs_reused: s.blobs_reused,
            bytes_uploaded: s.bytes_uploaded,
            bytes_downloaded: s.bytes_downloaded,
        },
        timings: Timings {
            total_seconds: ui.elapsed().as_secs_f64(),
            steps: s.steps,
        },
    }
}

/// pyko's layers are the local ones, after the base's; each is read back
/// for what it holds, as `pyko inspect` would.
fn image(image: &crate::oci::Image, read: bool) -> ImageReport {
    let history: Vec<String> = image
        .config
        .get("history")
        .and_then(|h| h.as_array())
        .into_iter()
        .flatten()
        .filter(|e| {
            !e.get("empty_layer")
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
        })
        .map(|e| {
            let by = e.get("created_by").or_else(|| e.get("comment"));
            by.and_then(|v| v.as_str()).unwrap_or_default().to_string()
        })
        .collect();
    let layers = image
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let kind = history.get(i).and_then(|h| contents::kind(h));
            let holds = match (&kind, &l.source) {
                (Some(k), BlobSource::File(p)) if read => contents::read(p, k).ok(),
                _ => None,
            };
            LayerReport {
                digest: l.layer.digest.to_string(),
                size: l.layer.size,
                media_type: l.layer.media_type.clone(),
                role: match kind {
                    Some(contents::PykoLayer::Deps) => "deps",
                    Some(contents::PykoLayer::App { .. }) => "app",
                    None => "base",
                },
                holds,
            }
        })
        .collect::<Vec<_>>();
    ImageReport {
        platform: image.platform().to_string(),
        manifest_digest: image.manifest_blob().digest.to_string(),
        config_digest: image.config_blob().digest.to_string(),
        size: layers.iter().map(|l| l.size).sum(),
        layers,
    }
}

impl Report {
    /// The summary line: what was built, its size, what moved, how long.
    pub fn summary_line(&self) -> String {
        let s = &self.stats;
        let size: u64 = self.images.iter().map(|i| i.size).max().unwrap_or(0);
        let layers: usize = self
            .images
            .iter()
            .map(|i| i.layers.len())
            .max()
            .unwrap_or(0);
        let platforms: Vec<&str> = self.images.iter().map(|i| i.platform.as_str()).collect();
        format!(
            "built {} for {} ({}, {layers} layers): layers {} built, {} from cache; blobs {} uploaded ({}), {} already there; {:.1}s",
            short(&self.digest),
            platforms.join(", "),
            crate::ui::size(size),
            s.layers_built,
            s.layers_cached,
            s.blobs_uploaded,
            crate::ui::size(s.bytes_uploaded),
            s.blobs_reused,
            self.timings.total_seconds
        )
    }
}

fn short(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}
