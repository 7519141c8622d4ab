//! The tar transport (`oci-archive:`, `docker-archive:`): the archive is
//! read once, front to back, every member hashed into the cache as it
//! streams by, so nothing is read twice and member order does not matter.

use std::collections::HashMap;
use std::io::{self, BufReader};
use std::path::PathBuf;

use super::{DiskBase, DiskError};
use crate::cache::Cache;
use crate::oci::{Digest, HashingWriter};

/// The archive's regular files: member path (`./` dropped) → (digest of
/// its bytes, size).
pub(super) type Members = HashMap<String, (Digest, u64)>;

/// Streams every regular file of the archive into the cache under the
/// digest of its bytes (computed while copying).
pub(super) fn unpack(disk: &DiskBase, cache: &Cache) -> Result<Members, DiskError> {
    let io_err = |source| DiskError::Io {
        base: disk.to_string(),
        source,
    };
    let file = fs_err::File::open(&disk.path).map_err(io_err)?;
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

/// A member by name, as (cache path, digest, size).
pub(super) fn file(members: &Members, name: &str, cache: &Cache) -> Option<(PathBuf, Digest, u64)> {
    let (digest, size) = members.get(name)?;
    Some((cache.blob_path(digest), digest.clone(), *size))
}

/// The member `blobs/sha256/<hex>`: hashed on the way in, so its name must
/// match its content. The error is the detail of an invalid archive.
pub(super) fn blob(
    members: &Members,
    digest: &Digest,
    cache: &Cache,
) -> Result<(PathBuf, u64), String> {
    let name = format!("blobs/sha256/{}", digest.hex());
    match (members.get(&name), cache.get(digest, None)) {
        (Some((actual, size)), Some(p)) if actual == digest => Ok((p, *size)),
        (Some((actual, _)), _) => Err(format!(
            "{name} holds content with digest {actual}; the archive is corrupt"
        )),
        (None, _) => Err(format!("the archive has no blob {digest}")),
    }
}
