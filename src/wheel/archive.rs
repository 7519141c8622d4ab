//! A wheel's zip archive: its central directory read once and checked for
//! unsafe names, small members read while planning, and large ones streamed
//! into the layer later, verified against RECORD as they stream.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zip::ZipArchive;

use super::record::ExpectedHash;
use super::WheelError;
use crate::layer::Contents;

/// One parsed central directory per wheel, shared by all of its entries;
/// the layer writer streams entries one at a time, so the lock is never
/// contended.
pub type SharedArchive = Arc<Mutex<ZipArchive<File>>>;

/// A regular file in the archive.
#[derive(Clone, Debug)]
pub struct Member {
    pub index: usize,
    pub name: String,
    pub size: u64,
    /// What pip gives the installed file: 0o755 when the zip's unix mode is
    /// a regular file with any execute bit, else 0o644.
    pub mode: u32,
}

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

pub fn open(wheel: &Path) -> Result<(SharedArchive, Vec<Member>), WheelError> {
    let file = File::open(wheel).map_err(|source| WheelError::Open {
        wheel: wheel.to_path_buf(),
        source,
    })?;
    let zip_err = |error| WheelError::Zip {
        wheel: wheel.to_path_buf(),
        error,
    };
    let mut archive = ZipArchive::new(file).map_err(zip_err)?;
    // The zip crate keeps only the last of several entries of one name, so
    // the check on names below cannot see them; its raw count can.
    if archive.metadata().has_duplicate_names() {
        return Err(WheelError::Invalid {
            wheel: wheel.to_path_buf(),
            message: "its central directory lists a member name twice, so what gets installed \
                      is ambiguous (a second copy can hide from tools that read the first); \
                      rebuild the wheel"
                .into(),
        });
    }
    let mut members = Vec::new();
    let mut seen = HashSet::new();
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(zip_err)?;
        let name = entry.name().map_err(zip_err)?.into_owned();
        let unix = entry.external_attributes() >> 16;
        if !seen.insert(name.clone()) {
            return Err(WheelError::Invalid {
                wheel: wheel.to_path_buf(),
                message: format!(
                    "{name} appears twice in the archive, so what gets installed is ambiguous; \
                     rebuild the wheel"
                ),
            });
        }
        if entry.encrypted() {
            return Err(WheelError::Invalid {
                wheel: wheel.to_path_buf(),
                message: format!("{name} is encrypted; wheels cannot be"),
            });
        }
        if let Some(dir) = name.strip_suffix('/') {
            check_path(wheel, dir)?;
            continue;
        }
        check_path(wheel, &name)?;
        if unix & S_IFMT == S_IFLNK {
            return Err(WheelError::Symlink {
                wheel: wheel.to_path_buf(),
                path: name,
            });
        }
        let executable = unix != 0 && unix & S_IFMT == S_IFREG && unix & 0o111 != 0;
        members.push(Member {
            index,
            size: entry.size(),
            mode: if executable { 0o755 } else { 0o644 },
            name,
        });
    }
    Ok((Arc::new(Mutex::new(archive)), members))
}

