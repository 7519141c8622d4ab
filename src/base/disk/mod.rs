//! Base images from disk, for air-gapped CI: an OCI image layout directory
//! (`oci-layout:DIR[:tag]`), an OCI layout in a tar (`oci-archive:FILE[:tag]`)
//! or a `docker save` tarball (`docker-archive:FILE[:name:tag]`, both the
//! classic form and Docker 25's OCI-in-archive form). The result is the same
//! `BaseImage` a registry base gives, with every layer a verified file in the
//! blob cache, so the rest of the pipeline cannot tell the difference.
//!
//! Every blob is checked against its digest on the way into the cache; a
//! layout that lies about its contents fails here, naming the file.
//!
//! Uncompressed layers of a classic docker-archive are kept uncompressed,
//! with the OCI `…layer.v1.tar` media type (digest = diff_id): recompressing
//! would make up a blob that exists nowhere else, and every reader and
//! registry accepts tar layers.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::base::{self, BaseError, BaseImage, Descriptor, IndexJson, ManifestJson};
use crate::cache::{Cache, CacheError};
use crate::oci::digest::{Digest, HashingWriter};
use crate::oci::media_types;
use crate::oci::Layer;
use crate::oci::{BlobSource, Image, ImageLayer, Platform};

/// The OCI media type of an uncompressed layer.

const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFormat {
    OciLayout,
    OciArchive,
    DockerArchive,
}

/// A base image on disk, as `--from` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskBase {
    pub format: DiskFormat,
    pub path: PathBuf,
    /// Which image of several: a `ref.name` annotation (OCI) or a `RepoTags`
    /// entry (Docker). `None` takes the only one.
    pub tag: Option<String>,
}

impl DiskFormat {
    fn prefix(self) -> &'static str {
        match self {
            DiskFormat::OciLayout => "oci-layout",
            DiskFormat::OciArchive => "oci-archive",
            DiskFormat::DockerArchive => "docker-archive",
        }
    }
}

impl DiskBase {
    /// `Some` when `s` names a base on disk (transport prefix as skopeo
    /// spells it; `oci:` is accepted for `oci-layout:`), `None` for a
    /// registry reference. The tag follows the path's last `:`, when the
    /// whole string is not itself an existing path.
    pub fn parse(s: &str) -> Option<Result<DiskBase, String>> {
        let (format, rest) = [
            ("oci-layout:", DiskFormat::OciLayout),
            ("oci:", DiskFormat::OciLayout),
            ("oci-archive:", DiskFormat::OciArchive),
            ("docker-archive:", DiskFormat::DockerArchive),
        ]
        .into_iter()
        .find_map(|(p, f)| s.strip_prefix(p).map(|r| (f, r)))?;
        if rest.is_empty() {
            return Some(Err(format!(
                "{s:?}: missing path; write {}:PATH[:tag]",
                format.prefix()
            )));
        }
        let (path, tag) = match rest.split_once(':') {
            _ if Path::new(rest).exists() => (rest, None),
            Some((p, t))
                if (!t.is_empty() && !t.contains('/')) || format == DiskFormat::DockerArchive =>
            {
                (p, Some(t.to_string()))
            }
            _ => (rest, None),
        };
        Some(Ok(DiskBase {
            format,
            path: PathBuf::from(path),
            tag: tag.filter(|t| !t.is_empty()),
        }))
    }
}

impl fmt::Display for DiskBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.format.prefix(), self.path.display())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("base {base}: {path}: {source}")]
    Io {
        base: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("base {base}: {detail}")]
    Invalid { base: String, detail: String },
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Base(#[from] BaseError),
}

/// Where the blobs of a layout are: a directory, or files of an archive
/// already hashed into the cache (`blobs/sha256/…` path → digest).
enum Blobs {
    Dir(PathBuf),
    Archive(HashMap<String, (Digest, u64)>),
}

struct Reader<'a> {
    base: &'a DiskBase,
    cache: &'a Cache,
    blobs: Blobs,
}

