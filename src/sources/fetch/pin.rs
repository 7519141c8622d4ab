//! An input (wheel dir, requirements, pyproject.toml, lock) turned into
//! pins for one target: parsed, resolved when not fully pinned, with the
//! policy its fetch must follow. Nothing is downloaded here but what
//! resolution needs (index pages, metadata).

use std::path::PathBuf;

use crate::cache::Cache;
use crate::http::HttpClient;
use crate::sources::index::{IndexClient, DEFAULT_INDEX_URL};
use crate::sources::metadata::MetadataClient;
use crate::sources::resolve::WithLocalWheels;
use crate::sources::sdist::{Builder, WithSdists};
use crate::target::PythonTarget;
use crate::ui::Reporter;
use crate::wheel::{self, Tags};

use super::super::{
    index_source, marker_environment, pins_of, pylock, pyproject, requirements, resolve_for,
    uvlock, LockError, Pin, Selection, WheelInput,
};
use super::{known, Policy};

/// An input's pins, decided (parsed, resolved) but not yet fetched: what
/// is known before any download, so a registry cache keyed by the wheels'
/// hashes can be asked first.
pub struct Pinned {
    pub(super) tags: Tags,
    pub(super) pins: Vec<Pin>,
    pub(super) index_urls: Vec<String>,
    pub(super) local: Vec<PathBuf>,
    pub(super) policy: Policy,
    /// `--wheels DIR` alone: the wheels themselves, nothing to fetch.
    pub(super) dir: Option<Vec<PathBuf>>,
    /// The names the user asked for, sorted (REQUESTED files, and part of
    /// the deps-layer keys, so never in file order).
    pub requested: Option<Vec<String>>,
}

/// Parses and resolves `input` for `target`; nothing is downloaded but
/// what resolution needs (index pages, metadata).
pub fn pin_wheels(
    input: &WheelInput,
    target: &PythonTarget,
    cache: &Cache,
    http: &HttpClient,
    ui: &Reporter,
) -> Result<Pinned, LockError> {
    let tags = Tags::for_target(target)?;
    let env = marker_environment(&tags);
    let mut policy = Policy::default();
    let (pins, index_urls, local, requested) = match input {
        WheelInput::Dir(dir) => {
            return Ok(Pinned {
                tags,
                pins: Vec::new(),
                index_urls: Vec::new(),
                local: Vec::new(),
                policy,
                dir: Some(wheel::find_wheels(dir)?),
                requested: None,
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
            require_hashes,
            selection,
            build,
        } => {
            policy.build = build.clone();
            let reqs = match inline {
                Some(text) => requirements::parse_str(file, text, constraints)?,
                None if pyproject::is_pyproject(file) => {
                    let project = pyproject::read(file, selection, constraints)?;
                    if let Some(spec) = &project.requires_python {
                        pyproject::check_python(file, spec, &env)?;
                    }
                    project.requirements
                }
                None => requirements::parse(std::slice::from_ref(file), constraints)?,
            };
            reqs.check_hashes(*require_hashes, &env)?;
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
                    let builder = Builder {
                        policy: build,
                        index_urls: urls.clone(),
                        http,
                        cache,
                        ui,
                    };
                    let source = WithSdists::new(&source, &builder);
                    let resolved = resolve_for(&request, &tags, &source, ui)?;
                    let pins = pins_of(&resolved, &tags, |n| reqs.hashes_of(n));
                    (pins, urls, dirs, Some(reqs.top_level_names()))
                }
            }
        }
        WheelInput::Lock {
            file,
            local,
            require_hashes,
            selection,
            index_url,
            build,
        } => {
            let text = std::fs::read_to_string(file).map_err(|source| LockError::Read {
                path: file.clone(),
                source,
            })?;
            let lock = if file.file_name().is_some_and(|n| n == "uv.lock") {
                let local_wheels = match local {
                    Some(dir) => wheel::find_wheels(dir)?,
                    None => Vec::new(),
                };
                uvlock::read(file, &text, &env, selection, &local_wheels)?
            } else if *selection != Selection::default() {
                return Err(LockError::LockFile {
                    file: file.clone(),
                    message: "--group/--extra/--package/--all-groups choose from a uv.lock or a pyproject.toml; a pylock.toml already holds one chosen set".into(),
                });
            } else {
                pylock::parse(file, &text, &env)?
            };
            for w in &lock.warnings {
                ui.warn(w.clone());
            }
            policy = Policy {
                lock: true,
                strict: *require_hashes,
                build: build.clone(),
            };
            // Build requirements come from --index-url, else the index the
            // lock names for its first sdist.
            let urls = index_url
                .clone()
                .or_else(|| {
                    lock.pins
                        .iter()
                        .find_map(|p| p.sdist.as_ref().and_then(|s| s.index.clone()))
                })
                .into_iter()
                .collect();
            (
                lock.pins,
                urls,
                local.iter().cloned().collect(),
                lock.requested,
            )
        }
    };
    let requested = requested.map(|mut names: Vec<String>| {
        names.sort();
        names.dedup();
        names
    });
    Ok(Pinned {
        tags,
        pins,
        index_urls,
        local,
        policy,
        dir: None,
        requested,
    })
}

impl Pinned {
    /// Every wheel's file name and sha256 (hex), when all are known without
    /// a download: each chosen from a lock's listed files or an index page
    /// with a hash the pin accepts. `None` when any is not (a local wheel,
    /// which must be hashed; an sdist, which must be built; no hash given):
    /// then only fetching tells. `ask_index`: pins that list no files
    /// may ask the index for its pages (worth it only when a hit saves
    /// downloads; a miss then reads each page twice).
    pub fn known_files(&self, http: &HttpClient, ask_index: bool) -> Option<Vec<(String, String)>> {
        known::files(self, http, ask_index)
    }
}
