//! Base images from disk, for air-gapped CI: an OCI image layout directory
//! (`oci-layout:DIR[:tag]`), an OCI layout in a tar (`oci-archive:FILE[:tag]`)
//! or a `docker save` tarball (`docker-archive:FILE[:name:tag]`, both the
//! classic form and Docker 25's OCI-in-archive form). The result is the same
//! `BaseImage` a registry base gives, with every layer a verified file in the
//! blob cache, so the rest of the pipeline cannot tell the difference.
//!
//! Two transports say where the files are (`layout.rs`: a directory;
//! `archive.rs`: a tar, hashed into the cache as it is read) and two readers
//! say what they mean (`oci.rs`: `index.json` and blobs; `docker.rs`:
//! `docker save`'s `manifest.json`). Every blob is checked against its
//! digest on the way into the cache; a layout that lies about its contents
//! fails here, naming the file.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::base::{BaseError, BaseImage};
use crate::cache::{Cache, CacheError};
use crate::oci::{Digest, Image, ImageLayer, Platform};

mod archive;
mod docker;
mod layout;
mod oci;

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
    /// The cause (from `fs_err` for files of a layout) names the path.
    #[error("base {base}")]
    Io { base: String, source: io::Error },
    #[error("base {base}: {detail}")]
    Invalid { base: String, detail: String },
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Base(#[from] BaseError),
}

/// Where the files of a base are.
enum Files {
    Dir(PathBuf),
    Archive(archive::Members),
}

/// One base being read: its files, and the cache its blobs go to.
struct Reader<'a> {
    base: &'a DiskBase,
    cache: &'a Cache,
    files: Files,
}

pub fn resolve(
    disk: &DiskBase,
    platform: &Platform,
    cache: &Cache,
) -> Result<BaseImage, DiskError> {
    let files = match disk.format {
        DiskFormat::OciLayout => Files::Dir(disk.path.clone()),
        DiskFormat::OciArchive | DiskFormat::DockerArchive => {
            Files::Archive(archive::unpack(disk, cache)?)
        }
    };
    let r = Reader {
        base: disk,
        cache,
        files,
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

impl Reader<'_> {
    fn invalid(&self, detail: impl Into<String>) -> DiskError {
        DiskError::Invalid {
            base: self.base.to_string(),
            detail: detail.into(),
        }
    }

    fn io(&self, source: io::Error) -> DiskError {
        DiskError::Io {
            base: self.base.to_string(),
            source,
        }
    }

    fn has(&self, name: &str) -> bool {
        match &self.files {
            Files::Dir(d) => d.join(name).is_file(),
            Files::Archive(m) => m.contains_key(name),
        }
    }

    /// A named file of the layout or archive (index.json, manifest.json, a
    /// Docker config or layer path), as (path, digest, size).
    fn file(&self, name: &str) -> Result<(PathBuf, Digest, u64), DiskError> {
        match &self.files {
            Files::Dir(d) => layout::file(d, name).map_err(|e| self.io(e)),
            Files::Archive(m) => archive::file(m, name, self.cache)
                .ok_or_else(|| self.invalid(format!("the archive has no {name}"))),
        }
    }

    /// A blob by digest, verified, as a file in the cache.
    fn blob(&self, digest: &Digest) -> Result<(PathBuf, u64), DiskError> {
        match &self.files {
            Files::Dir(d) => layout::blob(self.base, d, digest, self.cache),
            Files::Archive(m) => {
                archive::blob(m, digest, self.cache).map_err(|detail| self.invalid(detail))
            }
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        path: &Path,
        what: &str,
    ) -> Result<T, DiskError> {
        let bytes = fs_err::read(path).map_err(|e| self.io(e))?;
        serde_json::from_slice(&bytes).map_err(|e| self.invalid(format!("{what}: {e}")))
    }

    /// The image, if it is for `platform` (a disk base holds one platform
    /// per image; nothing is picked here, only checked).
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

/// The config's `rootfs.diff_ids`, checked against the manifest's layer count.
fn diff_ids(config: &serde_json::Value, layers: usize) -> Result<Vec<Digest>, String> {
    let ids: Vec<Digest> = config
        .pointer("/rootfs/diff_ids")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| format!("config rootfs.diff_ids: {e}"))?
        .unwrap_or_default();
    if ids.len() != layers {
        return Err(format!(
            "config lists {} diff_ids for {layers} layers",
            ids.len()
        ));
    }
    Ok(ids)
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