pub fn resolve(
    disk: &DiskBase,
    platform: &Platform,
    cache: &Cache,
) -> Result<BaseImage, DiskError> {
    let blobs = match disk.format {
        DiskFormat::OciLayout => Blobs::Dir(disk.path.clone()),
        DiskFormat::OciArchive | DiskFormat::DockerArchive => {
            Blobs::Archive(unpack_archive(disk, cache)?)
        }
    };
    let r = Reader {
        base: disk,
        cache,
        blobs,
    };
    let docker = disk.format == DiskFormat::DockerArchive && !r.has("index.json");
    if docker {
        r.docker_image(platform)
    } else if disk.format == DiskFormat::DockerArchive && r.has("manifest.json") {
        // Docker 25 writes both; its manifest.json names the image by tag.
        match r.docker_image(platform) {
            Ok(b) => Ok(b),
            Err(_) => r.oci_image(platform),
        }
    } else {
        r.oci_image(platform)
    }
}

/// Streams every regular file of the archive into the cache under the
/// digest of its bytes (computed while copying), so nothing is read twice
/// and nothing needs the archive's member order.
fn unpack_archive(
    disk: &DiskBase,
    cache: &Cache,
) -> Result<HashMap<String, (Digest, u64)>, DiskError> {
    let io_err = |source| DiskError::Io {
        base: disk.to_string(),
        path: disk.path.clone(),
        source,
    };
    let file = std::fs::File::open(&disk.path).map_err(io_err)?;
    let mut ar = tar::Archive::new(BufReader::with_capacity(1 << 20, file));
    let mut files = HashMap::new();
    for entry in ar.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map_err(io_err)?.to_string_lossy().into_owned();
        let name = name.trim_start_matches("./").to_string();
        let tmp = cache.temp_file()?;
        let mut w = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, tmp));
        io::copy(&mut entry, &mut w).map_err(io_err)?;
        let (buf, digest, size) = w.finish();
        let tmp = buf.into_inner().map_err(|e| io_err(e.into_error()))?;
        cache.persist(tmp, &digest)?;
        files.insert(name, (digest, size));
    }
    Ok(files)
}

