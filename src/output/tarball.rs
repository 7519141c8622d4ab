//! `docker load` tarballs, in the shape `docker save` writes since Docker
//! 25: an OCI image layout that also carries Docker's `manifest.json` and
//! `repositories`. Old engines (≥ 17) read `manifest.json`, new ones and
//! `podman load` read either, and `skopeo` reads it as `docker-archive:` or
//! `oci-archive:` — one file for every consumer.
//!
//! The archive is deterministic: entries in path order, fixed mtime, 0:0.

use std::io::{self, Write};
use std::path::Path;

use serde_json::json;

use super::layout::{
    collect_blobs, create_err, io_err, BlobData, OutBlob, OutputError, OCI_LAYOUT_FILE,
};
use crate::oci::reference::InvalidReference;
use crate::oci::{Descriptor, Image, ImageSet, IndexJson, Reference, REF_NAME_ANNOTATION};

/// The annotation containerd and Docker ≥ 25 use for the full image name.
pub const CONTAINERD_NAME_ANNOTATION: &str = "io.containerd.image.name";

/// A `docker tag`-style name, parsed as an image reference (tag defaults
/// to `latest`).
struct RepoTag {
    /// The repository as written: what Docker's `manifest.json` and
    /// `repositories` list.
    repo: String,
    tag: String,
    /// containerd's normalized name: `app:1` → `docker.io/library/app:1`.
    full: String,
}

fn parse_repo_tag(s: &str) -> Result<RepoTag, OutputError> {
    let bad = |reason: &str| OutputError::Tag {
        tag: s.to_string(),
        reason: reason.to_string(),
    };
    let r: Reference = s.parse().map_err(|e: InvalidReference| bad(&e.rule))?;
    if r.digest.is_some() {
        return Err(bad("a digest cannot be a tag in a tarball; use repo:tag"));
    }
    let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
    let repo = s.strip_suffix(&format!(":{tag}")).unwrap_or(s);
    Ok(RepoTag {
        repo: repo.to_string(),
        full: r.to_string(),
        tag,
    })
}

/// Writes `image` as a loadable tarball to `dest`, or to stdout for `-`.
pub fn write_tarball(dest: &Path, image: &Image, repo_tags: &[String]) -> Result<(), OutputError> {
    write_set(dest, &ImageSet::single(image.clone()), image, repo_tags)
}

/// Writes `set` as one tarball to `dest` (stdout for `-`): `index.json`
/// names its top manifest (for several platforms the index, as `docker
/// save` of a multi-platform image writes it since Docker 25, and what
/// `skopeo copy --all oci-archive:` and containerd read), and Docker's
/// `manifest.json` lists only `docker_image`, the one image an engine
/// without multi-platform storage (and `docker-archive:`) can load.
///
/// A file is written beside `dest` and renamed into place, so a failed or
/// interrupted build never leaves a truncated tarball under the final name.
pub fn write_set(
    dest: &Path,
    set: &ImageSet,
    docker_image: &Image,
    repo_tags: &[String],
) -> Result<(), OutputError> {
    let tags = repo_tags
        .iter()
        .map(|t| parse_repo_tag(t))
        .collect::<Result<Vec<_>, _>>()?;
    let blobs = collect_blobs(set.images(), set.index_blob())?;
    let index = IndexJson::new(tagged(&tags, set.top_descriptor()));
    let index = serde_json::to_vec(&index).expect("an index serializes");
    persist(dest, |out| {
        write_tar(out, blobs, &index, docker_image, &tags)
    })
}

/// One `index.json` entry per tag, named as containerd and Docker ≥ 25
/// name them; a single unnamed entry without tags.
fn tagged(tags: &[RepoTag], top: Descriptor) -> Vec<Descriptor> {
    if tags.is_empty() {
        return vec![top];
    }
    tags.iter()
        .map(|t| {
            top.clone()
                .with_annotation(CONTAINERD_NAME_ANNOTATION, &t.full)
                .with_annotation(REF_NAME_ANNOTATION, &t.tag)
        })
        .collect()
}

