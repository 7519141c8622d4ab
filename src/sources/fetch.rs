//! Pinned packages → wheel files on disk: choose per package the wheel that
//! fits the target best, take it from a local directory, the blob cache, or
//! download it (bounded parallelism), and verify its sha256 before anything
//! reads it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::cache::Cache;
use crate::http::HttpClient;
use crate::sources::index::IndexClient;
use crate::sources::sdist::{BuildPolicy, Builder};
use crate::ui::Reporter;
use crate::wheel::{self, Tags};

use super::{Location, LockError, LockedWheel, Pin};

/// How many packages are fetched at once: enough to hide per-request
/// latency, few enough not to hammer an index.
mod build;
mod download;
mod known;
mod pin;
mod select;
mod verify;

use build::build_from;
use download::fetch_file;
pub use pin::{pin_wheels, Pinned};
use select::is_sdist_of;
pub use select::select_wheel;
use verify::{check_hash, mismatch, refusal, sha256_file, unverified, where_of, Got, Policy};

const PARALLEL: usize = 6;

/// The wheels to install, with real file names (the installer reads the
/// tags from them).
pub struct FetchedWheels {
    pub wheels: Vec<PathBuf>,
    /// Holds the links into the cache while the build runs.
    _dir: Option<tempfile::TempDir>,
}

