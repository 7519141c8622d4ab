//! What the wheels must fit: the base image's Python (version, interpreter,
//! install scheme), libc and architecture, decided from flags, the base
//! config's Env and the base layers' files — never by running anything from
//! the image, so an arm64 image is planned on an amd64 host the same way.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::oci::Platform;

pub mod venv;

/// The C library of the image, which decides manylinux vs musllinux tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Libc {
    Glibc { major: u32, minor: u32 },
    Musl { major: u32, minor: u32 },
}

impl std::fmt::Display for Libc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Libc::Glibc { major, minor } => write!(f, "glibc {major}.{minor}"),
            Libc::Musl { major, minor } => write!(f, "musl {major}.{minor}"),
        }
    }
}

/// Absolute in-image directories that pip's install scheme maps to
/// (`sysconfig.get_paths()` for the target interpreter).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Scheme {
    pub purelib: String,
    pub platlib: String,
    pub scripts: String,
    /// `data` scheme key: the prefix (e.g. `/usr/local`).
    pub data: String,
    /// `include` dir; pip puts headers under `<headers>/<distribution name>`.
    pub headers: String,
}

/// Everything the installer needs to know about the interpreter in the image.
/// Serializable so a build can remember it per base manifest digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PythonTarget {
    pub major: u32,
    pub minor: u32,
    /// Absolute path used in launcher shebangs (what `sys.executable` is
    /// when the image's own `pip` runs).
    pub interpreter: String,
    pub scheme: Scheme,
    pub platform: Platform,
    pub libc: Libc,
}

impl std::fmt::Display for PythonTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CPython {}.{} at {} ({}, {}), site-packages {}",
            self.major, self.minor, self.interpreter, self.platform, self.libc, self.scheme.purelib
        )
    }
}

/// Flags that override detection.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--python 3.12`
    pub python: Option<(u32, u32)>,
    /// `--site-packages /path`: purelib and platlib both.
    pub site_packages: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The cause sits mid-sentence, so it is a plain field, not a source.
    #[error("base image layer {layer}: {error}; the blob may be corrupt (clear the pyko cache and retry)")]
    Layer {
        layer: PathBuf,
        error: std::io::Error,
    },
    #[error("no Python interpreter found in the base image (looked for usr/local/bin/python3.X and usr/bin/python3.X, and PYTHON_VERSION in its Env); use a Python base image, or give --python X.Y")]
    NoPython,
    #[error("no C library found in the base image (looked for libc.so.6 and ld-musl-*.so.1): pyko cannot tell which binary wheels fit; use a glibc or musl based image")]
    NoLibc,
    #[error("invalid PYTHON_VERSION {0:?} in the base image's Env; give --python X.Y")]
    BadEnvVersion(String),
}

/// What the layer scan found, before the layout rules are applied.
#[derive(Default, Debug)]
struct Found {
    /// Interpreter paths (`usr/bin/python3.11`) → (major, minor).
    pythons: BTreeMap<String, (u32, u32)>,
    /// Every path seen (after whiteouts), for layout probes.
    dirs_of_interest: BTreeMap<String, ()>,
    libc: Option<Libc>,
}

/// Decides the target from the base config and its layers (gzip blobs,
/// bottom first).
pub fn detect(
    config: &serde_json::Value,
    layers: &[PathBuf],
    overrides: &Overrides,
) -> Result<PythonTarget, TargetError> {
    let s = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let platform = Platform {
        os: s("os").unwrap_or_else(|| "linux".into()),
        architecture: s("architecture").unwrap_or_else(|| "amd64".into()),
        variant: s("variant"),
    };
    let env_version = env_var(config, "PYTHON_VERSION")
        .map(|v| parse_version(&v).ok_or(TargetError::BadEnvVersion(v)))
        .transpose()?;

    let mut found = Found::default();
    for layer in layers {
        scan_layer(layer, &mut found).map_err(|error| TargetError::Layer {
            layer: layer.clone(),
            error,
        })?;
    }
    let libc = found.libc.ok_or(TargetError::NoLibc)?;

    // Official images: interpreter and stdlib under /usr/local.
    let local = pick(
        &found.pythons,
        "usr/local/bin/python3.",
        overrides.python.or(env_version),
    );
    let system = pick(
        &found.pythons,
        "usr/bin/python3.",
        overrides.python.or(env_version),
    );
    let (major, minor, interpreter, site) = if let Some((ma, mi)) = local {
        // The official images' pip has `#!/usr/local/bin/python`, so that is
        // what `sys.executable` (and every launcher's shebang) says.
        let exe = ["usr/local/bin/python", "usr/local/bin/python3"]
            .into_iter()
            .find(|p| found.dirs_of_interest.contains_key(*p))
            .map(|p| format!("/{p}"))
            .unwrap_or_else(|| format!("/usr/local/bin/python{ma}.{mi}"));
        (
            ma,
            mi,
            exe,
            format!("/usr/local/lib/python{ma}.{mi}/site-packages"),
        )
    } else if let Some((ma, mi)) = system {
        // Debian/Ubuntu patch pip to install into /usr/local/…/dist-packages;
        // other distributions (Fedora, Alpine) use site-packages.
        let debian = found
            .dirs_of_interest
            .contains_key("usr/lib/python3/dist-packages");
        let dir = if debian {
            "dist-packages"
        } else {
            "site-packages"
        };
        let prefix = if debian || found.dirs_of_interest.contains_key("etc/redhat-release") {
            "/usr/local"
        } else {
            "/usr"
        };
        (
            ma,
            mi,
            "/usr/bin/python3".to_string(),
            format!("{prefix}/lib/python{ma}.{mi}/{dir}"),
        )
    } else if let Some((ma, mi)) = overrides.python.or(env_version) {
        (
            ma,
            mi,
            "/usr/local/bin/python3".into(),
            format!("/usr/local/lib/python{ma}.{mi}/site-packages"),
        )
    } else {
        return Err(TargetError::NoPython);
    };
    let site = overrides.site_packages.clone().unwrap_or(site);
    // pip derives scripts/data/headers from the same prefix as site-packages.
    let prefix = site
        .split("/lib/python")
        .next()
        .unwrap_or("/usr/local")
        .to_string();
    Ok(PythonTarget {
        major,
        minor,
        interpreter,
        scheme: Scheme {
            purelib: site.clone(),
            platlib: site,
            scripts: format!("{prefix}/bin"),
            data: prefix.clone(),
            headers: format!("{prefix}/include/python{major}.{minor}"),
        },
        platform,
        libc,
    })
}