/// Refuses names that could land outside the install scheme or mean
/// different things on different systems.
pub fn check_path(wheel: &Path, path: &str) -> Result<(), WheelError> {
    let reason = if path.is_empty() {
        Some("empty path")
    } else if path.contains('\0') {
        Some("contains a NUL byte")
    } else if path.contains('\\') {
        Some("contains a backslash")
    } else if path.starts_with('/') {
        Some("absolute path")
    } else if path.as_bytes().get(1) == Some(&b':') && path.as_bytes()[0].is_ascii_alphabetic() {
        Some("starts with a drive letter")
    } else if path.split('/').any(|c| c == "..") {
        Some("contains a `..` component")
    } else if path.split('/').any(|c| c.is_empty() || c == ".") {
        Some("contains an empty or `.` component")
    } else if path.split('/').any(|c| c.starts_with(".wh.")) {
        Some("a `.wh.` whiteout name, which container runtimes read as deleting files from the layers below")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(WheelError::UnsafePath {
            wheel: wheel.to_path_buf(),
            path: path.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

fn io_error(wheel: &Path, path: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{}: {path}: {e}", wheel.display()))
}

/// The most [`read_member`] holds in memory. METADATA, RECORD, WHEEL,
/// entry_points.txt and `#!python` scripts of real wheels are far smaller;
/// a member declaring (or inflating to) more is a zip bomb aimed at memory.
pub const MEMBER_READ_LIMIT: u64 = 32 << 20;

/// Reads a member whole; only for the small files planning needs, and never
/// more than [`MEMBER_READ_LIMIT`] whatever the archive declares.
pub fn read_member(
    archive: &SharedArchive,
    wheel: &Path,
    member: &Member,
) -> Result<Vec<u8>, WheelError> {
    let too_big = |what: String| {
        WheelError::Invalid {
        wheel: wheel.to_path_buf(),
        message: format!(
            "{} {what}, more than the {} MiB pyko reads of such a file; the wheel is broken or hostile",
            member.name,
            MEMBER_READ_LIMIT >> 20
        ),
    }
    };
    if member.size > MEMBER_READ_LIMIT {
        return Err(too_big(format!("declares {} bytes", member.size)));
    }
    let mut archive = archive.lock().unwrap_or_else(|e| e.into_inner());
    let zip_err = |error| WheelError::Zip {
        wheel: wheel.to_path_buf(),
        error,
    };
    let file = archive.by_index(member.index).map_err(zip_err)?;
    let mut bytes = Vec::with_capacity(member.size.min(1 << 20) as usize);
    file.take(MEMBER_READ_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| WheelError::Invalid {
            wheel: wheel.to_path_buf(),
            message: format!("cannot read {}: {e}; download the wheel again", member.name),
        })?;
    if bytes.len() as u64 > MEMBER_READ_LIMIT {
        return Err(too_big("inflates beyond its declared size".into()));
    }
    Ok(bytes)
}

/// The first `n` bytes of a member, without inflating the rest.
pub fn read_prefix(
    archive: &SharedArchive,
    wheel: &Path,
    member: &Member,
    n: u64,
) -> Result<Vec<u8>, WheelError> {
    let mut archive = archive.lock().unwrap_or_else(|e| e.into_inner());
    let file = archive
        .by_index(member.index)
        .map_err(|error| WheelError::Zip {
            wheel: wheel.to_path_buf(),
            error,
        })?;
    let mut bytes = Vec::new();
    file.take(n)
        .read_to_end(&mut bytes)
        .map_err(|e| WheelError::Invalid {
            wheel: wheel.to_path_buf(),
            message: format!("cannot read {}: {e}; download the wheel again", member.name),
        })?;
    Ok(bytes)
}

/// A member streamed into the layer and checked against its RECORD hash and
/// size on the way, so a tampered wheel fails the layer instead of landing
/// in it.
pub struct ZipContents {
    pub archive: SharedArchive,
    pub wheel: PathBuf,
    pub member: Member,
    pub expected: ExpectedHash,
}

impl Contents for ZipContents {
    fn write_to(&self, out: &mut dyn io::Write) -> io::Result<()> {
        let name = &self.member.name;
        let mut archive = self.archive.lock().unwrap_or_else(|e| e.into_inner());
        let mut hasher = self.expected.hasher();
        let mut file = archive
            .by_index(self.member.index)
            .map_err(|e| io_error(&self.wheel, name, e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut len = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let e = format!("{e}; the wheel is corrupt — download it again");
                    return Err(io_error(&self.wheel, name, e));
                }
            };
            len += n as u64;
            if len > self.member.size {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
        }
        if len != self.member.size {
            return Err(io_error(
                &self.wheel,
                name,
                format!(
                    "inflates to {len}{} bytes, but the archive and RECORD say {}; the wheel is corrupt — download it again",
                    if len > self.member.size { "+" } else { "" },
                    self.member.size
                ),
            ));
        }
        let digest = hasher.finalize();
        if *digest != *self.expected.digest {
            return Err(io_error(
                &self.wheel,
                name,
                format!(
                    "content hash {} does not match RECORD's {}; the wheel is corrupt or was modified — download it again",
                    ExpectedHash::encoded(&digest, self.expected.algorithm),
                    ExpectedHash::encoded(&self.expected.digest, self.expected.algorithm),
                ),
            ));
        }
        Ok(())
    }
}