fn persist(
    dest: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    if dest == Path::new("-") {
        let stdout = io::stdout();
        let mut out = io::BufWriter::with_capacity(1 << 20, stdout.lock());
        write(&mut out)?;
        return out.flush().map_err(io_err(Path::new("<stdout>")));
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".pyko-tarball-")
        .tempfile_in(parent)
        .map_err(create_err(dest, parent))?;
    let _pending = crate::interrupt::pending(tmp.path());
    {
        let mut out = io::BufWriter::with_capacity(1 << 20, tmp.as_file());
        write(&mut out)?;
        out.flush().map_err(io_err(tmp.path()))?;
    }
    tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
    tmp.persist(dest).map_err(|e| io_err(dest)(e.error))?;
    Ok(())
}

/// Fails on a short read: the tar header already promised `left` bytes, so
/// a blob that shrank since it was checked must abort, not corrupt, the
/// archive.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: io::Read> io::Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("blob ended {} bytes early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn header(path: &str, size: u64, dir: bool) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).expect("short ASCII path");
    h.set_size(size);
    h.set_mode(if dir { 0o755 } else { 0o644 });
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    h
}

fn write_tar(
    out: &mut dyn Write,
    blobs: Vec<OutBlob>,
    index: &[u8],
    image: &Image,
    tags: &[RepoTag],
) -> Result<(), OutputError> {
    let config = image.config_blob();
    let blob_path = |hex: &str| format!("blobs/sha256/{hex}");

    let manifest_json = serde_json::to_vec(&json!([{
        "Config": blob_path(config.digest.hex()),
        "RepoTags": tags.iter().map(|t| format!("{}:{}", t.repo, t.tag)).collect::<Vec<_>>(),
        "Layers": image.layers.iter().map(|l| blob_path(l.layer.digest.hex())).collect::<Vec<_>>(),
    }]))
    .expect("a JSON value serializes");
    let mut repositories = serde_json::Map::new();
    if let Some(top) = image.layers.last() {
        for t in tags {
            let e = repositories
                .entry(t.repo.clone())
                .or_insert_with(|| json!({}));
            e[&t.tag] = json!(top.layer.digest.hex());
        }
    }
    let repositories = serde_json::to_vec(&repositories).expect("a JSON value serializes");

    let mut ar = tar::Builder::new(out);
    let w = |e: io::Error| io_err(Path::new("<tarball>"))(e);
    ar.append(&header("blobs/", 0, true), io::empty())
        .map_err(w)?;
    ar.append(&header("blobs/sha256/", 0, true), io::empty())
        .map_err(w)?;
    for b in &blobs {
        let h = header(&blob_path(b.digest.hex()), b.size, false);
        match &b.data {
            BlobData::Bytes(bytes) => ar.append(&h, &bytes[..]).map_err(w)?,
            BlobData::File(p) => {
                let f = std::fs::File::open(p).map_err(io_err(p))?;
                let exact = Exact {
                    inner: io::Read::take(f, b.size),
                    left: b.size,
                };
                ar.append(&h, exact).map_err(io_err(p))?;
            }
        }
    }
    let mut small = |path: &str, bytes: &[u8]| {
        ar.append(&header(path, bytes.len() as u64, false), bytes)
            .map_err(w)
    };
    small("index.json", index)?;
    small("manifest.json", &manifest_json)?;
    small("oci-layout", OCI_LAYOUT_FILE)?;
    if !tags.is_empty() && !image.layers.is_empty() {
        small("repositories", &repositories)?;
    }
    ar.into_inner().map_err(w)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_tags_parse_and_normalize() {
        let rt = parse_repo_tag("app").unwrap();
        assert_eq!((rt.repo.as_str(), rt.tag.as_str()), ("app", "latest"));
        assert_eq!(rt.full, "docker.io/library/app:latest");
        let rt = parse_repo_tag("localhost:5000/team/app:1.0").unwrap();
        assert_eq!(rt.repo, "localhost:5000/team/app");
        assert_eq!(rt.full, "localhost:5000/team/app:1.0");
        assert_eq!(
            parse_repo_tag("team/app:v2").unwrap().full,
            "docker.io/team/app:v2"
        );
        for bad in ["App:1", "app:", "app:-x", "app@sha256:abc", ":1", "a b:1"] {
            let err = parse_repo_tag(bad).err().unwrap();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
