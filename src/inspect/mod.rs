//! `pyko inspect SOURCE`: what an image holds, from a registry or from
//! disk, read with the same code that reads a build's base (so anything
//! pyko can build on, it can inspect). For pyko's own layers (named by
//! their history line) the layer is read to say which distributions and
//! app files it holds.

pub mod contents;
mod render;

use std::path::PathBuf;

use serde::Serialize;

use crate::base::{self, disk::DiskBase, BaseError};
use crate::cache::{Cache, CacheError};
use crate::oci::{IndexJson, Platform, Reference};
use crate::registry::{Client, ClientOptions, RegistryError};
pub use contents::Holds;
pub use render::text;

pub struct InspectRequest {
    pub source: String,
    pub platform: Option<Platform>,
    pub insecure: Vec<String>,
    pub ca_certs: Vec<PathBuf>,
}

/// Versioned like the build report: a consumer checks `schema` first.
pub const SCHEMA: &str = "pyko.inspect/v1";

#[derive(Debug, Serialize)]
pub struct Inspection {
    pub schema: &'static str,
    pub source: String,
    pub platform: String,
    /// Every platform of the index the image came from (just `platform`
    /// for a single-platform image).
    pub platforms: Vec<String>,
    pub manifest_digest: String,
    pub index_digest: Option<String>,
    pub base: Option<BaseInfo>,
    pub config: ConfigSummary,
    pub layers: Vec<LayerInfo>,
    /// Compressed, as pulled.
    pub total_size: u64,
}

#[derive(Debug, Serialize)]
pub struct BaseInfo {
    pub name: Option<String>,
    pub digest: String,
}

#[derive(Debug, Default, Serialize)]
pub struct ConfigSummary {
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub exposed_ports: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub labels: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct LayerInfo {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    pub created_by: Option<String>,
    pub holds: Option<Holds>,
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(
        "{0:?} is not an image reference or oci-layout:/oci-archive:/docker-archive: path: {1}"
    )]
    Source(String, String),
    #[error(transparent)]
    Base(#[from] BaseError),
    #[error(transparent)]
    Disk(#[from] base::disk::DiskError),
    #[error(transparent)]
    Registry(Box<RegistryError>),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("reading layer {digest} of {source_name}")]
    Layer {
        digest: String,
        source_name: String,
        source: std::io::Error,
    },
}

impl From<RegistryError> for InspectError {
    fn from(e: RegistryError) -> Self {
        InspectError::Registry(Box::new(e))
    }
}

pub fn inspect(req: &InspectRequest, cache: &Cache) -> Result<Inspection, InspectError> {
    let client = Client::new(ClientOptions {
        insecure_registries: req.insecure.clone(),
        ca_certs: req.ca_certs.clone(),
        ..Default::default()
    })?;
    let platform = req.platform.clone().unwrap_or_else(base::default_platform);
    let (image, platforms) = match DiskBase::parse(&req.source) {
        Some(disk) => {
            let disk = disk.map_err(|e| InspectError::Source(req.source.clone(), e))?;
            let image = base::disk::resolve(&disk, &platform, cache)?;
            (image, Vec::new())
        }
        None => {
            let r: Reference = req
                .source
                .parse()
                .map_err(|e| InspectError::Source(req.source.clone(), format!("{e}")))?;
            let platforms = index_platforms(&client, &r)?;
            (base::resolve(&client, &r, &platform, cache)?, platforms)
        }
    };
    let mut layers = Vec::new();
    let history = layer_history(&image.image.config);
    for (i, l) in image.image.layers.iter().enumerate() {
        let created_by = history.get(i).cloned().flatten();
        let holds = match created_by.as_deref().and_then(contents::kind) {
            Some(kind) => {
                let path = client.materialize(l, cache)?;
                Some(
                    contents::read(&path, &kind).map_err(|source| InspectError::Layer {
                        digest: l.layer.digest.to_string(),
                        source_name: req.source.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        layers.push(LayerInfo {
            digest: l.layer.digest.to_string(),
            size: l.layer.size,
            media_type: l.layer.media_type.clone(),
            created_by,
            holds,
        });
    }
    let got = image.image.platform().to_string();
    let a = &image.image.annotations;
    let base = a
        .get("org.opencontainers.image.base.digest")
        .map(|d| BaseInfo {
            name: a.get("org.opencontainers.image.base.name").cloned(),
            digest: d.clone(),
        });
    Ok(Inspection {
        schema: SCHEMA,
        source: req.source.clone(),
        platforms: if platforms.is_empty() {
            vec![got.clone()]
        } else {
            platforms
        },
        platform: got,
        manifest_digest: image.manifest_digest.to_string(),
        index_digest: image.index_digest.map(|d| d.to_string()),
        base,
        config: summary(&image.image.config),
        total_size: layers.iter().map(|l| l.size).sum(),
        layers,
    })
}

/// The platforms of `r` if it names an index (attestations left out).
fn index_platforms(client: &Client, r: &Reference) -> Result<Vec<String>, InspectError> {
    let top = client.get_manifest(r)?;
    if !top.is_index() {
        return Ok(Vec::new());
    }
    let index: IndexJson = serde_json::from_slice(&top.bytes).unwrap_or(IndexJson::new(vec![]));
    Ok(index
        .manifests
        .into_iter()
        .filter_map(|d| d.platform)
        .filter(|p| p.os != "unknown")
        .map(|p| p.to_string())
        .collect())
}

/// `created_by` of each layer, in layer order (empty-layer entries skipped).
fn layer_history(config: &serde_json::Value) -> Vec<Option<String>> {
    let Some(h) = config.get("history").and_then(|h| h.as_array()) else {
        return Vec::new();
    };
    h.iter()
        .filter(|e| {
            !e.get("empty_layer")
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
        })
        .map(|e| {
            e.get("created_by")
                .or_else(|| e.get("comment"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect()
}

fn summary(config: &serde_json::Value) -> ConfigSummary {
    let c = config.get("config").cloned().unwrap_or_default();
    let strings = |k: &str| -> Option<Vec<String>> {
        c.get(k)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    };
    let text = |k: &str| {
        c.get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    ConfigSummary {
        cmd: strings("Cmd"),
        entrypoint: strings("Entrypoint"),
        env: strings("Env").unwrap_or_default(),
        exposed_ports: c
            .get("ExposedPorts")
            .and_then(|v| v.as_object())
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
        user: text("User"),
        workdir: text("WorkingDir"),
        labels: c
            .get("Labels")
            .and_then(|v| v.as_object())
            .cloned()
            .unwrap_or_default(),
    }
}
