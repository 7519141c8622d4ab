//! Sdists → wheels, on the build machine and never in the image, as pip
//! and uv do when a version has no wheel: `uv build --wheel` when uv is on
//! PATH (`uv`), else PEP 517 in an isolated venv of a host interpreter whose
//! build requirements pyko resolves and installs itself (`pep517`, `host`).
//! The wheel is cached by the sdist's sha256, so a second build builds
//! nothing; the caller checks that it fits the target (a C extension built
//! here fits only this machine).

mod host;
mod locked;
mod pep517;
mod run;
mod source;
mod unpack;
mod uv;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::http::HttpClient;
use crate::oci::digest::{Digest, HashingWriter};
use crate::sources::index::{IndexClient, DEFAULT_INDEX_URL};
use crate::sources::metadata::MetadataClient;
use crate::sources::{LockError, Pin};
use crate::ui::Reporter;
use crate::wheel::{normalize_name, Tags, WheelFilename};

pub use locked::{locked_sdist, sdist_pin, LockedSdist};
pub use source::WithSdists;
use unpack::static_requires;

/// `--no-build` and `--build-python`, as the user gave them.
#[derive(Clone, Debug, Default)]
pub struct BuildPolicy {
    /// `--no-build`: every sdist is refused, as uv's flag does.
    pub forbid: bool,
    /// `--build-python PATH`: this interpreter and the PEP 517 path, even
    /// when uv is on PATH.
    pub python: Option<PathBuf>,
}

/// An sdist whose bytes are on disk and verified.
pub struct Sdist<'a> {
    pub filename: &'a str,
    pub path: &'a Path,
    pub sha256: &'a str,
}

/// A wheel built (now or earlier) from an sdist.
pub struct Built {
    pub filename: String,
    /// In the blob cache.
    pub path: PathBuf,
    pub cached: bool,
}

/// What one build uses besides the sdist.
pub(crate) struct Context<'a> {
    pub index_urls: &'a [String],
    pub index: &'a IndexClient,
    pub metadata: &'a MetadataClient,
    pub http: &'a HttpClient,
    pub cache: &'a Cache,
    pub ui: &'a Reporter,
    /// SOURCE_DATE_EPOCH for the backend: fixed, so the wheel's members
    /// carry the same times on every machine (the layer normalizes them
    /// anyway; the wheel's own bytes are then reproducible too).
    pub epoch: String,
}

/// 1980-01-01, the earliest time a zip member can hold.
const BUILD_EPOCH: &str = "315532800";

/// Builds sdists for one fetch; shared by its threads.
pub struct Builder<'a> {
    pub policy: &'a BuildPolicy,
    /// Where build requirements come from: the same indexes as the
    /// packages (empty: the default index).
    pub index_urls: Vec<String>,
    pub http: &'a HttpClient,
    pub cache: &'a Cache,
    pub ui: &'a Reporter,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    filename: String,
    digest: String,
}

