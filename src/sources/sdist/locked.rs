//! A lock's `sdist` entry (pylock.toml's `packages.sdist`, uv.lock's
//! `sdist`), read the same way for both formats.

use std::path::Path;

use pep440_rs::Version;

use crate::sources::pylock::last_segment;
use crate::sources::{Location, LockedWheel, Pin};

/// The sdist a lock lists, and the index it came from (for the build
/// requirements).
#[derive(Clone, Debug)]
pub struct LockedSdist {
    pub file: LockedWheel,
    pub index: Option<String>,
}

/// The pin of a lock entry that lists only an sdist.
pub fn sdist_pin(name: &str, version: Version, origin: String, sdist: LockedSdist) -> Pin {
    Pin {
        name: crate::wheel::normalize_name(name),
        version,
        hashes: Vec::new(),
        origin,
        wheels: Vec::new(),
        sdist_only: true,
        sdist: Some(sdist),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> toml::Value {
        toml::from_str::<toml::Table>(&format!("sdist = {text}")).unwrap()["sdist"].clone()
    }

    #[test]
    fn reads_both_lock_formats() {
        let dir = Path::new("/locks");
        // pylock.toml (PEP 751)
        let p = locked_sdist(
            &value(r#"{ url = "https://i.example/f/docopt-0.6.2.tar.gz", hashes = { sha256 = "AB" } }"#),
            dir,
            Some("https://i.example/simple".into()),
        )
        .unwrap();
        assert_eq!(p.file.filename, "docopt-0.6.2.tar.gz");
        assert_eq!(p.file.sha256.as_deref(), Some("ab"));
        assert_eq!(p.index.as_deref(), Some("https://i.example/simple"));
        // uv.lock
        let u = locked_sdist(
            &value(r#"{ path = "dist/x-1.0.tar.gz", hash = "sha256:CD", size = 3 }"#),
            dir,
            None,
        )
        .unwrap();
        assert_eq!(
            u.file.location,
            Location::Path("/locks/dist/x-1.0.tar.gz".into())
        );
        assert_eq!(u.file.sha256.as_deref(), Some("cd"));
        // Refusals name what is wrong.
        let e = locked_sdist(&value(r#"{ hash = "sha256:00" }"#), dir, None).unwrap_err();
        assert!(e.contains("without url or path"), "{e}");
        let e = locked_sdist(
            &value(r#"{ url = "https://i.example/x-1.tar.gz", hash = "md5:00" }"#),
            dir,
            None,
        )
        .unwrap_err();
        assert!(e.contains("not sha256"), "{e}");
        let e = locked_sdist(
            &value(r#"{ url = "https://i.example/x", name = "../x-1.tar.gz" }"#),
            dir,
            None,
        )
        .unwrap_err();
        assert!(e.contains("sdist file name"), "{e}");
    }
}