impl Pinned {
    /// Downloads (or takes from the cache, or builds) every pinned wheel.
    pub(crate) fn fetch(
        self,
        cache: &Cache,
        http: &HttpClient,
        ui: &Reporter,
    ) -> Result<FetchedWheels, LockError> {
        let Pinned {
            tags,
            pins,
            index_urls,
            local,
            policy,
            dir,
            ..
        } = self;
        if let Some(wheels) = dir {
            return Ok(FetchedWheels { wheels, _dir: None });
        }
        fetch_pins(&tags, &pins, &index_urls, &local, &policy, cache, http, ui).map(
            |(wheels, dir)| FetchedWheels {
                wheels,
                _dir: Some(dir),
            },
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn fetch_pins(
    tags: &Tags,
    pins: &[Pin],
    index_urls: &[String],
    local: &[PathBuf],
    policy: &Policy,
    cache: &Cache,
    http: &HttpClient,
    ui: &Reporter,
) -> Result<(Vec<PathBuf>, tempfile::TempDir), LockError> {
    let builder = Builder {
        policy: &policy.build,
        index_urls: index_urls.to_vec(),
        http,
        cache,
        ui,
    };
    let index = if pins.iter().any(|p| p.wheels.is_empty() && !p.sdist_only) {
        Some(IndexClient::new(index_urls, http)?)
    } else {
        None
    };
    let mut local_wheels = Vec::new();
    for dir in local {
        local_wheels.extend(wheel::find_wheels(dir)?);
    }
    ui.info(format!(
        "fetching {} pinned packages for {}{}",
        pins.len(),
        tags.best(),
        match &index {
            Some(i) => format!(
                " from {}",
                i.urls()
                    .iter()
                    .map(|u| u.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => String::new(),
        }
    ));

    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    type Slot = Option<Result<(String, PathBuf), LockError>>;
    let results: Mutex<Vec<Slot>> = Mutex::new((0..pins.len()).map(|_| None).collect());
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(pins.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= pins.len() || failed.load(Ordering::SeqCst) {
                    break;
                }
                let pin = &pins[i];
                let r = fetch_one(
                    pin,
                    tags,
                    index.as_ref(),
                    &local_wheels,
                    &builder,
                    policy,
                );
                match &r {
                    Ok(Got {
                        filename,
                        path,
                        how,
                        warning,
                    }) => {
                        if let Some(w) = warning {
                            ui.warn(format!(
                                "{}=={} ({}): {w}",
                                pin.name, pin.version, pin.origin
                            ));
                        }
                        if pin.sdist_only && how == &verify::LOCAL_UNHASHED {
                            ui.warn(format!(
                                "{}=={} ({}): {}; using your wheel {} from --wheels, whose hash cannot be checked against the lock",
                                pin.name, pin.version, pin.origin, pin.lock_lists(), path.display()
                            ));
                        }
                        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                        ui.info(format!(
                            "[{n}/{}] {filename} ({:.1} MB, {how})",
                            pins.len(),
                            size as f64 / 1e6
                        ));
                    }
                    Err(_) => failed.store(true, Ordering::SeqCst),
                }
                results.lock().expect("no panics while locked")[i] =
                    Some(r.map(|g| (g.filename, g.path)));
            });
        }
    });
    let mut fetched = Vec::new();
    for r in results
        .into_inner()
        .expect("threads joined")
        .into_iter()
        .flatten()
    {
        fetched.push(r?);
    }

    // The installer takes tags from file names, so each blob gets its name
    // back through a hard link (a copy on filesystems without links).
    let dir = tempfile::Builder::new()
        .prefix("wheels-")
        .tempdir_in(cache.root())
        .map_err(|source| LockError::Read {
            path: cache.root().to_path_buf(),
            source,
        })?;
    let mut wheels = Vec::new();
    for (filename, blob) in fetched {
        let dest = dir.path().join(&filename);
        if std::fs::hard_link(&blob, &dest).is_err() {
            std::fs::copy(&blob, &dest).map_err(|source| LockError::Read {
                path: dest.clone(),
                source,
            })?;
        }
        wheels.push(dest);
    }
    wheels.sort();
    Ok((wheels, dir))
}

/// One pinned wheel from its listed location (no index, no local wheels,
/// no building): how an sdist build gets its build requirements.
pub(super) fn fetch_pinned(
    pin: &Pin,
    tags: &Tags,
    http: &HttpClient,
    cache: &Cache,
    ui: &Reporter,
) -> Result<(String, PathBuf), LockError> {
    let policy = Policy {
        build: BuildPolicy {
            forbid: true,
            python: None,
        },
        ..Policy::default()
    };
    let builder = Builder {
        policy: &policy.build,
        index_urls: Vec::new(),
        http,
        cache,
        ui,
    };
    let got = fetch_one(pin, tags, None, &[], &builder, &policy)?;
    Ok((got.filename, got.path))
}

/// One listed file (an sdist the resolver needs metadata from), verified
/// against its listed sha256, and that hash.
pub(super) fn fetch_listed(
    pin: &Pin,
    file: &LockedWheel,
    http: &HttpClient,
    cache: &Cache,
) -> Result<(PathBuf, String), LockError> {
    let got = fetch_file(pin, file, http, cache, &Policy::default())?;
    let sha256 = sha256_file(&got.path)?;
    Ok((got.path, sha256))
}

fn fetch_one(
    pin: &Pin,
    tags: &Tags,
    index: Option<&IndexClient>,
    local: &[PathBuf],
    builder: &Builder,
    policy: &Policy,
) -> Result<Got, LockError> {
    let (http, cache) = (builder.http, builder.cache);
    // Local wheels first (`--wheels DIR` / `--find-links`).
    let local_names: Vec<String> = local
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    if pin.sdist_only {
        // The lock's hashes are the sdist's, so a built wheel cannot match
        // them: the caller says so on stderr.
        return match select_wheel(tags, pin, &local_names) {
            Ok(i) if policy.strict => Err(refusal(
                pin,
                format!(
                    "{}, whose hash cannot vouch for your wheel {}",
                    pin.lock_lists(),
                    local[i].display()
                ),
            )),
            Ok(i) => Ok(Got::new(
                local_names[i].clone(),
                local[i].clone(),
                verify::LOCAL_UNHASHED,
            )),
            Err(_) if pin.sdist.is_some() && !policy.build.forbid => {
                let sdist = &pin.sdist.as_ref().expect("just checked").file;
                build_from(pin, sdist, tags, builder, policy)
            }
            Err(_) => Err(LockError::Package {
                name: pin.name.clone(),
                version: pin.version.to_string(),
                origin: pin.origin.clone(),
                message: format!(
                    "{}, and {} no wheel of it that fits CPython {} (best tag {}){}: build one (`pip wheel --no-deps {}=={}`) into a directory and pass it with --wheels DIR",
                    pin.lock_lists(),
                    if local.is_empty() { "without --wheels DIR there is" } else { "--wheels DIR has" },
                    tags.python_version(),
                    tags.best(),
                    if policy.build.forbid { ", and --no-build forbids building it" } else { "" },
                    pin.name,
                    pin.version,
                ),
            }),
        };
    }
    if let Ok(i) = select_wheel(tags, pin, &local_names) {
        let actual = sha256_file(&local[i])?;
        let shown = local[i].display().to_string();
        check_hash(pin, &actual, &shown)?;
        let mut got = Got::new(local_names[i].clone(), local[i].clone(), "local");
        if policy.lock {
            // The lock chose a file by name and hash; a local wheel stands
            // for it only if it is that file.
            match pin.wheels.iter().find(|w| w.filename == local_names[i]) {
                Some(LockedWheel {
                    sha256: Some(h),
                    location,
                    ..
                }) => {
                    if h != &actual {
                        return Err(mismatch(
                            pin,
                            &format!("local wheel {shown}"),
                            &actual,
                            &format!("{h} (the lock's hash for {})", where_of(location)),
                        ));
                    }
                }
                Some(_) => {
                    got.warning = unverified(
                        pin,
                        policy.strict,
                        format!("the lock gives no sha256 for {}, so your wheel {shown} cannot be checked", local_names[i]),
                    )?
                }
                None => {
                    got.warning = unverified(
                        pin,
                        policy.strict,
                        format!("your wheel {shown} is not a file the lock lists, so its hash cannot be checked against the lock"),
                    )?
                }
            }
        }
        return Ok(got);
    }
    let candidates: Vec<LockedWheel> = if !pin.wheels.is_empty() {
        pin.wheels.clone()
    } else {
        let index = index.expect("an index client when a pin has no listed wheels");
        index
            .files(&pin.name)?
            .into_iter()
            .map(|f| LockedWheel {
                filename: f.filename,
                location: Location::Url(f.url.to_string()),
                sha256: f.sha256,
            })
            .collect()
    };
    let names: Vec<String> = candidates.iter().map(|c| c.filename.clone()).collect();
    let chosen = match select_wheel(tags, pin, &names) {
        Ok(i) => &candidates[i],
        // No wheel fits: an sdist of this version is built (or refused
        // under --no-build, naming the package), as pip would.
        Err(e) => match candidates.iter().find(|c| is_sdist_of(&c.filename, pin)) {
            Some(sdist) => return build_from(pin, sdist, tags, builder, policy),
            None => return Err(e),
        },
    };
    fetch_file(pin, chosen, http, cache, policy)
}
