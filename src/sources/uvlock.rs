//! uv's lock file (`uv.lock`): a universal resolution, so the set for the
//! target is found by walking the dependency graph from the workspace
//! members with the target's markers, as `uv sync` does.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use pep508_rs::{MarkerEnvironment, MarkerTree};
use serde::Deserialize;

use super::pylock::{last_segment, Lock};
use super::{Location, LockError, LockedWheel, Pin};

#[derive(Deserialize)]
struct File {
    version: Option<u32>,
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<Dep>,
    #[serde(default, rename = "optional-dependencies")]
    optional: BTreeMap<String, Vec<Dep>>,
    #[serde(default)]
    wheels: Vec<Wheel>,
    sdist: Option<toml::Value>,
}

#[derive(Deserialize, Clone)]
struct Dep {
    name: String,
    version: Option<String>,
    marker: Option<String>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Deserialize)]
struct Wheel {
    url: Option<String>,
    path: Option<String>,
    filename: Option<String>,
    hash: Option<String>,
}

pub fn parse(file: &Path, text: &str, env: &MarkerEnvironment) -> Result<Lock, LockError> {
    let err = |message: String| LockError::LockFile {
        file: file.to_path_buf(),
        message,
    };
    let lock: File =
        toml::from_str(text).map_err(|e| err(format!("not a uv lock file: {}", e.message())))?;
    if lock.version != Some(1) {
        return Err(err(format!(
            "uv.lock version {:?} is not supported (pyko reads version 1)",
            lock.version
        )));
    }
    let is_root =
        |p: &Package| p.source.contains_key("virtual") || p.source.contains_key("editable");
    let applies = |d: &Dep| -> Result<bool, LockError> {
        match &d.marker {
            None => Ok(true),
            Some(m) => {
                let tree: MarkerTree = m
                    .parse()
                    .map_err(|e| err(format!("dependency {}: marker {m:?}: {e}", d.name)))?;
                Ok(tree.evaluate(env, &[]))
            }
        }
    };
    let mut queue = VecDeque::new();
    let mut requested = BTreeSet::new();
    for root in lock.package.iter().filter(|p| is_root(p)) {
        for d in &root.dependencies {
            if applies(d)? {
                requested.insert(crate::wheel::normalize_name(&d.name));
                queue.push_back(d.clone());
            }
        }
    }
    if lock.package.iter().all(|p| !is_root(p)) {
        return Err(err(
            "no workspace member (a package with source virtual or editable) to start from".into(),
        ));
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut extras_seen = BTreeSet::new();
    while let Some(d) = queue.pop_front() {
        let name = crate::wheel::normalize_name(&d.name);
        let idx = lock
            .package
            .iter()
            .position(|p| {
                crate::wheel::normalize_name(&p.name) == name
                    && d.version
                        .as_ref()
                        .is_none_or(|v| p.version.as_ref() == Some(v))
            })
            .ok_or_else(|| err(format!("dependency {} is not in the lock", d.name)))?;
        let p = &lock.package[idx];
        let first = seen.insert(name.clone(), idx).is_none();
        let mut follow = Vec::new();
        if first && !is_root(p) {
            follow.extend(p.dependencies.iter().cloned());
        }
        for x in &d.extra {
            if extras_seen.insert((name.clone(), x.clone())) {
                follow.extend(p.optional.get(x).cloned().unwrap_or_default());
            }
        }
        for f in follow {
            if applies(&f)? {
                queue.push_back(f);
            }
        }
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut pins = Vec::new();
    for (name, idx) in seen {
        let p = &lock.package[idx];
        if is_root(p) {
            continue;
        }
        if let Some(why) = crate::wheel::invalid_project_name(&p.name) {
            return Err(err(format!("package name {why}")));
        }
        let origin = format!("{} [{}]", file.display(), p.name);
        let version = p
            .version
            .as_deref()
            .ok_or_else(|| err(format!("package {} has no version", p.name)))?
            .parse()
            .map_err(|e| err(format!("package {}: version: {e}", p.name)))?;
        if let (true, Some(sdist)) = (p.wheels.is_empty(), &p.sdist) {
            let registry = p
                .source
                .get("registry")
                .and_then(|r| r.as_str())
                .map(str::to_string);
            let sdist = super::sdist::locked_sdist(sdist, dir, registry)
                .map_err(|e| err(format!("package {}: {e}", p.name)))?;
            pins.push(super::sdist::sdist_pin(&p.name, version, origin, sdist));
            continue;
        }
        if p.wheels.is_empty() {
            return Err(err(format!(
                "package {} has no wheels and no sdist; lock a version with wheels or an sdist",
                p.name
            )));
        }
        let wheels = p
            .wheels
            .iter()
            .map(|w| {
                let location = match (&w.url, &w.path) {
                    (Some(u), _) => Location::Url(u.clone()),
                    (None, Some(path)) => Location::Path(dir.join(path)),
                    (None, None) => {
                        return Err(err(format!(
                            "package {}: a wheel without url or path",
                            p.name
                        )))
                    }
                };
                let filename = w.filename.clone().unwrap_or_else(|| match &location {
                    Location::Url(u) => last_segment(u),
                    Location::Path(p) => last_segment(&p.to_string_lossy()),
                });
                if let Some(why) = crate::wheel::unsafe_file_name(&filename) {
                    return Err(err(format!("package {}: wheel file name {why}", p.name)));
                }
                let sha256 = match &w.hash {
                    Some(h) => Some(
                        h.strip_prefix("sha256:")
                            .ok_or_else(|| {
                                err(format!("package {}: hash {h:?} is not sha256", p.name))
                            })?
                            .to_ascii_lowercase(),
                    ),
                    None => None,
                };
                Ok(LockedWheel {
                    filename,
                    location,
                    sha256,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        pins.push(Pin {
            name,
            version,
            hashes: Vec::new(),
            origin,
            wheels,
            sdist_only: false,
            sdist: None,
        });
    }
    Ok(Lock {
        pins,
        requested: Some(requested.into_iter().collect()),
    })
}
