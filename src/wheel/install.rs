//! Installing a set of wheels into layer entries, the way
//! `pip install --no-deps --no-compile` does it into the target interpreter:
//! choose one wheel per project (`select`), plan each one (`plan`, the
//! spec's steps), refuse two wheels writing one path, and check that the set
//! is complete for the target (`check`).

use crate::ui::progress::{self, Kind};
use std::collections::HashMap;
use std::path::PathBuf;

use super::filename::normalize_name;
use super::plan::plan_wheel;
use super::tags::Tags;
use super::{check, select, WheelError};
use crate::layer::Entry;
use crate::target::PythonTarget;

pub struct InstallOptions {
    /// Normalized names of the distributions the user asked for (they get a
    /// `REQUESTED` marker); `None` means every wheel given.
    pub requested: Option<Vec<String>>,
}

pub struct Installation {
    pub entries: Vec<Entry>,
    pub distributions: Vec<Distribution>,
    pub warnings: Vec<String>,
}

pub struct Distribution {
    pub name: String,
    pub version: String,
    pub wheel: PathBuf,
    /// Where this wheel's entries sit in [`Installation::entries`], so a
    /// caller can put each wheel (or group of wheels) in a layer of its own.
    pub entries: std::ops::Range<usize>,
}

pub fn install(
    wheels: &[PathBuf],
    target: &PythonTarget,
    opts: &InstallOptions,
) -> Result<Installation, WheelError> {
    let tags = Tags::for_target(target)?;
    let mut warnings = Vec::new();
    let chosen = select::select_wheels(wheels, &tags, &mut warnings)?;
    let requested: Option<Vec<String>> = opts
        .requested
        .as_ref()
        .map(|names| names.iter().map(|n| normalize_name(n)).collect());

    let mut entries = Vec::new();
    let mut owners: HashMap<String, PathBuf> = HashMap::new();
    let mut distributions = Vec::new();
    let mut metadatas = Vec::new();
    let progress = progress::bytes(Kind::Install, "wheels", Some(chosen.len() as u64));
    for (wheel, filename) in chosen {
        progress.inc(1);
        let is_requested = requested
            .as_ref()
            .is_none_or(|r| r.contains(&filename.normalized_name()));
        let planned = plan_wheel(&wheel, &filename, target, is_requested, &mut warnings)?;
        for entry in &planned.entries {
            if let Some(first) = owners.insert(entry.path.clone(), wheel.clone()) {
                return Err(WheelError::Conflict {
                    path: format!("/{}", entry.path),
                    first,
                    second: wheel,
                });
            }
        }
        let start = entries.len();
        entries.extend(planned.entries);
        distributions.push(Distribution {
            name: planned.metadata.name.clone(),
            version: planned.metadata.version.clone(),
            wheel,
            entries: start..entries.len(),
        });
        metadatas.push(planned.metadata);
    }
    check::check(&metadatas, &tags)?;
    Ok(Installation {
        entries,
        distributions,
        warnings,
    })
}
