//! OCI image layout directories (`oci:DIR:TAG` for skopeo, umoci, crane).
//!
//! The layout is assembled in a temporary directory beside the destination
//! and renamed into place last, so a failed build never leaves a layout that
//! looks complete but is not.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::oci::{
    Blob, BlobSource, Descriptor, Digest, Image, ImageSet, IndexJson, REF_NAME_ANNOTATION,
};

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
    #[error("{path}")]
    Io { path: PathBuf, source: io::Error },
    /// Outputs are written aside in the destination's directory, then
    /// renamed; the user named the destination, so that is what is said.
    #[error("cannot create {} in {}", dest.display(), dir.display())]
    Create {
        dest: PathBuf,
        dir: PathBuf,
        source: io::Error,
    },
    /// From `fs_err`, whose message names the path and the cause.
    #[error(transparent)]
    Fs(#[from] io::Error),
    #[error("{path} exists and is not an OCI image layout; choose another directory or remove it")]
    NotALayout { path: PathBuf },
    #[error("image tag {tag:?} is invalid: {reason}")]
    Tag { tag: String, reason: String },
    #[error("nothing to write: no images given")]
    NoImages,
}

/// For I/O that `fs_err` does not wrap (temporary files, stdout, the tar
/// stream): names the path, the cause stays the source.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// For the temporary file or directory an output is written into: the
/// error names `dest`, and tempfile's "at path <random name>" suffix, which
/// names a file the user never asked for, is dropped.
pub(crate) fn create_err<'a>(
    dest: &'a Path,
    dir: &'a Path,
) -> impl FnOnce(io::Error) -> OutputError + 'a {
    move |e| {
        // tempfile's own error type is private: only its text says where
        // the cause ends.
        let text = e.to_string();
        let cause = match text.rsplit_once(" at path ") {
            Some((cause, _)) => io::Error::new(e.kind(), cause.to_string()),
            None => e,
        };
        OutputError::Create {
            dest: dest.to_path_buf(),
            dir: dir.to_path_buf(),
            source: cause,
        }
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

/// Config, manifest and layer blobs of `images`, and `index` if given,
/// de-duplicated and sorted by digest so the output does not depend on
/// layer order.
pub(crate) fn collect_blobs<'a>(
    images: impl IntoIterator<Item = &'a Image>,
    index: Option<&Blob>,
) -> Result<Vec<OutBlob>, OutputError> {
    let mut blobs: BTreeMap<Digest, OutBlob> = BTreeMap::new();
    let add = |blobs: &mut BTreeMap<Digest, OutBlob>, b: Blob| {
        blobs.entry(b.digest.clone()).or_insert(OutBlob {
            digest: b.digest,
            size: b.bytes.len() as u64,
            data: BlobData::Bytes(b.bytes),
        });
    };
    for image in images {
        add(&mut blobs, image.config_blob());
        add(&mut blobs, image.manifest_blob());
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
            let actual = fs::metadata(&path)?.len();
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
    if let Some(index) = index {
        add(&mut blobs, index.clone());
    }
    Ok(blobs.into_values().collect())
}

/// Writes an OCI image layout at `dir` holding `images`, each tagged with its
/// `org.opencontainers.image.ref.name` when a name is given. An existing
/// layout at `dir` is added to, as skopeo does (see `layout_merge`).
pub fn write_layout(dir: &Path, images: &[(Image, Option<String>)]) -> Result<(), OutputError> {
    if images.is_empty() {
        return Err(OutputError::NoImages);
    }
    let blobs = collect_blobs(images.iter().map(|(i, _)| i), None)?;
    let manifests = images
        .iter()
        .map(|(img, name)| named(img.descriptor(), name.as_deref()))
        .collect();
    write_parts(dir, blobs, manifests)
}

/// Writes a layout whose `index.json` names `set`'s top manifest, tagged
/// `name`: one image's manifest, or the index over several platforms' (the
/// shape `skopeo copy --all` and `docker save` of a multi-platform image
/// produce).
pub fn write_set(dir: &Path, set: &ImageSet, name: Option<&str>) -> Result<(), OutputError> {
    let blobs = collect_blobs(set.images(), set.index_blob())?;
    write_parts(dir, blobs, vec![named(set.top_descriptor(), name)])
}

fn named(d: Descriptor, name: Option<&str>) -> Descriptor {
    match name {
        Some(n) => d.with_annotation(REF_NAME_ANNOTATION, n),
        None => d,
    }
}

fn write_parts(
    dir: &Path,
    blobs: Vec<OutBlob>,
    manifests: Vec<Descriptor>,
) -> Result<(), OutputError> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
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
        Err(e) => return Err(e.into()),
    };
    if replace && dir.join("oci-layout").is_file() {
        return super::layout_merge::merge(dir, &blobs, manifests);
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "layout".into());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.pyko-"))
        .tempdir_in(&parent)
        .map_err(create_err(dir, &parent))?;
    let _pending = crate::interrupt::pending(tmp.path());
    let blob_dir = tmp.path().join("blobs").join("sha256");
    fs::create_dir_all(&blob_dir)?;
    for b in &blobs {
        let to = blob_dir.join(b.digest.hex());
        match &b.data {
            BlobData::Bytes(bytes) => fs::write(&to, bytes)?,
            // Blobs are immutable and content-addressed: sharing the cache's
            // inode costs no space and no time.
            BlobData::File(from) => {
                if fs::hard_link(from, &to).is_err() {
                    fs::copy(from, &to)?;
                }
            }
        }
    }
    let index = tmp.path().join("index.json");
    let index_json = serde_json::to_vec(&IndexJson::new(manifests)).expect("an index serializes");
    fs::write(&index, index_json)?;
    let layout = tmp.path().join("oci-layout");
    fs::write(&layout, OCI_LAYOUT_FILE)?;

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
        OutputError::Fs(e)
    })
}
