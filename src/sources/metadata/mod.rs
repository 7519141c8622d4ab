//! A distribution's core metadata (the wheel's `METADATA`), fetched as
//! cheaply as the index allows: the PEP 658 `.metadata` file when offered,
//! else HTTP range requests for the zip's central directory and the one
//! member, else the whole wheel into the blob cache (where the build later
//! finds it). Cached by the file's sha256, so a warm resolution makes no
//! request for metadata at all.

mod parse;
mod remote;

use std::io::{Read, Seek, Write};
use std::path::Path;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::Requirement;

use crate::cache::Cache;
use crate::error::chain;
use crate::http::HttpClient;
use crate::oci::digest::{Digest, HashingWriter};
use crate::sources::index::{CoreMetadataHint, IndexFile};
use crate::wheel::{normalize_name, WheelFilename};

pub use parse::parse;

/// Bigger than any real METADATA by far; a wheel declaring more is hostile.
const MAX_METADATA: u64 = 16 << 20;

/// What the resolver needs from `METADATA`.
#[derive(Clone, Debug)]
pub struct CoreMetadata {
    /// Normalized (PEP 503) name.
    pub name: String,
    pub version: Version,
    pub requires_python: Option<VersionSpecifiers>,
    /// `Requires-Dist`, markers unevaluated (extras are in the markers).
    pub requires_dist: Vec<Requirement>,
    /// `Provides-Extra`, normalized.
    pub provides_extra: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The file or URL and what went wrong, said in one sentence.
    #[error("metadata of {file}: {message}")]
    Fetch { file: String, message: String },
    #[error("metadata of {file}: {message}")]
    Parse { file: String, message: String },
}

/// Shares the build's HTTP stack and blob cache; cheap to clone and safe to
/// call from many threads at once.
#[derive(Clone)]
pub struct MetadataClient {
    http: HttpClient,
    cache: Cache,
}

impl MetadataClient {
    pub fn new(http: &HttpClient, cache: &Cache) -> MetadataClient {
        MetadataClient {
            http: http.clone(),
            cache: cache.clone(),
        }
    }

    /// The metadata of `file` (a wheel the index listed), cheapest source
    /// first; its Name and Version must be the file name's.
    pub fn get(&self, file: &IndexFile) -> Result<CoreMetadata, MetadataError> {
        let fail = |message: String| MetadataError::Fetch {
            file: file.filename.clone(),
            message,
        };
        let wheel: WheelFilename = file
            .filename
            .parse()
            .map_err(|_| fail("not a wheel file name; only wheels carry METADATA".into()))?;
        let key = file.sha256.as_ref().map(|h| format!("metadata-v1-{h}"));
        if let Some(bytes) = key.as_ref().and_then(|k| self.cache.get_key(k)) {
            if let Ok(m) = self.checked(&bytes, file, &wheel) {
                return Ok(m);
            }
        }
        let bytes = self.fetch(file, &wheel)?;
        let m = self.checked(&bytes, file, &wheel)?;
        if let Some(k) = &key {
            // A cache that cannot be written only costs a refetch.
            let _ = self.cache.put_key(k, &bytes);
        }
        Ok(m)
    }

    fn checked(
        &self,
        bytes: &[u8],
        file: &IndexFile,
        wheel: &WheelFilename,
    ) -> Result<CoreMetadata, MetadataError> {
        let m = parse(bytes, &file.filename)?;
        if m.name != normalize_name(&wheel.name) || m.version != wheel.version {
            return Err(MetadataError::Parse {
                file: file.filename.clone(),
                message: format!(
                    "METADATA says {} {} but the file name says {} {}; the wheel is mislabelled",
                    m.name,
                    m.version,
                    normalize_name(&wheel.name),
                    wheel.version
                ),
            });
        }
        Ok(m)
    }

    /// The METADATA bytes, from the blob cache, the `.metadata` file, a
    /// ranged read of the wheel, or the whole wheel, in that order.
    fn fetch(&self, file: &IndexFile, wheel: &WheelFilename) -> Result<Vec<u8>, MetadataError> {
        let fail = |message: String| MetadataError::Fetch {
            file: file.filename.clone(),
            message,
        };
        let digest = file
            .sha256
            .as_ref()
            .and_then(|h| Digest::try_from(format!("sha256:{h}")).ok());
        if let Some(path) = digest.as_ref().and_then(|d| self.cache.get(d, file.size)) {
            return from_wheel_file(&path, wheel).map_err(fail);
        }
        // A wheel from `--wheels DIR`: read where it is.
        if file.url.scheme() == "file" {
            let path = file
                .url
                .to_file_path()
                .map_err(|_| fail(format!("{}: not a local path", file.url)))?;
            return from_wheel_file(&path, wheel).map_err(fail);
        }
        if let CoreMetadataHint::Available { sha256 } = &file.core_metadata {
            if let Some(bytes) = self.metadata_file(file, sha256.as_deref())? {
                return Ok(bytes);
            }
        }
        match remote::open(&self.http, &file.url).map_err(|m| fail(format!("{}: {m}", file.url)))? {
            remote::Opened::Ranged(reader) => {
                read_member(reader, wheel).map_err(|m| fail(format!("{}: {m}", file.url)))
            }
            remote::Opened::Whole(resp) => {
                let path = self.store_whole(resp, file, digest.as_ref())?;
                from_wheel_file(&path, wheel).map_err(fail)
            }
        }
    }

