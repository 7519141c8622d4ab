//! OCI image layout directories (`oci:DIR:TAG` for skopeo, umoci, crane).
//!
//! The layout is assembled in a temporary directory beside the destination
//! and renamed into place last, so a failed build never leaves a layout that
//! looks complete but is not.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::oci::digest::Digest;
use crate::oci::media_types;
use crate::oci::{BlobSource, Image};

pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
pub const OCI_LAYOUT_FILE: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("layer {digest} is still in registry {registry}/{repository}; download it into the cache before writing a local image")]
    NotMaterialized {
        digest: Digest,
        registry: String,
        repository: String,
    },
    #[error("layer {digest}: {path} is {actual} bytes, the manifest says {expected}; the cached blob is damaged — clear it from the cache and rebuild")]
    BlobSize {
        digest: Digest,
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} exists and is not an OCI image layout; choose another directory or remove it")]
    NotALayout { path: PathBuf },
    #[error("image tag {tag:?} is invalid: {reason}")]
    Tag { tag: String, reason: String },
    #[error("nothing to write: no images given")]
    NoImages,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where one blob's bytes come from when writing an output.
pub(crate) enum BlobData {
    Bytes(Vec<u8>),
    File(PathBuf),
}

pub(crate) struct OutBlob {
    pub digest: Digest,
    pub size: u64,
    pub data: BlobData,
}

/// Config, manifest and layer blobs of `images`, de-duplicated and sorted by
/// digest so the output does not depend on layer order.
pub(crate) fn collect_blobs<'a>(
    images: impl IntoIterator<Item = &'a Image>,
) -> Result<Vec<OutBlob>, OutputError> {
    let mut blobs: std::collections::BTreeMap<Digest, OutBlob> = Default::default();
    for image in images {
        for b in [image.config_blob(), image.manifest_blob()] {
            blobs.entry(b.digest.clone()).or_insert(OutBlob {
                digest: b.digest,
                size: b.bytes.len() as u64,
                data: BlobData::Bytes(b.bytes),
            });
        }
        for l in &image.layers {
            let path = match &l.source {
                BlobSource::File(p) => p.clone(),
                BlobSource::Registry {
                    registry,
                    repository,
                } => {
                    return Err(OutputError::NotMaterialized {
                        digest: l.layer.digest.clone(),
                        registry: registry.clone(),
                        repository: repository.clone(),
                    })
                }
            };
            let actual = fs::metadata(&path).map_err(io_err(&path))?.len();
            if actual != l.layer.size {
                return Err(OutputError::BlobSize {
                    digest: l.layer.digest.clone(),
                    path,
                    expected: l.layer.size,
                    actual,
                });
            }
            blobs.entry(l.layer.digest.clone()).or_insert(OutBlob {
                digest: l.layer.digest.clone(),
                size: l.layer.size,
                data: BlobData::File(path),
            });
        }
    }
    Ok(blobs.into_values().collect())
}

/// An index descriptor for `image`'s manifest.
pub(crate) fn manifest_descriptor(image: &Image, annotations: &[(&str, &str)]) -> Value {
    let m = image.manifest_blob();
    let p = image.platform();
    let mut platform = json!({"architecture": p.architecture, "os": p.os});
    if let Some(v) = p.variant {
        platform["variant"] = json!(v);
    }
    let mut d = json!({
        "mediaType": media_types::OCI_MANIFEST,
        "digest": m.digest.as_str(),
        "size": m.bytes.len(),
        "platform": platform,
    });
    if !annotations.is_empty() {
        let map: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        d["annotations"] = Value::Object(map);
    }
    d
}

/// An `index.json` entry naming an OCI index blob.
pub(crate) fn index_descriptor(
    digest: &Digest,
    size: usize,
    annotations: &[(&str, &str)],
) -> Value {
    let mut d = json!({
        "mediaType": media_types::OCI_INDEX,
        "digest": digest.as_str(),
        "size": size,
    });
    if !annotations.is_empty() {
        let map: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        d["annotations"] = Value::Object(map);
    }
    d
}

