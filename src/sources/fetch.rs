//! Pinned packages → wheel files on disk: choose per package the wheel that
//! fits the target best, take it from a local directory, the blob cache, or
//! download it (bounded parallelism), and verify its sha256 before anything
//! reads it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use reqwest::Url;

use crate::cache::{Cache, CacheError};
use crate::error::chain;
use crate::http::HttpClient;
use crate::oci::digest::{Digest, HashingReader, HashingWriter};
use crate::sources::index::{IndexClient, DEFAULT_INDEX_URL};
use crate::sources::metadata::MetadataClient;
use crate::sources::resolve::WithLocalWheels;
use crate::target::PythonTarget;
use crate::ui::progress::{self, Kind};
use crate::ui::Reporter;
use crate::wheel::{self, normalize_name, Tags, WheelFilename};

use super::{
    index_source, marker_environment, pins_of, pylock, requirements, resolve_for, uvlock, Location,
    LockError, LockedWheel, Pin, WheelInput,
};

/// How many packages are fetched at once: enough to hide per-request
/// latency, few enough not to hammer an index.
const PARALLEL: usize = 6;

/// The wheels to install, with real file names (the installer reads the
/// tags from them), and the names the user asked for.
pub struct FetchedWheels {
    pub wheels: Vec<PathBuf>,
    pub requested: Option<Vec<String>>,
    /// Holds the links into the cache while the build runs.
    _dir: Option<tempfile::TempDir>,
}

