//! Reading base layers for what decides the target: interpreters, a few
//! layout probes, the C library. Layers are read from the top down, so a
//! build can stop as soon as it knows enough; whiteouts and opaque
//! directories of the layers already read hide what the lower ones hold.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use super::{parse_version, Libc};

/// What the layers read so far show, as the merged rootfs would.
#[derive(Default, Debug)]
pub(super) struct Found {
    /// Interpreter paths (`usr/bin/python3.11`) → (major, minor).
    pub pythons: BTreeMap<String, (u32, u32)>,
    /// The layout probes present in the merged rootfs.
    pub dirs_of_interest: BTreeMap<String, ()>,
    /// From the highest layer that has one: it shadows the lower ones.
    pub libc: Option<Libc>,
    /// `usr/bin/python3` when present: `Some(link target)` for a symlink,
    /// `None` inside for a regular file.
    pub python3_link: Option<Option<String>>,
    /// Paths deleted by a layer already read (whiteouts, opaque dirs):
    /// nothing at or under them in a lower layer is in the merged rootfs.
    hidden: BTreeSet<String>,
}

impl Found {
    fn is_hidden(&self, p: &str) -> bool {
        // Every ancestor (and the path itself) is checked: a few lookups in
        // a small set per entry, cheaper than a prefix scan.
        let mut at = p;
        loop {
            if self.hidden.contains(at) {
                return true;
            }
            match at.rsplit_once('/') {
                Some((parent, _)) => at = parent,
                None => return false,
            }
        }
    }
}

const PROBES: &[&str] = &[
    "usr/local/bin/python",
    "usr/local/bin/python3",
    "usr/lib/python3/dist-packages",
    "etc/redhat-release",
];

/// Adds one layer (a gzip, zstd or plain tar blob: `docker save` writes
/// plain ones) lying *below* every layer already scanned into `found`.
pub(super) fn scan_layer(path: &Path, found: &mut Found) -> std::io::Result<()> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let reader = crate::oci::compression::decompress(file)?;
    let libc_above = found.libc.is_some();
    // This layer's whiteouts hide lower layers only, never its own entries.
    let mut deletes = Vec::new();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let p = raw
            .trim_start_matches("./")
            .trim_start_matches('/')
            .trim_end_matches('/');
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        if let Some(hidden) = name.strip_prefix(".wh.") {
            let gone = if hidden == ".wh..opq" {
                dir.to_string()
            } else if dir.is_empty() {
                hidden.to_string()
            } else {
                format!("{dir}/{hidden}")
            };
            deletes.push(gone);
            continue;
        }
        if p.is_empty() || found.is_hidden(p) {
            continue;
        }
        if p == "usr/bin/python3" && found.python3_link.is_none() {
            let link = entry.link_name()?.map(|l| l.to_string_lossy().into_owned());
            found.python3_link = Some(link);
        }
        if PROBES.contains(&p) {
            found.dirs_of_interest.insert(p.to_string(), ());
        }
        if matches!(dir, "usr/bin" | "usr/local/bin" | "bin") {
            if let Some(v) = name.strip_prefix("python").and_then(strict_version) {
                found.pythons.insert(p.to_string(), v);
            }
        }
        if libc_above {
            continue;
        }
        if let Some(libc) = libc_from_name(name) {
            found.libc = Some(libc);
        } else if name == "libc.so.6" && entry.header().entry_type().is_file() {
            let mut bytes = Vec::new();
            (&mut entry).take(64 << 20).read_to_end(&mut bytes)?;
            if let Some(libc) = glibc_from_binary(&bytes) {
                found.libc = Some(libc);
            }
        } else if p == "lib/apk/db/installed" {
            let mut text = String::new();
            (&mut entry).take(64 << 20).read_to_string(&mut text)?;
            if let Some(libc) = musl_from_apk_db(&text) {
                found.libc = Some(libc);
            }
        }
    }
    found.hidden.extend(deletes);
    Ok(())
}

/// `3.11` → (3, 11); rejects `3.11-config`, `3`, `3.11m`.
pub(super) fn strict_version(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    if a.is_empty() || b.is_empty() || !(a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Older glibc ships `libc-2.31.so`; musl ships `ld-musl-<arch>.so.1`
/// (its version comes from the apk database when present).
pub(super) fn libc_from_name(name: &str) -> Option<Libc> {
    if let Some(v) = name
        .strip_prefix("libc-")
        .and_then(|r| r.strip_suffix(".so"))
    {
        let (major, minor) = strict_version(v)?;
        return Some(Libc::Glibc { major, minor });
    }
    if name.starts_with("ld-musl-") && name.ends_with(".so.1") {
        return Some(Libc::Musl { major: 1, minor: 2 });
    }
    None
}

/// glibc embeds "release version 2.36" in libc.so.6; failing that, the
/// newest `GLIBC_2.N` symbol version it defines is its own version.
pub(super) fn glibc_from_binary(bytes: &[u8]) -> Option<Libc> {
    let find_after = |needle: &[u8]| -> Option<(u32, u32)> {
        let at = bytes.windows(needle.len()).position(|w| w == needle)? + needle.len();
        let tail = &bytes[at..(at + 16).min(bytes.len())];
        let s: String = tail
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .map(|c| *c as char)
            .collect();
        parse_version(&s)
    };
    if let Some((major, minor)) = find_after(b"release version ") {
        return Some(Libc::Glibc { major, minor });
    }
    let mut best: Option<(u32, u32)> = None;
    let needle = b"GLIBC_2.";
    let mut i = 0;
    while let Some(pos) = bytes[i..].windows(needle.len()).position(|w| w == needle) {
        let at = i + pos + needle.len();
        let digits: String = bytes[at..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .map(|c| *c as char)
            .collect();
        if let Ok(minor) = digits.parse::<u32>() {
            best = best.max(Some((2, minor)));
        }
        i = at;
    }
    best.map(|(major, minor)| Libc::Glibc { major, minor })
}

pub(super) fn musl_from_apk_db(text: &str) -> Option<Libc> {
    let block = text
        .split("\n\n")
        .find(|b| b.lines().any(|l| l == "P:musl"))?;
    let v = block.lines().find_map(|l| l.strip_prefix("V:"))?;
    let (major, minor) = parse_version(v)?;
    Some(Libc::Musl { major, minor })
}
