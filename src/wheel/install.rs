//! Installing a set of wheels into layer entries, one helper per step of the
//! binary distribution format's "installing a wheel" section, the way
//! `pip install --no-deps --no-compile` does it into the target interpreter.
//!
//! No `direct_url.json` is written: pip writes one only for requirements
//! given as a URL or path (`pip install ./x.whl`), not for names resolved
//! from `--find-links DIR --no-index`, which is what a wheel directory is.
//! Where pip and the spec disagree, pip wins (it is what the image would
//! have had), except where noted: `.data/scripts` are always executable
//! (pip keeps the zip's mode), and headers go under the METADATA name (pip
//! uses the requirement as the user typed it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pep440_rs::Version;

use super::archive::{self, Member, SharedArchive, ZipContents};
use super::filename::{normalize_name, WheelFilename};
use super::launcher;
use super::metadata::{self, Metadata, WheelInfo};
use super::record::{self, ExpectedHash, RecordEntry};
use super::tags::Tags;
use super::{check, select, WheelError};
use crate::layer::{Entry, Node};
use crate::target::PythonTarget;

pub struct InstallOptions {
    /// Normalized names of the distributions the user asked for (they get a
    /// `REQUESTED` marker); `None` means every wheel given.
    pub requested: Option<Vec<String>>,
}

pub struct Installation {
    pub entries: Vec<Entry>,
    pub distributions: Vec<Distribution>,
    pub warnings: Vec<String>,
}

pub struct Distribution {
    pub name: String,
    pub version: String,
    pub wheel: PathBuf,
}

/// The wheel format versions this installer follows.
const WHEEL_VERSION: (u32, u32) = (1, 0);

/// What pip writes into `INSTALLER`; tools such as `pip uninstall` refuse to
/// touch distributions another installer claims.
const INSTALLER: &[u8] = b"pip\n";

pub fn install(
    wheels: &[PathBuf],
    target: &PythonTarget,
    opts: &InstallOptions,
) -> Result<Installation, WheelError> {
    let tags = Tags::for_target(target)?;
    let mut warnings = Vec::new();
    let chosen = select::select_wheels(wheels, &tags, &mut warnings)?;
    let requested: Option<Vec<String>> = opts
        .requested
        .as_ref()
        .map(|names| names.iter().map(|n| normalize_name(n)).collect());

    let mut entries = Vec::new();
    let mut owners: HashMap<String, PathBuf> = HashMap::new();
    let mut distributions = Vec::new();
    let mut metadatas = Vec::new();
    for (wheel, filename) in chosen {
        let is_requested = requested
            .as_ref()
            .is_none_or(|r| r.contains(&filename.normalized_name()));
        let planned = plan_wheel(&wheel, &filename, target, is_requested, &mut warnings)?;
        for entry in &planned.entries {
            if let Some(first) = owners.insert(entry.path.clone(), wheel.clone()) {
                return Err(WheelError::Conflict {
                    path: format!("/{}", entry.path),
                    first,
                    second: wheel,
                });
            }
        }
        entries.extend(planned.entries);
        distributions.push(Distribution {
            name: planned.metadata.name.clone(),
            version: planned.metadata.version.clone(),
            wheel,
        });
        metadatas.push(planned.metadata);
    }
    check::check(&metadatas, &tags)?;
    Ok(Installation {
        entries,
        distributions,
        warnings,
    })
}

/// Everything one wheel contributes, decided before any byte is streamed.
struct PlannedWheel {
    entries: Vec<Entry>,
    metadata: Metadata,
}

/// The `.dist-info` files planning reads, located and parsed.
struct DistInfo {
    dir: String,
    wheel: WheelInfo,
    metadata: Metadata,
    record: HashMap<String, RecordEntry>,
}