/// The interpreter with `prefix` (e.g. `usr/bin/python3.`) matching `want`,
/// else the newest one found there.
fn pick(
    pythons: &BTreeMap<String, (u32, u32)>,
    prefix: &str,
    want: Option<(u32, u32)>,
) -> Option<(u32, u32)> {
    let mut here = pythons
        .iter()
        .filter(|(p, _)| p.starts_with(prefix))
        .map(|(_, v)| *v);
    match want {
        Some(w) => here.find(|v| *v == w),
        None => here.max(),
    }
}

fn env_var(config: &serde_json::Value, key: &str) -> Option<String> {
    config
        .pointer("/config/Env")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str())
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
}

/// `3.11.2` or `3.11` → (3, 11).
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor))
}

const PROBES: &[&str] = &[
    "usr/local/bin/python",
    "usr/local/bin/python3",
    "usr/lib/python3/dist-packages",
    "etc/redhat-release",
];

fn scan_layer(path: &Path, found: &mut Found) -> std::io::Result<()> {
    use std::io::BufRead;
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    // Layers from a `docker save` archive are plain tars; the rest gzip.
    let gzip = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn std::io::Read> = if gzip {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
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
            // A whiteout: a later layer deleted what earlier ones had.
            let gone = if hidden == ".wh..opq" {
                dir.to_string()
            } else {
                format!("{dir}/{hidden}")
            };
            let gone = gone.trim_start_matches('/');
            found
                .pythons
                .retain(|k, _| k != gone && !k.starts_with(&format!("{gone}/")));
            found
                .dirs_of_interest
                .retain(|k, _| k != gone && !k.starts_with(&format!("{gone}/")));
            continue;
        }
        if PROBES.contains(&p) {
            found.dirs_of_interest.insert(p.to_string(), ());
        }
        if matches!(dir, "usr/bin" | "usr/local/bin" | "bin") {
            if let Some(v) = name.strip_prefix("python").and_then(strict_version) {
                found.pythons.insert(p.to_string(), v);
            }
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
    Ok(())
}

/// `3.11` → (3, 11); rejects `3.11-config`, `3`, `3.11m`.
fn strict_version(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    if a.is_empty() || b.is_empty() || !(a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Older glibc ships `libc-2.31.so`; musl ships `ld-musl-<arch>.so.1`
/// (its version comes from the apk database when present).
fn libc_from_name(name: &str) -> Option<Libc> {
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
fn glibc_from_binary(bytes: &[u8]) -> Option<Libc> {
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

fn musl_from_apk_db(text: &str) -> Option<Libc> {
    let block = text
        .split("\n\n")
        .find(|b| b.lines().any(|l| l == "P:musl"))?;
    let v = block.lines().find_map(|l| l.strip_prefix("V:"))?;
    let (major, minor) = parse_version(v)?;
    Some(Libc::Musl { major, minor })
}

/// CPython 3.11 laid out as the official images do, on glibc 2.36: the
/// target the later stages' unit tests install for.
#[cfg(test)]
impl PythonTarget {
    pub(crate) fn test_cpython311(arch: &str) -> PythonTarget {
        PythonTarget {
            major: 3,
            minor: 11,
            interpreter: "/usr/local/bin/python3".into(),
            scheme: Scheme {
                purelib: "/usr/local/lib/python3.11/site-packages".into(),
                platlib: "/usr/local/lib/python3.11/site-packages".into(),
                scripts: "/usr/local/bin".into(),
                data: "/usr/local".into(),
                headers: "/usr/local/include/python3.11".into(),
            },
            platform: Platform {
                os: "linux".into(),
                architecture: arch.into(),
                variant: None,
            },
            libc: Libc::Glibc {
                major: 2,
                minor: 36,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("3.11.2"), Some((3, 11)));
        assert_eq!(parse_version("3.13.0rc1"), Some((3, 13)));
        assert_eq!(strict_version("3.11"), Some((3, 11)));
        assert_eq!(strict_version("3.11-config"), None);
        assert_eq!(
            libc_from_name("libc-2.31.so"),
            Some(Libc::Glibc {
                major: 2,
                minor: 31
            })
        );
        assert_eq!(
            glibc_from_binary(
                b"xx GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\n"
            ),
            Some(Libc::Glibc {
                major: 2,
                minor: 36
            })
        );
        assert_eq!(
            glibc_from_binary(b"\0GLIBC_2.2.5\0GLIBC_2.17\0GLIBC_2.34\0"),
            Some(Libc::Glibc {
                major: 2,
                minor: 34
            })
        );
        assert_eq!(
            musl_from_apk_db("P:busybox\nV:1.36\n\nP:musl\nV:1.2.4-r2\n"),
            Some(Libc::Musl { major: 1, minor: 2 })
        );
    }
}
