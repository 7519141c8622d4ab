//! The real [`PackageSource`]: the index client and the metadata client,
//! with each project's listing kept for the life of the source, so the
//! resolves of several platforms (one per `--platform`) list a project
//! once. Metadata is cached by the metadata client itself (by file hash,
//! on disk); the parallel walk ahead of the solver is the resolver's
//! (`shared.rs`), so every source gets it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::PackageSource;
use crate::sources::index::{IndexClient, IndexError, IndexFile};
use crate::sources::metadata::{CoreMetadata, MetadataClient, MetadataError};

pub struct IndexSource<'a> {
    pub index: &'a IndexClient,
    pub metadata: &'a MetadataClient,
    listings: Mutex<HashMap<String, Vec<IndexFile>>>,
}

impl<'a> IndexSource<'a> {
    pub fn new(index: &'a IndexClient, metadata: &'a MetadataClient) -> IndexSource<'a> {
        IndexSource {
            index,
            metadata,
            listings: Mutex::new(HashMap::new()),
        }
    }
}

impl PackageSource for IndexSource<'_> {
    fn files(&self, project: &str) -> Result<Vec<IndexFile>, IndexError> {
        if let Some(files) = self.listings.lock().expect("listing lock").get(project) {
            return Ok(files.clone());
        }
        // Not held across the request: other projects list in parallel.
        let files = self.index.files(project)?;
        self.listings
            .lock()
            .expect("listing lock")
            .insert(project.to_string(), files.clone());
        Ok(files)
    }

    fn metadata(&self, file: &IndexFile) -> Result<CoreMetadata, MetadataError> {
        self.metadata.get(file)
    }

    fn describe(&self) -> String {
        let urls: Vec<&str> = self.index.urls().iter().map(|u| u.as_str()).collect();
        urls.join(", ")
    }
}

/// `--wheels DIR` / `--find-links` as a source in front of the index: a
/// project's local wheels are listed first (pip's find-links merged with the
/// index), so a package that exists only there still resolves. Their
/// metadata is read from the file itself (a `file:` URL).
pub struct WithLocalWheels<'a> {
    inner: &'a dyn PackageSource,
    local: HashMap<String, Vec<IndexFile>>,
}

impl<'a> WithLocalWheels<'a> {
    /// `wheels`: paths of `.whl` files (made absolute for their `file:` URL).
    pub fn new(inner: &'a dyn PackageSource, wheels: &[std::path::PathBuf]) -> WithLocalWheels<'a> {
        let mut local: HashMap<String, Vec<IndexFile>> = HashMap::new();
        for path in wheels {
            let Some(filename) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let Ok(parsed) = filename.parse::<crate::wheel::WheelFilename>() else {
                continue;
            };
            let Some(url) = std::path::absolute(path)
                .ok()
                .and_then(|p| reqwest::Url::from_file_path(p).ok())
            else {
                continue;
            };
            local
                .entry(crate::wheel::normalize_name(&parsed.name))
                .or_default()
                .push(IndexFile::local(filename, url));
        }
        WithLocalWheels { inner, local }
    }
}

impl PackageSource for WithLocalWheels<'_> {
    fn files(&self, project: &str) -> Result<Vec<IndexFile>, IndexError> {
        let mut files = self.local.get(project).cloned().unwrap_or_default();
        files.extend(self.inner.files(project)?);
        Ok(files)
    }

    fn metadata(&self, file: &IndexFile) -> Result<CoreMetadata, MetadataError> {
        self.inner.metadata(file)
    }

    fn prefetch(&self, files: &[IndexFile]) {
        self.inner.prefetch(files)
    }

    fn describe(&self) -> String {
        format!("{} and the local wheels", self.inner.describe())
    }
}
