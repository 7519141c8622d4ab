//! Sdist-only versions in the resolver: their metadata, as uv gets it.
//! PKG-INFO is trusted when the sdist vouches for its dependencies (PEP
//! 643: Metadata-Version ≥ 2.2 and `Requires-Dist` not `Dynamic`);
//! otherwise the wheel is built (and cached, so the fetch reuses it) and
//! its METADATA read.

use std::io::Read;
use std::path::Path;

use super::{static_requires, Builder, Sdist};
use crate::sources::index::{IndexError, IndexFile};
use crate::sources::metadata::{self, CoreMetadata, MetadataError};
use crate::sources::resolve::PackageSource;
use crate::sources::{Location, LockedWheel, Pin};
use crate::wheel::{normalize_name, parse_sdist};

/// `inner`, plus metadata for the sdists it lists.
pub struct WithSdists<'a> {
    inner: &'a dyn PackageSource,
    builder: &'a Builder<'a>,
}

impl<'a> WithSdists<'a> {
    pub fn new(inner: &'a dyn PackageSource, builder: &'a Builder<'a>) -> WithSdists<'a> {
        WithSdists { inner, builder }
    }

    fn sdist_metadata(
        &self,
        file: &IndexFile,
        name: &str,
        version: &str,
    ) -> Result<CoreMetadata, MetadataError> {
        let fail = |message: String| MetadataError::Fetch {
            file: file.filename.clone(),
            message,
        };
        let pin = Pin {
            name: normalize_name(name),
            version: version
                .parse()
                .map_err(|e| fail(format!("version {version:?}: {e}")))?,
            hashes: Vec::new(),
            origin: "resolving".into(),
            wheels: Vec::new(),
            sdist_only: false,
            sdist: None,
        };
        let listed = LockedWheel {
            filename: file.filename.clone(),
            location: Location::Url(file.url.to_string()),
            sha256: file.sha256.clone(),
        };
        let (path, sha256) = crate::sources::fetch::fetch_listed(
            &pin,
            &listed,
            self.builder.http,
            self.builder.cache,
        )
        .map_err(|e| fail(crate::error::chain(&e)))?;
        if let Some(pkg_info) = pkg_info(&path, &file.filename) {
            if static_requires(&String::from_utf8_lossy(&pkg_info)).is_some() {
                let m = metadata::parse(&pkg_info, &file.filename)?;
                if m.name == pin.name && m.version == pin.version {
                    return Ok(m);
                }
            }
        }
        let sdist = Sdist {
            filename: &file.filename,
            path: &path,
            sha256: &sha256,
        };
        let built = self
            .builder
            .wheel(&pin, &sdist)
            .map_err(|e| fail(crate::error::chain(&e)))?;
        let url = reqwest::Url::from_file_path(&built.path)
            .map_err(|_| fail(format!("{}: not an absolute path", built.path.display())))?;
        self.inner.metadata(&IndexFile::local(built.filename, url))
    }
}

impl PackageSource for WithSdists<'_> {
    fn files(&self, project: &str) -> Result<Vec<IndexFile>, IndexError> {
        self.inner.files(project)
    }

    fn metadata(&self, file: &IndexFile) -> Result<CoreMetadata, MetadataError> {
        match parse_sdist(&file.filename) {
            Some((name, version)) if !file.filename.ends_with(".whl") => {
                self.sdist_metadata(file, name, version)
            }
            _ => self.inner.metadata(file),
        }
    }

    fn prefetch(&self, files: &[IndexFile]) {
        // Sdists are fetched (and maybe built) only when asked for.
        let wheels: Vec<IndexFile> = files
            .iter()
            .filter(|f| f.filename.ends_with(".whl"))
            .cloned()
            .collect();
        self.inner.prefetch(&wheels)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// The `NAME-VERSION/PKG-INFO` member of an sdist, if it has one.
fn pkg_info(path: &Path, filename: &str) -> Option<Vec<u8>> {
    let is_top_pkg_info = |p: &str| {
        let mut parts = p.trim_start_matches("./").split('/');
        matches!(
            (parts.next(), parts.next(), parts.next()),
            (Some(_), Some("PKG-INFO"), None)
        )
    };
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    if filename.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).ok()?;
        let name = zip
            .file_names()
            .filter_map(Result::ok)
            .find(|n| is_top_pkg_info(n))?
            .into_owned();
        zip.by_name(&name).ok()?.read_to_end(&mut bytes).ok()?;
        return Some(bytes);
    }
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries().ok()? {
        let mut entry = entry.ok()?;
        let p = entry.path().ok()?.to_string_lossy().into_owned();
        if is_top_pkg_info(&p) {
            entry.read_to_end(&mut bytes).ok()?;
            return Some(bytes);
        }
    }
    None
}