fn plan_wheel(
    wheel: &Path,
    filename: &WheelFilename,
    target: &PythonTarget,
    requested: bool,
    warnings: &mut Vec<String>,
) -> Result<PlannedWheel, WheelError> {
    let (archive, members) = archive::open(wheel)?;
    let info = read_dist_info(wheel, filename, &archive, &members)?;
    check_wheel_version(wheel, &info.wheel, warnings)?;
    check_record_complete(wheel, &info, &members)?;

    let scheme = &target.scheme;
    let lib_dir = if info.wheel.root_is_purelib {
        &scheme.purelib
    } else {
        &scheme.platlib
    };
    let mut entries = Vec::new();
    let mut rows = Vec::new();

    let record_path = format!("{}/RECORD", info.dir);
    let installer_path = format!("{}/INSTALLER", info.dir);
    let requested_path = format!("{}/REQUESTED", info.dir);
    for member in &members {
        let name = member.name.as_str();
        // Replaced by the files pip writes itself.
        if name == record_path || name == installer_path || (requested && name == requested_path) {
            continue;
        }
        let (dest, is_script) = destination(wheel, member, target, &info.metadata.name, lib_dir)?;
        let record_as = relative_to(&dest, lib_dir);
        let (entry, row) = if is_script {
            install_script(wheel, &archive, member, &info, &dest, &target.interpreter)?
        } else {
            install_file(wheel, &archive, member, &info, &dest, member.mode)?
        };
        rows.push(RecordEntry {
            path: record_as,
            ..row
        });
        entries.push(entry);
    }

    for (dest, bytes) in launchers(wheel, &archive, &members, &info, target)? {
        let row = RecordEntry::of_bytes(relative_to(&dest, lib_dir), &bytes);
        rows.push(row);
        entries.push(file_entry(&dest, 0o755, bytes));
    }

    let dist_info_dir = format!("{}/{}", lib_dir.trim_end_matches('/'), info.dir);
    let mut generated = vec![(installer_path, INSTALLER.to_vec())];
    if requested {
        generated.push((requested_path, Vec::new()));
    }
    for (path, bytes) in generated {
        let dest = format!("{}/{}", lib_dir.trim_end_matches('/'), path);
        rows.push(RecordEntry::of_bytes(path, &bytes));
        entries.push(file_entry(&dest, 0o644, bytes));
    }
    rows.push(RecordEntry {
        path: record_path,
        hash: String::new(),
        size: String::new(),
    });
    entries.push(file_entry(
        &format!("{dist_info_dir}/RECORD"),
        0o644,
        record::write(rows),
    ));

    let mut seen = HashMap::new();
    for entry in &entries {
        if seen.insert(entry.path.as_str(), ()).is_some() {
            return Err(WheelError::Invalid {
                wheel: wheel.to_path_buf(),
                message: format!(
                    "two of its files (or a file and an entry-point launcher) install to /{}; \
                     rebuild the wheel",
                    entry.path
                ),
            });
        }
    }
    Ok(PlannedWheel {
        entries,
        metadata: info.metadata,
    })
}

