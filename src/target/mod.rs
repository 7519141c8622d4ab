//! What the wheels must fit: the base image's Python (version, interpreter,
//! install scheme), libc and architecture, decided from flags, the base
//! config's Env and the base layers' files — never by running anything from
//! the image, so an arm64 image is planned on an amd64 host the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::oci::Platform;

mod hint;
mod scan;
pub mod venv;

use scan::Found;

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
    #[error("no Python interpreter found in the base image (looked for usr/local/bin/python3.X and usr/bin/python3.X); use a base image with a Python interpreter")]
    NoPython,
    #[error("no C library found in the base image (looked for libc.so.6 and ld-musl-*.so.1): pyko cannot tell which binary wheels fit; use a glibc or musl based image")]
    NoLibc,
    #[error("the base image has no interpreter for Python {want} (found: {}); launchers and `#!python` scripts need one: give --python X.Y for a Python it has, or use a base image with Python {want}", if found.is_empty() { "none in usr/local/bin or usr/bin" } else { found.as_str() })]
    NoInterpreterFor { want: String, found: String },
    #[error("invalid PYTHON_VERSION {0:?} in the base image's Env; give --python X.Y")]
    BadEnvVersion(String),
}

/// Decides the target from the base config and all its layers (gzip or
/// plain tar blobs, bottom first), as the merged rootfs has them.
pub fn detect(
    config: &serde_json::Value,
    layers: &[PathBuf],
    overrides: &Overrides,
) -> Result<PythonTarget, TargetError> {
    let mut found = Found::default();
    for layer in layers.iter().rev() {
        scan(layer, &mut found)?;
    }
    decide(config, found, overrides)
}

/// Like [`detect`], but reads the config first and the layers from the top
/// down, fetching each only when the ones above did not settle the answer:
/// `layer(i)` gives the blob of layer `i` (bottom first) of `count`. It
/// stops once the interpreter the config's `PYTHON_VERSION` (or `--python`)
/// names is found in the official images' layout (`/usr/local/bin`, with its
/// `python` link) and the C library is known, from a layer or from how the
/// config says the rootfs was made. Anything less settled reads every
/// layer, so the answer is always the one [`detect`] gives.
pub fn detect_lazy<E>(
    config: &serde_json::Value,
    count: usize,
    mut layer: impl FnMut(usize) -> Result<PathBuf, E>,
    overrides: &Overrides,
) -> Result<Result<PythonTarget, TargetError>, E> {
    let want = match env_version(config) {
        Ok(env) => overrides.python.or(env),
        Err(e) => return Ok(Err(e)),
    };
    let hint = hint::libc_from_config(config);
    let mut found = Found::default();
    for i in (0..count).rev() {
        let path = layer(i)?;
        if let Err(e) = scan(&path, &mut found) {
            return Ok(Err(e));
        }
        if i > 0 && settled(&found, want, hint) {
            found.libc = found.libc.or(hint);
            break;
        }
    }
    Ok(decide(config, found, overrides))
}

/// Whether the lower layers can no longer change the answer: the wanted
/// interpreter and the exact launcher path are where the official images
/// put them (they win over any system Python), and the libc is known.
fn settled(found: &Found, want: Option<(u32, u32)>, hint: Option<Libc>) -> bool {
    let Some((ma, mi)) = want else { return false };
    found
        .pythons
        .contains_key(&format!("usr/local/bin/python{ma}.{mi}"))
        && found.dirs_of_interest.contains_key("usr/local/bin/python")
        && (found.libc.is_some() || hint.is_some())
}

fn scan(layer: &Path, found: &mut Found) -> Result<(), TargetError> {
    scan::scan_layer(layer, found).map_err(|error| TargetError::Layer {
        layer: layer.to_path_buf(),
        error,
    })
}

fn env_version(config: &serde_json::Value) -> Result<Option<(u32, u32)>, TargetError> {
    env_var(config, "PYTHON_VERSION")
        .map(|v| parse_version(&v).ok_or(TargetError::BadEnvVersion(v)))
        .transpose()
}

