//! What the wheels must fit: the base image's Python (version, interpreter,
//! install scheme), libc and architecture, decided from flags, the base
//! config's Env and the base layers' files — never by running anything from
//! the image, so an arm64 image is planned on an amd64 host the same way.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::oci::Platform;

mod scan;
pub mod venv;

use scan::{scan_layer, Found};

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