/// Finds the one `NAME-VERSION.dist-info` directory and reads WHEEL,
/// METADATA and RECORD from it, checking they describe the file's project.
fn read_dist_info(
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
fn check_wheel_version(
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
fn check_record_complete(
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

/// Where a member goes: the root to purelib or platlib (per WHEEL), and
/// `*.data/<key>/…` to that key of the scheme; headers go under a directory
/// named after the distribution, as pip's non-virtualenv scheme does.
/// Returns the absolute in-image path and whether it is a script.
fn destination(
    wheel: &Path,
    member: &Member,
    target: &PythonTarget,
    dist_name: &str,
    lib_dir: &str,
) -> Result<(String, bool), WheelError> {
    let scheme = &target.scheme;
    let join = |base: &str, rest: &str| format!("{}/{rest}", base.trim_end_matches('/'));
    let (top, rest) = member.name.split_once('/').unwrap_or((&member.name, ""));
    if !top.ends_with(".data") {
        return Ok((join(lib_dir, &member.name), false));
    }
    let (key, path) = rest.split_once('/').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(WheelError::Invalid {
            wheel: wheel.to_path_buf(),
            message: format!(
                "unexpected file {}: .data directory contents must be named <scheme key>/<path>; \
                 rebuild the wheel",
                member.name
            ),
        });
    }
    let dest = match key {
        "purelib" => join(&scheme.purelib, path),
        "platlib" => join(&scheme.platlib, path),
        "scripts" => return Ok((join(&scheme.scripts, path), true)),
        "data" => join(&scheme.data, path),
        "headers" => {
            archive::check_path(wheel, dist_name)?;
            join(&join(&scheme.headers, dist_name), path)
        }
        _ => {
            return Err(WheelError::DataKey {
                wheel: wheel.to_path_buf(),
                key: key.to_string(),
                path: member.name.clone(),
            })
        }
    };
    Ok((dest, false))
}

/// A file streamed from the archive and verified on the way; its RECORD
/// row is the wheel's own (pip copies unchanged rows verbatim).
fn install_file(
    wheel: &Path,
    archive: &SharedArchive,
    member: &Member,
    info: &DistInfo,
    dest: &str,
    mode: u32,
) -> Result<(Entry, RecordEntry), WheelError> {
    let Some(row) = info.record.get(&member.name) else {
        // A signature file absent from RECORD: small, so hash it now.
        let bytes = archive::read_member(archive, wheel, member)?;
        let row = RecordEntry::of_bytes(member.name.clone(), &bytes);
        return Ok((file_entry(dest, mode, bytes), row));
    };
    let Some(expected) = ExpectedHash::parse(&row.hash) else {
        // Only signature files get here (others were checked): no hash to verify.
        let bytes = archive::read_member(archive, wheel, member)?;
        return Ok((file_entry(dest, mode, bytes), row.clone()));
    };
    let entry = Entry {
        path: image_path(dest),
        mode,
        node: Node::File {
            size: member.size,
            contents: Box::new(ZipContents {
                archive: archive.clone(),
                wheel: wheel.to_path_buf(),
                member: member.clone(),
                expected,
            }),
        },
        owner: None,
    };
    Ok((entry, row.clone()))
}

/// A `.data/scripts` file: executable, and a `#!python` shebang pointed at
/// the target interpreter (read whole and verified now, since its RECORD
/// row must hash the rewritten bytes).
fn install_script(
    wheel: &Path,
    archive: &SharedArchive,
    member: &Member,
    info: &DistInfo,
    dest: &str,
    interpreter: &str,
) -> Result<(Entry, RecordEntry), WheelError> {
    let head = archive::read_prefix(archive, wheel, member, 8)?;
    if !head.starts_with(b"#!python") {
        return install_file(wheel, archive, member, info, dest, 0o755);
    }
    let bytes = archive::read_member(archive, wheel, member)?;
    let row = &info.record[&member.name];
    let expected = ExpectedHash::parse(&row.hash).expect("checked in check_record_complete");
    if !expected.matches(&bytes) || bytes.len() as u64 != member.size {
        return Err(WheelError::RecordMismatch {
            wheel: wheel.to_path_buf(),
            path: member.name.clone(),
            detail: "content hash differs".into(),
        });
    }
    let fixed = launcher::fix_script_shebang(&bytes, interpreter).expect("starts with #!python");
    let row = RecordEntry::of_bytes(member.name.clone(), &fixed);
    Ok((file_entry(dest, 0o755, fixed), row))
}

/// Launchers for `[console_scripts]` and `[gui_scripts]`, as (absolute
/// destination, bytes).
fn launchers(
    wheel: &Path,
    archive: &SharedArchive,
    members: &[Member],
    info: &DistInfo,
    target: &PythonTarget,
) -> Result<Vec<(String, Vec<u8>)>, WheelError> {
    let path = format!("{}/entry_points.txt", info.dir);
    let Some(member) = members.iter().find(|m| m.name == path) else {
        return Ok(Vec::new());
    };
    let bytes = archive::read_member(archive, wheel, member)?;
    let (console, gui) = launcher::parse_entry_points(&String::from_utf8_lossy(&bytes)).map_err(
        |(name, value, reason)| WheelError::EntryPoint {
            wheel: wheel.to_path_buf(),
            name,
            value,
            reason,
        },
    )?;
    let mut scripts = launcher::pip_script_names(console, target.major, target.minor);
    for g in gui {
        scripts.retain(|c| c.name != g.name);
        scripts.push(g);
    }
    Ok(scripts
        .iter()
        .map(|ep| {
            (
                format!(
                    "{}/{}",
                    target.scheme.scripts.trim_end_matches('/'),
                    ep.name
                ),
                launcher::script_launcher(ep, &target.interpreter).into_bytes(),
            )
        })
        .collect())
}

fn image_path(abs: &str) -> String {
    abs.trim_start_matches('/').to_string()
}

fn file_entry(dest: &str, mode: u32, bytes: Vec<u8>) -> Entry {
    Entry::file(image_path(dest), mode, bytes)
}

/// `os.path.relpath(path, base)` for absolute `/`-separated paths: how pip
/// records files outside site-packages (`../../../bin/x`).
fn relative_to(path: &str, base: &str) -> String {
    let p: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let b: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; b.len() - common];
    parts.extend(&p[common..]);
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::relative_to;

    #[test]
    fn relative_paths_match_relpath() {
        let sp = "/usr/local/lib/python3.11/site-packages";
        assert_eq!(relative_to(&format!("{sp}/a/b.py"), sp), "a/b.py");
        assert_eq!(relative_to("/usr/local/bin/x", sp), "../../../bin/x");
        assert_eq!(
            relative_to("/usr/local/include/python3.11/p/h.h", sp),
            "../../../include/python3.11/p/h.h"
        );
        assert_eq!(relative_to("/opt/x", "/usr/lib"), "../../opt/x");
    }
}