pub(crate) fn index_json(manifests: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media_types::OCI_INDEX,
        "manifests": manifests,
    }))
    .expect("a JSON value serializes")
}

/// Writes an OCI image layout at `dir` holding `images`, each tagged with its
/// `org.opencontainers.image.ref.name` when a name is given. An existing
/// layout at `dir` is replaced as a whole.
pub fn write_layout(dir: &Path, images: &[(Image, Option<String>)]) -> Result<(), OutputError> {
    if images.is_empty() {
        return Err(OutputError::NoImages);
    }
    let blobs = collect_blobs(images.iter().map(|(i, _)| i))?;
    let manifests = images
        .iter()
        .map(|(img, name)| match name {
            Some(n) => manifest_descriptor(img, &[(REF_NAME_ANNOTATION, n)]),
            None => manifest_descriptor(img, &[]),
        })
        .collect();
    write_parts(dir, blobs, manifests)
}

/// Writes a layout whose `index.json` names one OCI index (`index`, the
/// blob over `images`, one per platform), tagged `name`: the shape
/// `skopeo copy --all` and `docker save` of a multi-platform image produce.
pub fn write_layout_index(
    dir: &Path,
    images: &[Image],
    index: &[u8],
    name: Option<&str>,
) -> Result<(), OutputError> {
    if images.is_empty() {
        return Err(OutputError::NoImages);
    }
    let mut blobs = collect_blobs(images)?;
    let digest = Digest::of_bytes(index);
    let d = match name {
        Some(n) => index_descriptor(&digest, index.len(), &[(REF_NAME_ANNOTATION, n)]),
        None => index_descriptor(&digest, index.len(), &[]),
    };
    blobs.push(OutBlob {
        digest,
        size: index.len() as u64,
        data: BlobData::Bytes(index.to_vec()),
    });
    write_parts(dir, blobs, vec![d])
}

fn write_parts(dir: &Path, blobs: Vec<OutBlob>, manifests: Vec<Value>) -> Result<(), OutputError> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let replace = match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() && !dir.join("oci-layout").is_file() {
                return Err(OutputError::NotALayout {
                    path: dir.to_path_buf(),
                });
            }
            true
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(_) if dir.exists() => {
            return Err(OutputError::NotALayout {
                path: dir.to_path_buf(),
            })
        }
        Err(e) => return Err(io_err(dir)(e)),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "layout".into());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.pyko-"))
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;
    let blob_dir = tmp.path().join("blobs").join("sha256");
    fs::create_dir_all(&blob_dir).map_err(io_err(&blob_dir))?;
    for b in &blobs {
        let to = blob_dir.join(b.digest.hex());
        match &b.data {
            BlobData::Bytes(bytes) => fs::write(&to, bytes).map_err(io_err(&to))?,
            // Blobs are immutable and content-addressed: sharing the cache's
            // inode costs no space and no time.
            BlobData::File(from) => {
                if fs::hard_link(from, &to).is_err() {
                    fs::copy(from, &to).map_err(io_err(from))?;
                }
            }
        }
    }
    let index = tmp.path().join("index.json");
    fs::write(&index, index_json(manifests)).map_err(io_err(&index))?;
    let layout = tmp.path().join("oci-layout");
    fs::write(&layout, OCI_LAYOUT_FILE).map_err(io_err(&layout))?;

    let tmp = tmp.keep();
    let result = if replace {
        let old = parent.join(format!(".{name}.pyko-old-{}", std::process::id()));
        fs::rename(dir, &old)
            .and_then(|()| {
                fs::rename(&tmp, dir).inspect_err(|_| {
                    let _ = fs::rename(&old, dir);
                })
            })
            .map(|()| {
                let _ = fs::remove_dir_all(&old);
            })
    } else {
        fs::rename(&tmp, dir)
    };
    result.map_err(|e| {
        let _ = fs::remove_dir_all(&tmp);
        io_err(dir)(e)
    })
}
