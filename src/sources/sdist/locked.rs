//! A lock's `sdist` entry (pylock.toml's `packages.sdist`, uv.lock's
//! `sdist`), read the same way for both formats.

use std::path::Path;

use crate::sources::pylock::last_segment;
use crate::sources::{Location, LockedWheel};

/// The sdist a lock lists, and the index it came from (for the build
/// requirements).
#[derive(Clone, Debug)]
pub struct LockedSdist {
    pub file: LockedWheel,
    pub index: Option<String>,
}

/// Reads `{ url | path, name | filename, hashes = { sha256 } | hash =
/// "sha256:…" }`; `dir` is the lock's directory, for relative paths.
pub fn locked_sdist(
    value: &toml::Value,
    dir: &Path,
    index: Option<String>,
) -> Result<LockedSdist, String> {
    let get = |k: &str| value.get(k).and_then(|v| v.as_str());
    let location = match (get("url"), get("path")) {
        (_, Some(p)) => Location::Path(dir.join(p)),
        (Some(u), None) => Location::Url(u.to_string()),
        (None, None) => return Err("an sdist without url or path".into()),
    };
    let filename = match get("name").or(get("filename")) {
        Some(n) => n.to_string(),
        None => match &location {
            Location::Url(u) => last_segment(u),
            Location::Path(p) => last_segment(&p.to_string_lossy()),
        },
    };
    if let Some(why) = crate::wheel::unsafe_file_name(&filename) {
        return Err(format!("sdist file name {why}"));
    }
    let sha256 = match (
        get("hash"),
        value.get("hashes").and_then(|h| h.get("sha256")),
    ) {
        (Some(h), _) => Some(
            h.strip_prefix("sha256:")
                .ok_or_else(|| format!("sdist hash {h:?} is not sha256"))?
                .to_ascii_lowercase(),
        ),
        (None, Some(h)) => h.as_str().map(str::to_ascii_lowercase),
        (None, None) => None,
    };
    Ok(LockedSdist {
        file: LockedWheel {
            filename,
            location,
            sha256,
        },
        index,
    })
}
