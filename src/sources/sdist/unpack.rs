//! An sdist on disk → its source tree in a temp directory, and what the
//! tree says about building it: the `[build-system]` table (PEP 517/518,
//! with pip's defaults when it is missing) and the PKG-INFO metadata.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// How to build one source tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSystem {
    pub requires: Vec<String>,
    /// `module:object`, as PEP 517 writes it.
    pub backend: String,
    /// In-tree backend directories, relative to the tree.
    pub backend_path: Vec<String>,
}

/// What pip uses for a tree without `[build-system]`: the legacy
/// setuptools backend, which runs `setup.py`.
const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";
const LEGACY_REQUIRES: &str = "setuptools>=40.8.0";

#[derive(Deserialize)]
struct Pyproject {
    #[serde(rename = "build-system")]
    build_system: Option<Table>,
}

#[derive(Deserialize)]
struct Table {
    requires: Option<Vec<String>>,
    #[serde(rename = "build-backend")]
    build_backend: Option<String>,
    #[serde(rename = "backend-path", default)]
    backend_path: Vec<String>,
}

/// Reads `tree/pyproject.toml` (absent: pip's legacy defaults).
pub fn build_system(tree: &Path) -> Result<BuildSystem, String> {
    let path = tree.join("pyproject.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("pyproject.toml: {e}")),
    };
    let parsed: Pyproject =
        toml::from_str(&text).map_err(|e| format!("pyproject.toml: {}", e.message()))?;
    Ok(match parsed.build_system {
        None => BuildSystem {
            requires: vec![LEGACY_REQUIRES.into()],
            backend: LEGACY_BACKEND.into(),
            backend_path: Vec::new(),
        },
        Some(t) => BuildSystem {
            // PEP 518 makes `requires` mandatory; pip treats a table
            // without it as an error, and so does pyko.
            requires: t
                .requires
                .ok_or("pyproject.toml: [build-system] has no `requires`")?,
            backend: t.build_backend.unwrap_or_else(|| LEGACY_BACKEND.into()),
            backend_path: t.backend_path,
        },
    })
}

/// Unpacks `sdist` (`.tar.gz`, `.tar.bz2`-less: gzip tar or zip) into
/// `into` and returns the source tree: the one top directory, as PEP 625
/// lays an sdist out. The tar and zip crates refuse members that escape
/// `into` (`..`, absolute paths).
pub fn unpack(sdist: &Path, filename: &str, into: &Path) -> Result<PathBuf, String> {
    let file = std::fs::File::open(sdist).map_err(|e| format!("{}: {e}", sdist.display()))?;
    if filename.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a zip: {e}"))?;
        zip.extract(into)
            .map_err(|e| format!("unpacking it: {}", crate::error::chain(&e)))?;
    } else if filename.ends_with(".tar.gz") || filename.ends_with(".tgz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        tar.set_preserve_permissions(false);
        tar.unpack(into).map_err(|e| {
            format!(
                "unpacking it (a .tar.gz sdist must be a gzip-compressed tar archive): {}",
                crate::error::chain(&e)
            )
        })?;
    } else {
        return Err("pyko builds .tar.gz and .zip sdists only (PEP 625)".into());
    }
    let mut tops = std::fs::read_dir(into)
        .map_err(|e| format!("{}: {e}", into.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir());
    match (tops.next(), tops.next()) {
        (Some(top), None) => Ok(top.path()),
        _ => Err("the archive does not hold exactly one top directory, as an sdist must".into()),
    }
}

/// PKG-INFO's `Requires-Dist`, when the sdist vouches for it (PEP 643:
/// Metadata-Version 2.2 or later, and `Requires-Dist` not `Dynamic`).
pub fn static_requires(pkg_info: &str) -> Option<Vec<String>> {
    let mut version = None;
    let mut requires = Vec::new();
    for line in pkg_info.lines() {
        if line.is_empty() {
            break; // the body (description) follows
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.to_ascii_lowercase().as_str() {
            "metadata-version" => version = Some(value.to_string()),
            "dynamic" if value.eq_ignore_ascii_case("requires-dist") => return None,
            "requires-dist" => requires.push(value.to_string()),
            _ => {}
        }
    }
    let (major, minor) = version?
        .split_once('.')
        .map(|(a, b)| (a.to_string(), b.to_string()))?;
    let at_least_2_2 = match (major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?) {
        (m, _) if m > 2 => true,
        (2, n) => n >= 2,
        _ => false,
    };
    at_least_2_2.then_some(requires)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_system_defaults_are_pips() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = build_system(dir.path()).unwrap();
        assert_eq!(legacy.backend, LEGACY_BACKEND);
        assert_eq!(legacy.requires, vec![LEGACY_REQUIRES.to_string()]);
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[build-system]\nrequires = [\"flit_core>=3.2,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n",
        )
        .unwrap();
        let flit = build_system(dir.path()).unwrap();
        assert_eq!(flit.backend, "flit_core.buildapi");
        assert_eq!(flit.requires, vec!["flit_core>=3.2,<4".to_string()]);
        std::fs::write(dir.path().join("pyproject.toml"), "[build-system]\n").unwrap();
        let e = build_system(dir.path()).unwrap_err();
        assert!(e.contains("no `requires`"), "{e}");
    }

    #[test]
    fn static_requires_follow_pep_643() {
        let v22 = "Metadata-Version: 2.2\nName: a\nRequires-Dist: b>=1\nRequires-Dist: c; extra == \"x\"\n\nbody\nRequires-Dist: nope\n";
        assert_eq!(
            static_requires(v22),
            Some(vec!["b>=1".to_string(), "c; extra == \"x\"".to_string()])
        );
        assert_eq!(
            static_requires("Metadata-Version: 2.1\nRequires-Dist: b\n"),
            None
        );
        assert_eq!(
            static_requires("Metadata-Version: 2.4\nDynamic: Requires-Dist\n"),
            None
        );
        assert_eq!(
            static_requires("Metadata-Version: 2.3\nName: a\n"),
            Some(vec![])
        );
    }
}
