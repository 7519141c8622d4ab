//! Step 1a of installing a wheel ("Unpack"), before anything is written:
//! find the one `.dist-info` directory, parse WHEEL, METADATA and RECORD,
//! check the Wheel-Version, and check that RECORD and the archive list the
//! same files, each with a hash, so every byte installed can be verified.

use std::collections::HashMap;
use std::path::Path;

use pep440_rs::Version;

use super::archive::{self, Member, SharedArchive};
use super::filename::{normalize_name, WheelFilename};
use super::metadata::{self, Metadata, WheelInfo};
use super::record::{self, ExpectedHash, RecordEntry};
use super::WheelError;

/// The wheel format versions this installer follows.
const WHEEL_VERSION: (u32, u32) = (1, 0);

/// The `.dist-info` files planning reads, located and parsed.
pub(super) struct DistInfo {
    pub dir: String,
    pub wheel: WheelInfo,
    pub metadata: Metadata,
    pub record: HashMap<String, RecordEntry>,
}

/// Finds the one `NAME-VERSION.dist-info` directory and reads WHEEL,
/// METADATA and RECORD from it, checking they describe the file's project.
pub(super) fn read_dist_info(
    wheel: &Path,
    filename: &WheelFilename,
    archive: &SharedArchive,
    members: &[Member],
) -> Result<DistInfo, WheelError> {
    let invalid = |message: String| WheelError::Invalid {
        wheel: wheel.to_path_buf(),
        message,
    };
    let mut dirs: Vec<&str> = members
        .iter()
        .filter_map(|m| m.name.split_once('/').map(|(top, _)| top))
        .filter(|top| top.ends_with(".dist-info"))
        .collect();
    dirs.sort();
    dirs.dedup();
    let dir = match dirs[..] {
        [dir] => dir.to_string(),
        [] => {
            return Err(invalid(
                "it has no .dist-info directory; rebuild the wheel".into(),
            ))
        }
        _ => {
            return Err(invalid(format!(
                "it has several .dist-info directories ({}); rebuild the wheel",
                dirs.join(", ")
            )))
        }
    };
    let dir_name = dir.trim_end_matches(".dist-info");
    let dir_project = dir_name.rsplit_once('-').map_or(dir_name, |(n, _)| n);
    if normalize_name(dir_project) != filename.normalized_name() {
        return Err(invalid(format!(
            "its .dist-info directory {dir} does not belong to project {}; the file was renamed \
             or is broken",
            filename.name
        )));
    }
    let read_text = |name: &str| -> Result<Option<String>, WheelError> {
        let path = format!("{dir}/{name}");
        match members.iter().find(|m| m.name == path) {
            Some(m) => {
                let bytes = archive::read_member(archive, wheel, m)?;
                Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
            }
            None => Ok(None),
        }
    };
    let missing = |name: &str| invalid(format!("{dir}/{name} is missing; rebuild the wheel"));
    let wheel_info =
        metadata::parse_wheel_file(&read_text("WHEEL")?.ok_or_else(|| missing("WHEEL"))?)
            .map_err(|e| invalid(format!("{e}; rebuild the wheel")))?;
    let metadata =
        metadata::parse_metadata(&read_text("METADATA")?.ok_or_else(|| missing("METADATA"))?)
            .map_err(|e| invalid(format!("{e}; rebuild the wheel")))?;
    if normalize_name(&metadata.name) != filename.normalized_name() {
        return Err(invalid(format!(
            "METADATA names project {:?}, but the file name says {:?}; the file was renamed or is broken",
            metadata.name, filename.name
        )));
    }
    if metadata.version.parse::<Version>().ok().as_ref() != Some(&filename.version) {
        return Err(invalid(format!(
            "METADATA says version {}, but the file name says {}; the file was renamed or is broken",
            metadata.version, filename.version
        )));
    }
    let record_text = read_text("RECORD")?.ok_or_else(|| missing("RECORD"))?;
    let rows = record::parse(&record_text).map_err(|e| {
        invalid(format!(
            "{dir}/RECORD is malformed ({e}); rebuild the wheel"
        ))
    })?;
    let mut record = HashMap::new();
    for row in rows {
        archive::check_path(wheel, &row.path)?;
        record.insert(row.path.clone(), row);
    }
    Ok(DistInfo {
        dir,
        wheel: wheel_info,
        metadata,
        record,
    })
}

/// A different major Wheel-Version may change the layout, so refuse it; a
/// newer minor only adds, so install with a warning (as pip does).
pub(super) fn check_wheel_version(
    wheel: &Path,
    info: &WheelInfo,
    warnings: &mut Vec<String>,
) -> Result<(), WheelError> {
    if info.version.0 != WHEEL_VERSION.0 {
        return Err(WheelError::WheelVersion {
            wheel: wheel.to_path_buf(),
            version: info.version_str.clone(),
        });
    }
    if info.version > WHEEL_VERSION {
        warnings.push(format!(
            "{}: installing from a newer Wheel-Version ({})",
            wheel.display(),
            info.version_str
        ));
    }
    Ok(())
}

/// Signature files are the only members allowed without a hash.
fn is_signature(info: &DistInfo, name: &str) -> bool {
    name == format!("{}/RECORD.jws", info.dir) || name == format!("{}/RECORD.p7s", info.dir)
}

/// RECORD and the archive must list the same files, each with a hash.
pub(super) fn check_record_complete(
    wheel: &Path,
    info: &DistInfo,
    members: &[Member],
) -> Result<(), WheelError> {
    let record_path = format!("{}/RECORD", info.dir);
    for member in members {
        if member.name == record_path || is_signature(info, &member.name) {
            continue;
        }
        let Some(row) = info.record.get(&member.name) else {
            return Err(WheelError::NotInRecord {
                wheel: wheel.to_path_buf(),
                path: member.name.clone(),
            });
        };
        if row.hash.is_empty() {
            return Err(WheelError::NotInRecord {
                wheel: wheel.to_path_buf(),
                path: member.name.clone(),
            });
        }
        if ExpectedHash::parse(&row.hash).is_none() {
            return Err(WheelError::RecordMismatch {
                wheel: wheel.to_path_buf(),
                path: member.name.clone(),
                detail: format!(
                    "unsupported or malformed hash {:?}; only sha256, sha384 and sha512 are accepted",
                    row.hash
                ),
            });
        }
        if !row.size.is_empty() && row.size != member.size.to_string() {
            return Err(WheelError::RecordMismatch {
                wheel: wheel.to_path_buf(),
                path: member.name.clone(),
                detail: format!(
                    "RECORD says {} bytes, the archive holds {}",
                    row.size, member.size
                ),
            });
        }
    }
    let names: std::collections::HashSet<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let mut missing: Vec<&String> = info
        .record
        .keys()
        .filter(|p| **p != record_path && !names.contains(p.as_str()))
        .collect();
    missing.sort();
    if let Some(path) = missing.first() {
        return Err(WheelError::MissingFile {
            wheel: wheel.to_path_buf(),
            path: path.to_string(),
        });
    }
    Ok(())
}