impl Builder<'_> {
    /// The wheel of `sdist` for `pin`: from the cache by the sdist's
    /// sha256, else built. Refused under `--no-build`.
    pub fn wheel(&self, pin: &Pin, sdist: &Sdist) -> Result<Built, LockError> {
        self.wheel_from(pin, sdist, true)
    }

    /// [`Builder::wheel`] built again, whatever the cache holds: for a
    /// cached wheel that does not fit the target, which another Python on
    /// the build machine made (the key is the sdist's bytes alone, since
    /// which Python `uv build` picks is not known before it runs).
    pub fn rebuilt(&self, pin: &Pin, sdist: &Sdist) -> Result<Built, LockError> {
        self.wheel_from(pin, sdist, false)
    }

    fn wheel_from(&self, pin: &Pin, sdist: &Sdist, cached: bool) -> Result<Built, LockError> {
        let fail = |message: String| LockError::Package {
            name: pin.name.clone(),
            version: pin.version.to_string(),
            origin: pin.origin.clone(),
            message,
        };
        if self.policy.forbid {
            return Err(refused(pin, sdist.filename));
        }
        let key = format!("sdist-wheel-v1-{}", sdist.sha256);
        if let Some(record) = cached
            .then(|| self.cache.get_key(&key))
            .flatten()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
        {
            if let Some(path) = Digest::try_from(record.digest)
                .ok()
                .and_then(|d| self.cache.get(&d, None))
            {
                return Ok(Built {
                    filename: record.filename,
                    path,
                    cached: true,
                });
            }
        }
        self.ui.info(format!(
            "building {}=={} from {} on the build machine",
            pin.name, pin.version, sdist.filename
        ));
        let started = std::time::Instant::now();
        // Kept until the wheel is in the blob cache.
        let work = self.cache.temp_dir("sdist-")?;
        let wheel = self.build(sdist, work.path()).map_err(|e| {
            fail(format!(
                "building a wheel from the sdist {} ({}) failed: {e}",
                sdist.filename,
                sdist.path.display()
            ))
        })?;
        let filename = wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parsed: WheelFilename = filename.parse().map_err(|e| {
            fail(format!(
                "the build of {} wrote {filename}: {e}",
                sdist.filename
            ))
        })?;
        if normalize_name(&parsed.name) != pin.name || parsed.version != pin.version {
            return Err(fail(format!(
                "the build of {} wrote {filename}, a wheel of another name or version",
                sdist.filename
            )));
        }
        let path = self.store(&wheel)?;
        let digest = path
            .file_name()
            .map(|h| format!("sha256:{}", h.to_string_lossy()))
            .unwrap_or_default();
        let record = serde_json::to_vec(&Record {
            filename: filename.clone(),
            digest,
        })
        .expect("a record serializes");
        self.cache.put_key(&key, &record)?;
        self.ui.info(format!(
            "built {filename} in {:.1}s",
            started.elapsed().as_secs_f64()
        ));
        Ok(Built {
            filename,
            path,
            cached: false,
        })
    }

    fn build(&self, sdist: &Sdist, work: &Path) -> Result<PathBuf, String> {
        let out = work.join("out");
        std::fs::create_dir(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let urls = if self.index_urls.is_empty() {
            vec![DEFAULT_INDEX_URL.to_string()]
        } else {
            self.index_urls.clone()
        };
        let index = IndexClient::new(&urls, self.http).map_err(|e| crate::error::chain(&e))?;
        let metadata = MetadataClient::new(self.http, self.cache);
        let ctx = Context {
            index_urls: &urls,
            index: &index,
            metadata: &metadata,
            http: self.http,
            cache: self.cache,
            ui: self.ui,
            epoch: BUILD_EPOCH.into(),
        };
        if self.policy.python.is_none() {
            if let Some(uv) = host::which("uv") {
                // uv tells an sdist by its name; the blob has only a hash.
                let named = work.join(sdist.filename);
                if std::fs::hard_link(sdist.path, &named).is_err() {
                    std::fs::copy(sdist.path, &named)
                        .map_err(|e| format!("{}: {e}", named.display()))?;
                }
                return uv::build(&ctx, &uv, &named, work, &out);
            }
        }
        let python = host::find_python(self.policy.python.as_deref())?;
        let host = host::probe(&python)?;
        let src = work.join("src");
        std::fs::create_dir(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let tree = unpack::unpack(sdist.path, sdist.filename, &src)?;
        let system = unpack::build_system(&tree)?;
        pep517::build(&ctx, &python, &host, &tree, &system, work, &out)
    }

    /// Copies the built wheel into the blob cache under its digest.
    fn store(&self, wheel: &Path) -> Result<PathBuf, LockError> {
        let read = |source| LockError::Read {
            path: wheel.to_path_buf(),
            source,
        };
        let tmp = self.cache.temp_file()?;
        let mut w = HashingWriter::new(std::io::BufWriter::new(tmp));
        std::io::copy(&mut std::fs::File::open(wheel).map_err(read)?, &mut w).map_err(read)?;
        w.flush().map_err(read)?;
        let (buf, digest, _) = w.finish();
        let tmp = buf.into_inner().map_err(|e| read(e.into_error()))?;
        Ok(self.cache.persist(tmp, &digest)?)
    }
}

/// `--no-build` and a version with only an sdist.
pub fn refused(pin: &Pin, sdist: &str) -> LockError {
    LockError::Package {
        name: pin.name.clone(),
        version: pin.version.to_string(),
        origin: pin.origin.clone(),
        message: format!(
            "only a source distribution ({sdist}) is available, and --no-build forbids building it: drop --no-build, bring a wheel with --wheels DIR, or pin a version that ships a wheel"
        ),
    }
}

/// A built wheel must fit the target: a pure one always does; one built
/// with a C compiler fits only machines like this one.
pub fn check_fits(tags: &Tags, pin: &Pin, built: &Built) -> Result<(), LockError> {
    let parsed: WheelFilename = built.filename.parse().map_err(|e| LockError::Package {
        name: pin.name.clone(),
        version: pin.version.to_string(),
        origin: pin.origin.clone(),
        message: format!("built wheel {}: {e}", built.filename),
    })?;
    if crate::wheel::best_wheel(tags, std::iter::once(&parsed)).is_some() {
        return Ok(());
    }
    Err(LockError::Package {
        name: pin.name.clone(),
        version: pin.version.to_string(),
        origin: pin.origin.clone(),
        message: format!(
            "its sdist was built on the build machine into {}, which is not pure Python and does not fit the target (CPython {}, best tag {}): it was built for the build machine, not the image; use a wheel built for {} (--wheels DIR) or a base image of the build machine's platform",
            built.filename,
            tags.python_version(),
            tags.best(),
            tags.best_platform()
        ),
    })
}
