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