pub fn fetch_wheels(
    input: &WheelInput,
    target: &PythonTarget,
    cache: &Cache,
    http: &HttpClient,
    ui: &Reporter,
) -> Result<FetchedWheels, LockError> {
    let tags = Tags::for_target(target)?;
    let env = marker_environment(&tags);
    let (pins, index_urls, local, requested) = match input {
        WheelInput::Dir(dir) => {
            return Ok(FetchedWheels {
                wheels: wheel::find_wheels(dir)?,
                requested: None,
                _dir: None,
            })
        }
        WheelInput::Requirements {
            file,
            inline,
            local,
            index_url,
            extra_index_urls,
            constraints,
            options,
        } => {
            let reqs = match inline {
                Some(text) => requirements::parse_str(file, text, constraints)?,
                None => requirements::parse(std::slice::from_ref(file), constraints)?,
            };
            let primary = index_url
                .clone()
                .or(reqs.index_url.clone())
                .unwrap_or_else(|| DEFAULT_INDEX_URL.to_string());
            let mut urls = vec![primary];
            urls.extend(extra_index_urls.iter().cloned());
            urls.extend(reqs.extra_index_urls.iter().cloned());
            let mut dirs: Vec<PathBuf> = local.iter().cloned().collect();
            dirs.extend(reqs.find_links.iter().cloned());
            match reqs.pins(&env)? {
                // Every line a full pin: built as compiled, nothing resolved.
                Some(pins) => {
                    let names = pins.iter().map(|p| p.name.clone()).collect();
                    (pins, urls, dirs, Some(names))
                }
                None => {
                    let index = IndexClient::new(&urls, http)?;
                    let metadata = MetadataClient::new(http, cache);
                    let request = reqs.request(options);
                    let source = index_source(&index, &metadata);
                    let mut local_wheels = Vec::new();
                    for dir in &dirs {
                        local_wheels.extend(wheel::find_wheels(dir)?);
                    }
                    let source = WithLocalWheels::new(&source, &local_wheels);
                    let resolved = resolve_for(&request, &tags, &source, ui)?;
                    let pins = pins_of(&resolved, &tags, |n| reqs.hashes_of(n));
                    (pins, urls, dirs, Some(reqs.top_level_names()))
                }
            }
        }
        WheelInput::Lock { file, local } => {
            let text = std::fs::read_to_string(file).map_err(|source| LockError::Read {
                path: file.clone(),
                source,
            })?;
            let lock = if file.file_name().is_some_and(|n| n == "uv.lock") {
                uvlock::parse(file, &text, &env)?
            } else {
                pylock::parse(file, &text, &env)?
            };
            (
                lock.pins,
                Vec::new(),
                local.iter().cloned().collect(),
                lock.requested,
            )
        }
    };
    let index = if pins.iter().any(|p| p.wheels.is_empty() && !p.sdist_only) {
        Some(IndexClient::new(&index_urls, http)?)
    } else {
        None
    };
    let mut local_wheels = Vec::new();
    for dir in &local {
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
                let r = fetch_one(pin, &tags, index.as_ref(), http, &local_wheels, cache);
                match &r {
                    Ok((filename, path, how)) => {
                        if pin.sdist_only {
                            ui.warn(format!(
                                "{}=={} ({}): the lock lists only an sdist; using your wheel {} from --wheels, whose hash cannot be checked against the lock",
                                pin.name, pin.version, pin.origin, path.display()
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
                    Some(r.map(|(f, p, _)| (f, p)));
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
    // Sorted so the deps-layer cache key does not depend on file order.
    let requested = requested.map(|mut names: Vec<String>| {
        names.sort();
        names.dedup();
        names
    });
    Ok(FetchedWheels {
        wheels,
        requested,
        _dir: Some(dir),
    })
}

/// One pin → (file name, path of the verified bytes, how it was obtained).
fn fetch_one(
    pin: &Pin,
    tags: &Tags,
    index: Option<&IndexClient>,
    http: &HttpClient,
    local: &[PathBuf],
    cache: &Cache,
) -> Result<(String, PathBuf, &'static str), LockError> {
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
            Ok(i) => Ok((local_names[i].clone(), local[i].clone(), "local, unhashed")),
            Err(_) => Err(LockError::Package {
                name: pin.name.clone(),
                version: pin.version.to_string(),
                origin: pin.origin.clone(),
                message: format!(
                    "the lock lists only an sdist, and {} no wheel of it that fits CPython {} (best tag {}): build one (`pip wheel --no-deps {}=={}`) into a directory and pass it with --wheels DIR",
                    if local.is_empty() { "without --wheels DIR there is" } else { "--wheels DIR has" },
                    tags.python_version(),
                    tags.best(),
                    pin.name,
                    pin.version,
                ),
            }),
        };
    }
    if let Ok(i) = select_wheel(tags, pin, &local_names) {
        let actual = sha256_file(&local[i])?;
        check_hash(pin, &actual, &local[i].display().to_string())?;
        return Ok((local_names[i].clone(), local[i].clone(), "local"));
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
    let chosen = &candidates[select_wheel(tags, pin, &names)?];
    let known = chosen
        .sha256
        .clone()
        .or_else(|| (pin.hashes.len() == 1).then(|| pin.hashes[0].clone()));
    let where_ = match &chosen.location {
        Location::Url(u) => u.clone(),
        Location::Path(p) => p.display().to_string(),
    };
    if let Some(h) = &known {
        check_hash(pin, h, &where_)?;
        if let Some(path) = Digest::try_from(format!("sha256:{h}"))
            .ok()
            .and_then(|d| cache.get(&d, None))
        {
            return Ok((chosen.filename.clone(), path, "cached"));
        }
    }
    let path = match &chosen.location {
        Location::Path(p) => {
            let actual = sha256_file(p)?;
            check_hash(pin, &actual, &where_)?;
            if let Some(h) = &chosen.sha256 {
                if h != &actual {
                    return Err(mismatch(pin, &where_, &actual, h));
                }
            }
            return Ok((chosen.filename.clone(), p.clone(), "local"));
        }
        Location::Url(url) => download(pin, url, chosen.sha256.as_deref(), http, cache)?,
    };
    Ok((chosen.filename.clone(), path, "downloaded"))
}

fn download(
    pin: &Pin,
    url: &str,
    listed: Option<&str>,
    http: &HttpClient,
    cache: &Cache,
) -> Result<PathBuf, LockError> {
    let err = |message: String| LockError::Download {
        url: url.to_string(),
        message,
    };
    let parsed = Url::parse(url).map_err(|e| err(e.to_string()))?;
    // A connection dropped mid-body is retried like one dropped before
    // the answer (the HTTP stack's retries end when headers arrive).
    let mut tries = 0;
    let mut w = loop {
        tries += 1;
        let resp = http.get(parsed.clone()).map_err(|e| err(chain(&e)))?;
        if !resp.status().is_success() {
            return Err(err(format!("HTTP {}", resp.status().as_u16())));
        }
        let total = resp.content_length();
        let mut resp = progress::bytes(Kind::Download, pin.name.clone(), total).reader(resp);
        let tmp = cache.temp_file()?;
        let mut w = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, tmp));
        match std::io::copy(&mut resp, &mut w) {
            Ok(_) => break w,
            Err(_) if tries < 3 => continue,
            Err(e) => return Err(err(chain(&e))),
        }
    };
    w.flush().map_err(|e| err(e.to_string()))?;
    let (buf, digest, _) = w.finish();
    let tmp = buf.into_inner().map_err(|e| err(e.error().to_string()))?;
    let actual = digest.hex().to_string();
    check_hash(pin, &actual, url)?;
    if let Some(h) = listed {
        if h != actual {
            return Err(mismatch(pin, url, &actual, h));
        }
    }
    match cache.persist(tmp, &digest) {
        Ok(p) => Ok(p),
        Err(CacheError::Io { .. }) if cache.get(&digest, None).is_some() => {
            Ok(cache.get(&digest, None).expect("just checked"))
        }
        Err(e) => Err(e.into()),
    }
}

fn sha256_file(path: &Path) -> Result<String, LockError> {
    let read = |source| LockError::Read {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(read)?;
    let mut r = HashingReader::new(f);
    std::io::copy(&mut r, &mut std::io::sink()).map_err(read)?;
    Ok(r.finish().1.hex().to_string())
}

fn check_hash(pin: &Pin, actual: &str, url: &str) -> Result<(), LockError> {
    if pin.hashes.is_empty() || pin.hashes.iter().any(|h| h == actual) {
        return Ok(());
    }
    Err(mismatch(pin, url, actual, &pin.hashes.join(" or sha256:")))
}

fn mismatch(pin: &Pin, url: &str, actual: &str, allowed: &str) -> LockError {
    LockError::HashMismatch(Box::new(super::HashMismatch {
        name: pin.name.clone(),
        version: pin.version.to_string(),
        origin: pin.origin.clone(),
        url: url.to_string(),
        actual: actual.to_string(),
        allowed: format!("sha256:{allowed}"),
    }))
}

/// The index of the best wheel for the target among `filenames`
/// ([`wheel::best_wheel`] among this pin's wheels), or why there is none.
pub fn select_wheel(tags: &Tags, pin: &Pin, filenames: &[String]) -> Result<usize, LockError> {
    let mut wheels: Vec<(usize, WheelFilename)> = Vec::new();
    let mut sdists = Vec::new();
    for (i, name) in filenames.iter().enumerate() {
        if !name.ends_with(".whl") {
            if is_sdist_of(name, pin) {
                sdists.push(name.clone());
            }
            continue;
        }
        let Ok(f) = name.parse::<WheelFilename>() else {
            continue;
        };
        if normalize_name(&f.name) == pin.name && f.version == pin.version {
            wheels.push((i, f));
        }
    }
    if let Some(best) = wheel::best_wheel(tags, wheels.iter().map(|(_, f)| f)) {
        return Ok(wheels[best].0);
    }
    let other_wheels: BTreeSet<String> = wheels.iter().map(|(_, f)| f.tag_string()).collect();
    let target = format!(
        "the target (CPython {}, best tag {})",
        tags.python_version(),
        tags.best()
    );
    let message = if !sdists.is_empty() {
        format!(
            "only a source distribution ({}) fits {target}{}; pyko never builds sdists: build a wheel for {} (pip wheel) and pass it with --wheels, or pin a version that ships one",
            sdists.join(", "),
            if other_wheels.is_empty() {
                String::new()
            } else {
                format!(" — wheels exist only for {}", other_wheels.into_iter().collect::<Vec<_>>().join(", "))
            },
            tags.best_platform()
        )
    } else if !other_wheels.is_empty() {
        format!(
            "no wheel fits {target}; there are wheels for {}; pin a version with a wheel for {}",
            other_wheels.into_iter().collect::<Vec<_>>().join(", "),
            tags.best_platform()
        )
    } else {
        "the index lists no file of this version; check the name and version, or the --index-url"
            .to_string()
    };
    Err(LockError::Package {
        name: pin.name.clone(),
        version: pin.version.to_string(),
        origin: pin.origin.clone(),
        message,
    })
}

fn is_sdist_of(filename: &str, pin: &Pin) -> bool {
    wheel::parse_sdist(filename).is_some_and(|(name, version)| {
        normalize_name(name) == pin.name
            && version.parse::<pep440_rs::Version>().ok().as_ref() == Some(&pin.version)
    })
}
