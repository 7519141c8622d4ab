//! Adding images to an existing OCI layout instead of replacing it, as
//! `skopeo copy … oci:DIR:TAG` does: other tags and their blobs stay, a
//! manifest with the same `ref.name` is replaced, and index.json is
//! swapped in last so a failure leaves the old layout whole.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use fs_err as fs;

use super::layout::{io_err, BlobData, OutBlob, OutputError};
use crate::oci::{Descriptor, REF_NAME_ANNOTATION};

pub(crate) fn merge(
    dir: &Path,
    blobs: &[OutBlob],
    manifests: Vec<Descriptor>,
) -> Result<(), OutputError> {
    let index_path = dir.join("index.json");
    let not_layout = || OutputError::NotALayout {
        path: dir.to_path_buf(),
    };
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path)?).map_err(|_| not_layout())?;
    let Some(old) = index.get("manifests").and_then(|m| m.as_array()).cloned() else {
        return Err(not_layout());
    };

    // Blobs first, each renamed into place complete: a layout never names
    // a blob that is not all there.
    let blob_dir = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blob_dir)?;
    for b in blobs {
        let to = blob_dir.join(b.digest.hex());
        if std::fs::metadata(&to).is_ok_and(|m| m.len() == b.size) {
            continue;
        }
        let mut tmp = tempfile::NamedTempFile::new_in(&blob_dir).map_err(io_err(&blob_dir))?;
        let _pending = crate::interrupt::pending(tmp.path());
        match &b.data {
            BlobData::Bytes(bytes) => tmp.write_all(bytes).map_err(io_err(&to))?,
            BlobData::File(from) => {
                std::io::copy(&mut fs::File::open(from)?, &mut tmp).map_err(io_err(&to))?;
            }
        }
        tmp.as_file().sync_all().map_err(io_err(&to))?;
        tmp.persist(&to).map_err(|e| io_err(&to)(e.error))?;
    }

    // Entries of other tags (unknown fields and all) stay; a tag written
    // again moves to the new manifest, and an untagged duplicate is dropped.
    let names: BTreeSet<&str> = manifests
        .iter()
        .filter_map(|d| d.annotations.get(REF_NAME_ANNOTATION).map(String::as_str))
        .collect();
    let new: Vec<serde_json::Value> = manifests
        .iter()
        .map(|d| serde_json::to_value(d).expect("a descriptor serializes"))
        .collect();
    let mut merged: Vec<serde_json::Value> = old
        .into_iter()
        .filter(|m| {
            let name = m
                .pointer(&format!(
                    "/annotations/{}",
                    REF_NAME_ANNOTATION.replace('/', "~1")
                ))
                .and_then(|v| v.as_str());
            !name.is_some_and(|n| names.contains(n)) && !new.contains(m)
        })
        .collect();
    merged.extend(new);
    index["manifests"] = serde_json::Value::Array(merged);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
    let _pending = crate::interrupt::pending(tmp.path());
    tmp.write_all(&serde_json::to_vec(&index).expect("json serializes"))
        .map_err(io_err(&index_path))?;
    tmp.as_file().sync_all().map_err(io_err(&index_path))?;
    tmp.persist(&index_path)
        .map_err(|e| io_err(&index_path)(e.error))?;
    Ok(())
}