/// The layout rules, applied to what the scan found.
fn decide(
    config: &serde_json::Value,
    found: Found,
    overrides: &Overrides,
) -> Result<PythonTarget, TargetError> {
    let s = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let platform = Platform {
        os: s("os").unwrap_or_else(|| "linux".into()),
        architecture: s("architecture").unwrap_or_else(|| "amd64".into()),
        variant: s("variant"),
    };
    let env_version = env_version(config)?;
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
            system_executable(&found, ma, mi),
            format!("{prefix}/lib/python{ma}.{mi}/{dir}"),
        )
    } else if let Some(want) = overrides.python.or(env_version) {
        // A launcher whose shebang names a file the image lacks fails as
        // `not found` only when the container starts: refuse now instead.
        return Err(TargetError::NoInterpreterFor {
            want: format!("{}.{}", want.0, want.1),
            found: found
                .pythons
                .keys()
                .map(|p| format!("/{p}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
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

/// What `sys.executable` is for Debian-style `/usr/bin/python3.X`: the
/// `python3` link when the image has one that leads to this version (the
/// `python3` package), else the versioned binary itself (only `python3.X`
/// installed) — a shebang naming a missing `python3` would fail at start.
fn system_executable(found: &Found, major: u32, minor: u32) -> String {
    let versioned = format!("python{major}.{minor}");
    let python3 = match found.python3_link.as_ref() {
        None => None,
        // A regular file named python3 (some distributions): it is the
        // interpreter when it is the only Python there.
        Some(None) => (found
            .pythons
            .keys()
            .filter(|p| p.starts_with("usr/bin/"))
            .count()
            == 1)
            .then_some(()),
        Some(Some(target)) => {
            let name = target.rsplit('/').next().unwrap_or(target);
            (name == versioned).then_some(())
        }
    };
    match python3 {
        Some(()) => "/usr/bin/python3".into(),
        None => format!("/usr/bin/{versioned}"),
    }
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
mod tests;

#[cfg(test)]
mod lazy_tests {
    use super::*;
    use std::io::Write;

    fn layer(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join(name);
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut t = tar::Builder::new(gz);
        for (p, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            t.append_data(&mut h, p, *data).unwrap();
        }
        t.into_inner().unwrap().finish().unwrap().flush().unwrap();
        path
    }

    #[test]
    fn top_down_honours_whiteouts_and_stops_early() {
        let tmp = tempfile::tempdir().unwrap();
        let libc: &[u8] = b"GNU C Library stable release version 2.36.\n";
        let bottom = layer(
            tmp.path(),
            "0",
            &[
                ("usr/lib/x86_64-linux-gnu/libc.so.6", libc),
                ("usr/local/bin/python3.12", b""),
                ("usr/local/bin/python", b""),
            ],
        );
        // The top layer deletes 3.12 and ships 3.11; its own whiteout does
        // not hide its own files.
        let top = layer(
            tmp.path(),
            "1",
            &[
                ("usr/local/bin/.wh.python3.12", b""),
                ("usr/local/bin/.wh..wh..opq", b""),
                ("usr/local/bin/python3.11", b""),
                ("usr/local/bin/python", b""),
            ],
        );
        let layers = [bottom, top];
        let mut config = serde_json::json!({"architecture": "amd64", "os": "linux"});
        let full = detect(&config, &layers, &Overrides::default()).unwrap();
        assert_eq!((full.major, full.minor), (3, 11), "3.12 is whited out");
        let lazy = |config: &serde_json::Value| {
            let mut read = Vec::new();
            let t = detect_lazy::<()>(
                config,
                2,
                |i| {
                    read.push(i);
                    Ok(layers[i].clone())
                },
                &Overrides::default(),
            )
            .unwrap()
            .unwrap();
            (t, read)
        };
        // No version in the config: nothing settles, every layer is read.
        assert_eq!(lazy(&config), (full.clone(), vec![1, 0]));
        // PYTHON_VERSION and a bookworm rootfs: the top layer is enough.
        config["config"] = serde_json::json!({"Env": ["PYTHON_VERSION=3.11.9"]});
        config["history"] = serde_json::json!([{"created_by": "mmdebstrap bookworm"}]);
        assert_eq!(lazy(&config), (full.clone(), vec![1]));
        // A rootfs the config does not name: the libc must be read.
        config["history"] = serde_json::json!([{"created_by": "ADD file:x in /"}]);
        assert_eq!(lazy(&config), (full.clone(), vec![1, 0]));
    }
}