impl Reader<'_> {
    fn invalid(&self, detail: impl Into<String>) -> DiskError {
        DiskError::Invalid {
            base: self.base.to_string(),
            detail: detail.into(),
        }
    }

    fn has(&self, name: &str) -> bool {
        match &self.blobs {
            Blobs::Dir(d) => d.join(name).is_file(),
            Blobs::Archive(m) => m.contains_key(name),
        }
    }

    /// A named file of the layout or archive (index.json, manifest.json, a
    /// Docker config or layer path), as (cache path, digest, size).
    fn file(&self, name: &str) -> Result<(PathBuf, Digest, u64), DiskError> {
        match &self.blobs {
            Blobs::Dir(d) => {
                let path = d.join(name);
                let f = std::fs::File::open(&path).map_err(|source| DiskError::Io {
                    base: self.base.to_string(),
                    path: path.clone(),
                    source,
                })?;
                let mut w = HashingWriter::new(io::sink());
                io::copy(&mut BufReader::new(f), &mut w).map_err(|source| DiskError::Io {
                    base: self.base.to_string(),
                    path: path.clone(),
                    source,
                })?;
                let (_, digest, size) = w.finish();
                Ok((path, digest, size))
            }
            Blobs::Archive(m) => {
                let (digest, size) = m
                    .get(name)
                    .ok_or_else(|| self.invalid(format!("the archive has no {name}")))?;
                Ok((self.cache.blob_path(digest), digest.clone(), *size))
            }
        }
    }

    /// A blob by digest, verified, as a file in the cache.
    fn blob(&self, digest: &Digest) -> Result<(PathBuf, u64), DiskError> {
        let name = format!("blobs/sha256/{}", digest.hex());
        if let Some(p) = self.cache.get(digest, None) {
            if let Blobs::Archive(m) = &self.blobs {
                // Hashed on the way in: the name must match the content.
                if let Some((actual, size)) = m.get(&name) {
                    if actual != digest {
                        return Err(self.invalid(format!(
                            "{name} holds content with digest {actual}; the archive is corrupt"
                        )));
                    }
                    return Ok((p, *size));
                }
            }
        }
        match &self.blobs {
            Blobs::Dir(d) => {
                let path = d.join(&name);
                let f = std::fs::File::open(&path).map_err(|source| DiskError::Io {
                    base: self.base.to_string(),
                    path: path.clone(),
                    source,
                })?;
                let p = self
                    .cache
                    .put_verified(digest, f, &path.display().to_string())?;
                let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                Ok((p, size))
            }
            Blobs::Archive(m) => match m.get(&name) {
                Some((actual, _)) => Err(self.invalid(format!(
                    "{name} holds content with digest {actual}; the archive is corrupt"
                ))),
                None => Err(self.invalid(format!("the archive has no blob {digest}"))),
            },
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        path: &Path,
        what: &str,
    ) -> Result<T, DiskError> {
        let bytes = std::fs::read(path).map_err(|source| DiskError::Io {
            base: self.base.to_string(),
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| self.invalid(format!("{what}: {e}")))
    }

    fn oci_image(&self, platform: &Platform) -> Result<BaseImage, DiskError> {
        let (index_path, _, _) = self.file("index.json")?;
        let index: IndexJson = self.json(&index_path, "index.json")?;
        let top = match &self.base.tag {
            Some(t) => index
                .manifests
                .iter()
                .find(|d| d.annotations.get(REF_NAME).is_some_and(|n| n == t))
                .ok_or_else(|| {
                    self.invalid(format!(
                        "no image tagged {t:?}; it has: {}",
                        names(&index.manifests)
                    ))
                })?,
            None if index.manifests.len() == 1 => &index.manifests[0],
            None => {
                return Err(self.invalid(format!(
                    "holds {} images; name one with :TAG (it has: {})",
                    index.manifests.len(),
                    names(&index.manifests)
                )))
            }
        };
        let (mut desc_path, _) = self.blob(&top.digest)?;
        let mut manifest_digest = top.digest.clone();
        let mut index_digest = None;
        if is_index(&top.media_type, &desc_path) {
            let child_index: IndexJson = self.json(&desc_path, "index")?;
            let child = base::pick(&child_index.manifests, platform).ok_or_else(|| {
                BaseError::NoSuchPlatform {
                    reference: self.base.to_string(),
                    wanted: platform.to_string(),
                    available: base::available(&child_index.manifests),
                }
            })?;
            index_digest = Some(top.digest.clone());
            manifest_digest = child.digest.clone();
            desc_path = self.blob(&child.digest)?.0;
        }
        let m: ManifestJson = self.json(&desc_path, "manifest")?;
        let (config_path, _) = self.blob(&m.config.digest)?;
        let config: serde_json::Value = self.json(&config_path, "config")?;
        let diff_ids = diff_ids(&config).map_err(|e| self.invalid(e))?;
        if diff_ids.len() != m.layers.len() {
            return Err(self.invalid(format!(
                "config lists {} diff_ids for {} layers",
                diff_ids.len(),
                m.layers.len()
            )));
        }
        let mut layers = Vec::new();
        for (d, diff_id) in m.layers.into_iter().zip(diff_ids) {
            let (path, _) = self.blob(&d.digest)?;
            layers.push(ImageLayer {
                layer: Layer {
                    digest: d.digest,
                    diff_id,
                    size: d.size,
                    media_type: base::oci_layer_media_type(d.media_type),
                },
                source: BlobSource::File(path),
            });
        }
        self.finish(config, layers, manifest_digest, index_digest, platform)
    }

    fn docker_image(&self, platform: &Platform) -> Result<BaseImage, DiskError> {
        #[derive(serde::Deserialize)]
        struct Entry {
            #[serde(rename = "Config")]
            config: String,
            #[serde(rename = "RepoTags", default)]
            repo_tags: Option<Vec<String>>,
            #[serde(rename = "Layers")]
            layers: Vec<String>,
        }
        let (path, _, _) = self.file("manifest.json")?;
        let entries: Vec<Entry> = self.json(&path, "manifest.json")?;
        let tags = |e: &Entry| e.repo_tags.clone().unwrap_or_default();
        let entry = match &self.base.tag {
            Some(t) => entries
                .iter()
                .find(|e| {
                    tags(e)
                        .iter()
                        .any(|rt| rt == t || rt.ends_with(&format!("/{t}")))
                })
                .ok_or_else(|| {
                    let all: Vec<String> = entries.iter().flat_map(tags).collect();
                    self.invalid(format!("no image tagged {t:?}; it has: {}", all.join(", ")))
                })?,
            None if entries.len() == 1 => &entries[0],
            None => {
                return Err(self.invalid(format!(
                    "holds {} images; name one with :NAME:TAG",
                    entries.len()
                )))
            }
        };
        let (config_path, config_digest, _) = self.file(&entry.config)?;
        let config: serde_json::Value = self.json(&config_path, &entry.config)?;
        let diff_ids = diff_ids(&config).map_err(|e| self.invalid(e))?;
        if diff_ids.len() != entry.layers.len() {
            return Err(self.invalid(format!(
                "config lists {} diff_ids for {} layers",
                diff_ids.len(),
                entry.layers.len()
            )));
        }
        let mut layers = Vec::new();
        for (name, diff_id) in entry.layers.iter().zip(diff_ids) {
            let (path, digest, size) = self.file(name)?;
            let gzip = is_gzip(&path).map_err(|source| DiskError::Io {
                base: self.base.to_string(),
                path: path.clone(),
                source,
            })?;
            if !gzip && digest != diff_id {
                return Err(self.invalid(format!(
                    "layer {name} has digest {digest} but the config says {diff_id}"
                )));
            }
            let path = match &self.blobs {
                // Copy into the cache, so outputs and pushes see a stable file.
                Blobs::Dir(_) => {
                    let f = std::fs::File::open(&path).map_err(|source| DiskError::Io {
                        base: self.base.to_string(),
                        path: path.clone(),
                        source,
                    })?;
                    self.cache.put_verified(&digest, f, name)?
                }
                Blobs::Archive(_) => path,
            };
            layers.push(ImageLayer {
                layer: Layer {
                    digest,
                    diff_id,
                    size,
                    media_type: if gzip {
                        media_types::OCI_LAYER_TAR_GZIP
                    } else {
                        media_types::OCI_LAYER_TAR
                    }
                    .into(),
                },
                source: BlobSource::File(path),
            });
        }
        // No manifest in a classic archive: the config digest stands for
        // the image (it is what `docker images` calls the image ID).
        self.finish(config, layers, config_digest, None, platform)
    }

    fn finish(
        &self,
        config: serde_json::Value,
        layers: Vec<ImageLayer>,
        manifest_digest: Digest,
        index_digest: Option<Digest>,
        platform: &Platform,
    ) -> Result<BaseImage, DiskError> {
        let image = Image {
            config,
            layers,
            annotations: Default::default(),
        };
        let got = image.platform();
        if got.os != platform.os
            || got.architecture != platform.architecture
            || (platform.variant.is_some()
                && got.variant.is_some()
                && got.variant != platform.variant)
        {
            return Err(BaseError::NoSuchPlatform {
                reference: self.base.to_string(),
                wanted: platform.to_string(),
                available: got.to_string(),
            }
            .into());
        }
        Ok(BaseImage {
            name: self.base.to_string(),
            manifest_digest,
            index_digest,
            image,
        })
    }
}

fn names(ds: &[Descriptor]) -> String {
    let v: Vec<&str> = ds
        .iter()
        .filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str))
        .collect();
    if v.is_empty() {
        "no tagged images".into()
    } else {
        v.join(", ")
    }
}

