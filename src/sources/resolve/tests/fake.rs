//! An in-memory index: wheels with their METADATA, an optional latency per
//! call, and a count of calls, so the resolver is tested without a network
//! and its parallelism can be measured.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::Requirement;
use reqwest::Url;

use crate::sources::index::{CoreMetadataHint, IndexError, IndexFile};
use crate::sources::metadata::{CoreMetadata, MetadataError};
use crate::sources::resolve::PackageSource;
use crate::wheel::{normalize_name, WheelFilename};

#[derive(Default)]
pub struct Fake {
    projects: HashMap<String, Vec<IndexFile>>,
    metadata: HashMap<String, CoreMetadata>,
    pub latency: Duration,
    pub calls: AtomicUsize,
}

impl Fake {
    /// Adds a file; `deps` are its Requires-Dist lines. A wheel name
    /// without tags (`foo-1.0`) means `foo-1.0-py3-none-any.whl`.
    pub fn add(&mut self, file: &str, deps: &[&str]) -> &mut IndexFile {
        self.add_with_python(file, None, deps)
    }

    pub fn add_with_python(
        &mut self,
        file: &str,
        metadata_python: Option<&str>,
        deps: &[&str],
    ) -> &mut IndexFile {
        let filename = if file.ends_with(".whl") || file.ends_with(".tar.gz") {
            file.to_string()
        } else {
            format!("{file}-py3-none-any.whl")
        };
        let (name, version) = match WheelFilename::from_str(&filename) {
            Ok(w) => (w.normalized_name(), w.version),
            Err(_) => {
                let (n, v) = crate::wheel::parse_sdist(&filename).expect("wheel or sdist");
                (normalize_name(n), Version::from_str(v).unwrap())
            }
        };
        let url = Url::parse(&format!("http://fake.test/{filename}")).unwrap();
        self.metadata.insert(
            url.to_string(),
            CoreMetadata {
                name: name.clone(),
                version,
                requires_python: metadata_python.map(|p| VersionSpecifiers::from_str(p).unwrap()),
                requires_dist: deps
                    .iter()
                    .map(|d| Requirement::from_str(d).unwrap())
                    .collect(),
                provides_extra: vec![],
            },
        );
        let files = self.projects.entry(name).or_default();
        files.push(IndexFile {
            filename,
            url,
            sha256: None,
            yanked: false,
            requires_python: None,
            upload_time: Some(1_000),
            core_metadata: CoreMetadataHint::Absent,
            size: None,
        });
        files.last_mut().unwrap()
    }

    fn wait(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.latency.is_zero() {
            std::thread::sleep(self.latency);
        }
    }
}

impl PackageSource for Fake {
    fn files(&self, project: &str) -> Result<Vec<IndexFile>, IndexError> {
        self.wait();
        Ok(self.projects.get(project).cloned().unwrap_or_default())
    }

    fn metadata(&self, file: &IndexFile) -> Result<CoreMetadata, MetadataError> {
        self.wait();
        self.metadata
            .get(file.url.as_str())
            .cloned()
            .ok_or_else(|| MetadataError::Fetch {
                file: file.filename.clone(),
                message: "not in the fake index".into(),
            })
    }

    fn describe(&self) -> String {
        "http://fake.test/simple/".into()
    }
}