    /// PEP 658/714 `{url}.metadata`; `None` when the index offered it but
    /// does not have it after all (404), so the wheel itself is read.
    fn metadata_file(
        &self,
        file: &IndexFile,
        sha256: Option<&str>,
    ) -> Result<Option<Vec<u8>>, MetadataError> {
        let mut url = file.url.clone();
        url.set_path(&format!("{}.metadata", file.url.path()));
        let fail = |message: String| MetadataError::Fetch {
            file: file.filename.clone(),
            message: format!("{url}: {message}"),
        };
        let resp = self.http.get(url.clone()).map_err(|e| fail(chain(&e)))?;
        match resp.status().as_u16() {
            200 => {}
            404 | 410 => return Ok(None),
            s => return Err(fail(format!("HTTP {s}"))),
        }
        let mut bytes = Vec::new();
        resp.take(MAX_METADATA + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(e.to_string()))?;
        if bytes.len() as u64 > MAX_METADATA {
            return Err(fail(format!("larger than {MAX_METADATA} bytes")));
        }
        if let Some(want) = sha256 {
            let got = Digest::of_bytes(&bytes);
            if got.hex() != want {
                return Err(fail(format!(
                    "sha256 {} but the index lists {want}; the index or a proxy is serving the wrong file",
                    got.hex()
                )));
            }
        }
        Ok(Some(bytes))
    }

    /// The server sent the whole wheel: keep it in the blob cache (verified
    /// by the listed sha256) so the build does not download it again.
    fn store_whole(
        &self,
        mut resp: reqwest::blocking::Response,
        file: &IndexFile,
        listed: Option<&Digest>,
    ) -> Result<std::path::PathBuf, MetadataError> {
        let fail = |message: String| MetadataError::Fetch {
            file: file.filename.clone(),
            message,
        };
        let origin = file.url.to_string();
        if let Some(d) = listed {
            return self
                .cache
                .put_verified(d, resp, &origin)
                .map_err(|e| fail(chain(&e)));
        }
        let tmp = self.cache.temp_file().map_err(|e| fail(chain(&e)))?;
        let mut w = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, tmp));
        std::io::copy(&mut resp, &mut w).map_err(|e| fail(format!("{origin}: {e}")))?;
        w.flush().map_err(|e| fail(e.to_string()))?;
        let (buf, digest, _) = w.finish();
        let tmp = buf.into_inner().map_err(|e| fail(e.error().to_string()))?;
        self.cache
            .persist(tmp, &digest)
            .map_err(|e| fail(chain(&e)))
    }
}

fn from_wheel_file(path: &Path, wheel: &WheelFilename) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_member(std::io::BufReader::new(f), wheel)
}

/// `{name}-{version}.dist-info/METADATA`, found by the dist-info directory
/// at the top of the zip (the name there may be spelled differently).
fn read_member(reader: impl Read + Seek, wheel: &WheelFilename) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| format!("not a zip archive: {e}"))?;
    let want = normalize_name(&wheel.name);
    let candidates: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .filter(|n| {
            n.strip_suffix(".dist-info/METADATA")
                .is_some_and(|dir| !dir.contains('/'))
        })
        .collect();
    let chosen = match candidates.as_slice() {
        [one] => one.clone(),
        _ => candidates
            .iter()
            .find(|n| {
                let dir = n.trim_end_matches(".dist-info/METADATA");
                normalize_name(dir.split('-').next().unwrap_or("")) == want
            })
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no single *.dist-info/METADATA at the top of the wheel (found {})",
                    candidates.len()
                )
            })?,
    };
    let member = zip.by_name(&chosen).map_err(|e| format!("{chosen}: {e}"))?;
    if member.size() > MAX_METADATA {
        return Err(format!(
            "{chosen} declares {} bytes, more than the {MAX_METADATA} allowed",
            member.size()
        ));
    }
    let mut bytes = Vec::new();
    member
        .take(MAX_METADATA + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{chosen}: {e}"))?;
    Ok(bytes)
}
