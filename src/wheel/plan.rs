//! Installing one wheel, the steps of the binary distribution format's
//! "installing a wheel" section in order, each one helper: verify the
//! `.dist-info` (1a), pick purelib or platlib (1b), spread every member to
//! its scheme path (1c, 2a–2c), add the entry-point launchers and pip's
//! INSTALLER/REQUESTED, write RECORD (2d). Nothing is unpacked to disk:
//! every file becomes a layer entry that streams from the wheel and is
//! verified against RECORD on the way.
//!
//! No `direct_url.json` is written: pip writes one only for requirements
//! given as a URL or path (`pip install ./x.whl`), not for names resolved
//! from `--find-links DIR --no-index`, which is what a wheel directory is.
//! Where pip and the spec disagree, pip wins (it is what the image would
//! have had), except where noted: `.data/scripts` are always executable
//! (pip keeps the zip's mode), and headers go under the METADATA name (pip
//! uses the requirement as the user typed it).

use std::collections::HashMap;
use std::path::Path;

use super::archive::{self, Member, SharedArchive, ZipContents};
use super::dist_info::{check_record_complete, check_wheel_version, read_dist_info, DistInfo};
use super::filename::WheelFilename;
use super::launcher;
use super::metadata::Metadata;
use super::record::{self, ExpectedHash, RecordEntry};
use super::WheelError;
use crate::layer::{Entry, Node};
use crate::target::PythonTarget;

/// What pip writes into `INSTALLER`; tools such as `pip uninstall` refuse to
/// touch distributions another installer claims.
const INSTALLER: &[u8] = b"pip\n";

/// Everything one wheel contributes, decided before any byte is streamed.
pub(super) struct PlannedWheel {
    pub entries: Vec<Entry>,
    pub metadata: Metadata,
}

/// The files being planned and their RECORD rows, in install order.
#[derive(Default)]
struct Planned {
    entries: Vec<Entry>,
    rows: Vec<RecordEntry>,
}

impl Planned {
    fn generated(&mut self, dest: &str, mode: u32, record_as: String, bytes: Vec<u8>) {
        self.rows.push(RecordEntry::of_bytes(record_as, &bytes));
        self.entries.push(file_entry(dest, mode, bytes));
    }
}

pub(super) fn plan_wheel(
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
    let lib_dir = if info.wheel.root_is_purelib {
        &target.scheme.purelib
    } else {
        &target.scheme.platlib
    };
    let mut planned = Planned::default();
    spread(
        wheel,
        &archive,
        &members,
        &info,
        target,
        lib_dir,
        requested,
        &mut planned,
    )?;
    for (dest, bytes) in launchers(wheel, &archive, &members, &info, target)? {
        planned.generated(&dest, 0o755, relative_to(&dest, lib_dir), bytes);
    }
    write_installer_metadata(&info, lib_dir, requested, &mut planned);
    write_record(&info, lib_dir, &mut planned);
    check_unique_destinations(wheel, &planned.entries)?;
    Ok(PlannedWheel {
        entries: planned.entries,
        metadata: info.metadata,
    })
}

/// Every member to its destination, except the `.dist-info` files pip
/// writes itself (RECORD, INSTALLER, and REQUESTED when it will write one).
#[allow(clippy::too_many_arguments)]
fn spread(
    wheel: &Path,
    archive: &SharedArchive,
    members: &[Member],
    info: &DistInfo,
    target: &PythonTarget,
    lib_dir: &str,
    requested: bool,
    planned: &mut Planned,
) -> Result<(), WheelError> {
    let record_path = format!("{}/RECORD", info.dir);
    let installer_path = format!("{}/INSTALLER", info.dir);
    let requested_path = format!("{}/REQUESTED", info.dir);
    for member in members {
        let name = member.name.as_str();
        if name == record_path || name == installer_path || (requested && name == requested_path) {
            continue;
        }
        let (dest, is_script) = destination(wheel, member, target, &info.metadata.name, lib_dir)?;
        let record_as = relative_to(&dest, lib_dir);
        let (entry, row) = if is_script {
            install_script(wheel, archive, member, info, &dest, &target.interpreter)?
        } else {
            install_file(wheel, archive, member, info, &dest, member.mode)?
        };
        planned.rows.push(RecordEntry {
            path: record_as,
            ..row
        });
        planned.entries.push(entry);
    }
    Ok(())
}

/// `INSTALLER`, and `REQUESTED` for a distribution the user asked for.
fn write_installer_metadata(
    info: &DistInfo,
    lib_dir: &str,
    requested: bool,
    planned: &mut Planned,
) {
    let mut generated = vec![(format!("{}/INSTALLER", info.dir), INSTALLER.to_vec())];
    if requested {
        generated.push((format!("{}/REQUESTED", info.dir), Vec::new()));
    }
    for (path, bytes) in generated {
        let dest = format!("{}/{}", lib_dir.trim_end_matches('/'), path);
        planned.generated(&dest, 0o644, path, bytes);
    }
}

/// The installed RECORD: every row so far, plus RECORD itself without a hash.
fn write_record(info: &DistInfo, lib_dir: &str, planned: &mut Planned) {
    let record_path = format!("{}/RECORD", info.dir);
    let dist_info_dir = format!("{}/{}", lib_dir.trim_end_matches('/'), info.dir);
    planned.rows.push(RecordEntry {
        path: record_path,
        hash: String::new(),
        size: String::new(),
    });
    let rows = std::mem::take(&mut planned.rows);
    planned.entries.push(file_entry(
        &format!("{dist_info_dir}/RECORD"),
        0o644,
        record::write(rows),
    ));
}

/// Two members (or a member and a launcher) landing on one path would
/// silently overwrite each other: the wheel is broken.
fn check_unique_destinations(wheel: &Path, entries: &[Entry]) -> Result<(), WheelError> {
    let mut seen = HashMap::new();
    for entry in entries {
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
