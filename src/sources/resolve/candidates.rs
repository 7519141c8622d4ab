//! Which versions of a project exist *for the target*: the files the index
//! lists, less those a rule removes (yanked, uploaded after
//! `--exclude-newer`, `requires-python` that excludes the target), grouped
//! by version; a version counts only when a wheel of it fits the target's
//! tags (pip's `--only-binary :all:`). What was removed is kept as counts
//! so an empty answer can say why.

use std::collections::BTreeMap;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use super::specifiers::Range;
use crate::sources::index::IndexFile;
use crate::wheel::{best_wheel, parse_sdist, Tags, WheelFilename};

/// One usable version: its files and the wheel the target would install
/// (or the sdist it would be built from).
#[derive(Clone, Debug)]
pub struct Candidate {
    pub version: Version,
    /// The files that survived the filters (a lock lists them all).
    pub files: Vec<IndexFile>,
    /// Index into `files` of the best wheel for the target.
    pub wheel: usize,
}

impl Candidate {
    pub fn wheel(&self) -> &IndexFile {
        &self.files[self.wheel]
    }
}

/// What the rules removed, for the message when nothing is left.
#[derive(Clone, Debug, Default)]
pub struct Removed {
    pub yanked: Vec<Version>,
    pub too_new: Vec<Version>,
    pub requires_python: Vec<Version>,
    /// Versions whose only distributions are sdists, when building is off.
    pub sdist_only: Vec<Version>,
    /// Versions with wheels, none for the target: a few of their tags.
    pub other_platforms: Vec<(Version, Vec<String>)>,
}

#[derive(Clone, Debug, Default)]
pub struct Candidates {
    /// Newest first.
    pub versions: Vec<Candidate>,
    pub removed: Removed,
    /// The index listed no file at all: no such project.
    pub not_found: bool,
}

/// The per-project rules that do not depend on what the resolver is doing.
pub struct Rules<'a> {
    pub tags: &'a Tags,
    /// The target's `X.Y`, as a version (`requires-python` is checked
    /// against `X.Y.0`, the same value the marker environment holds).
    pub python: &'a Version,
    pub exclude_newer: Option<i64>,
    /// Versions a user requirement pins with `==` (PEP 592 lets those be
    /// yanked).
    pub yanked_ok: &'a dyn Fn(&Version) -> bool,
    /// A version with only sdists counts, its newest sdist standing where
    /// the wheel would (the fetcher builds it).
    pub sdists: bool,
}

impl Candidates {
    pub fn new(files: &[IndexFile], rules: &Rules) -> Candidates {
        let mut by_version: BTreeMap<Version, Vec<(IndexFile, Option<WheelFilename>)>> =
            BTreeMap::new();
        let mut removed = Removed::default();
        for file in files {
            let (version, wheel) = match WheelFilename::from_str(&file.filename) {
                Ok(w) => (w.version.clone(), Some(w)),
                Err(_) => {
                    match parse_sdist(&file.filename).and_then(|(_, v)| Version::from_str(v).ok()) {
                        Some(v) => (v, None),
                        None => continue,
                    }
                }
            };
            if file.yanked && !(rules.yanked_ok)(&version) {
                removed.yanked.push(version);
                continue;
            }
            if let Some(cutoff) = rules.exclude_newer {
                // A file without an upload time cannot be shown to be old
                // enough; a resolution that must not move leaves it out.
                if file.upload_time.is_none_or(|t| t > cutoff) {
                    removed.too_new.push(version);
                    continue;
                }
            }
            if let Some(rp) = &file.requires_python {
                // An unparsable requires-python is ignored, as pip does.
                if let Ok(spec) = VersionSpecifiers::from_str(rp) {
                    if !spec.contains(rules.python) {
                        removed.requires_python.push(version);
                        continue;
                    }
                }
            }
            by_version
                .entry(version)
                .or_default()
                .push((file.clone(), wheel));
        }
        let mut versions = Vec::new();
        for (version, files) in by_version.into_iter().rev() {
            let wheels: Vec<(usize, &WheelFilename)> = files
                .iter()
                .enumerate()
                .filter_map(|(i, (_, w))| w.as_ref().map(|w| (i, w)))
                .collect();
            match best_wheel(rules.tags, wheels.iter().map(|(_, w)| *w)) {
                Some(best) => versions.push(Candidate {
                    version,
                    wheel: wheels[best].0,
                    files: files.into_iter().map(|(f, _)| f).collect(),
                }),
                None if wheels.is_empty() && rules.sdists => versions.push(Candidate {
                    version,
                    wheel: 0,
                    files: files.into_iter().map(|(f, _)| f).collect(),
                }),
                None if wheels.is_empty() => removed.sdist_only.push(version),
                None => {
                    let tags = wheels.iter().take(3).map(|(_, w)| w.tag_string()).collect();
                    removed.other_platforms.push((version, tags));
                }
            }
        }
        Candidates {
            versions,
            removed,
            not_found: files.is_empty(),
        }
    }

    pub fn get(&self, version: &Version) -> Option<&Candidate> {
        self.versions.iter().find(|c| &c.version == version)
    }

    /// Why no version in `range` is usable, as a clause for "{name}
    /// {why}"; `None` when one is, or when nothing was removed there.
    pub fn why_none(&self, range: &Range, tags: &Tags) -> Option<String> {
        if self.not_found || self.versions.iter().any(|c| range.contains(&c.version)) {
            return None;
        }
        let r = &self.removed;
        let within = |vs: &[Version]| {
            let mut vs: Vec<String> = vs
                .iter()
                .filter(|v| range.contains(v))
                .map(Version::to_string)
                .collect();
            vs.dedup();
            vs
        };
        let mut parts = Vec::new();
        let platforms: Vec<_> = r
            .other_platforms
            .iter()
            .filter(|(v, _)| range.contains(v))
            .collect();
        let sdists = within(&r.sdist_only);
        let mut exists = Vec::new();
        if let Some((v, t)) = platforms.first() {
            exists.push(format!("{v} has wheels only for {}", t.join(", ")));
        }
        if let Some(v) = sdists.first() {
            exists.push(format!(
                "{v} is an sdist only, and --no-build forbids building it"
            ));
        }
        if !exists.is_empty() {
            parts.push(format!(
                "has no wheel for the target ({}); {}",
                tags.best(),
                exists.join(", ")
            ));
        }
        let mut list = |vs: Vec<String>, what: &str| {
            if !vs.is_empty() {
                parts.push(format!("{} {what}", vs.join(", ")));
            }
        };
        list(
            within(&r.requires_python),
            &format!("require another Python than {}", tags.python_version()),
        );
        list(
            within(&r.yanked),
            "are yanked (only a top-level == pin may use a yanked file)",
        );
        list(
            within(&r.too_new),
            "were uploaded after --exclude-newer or have no upload time",
        );
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}
