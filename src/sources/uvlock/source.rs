//! One locked package as a `Pin`, by where uv says it comes from
//! (`source`): an index (`registry`), a wheel or archive by `url` or
//! `path`, or a source tree (`directory`, `editable`, `git`) that pyko
//! never builds, for which only a wheel the user brings can stand in.

use std::path::{Path, PathBuf};

use super::{Package, Wheel};
use crate::sources::pylock::last_segment;
use crate::sources::{Location, LockedWheel, Pin};
use crate::wheel::{normalize_name, WheelFilename};

pub(super) fn pin(p: &Package, file: &Path, dir: &Path, local: &[PathBuf]) -> Result<Pin, String> {
    let origin = format!("{} [{}]", file.display(), p.name);
    let version = p
        .version
        .as_deref()
        .ok_or_else(|| format!("package {} has no version", p.name))?;
    let version: pep440_rs::Version = version
        .parse()
        .map_err(|e| format!("package {}: version: {e}", p.name))?;
    let pin = |wheels: Vec<LockedWheel>, sdist_only| Pin {
        name: normalize_name(&p.name),
        version: version.clone(),
        hashes: Vec::new(),
        origin: origin.clone(),
        wheels,
        sdist_only,
        sdist: None,
    };
    let text = |key: &str| p.source.get(key).and_then(|v| v.as_str());
    if let Some(tree) = ["directory", "editable", "git"]
        .iter()
        .find_map(|k| text(k).map(|v| (*k, v)))
    {
        // Only the user's own wheel can stand for a source tree; the fetch
        // then says its hash cannot be checked against the lock.
        if has_local_wheel(local, &p.name, &version) {
            return Ok(pin(Vec::new(), true));
        }
        let (kind, at) = tree;
        let build = match kind {
            "git" => format!(
                "pip wheel --no-deps 'git+{}'",
                at.split('#').next().unwrap_or(at)
            ),
            _ => format!("pip wheel --no-deps {}", dir.join(at).display()),
        };
        return Err(format!(
            "package {} comes from the source tree {kind} = {at:?}, which is not a workspace member; pyko installs no source trees: build a wheel (`{build} -w wheels/`) and pass --wheels wheels/ (or make it a workspace member, whose code the app directory holds)",
            p.name
        ));
    }
    match text("path") {
        // `source = { path = "x.whl" }`: the wheel entry gives only its
        // file name and hash; the source gives where it is.
        Some(path) if path.ends_with(".whl") => {
            let sha256 = p
                .wheels
                .first()
                .map(|w| sha256(p, w))
                .transpose()?
                .flatten();
            return Ok(pin(
                vec![LockedWheel {
                    filename: last_segment(path),
                    location: Location::Path(dir.join(path)),
                    sha256,
                }],
                false,
            ));
        }
        _ => {}
    }
    let wheels = p
        .wheels
        .iter()
        .map(|w| locate(p, w, dir))
        .collect::<Result<Vec<_>, _>>()?;
    if !wheels.is_empty() {
        return Ok(pin(wheels, false));
    }
    if p.sdist.is_some() || text("path").is_some() || text("url").is_some() {
        // Only an sdist (from an index, a URL or a local archive): built on
        // the build machine, unless the user brings a wheel for it. For a
        // `url`/`path` source the sdist entry holds only the hash.
        let mut value = p
            .sdist
            .clone()
            .unwrap_or_else(|| toml::Value::Table(Default::default()));
        if let Some(t) = value.as_table_mut() {
            if !t.contains_key("url") && !t.contains_key("path") {
                for k in ["url", "path"] {
                    if let Some(v) = text(k) {
                        t.insert(k.into(), v.into());
                    }
                }
            }
        }
        let registry = text("registry").map(str::to_string);
        let sdist = crate::sources::sdist::locked_sdist(&value, dir, registry)
            .map_err(|e| format!("package {}: {e}", p.name))?;
        return Ok(crate::sources::sdist::sdist_pin(
            &p.name, version, origin, sdist,
        ));
    }
    let kinds: Vec<&String> = p.source.keys().collect();
    Err(format!(
        "package {} has no wheels and no sdist (source {kinds:?}); lock a version with wheels",
        p.name
    ))
}

fn locate(p: &Package, w: &Wheel, dir: &Path) -> Result<LockedWheel, String> {
    let location = match (&w.url, &w.path) {
        (Some(u), _) => Location::Url(u.clone()),
        (None, Some(path)) => Location::Path(dir.join(path)),
        (None, None) => match p.source.get("url").and_then(|v| v.as_str()) {
            // `source = { url = "…/x.whl" }`: the wheel is the source.
            Some(u) => Location::Url(u.to_string()),
            None => return Err(format!("package {}: a wheel without url or path", p.name)),
        },
    };
    let filename = w.filename.clone().unwrap_or_else(|| match &location {
        Location::Url(u) => last_segment(u),
        Location::Path(p) => last_segment(&p.to_string_lossy()),
    });
    if let Some(why) = crate::wheel::unsafe_file_name(&filename) {
        return Err(format!("package {}: wheel file name {why}", p.name));
    }
    Ok(LockedWheel {
        filename,
        location,
        sha256: sha256(p, w)?,
    })
}

fn sha256(p: &Package, w: &Wheel) -> Result<Option<String>, String> {
    w.hash
        .as_ref()
        .map(|h| {
            h.strip_prefix("sha256:")
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| format!("package {}: hash {h:?} is not sha256", p.name))
        })
        .transpose()
}

fn has_local_wheel(local: &[PathBuf], name: &str, version: &pep440_rs::Version) -> bool {
    let name = normalize_name(name);
    local.iter().any(|w| {
        w.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<WheelFilename>().ok())
            .is_some_and(|f| f.normalized_name() == name && f.version == *version)
    })
}