/// By media type, or by content when the descriptor has none (old layouts).
fn is_index(media_type: &str, path: &Path) -> bool {
    match media_type {
        crate::oci::media_types::OCI_INDEX | media_types::DOCKER_LIST => true,
        "" => std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v.get("manifests").is_some()),
        _ => false,
    }
}

fn diff_ids(config: &serde_json::Value) -> Result<Vec<Digest>, String> {
    config
        .pointer("/rootfs/diff_ids")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| format!("config rootfs.diff_ids: {e}"))
        .map(Option::unwrap_or_default)
}

fn is_gzip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut f = std::fs::File::open(path)?;
    let n = f.read(&mut magic)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_transports() {
        assert_eq!(DiskBase::parse("python:3.11"), None);
        let d = DiskBase::parse("oci-layout:/no/such/dir:v1")
            .unwrap()
            .unwrap();
        assert_eq!(
            (d.format, d.path.to_str().unwrap(), d.tag.as_deref()),
            (DiskFormat::OciLayout, "/no/such/dir", Some("v1"))
        );
        let d = DiskBase::parse("oci-archive:base.tar").unwrap().unwrap();
        assert_eq!((d.path.to_str().unwrap(), d.tag), ("base.tar", None));
        let d = DiskBase::parse("docker-archive:/x/b.tar:python:3.11")
            .unwrap()
            .unwrap();
        assert_eq!(d.tag.as_deref(), Some("python:3.11"));
        assert_eq!(d.to_string(), "docker-archive:/x/b.tar:python:3.11");
        assert!(DiskBase::parse("oci-archive:").unwrap().is_err());
    }
}
