//! The directory transport (`oci-layout:DIR`): files are read where they
//! are, and blobs copied into the cache, verified on the way.

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use super::{DiskBase, DiskError};
use crate::cache::Cache;
use crate::oci::{Digest, HashingWriter};

/// `name` under `dir`, hashed, as (path, digest, size).
pub(super) fn file(dir: &Path, name: &str) -> io::Result<(PathBuf, Digest, u64)> {
    let path = dir.join(name);
    let f = fs_err::File::open(&path)?;
    let mut w = HashingWriter::new(io::sink());
    io::copy(&mut BufReader::new(f), &mut w)?;
    let (_, digest, size) = w.finish();
    Ok((path, digest, size))
}

/// `blobs/sha256/<hex>` under `dir`, verified into the cache. Always read
/// again, even when the cache holds the digest: a layout whose file does not
/// match its name must fail, whatever an earlier build cached.
pub(super) fn blob(
    base: &DiskBase,
    dir: &Path,
    digest: &Digest,
    cache: &Cache,
) -> Result<(PathBuf, u64), DiskError> {
    let path = dir.join(format!("blobs/sha256/{}", digest.hex()));
    let f = fs_err::File::open(&path).map_err(|source| DiskError::Io {
        base: base.to_string(),
        source,
    })?;
    let p = cache.put_verified(digest, f, &path.display().to_string())?;
    let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    Ok((p, size))
}
