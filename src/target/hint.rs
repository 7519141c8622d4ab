//! The C library as the base config tells it, so a lazy detection need not
//! download the bottom (distribution) layer: the official images record how
//! their root filesystem was made in the first history entry —
//! `debian.sh … 'bookworm'` (or `mmdebstrap … bookworm`,
//! `debootstrap … bookworm`), `ADD alpine-minirootfs-3.20.3-x86_64.tar.gz`.
//! A Debian stable release never changes its glibc minor version, and every
//! Alpine since 3.13 ships musl 1.2, so the name decides the version. Only
//! names known here give a hint; anything else reads the layers.

use super::Libc;

/// Debian and Ubuntu release codenames → the glibc they ship.
const GLIBC_BY_SUITE: &[(&str, u32)] = &[
    ("stretch", 24),
    ("buster", 28),
    ("bullseye", 31),
    ("bookworm", 36),
    ("trixie", 41),
    ("focal", 31),
    ("jammy", 35),
    ("noble", 39),
];

/// The tools that write a Debian rootfs and name the suite on their command line.
const DEBIAN_BUILDERS: &[&str] = &["debian.sh", "mmdebstrap", "debootstrap"];

pub(super) fn libc_from_config(config: &serde_json::Value) -> Option<Libc> {
    let first = config
        .get("history")?
        .as_array()?
        .iter()
        .find_map(|h| h.get("created_by")?.as_str())?;
    let words: Vec<&str> = first
        .split(|c: char| c.is_whitespace() || c == '\'' || c == '"')
        .filter(|w| !w.is_empty())
        .collect();
    if words
        .iter()
        .any(|w| DEBIAN_BUILDERS.iter().any(|b| w.ends_with(b)))
    {
        // The suite is the one known codename among the words (a mirror
        // URL or a `--include` list never is exactly one).
        let mut suites = words.iter().filter_map(|w| {
            GLIBC_BY_SUITE
                .iter()
                .find(|(s, _)| s == w)
                .map(|(_, minor)| *minor)
        });
        let minor = suites.next()?;
        if suites.any(|m| m != minor) {
            return None;
        }
        return Some(Libc::Glibc { major: 2, minor });
    }
    let alpine = words
        .iter()
        .find_map(|w| w.rsplit('/').next()?.strip_prefix("alpine-minirootfs-"))?;
    let (major, minor) = super::parse_version(alpine)?;
    (major == 3 && minor >= 13).then_some(Libc::Musl { major: 1, minor: 2 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(created_by: &str) -> Option<Libc> {
        libc_from_config(&json!({"history": [{"created_by": created_by}, {"created_by": "x"}]}))
    }

    #[test]
    fn official_images_and_fixtures() {
        let bookworm = Some(Libc::Glibc {
            major: 2,
            minor: 36,
        });
        assert_eq!(
            first("# debian.sh --arch 'amd64' out/ 'bookworm' '@1733097600'"),
            bookworm
        );
        assert_eq!(
            first("mmdebstrap --variant=minbase --include=ca-certificates bookworm"),
            bookworm
        );
        assert_eq!(
            first("/bin/sh -c #(nop) ADD file:abc in / "),
            None,
            "an opaque ADD says nothing"
        );
        assert_eq!(
            first("ADD alpine-minirootfs-3.20.3-x86_64.tar.gz / # buildkit"),
            Some(Libc::Musl { major: 1, minor: 2 })
        );
        assert_eq!(first("ADD alpine-minirootfs-3.12.0-x86_64.tar.gz /"), None);
        assert_eq!(first("debootstrap sid"), None, "unknown suite");
        assert_eq!(first("debootstrap bullseye bookworm"), None, "ambiguous");
        assert_eq!(libc_from_config(&json!({})), None);
    }
}
