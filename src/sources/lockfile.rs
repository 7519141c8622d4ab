//! Writes PEP 751 `pylock.toml` from one resolution per platform, so that
//! `pyko build --lock` (and any PEP 751 installer, such as uv) installs
//! exactly what was resolved, with nothing resolved again. A package with
//! the same version everywhere is one entry; one whose version differs
//! between platforms gets an entry per version with a `platform_machine`
//! marker. Output is sorted, so the same resolution gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::sources::index::IndexFile;
use crate::sources::resolve::Resolved;

/// One platform's resolution.
pub struct PlatformLock {
    /// `platform_machine` of the target (`x86_64`, `aarch64`).
    pub machine: String,
    pub resolved: Vec<Resolved>,
}

/// What the lock says besides its packages.
pub struct LockHeader {
    /// Target Python (X, Y).
    pub python: (u32, u32),
    /// Top-level names (normalized): `pyko build --lock` marks them
    /// `REQUESTED`, as the resolved build does.
    pub requested: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("writing the lock file {path}")]
pub struct LockWriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

#[derive(Serialize)]
struct File {
    #[serde(rename = "lock-version")]
    lock_version: &'static str,
    environments: Vec<String>,
    #[serde(rename = "requires-python")]
    requires_python: String,
    extras: Vec<String>,
    #[serde(rename = "dependency-groups")]
    dependency_groups: Vec<String>,
    #[serde(rename = "default-groups")]
    default_groups: Vec<String>,
    #[serde(rename = "created-by")]
    created_by: &'static str,
    packages: Vec<Package>,
    tool: Tool,
}

#[derive(Serialize)]
struct Package {
    name: String,
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    wheels: Vec<Wheel>,
    /// A version with no wheel: the sdist the build builds (PEP 751 gives
    /// it the same fields as a wheel).
    #[serde(skip_serializing_if = "Option::is_none")]
    sdist: Option<Wheel>,
}

#[derive(Serialize)]
struct Wheel {
    name: String,
    url: String,
    #[serde(rename = "upload-time", skip_serializing_if = "Option::is_none")]
    upload_time: Option<toml::value::Datetime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    hashes: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Tool {
    pyko: PykoTool,
}

#[derive(Serialize)]
struct PykoTool {
    requested: Vec<String>,
}

fn machine_marker(machine: &str) -> String {
    format!("platform_machine == '{machine}'")
}

/// The lock file's text. Every wheel must have a sha256 (PEP 751 requires
/// a hash; the index gave one, or the resolver's download computed it).
pub fn render(header: &LockHeader, platforms: &[PlatformLock]) -> Result<String, String> {
    // (name, version) → (machines that use it, wheels by file name)
    type Entry<'a> = (BTreeSet<&'a str>, BTreeMap<&'a str, &'a IndexFile>);
    let mut entries: BTreeMap<(&str, &pep440_rs::Version), Entry> = BTreeMap::new();
    for p in platforms {
        for r in &p.resolved {
            let e = entries.entry((&r.name, &r.version)).or_default();
            e.0.insert(&p.machine);
            e.1.insert(&r.wheel.filename, &r.wheel);
        }
    }
    let all: BTreeSet<&str> = platforms.iter().map(|p| p.machine.as_str()).collect();
    let mut packages = Vec::new();
    for ((name, version), (machines, wheels)) in entries {
        let marker = (machines != all).then(|| {
            machines
                .iter()
                .map(|m| machine_marker(m))
                .collect::<Vec<_>>()
                .join(" or ")
        });
        let (wheels, sdists): (Vec<&IndexFile>, Vec<&IndexFile>) = wheels
            .into_values()
            .partition(|f| f.filename.ends_with(".whl"));
        let wheels = wheels
            .into_iter()
            .map(|f| wheel(name, version, f))
            .collect::<Result<_, _>>()?;
        let sdist = sdists
            .first()
            .map(|f| wheel(name, version, f))
            .transpose()?;
        packages.push(Package {
            name: name.to_string(),
            version: version.to_string(),
            marker,
            wheels,
            sdist,
        });
    }
    let (major, minor) = header.python;
    let file = File {
        lock_version: "1.0",
        environments: all
            .iter()
            .map(|m| format!("sys_platform == 'linux' and {}", machine_marker(m)))
            .collect(),
        requires_python: format!("=={major}.{minor}.*"),
        extras: Vec::new(),
        dependency_groups: Vec::new(),
        default_groups: Vec::new(),
        created_by: "pyko",
        packages,
        tool: Tool {
            pyko: PykoTool {
                requested: header.requested.clone(),
            },
        },
    };
    toml::to_string_pretty(&file).map_err(|e| e.to_string())
}

fn wheel(name: &str, version: &pep440_rs::Version, f: &IndexFile) -> Result<Wheel, String> {
    let sha256 = f.sha256.clone().ok_or_else(|| {
        format!(
            "{name}=={version}: the index gave no sha256 for {}; use an index that lists hashes",
            f.filename
        )
    })?;
    let upload_time = f
        .upload_time
        .and_then(|t| u64::try_from(t).ok())
        .and_then(|t| crate::oci::config::rfc3339(t).parse().ok());
    Ok(Wheel {
        name: f.filename.clone(),
        url: f.url.to_string(),
        upload_time,
        size: f.size,
        hashes: BTreeMap::from([("sha256", sha256)]),
    })
}

/// Writes `text` to `path` all at once: a temp file beside it, renamed
/// over it, so a failed run leaves the old lock (or none) in place.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), LockWriteError> {
    let err = |source| LockWriteError {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pylock-")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    // A temp file is private (0600); a lock is shared like any source file.
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
#[path = "lockfile_tests.rs"]
mod tests;
