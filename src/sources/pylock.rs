//! PEP 751 lock files (`pylock.toml`): `[[packages]]` with `name`,
//! `version`, an optional `marker`, and `wheels` by `url` or `path` with
//! `hashes`. The lock already chose the set; we choose the wheel.

use std::collections::BTreeMap;
use std::path::Path;

use pep508_rs::{MarkerEnvironment, MarkerTree};
use serde::Deserialize;

use super::{Location, LockError, LockedWheel, Pin};

/// The pins a lock file yields for the target, and the names to mark
/// `REQUESTED`.
#[derive(Debug)]
pub struct Lock {
    pub pins: Vec<Pin>,
    pub requested: Option<Vec<String>>,
    /// For stderr: what the reader accepted but the user should know.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "lock-version")]
    lock_version: Option<String>,
    #[serde(default)]
    packages: Vec<Package>,
    tool: Option<Tool>,
}

/// `[tool.pyko]`, as `pyko lock` writes it.
#[derive(Deserialize)]
struct Tool {
    pyko: Option<PykoTool>,
}

#[derive(Deserialize)]
struct PykoTool {
    requested: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    marker: Option<String>,
    #[serde(default)]
    wheels: Vec<Wheel>,
    sdist: Option<toml::Value>,
    /// PEP 751: the index the package came from.
    index: Option<String>,
    vcs: Option<toml::Value>,
    directory: Option<toml::Value>,
    archive: Option<toml::Value>,
}

#[derive(Deserialize)]
struct Wheel {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

pub fn parse(file: &Path, text: &str, env: &MarkerEnvironment) -> Result<Lock, LockError> {
    let err = |message: String| LockError::LockFile {
        file: file.to_path_buf(),
        message,
    };
    let lock: File = toml::from_str(text).map_err(|e| {
        err(format!(
            "not a PEP 751 lock file (pylock.toml): {}",
            e.message()
        ))
    })?;
    match lock.lock_version.as_deref() {
        Some(v) if v.starts_with("1.") || v == "1" => {}
        Some(v) => {
            return Err(err(format!(
                "lock-version {v:?} is not supported (pyko reads 1.x)"
            )))
        }
        None => return Err(err("no lock-version: not a PEP 751 lock file".into())),
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut pins = Vec::new();
    for p in lock.packages {
        if let Some(why) = crate::wheel::invalid_project_name(&p.name) {
            return Err(err(format!("package name {why}")));
        }
        let origin = format!("{} [{}]", file.display(), p.name);
        if let Some(m) = &p.marker {
            let tree: MarkerTree = m
                .parse()
                .map_err(|e| err(format!("package {}: marker {m:?}: {e}", p.name)))?;
            if !tree.evaluate(env, &[]) {
                continue;
            }
        }
        let Some(version) = &p.version else {
            return Err(err(format!(
                "package {} has no version; pyko installs only pinned wheels",
                p.name
            )));
        };
        let version = version
            .parse()
            .map_err(|e| err(format!("package {}: version {version:?}: {e}", p.name)))?;
        if let (true, Some(sdist)) = (p.wheels.is_empty(), &p.sdist) {
            let sdist = super::sdist::locked_sdist(sdist, dir, p.index.clone())
                .map_err(|e| err(format!("package {}: {e}", p.name)))?;
            pins.push(super::sdist::sdist_pin(&p.name, version, origin, sdist));
            continue;
        }
        if p.wheels.is_empty() {
            let what = if p.vcs.is_some() {
                "a VCS source"
            } else if p.directory.is_some() {
                "a local directory"
            } else if p.archive.is_some() {
                "an archive"
            } else {
                "no wheels"
            };
            return Err(err(format!(
                "package {} has {what}; pyko builds only a locked sdist: lock wheels or an sdist for it",
                p.name
            )));
        }
        let wheels = p
            .wheels
            .iter()
            .map(|w| {
                let location = match (&w.url, &w.path) {
                    (_, Some(path)) => Location::Path(dir.join(path)),
                    (Some(url), None) => Location::Url(url.clone()),
                    (None, None) => {
                        return Err(err(format!(
                            "package {}: a wheel without url or path",
                            p.name
                        )))
                    }
                };
                let filename = match (&w.name, &location) {
                    (Some(n), _) => n.clone(),
                    (None, Location::Url(u)) => last_segment(u),
                    (None, Location::Path(p)) => p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                };
                if let Some(why) = crate::wheel::unsafe_file_name(&filename) {
                    return Err(err(format!("package {}: wheel file name {why}", p.name)));
                }
                Ok(LockedWheel {
                    filename,
                    location,
                    sha256: w.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        pins.push(Pin {
            name: crate::wheel::normalize_name(&p.name),
            version,
            hashes: Vec::new(),
            origin,
            wheels,
            sdist_only: false,
            sdist: None,
        });
    }
    // PEP 751 does not say which packages were asked for: `pyko lock`
    // records it under [tool.pyko]; in any other lock, all of them are.
    let requested = match lock.tool.and_then(|t| t.pyko).and_then(|p| p.requested) {
        Some(names) => names
            .iter()
            .map(|n| crate::wheel::normalize_name(n))
            .collect(),
        None => pins.iter().map(|p| p.name.clone()).collect(),
    };
    let requested = Some(requested);
    Ok(Lock {
        pins,
        requested,
        warnings: Vec::new(),
    })
}

/// The file name in a URL's path, percent-decoded enough for wheel names.
pub(crate) fn last_segment(url: &str) -> String {
    let path = url.split(['#', '?']).next().unwrap_or(url);
    path.rsplit('/')
        .next()
        .unwrap_or(path)
        .replace("%2B", "+")
        .replace("%2b", "+")
}
