//! Choosing one wheel per project for the target from a wheel directory
//! that may hold wheels for several platforms or versions.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::IncompatibleWheel;
use super::filename::WheelFilename;
use super::tags::{TagCompatibility, Tags};
use super::WheelError;

/// One wheel per project: the highest version, then the best tag for the
/// target, then the highest build tag (pip's preference order). Wheels for
/// other targets are skipped when another wheel of the project fits.
pub fn select_wheels(
    wheels: &[PathBuf],
    tags: &Tags,
    warnings: &mut Vec<String>,
) -> Result<Vec<(PathBuf, WheelFilename)>, WheelError> {
    let mut projects: BTreeMap<String, Vec<(PathBuf, WheelFilename, TagCompatibility)>> =
        BTreeMap::new();
    for wheel in wheels {
        let file_name = wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let filename: WheelFilename = file_name.parse()?;
        let compat = tags.compatibility(&filename);
        projects
            .entry(filename.normalized_name())
            .or_default()
            .push((wheel.clone(), filename, compat));
    }
    let mut chosen = Vec::new();
    for (project, candidates) in projects {
        let best = candidates
            .iter()
            .filter_map(|(w, f, c)| match c {
                TagCompatibility::Compatible(rank) => Some((w, f, *rank)),
                TagCompatibility::Incompatible(_) => None,
            })
            .max_by_key(|(_, f, rank)| (f.version.clone(), Reverse(*rank), f.build.clone()));
        let Some((wheel, filename, _)) = best else {
            let (wheel, filename, compat) = &candidates[0];
            let TagCompatibility::Incompatible(why) = compat else {
                unreachable!("no candidate is compatible")
            };
            let others = if candidates.len() > 1 {
                format!(
                    ", nor do the other {} wheels of {project}",
                    candidates.len() - 1
                )
            } else {
                String::new()
            };
            return Err(WheelError::Incompatible(Box::new(IncompatibleWheel {
                wheel: wheel.clone(),
                reason: format!("{why}{others}"),
                tags: filename.tag_string(),
                best: tags.best(),
                platform: tags.best_platform().to_string(),
                python: tags.python_version(),
                project: project.clone(),
            })));
        };
        if candidates.len() > 1 {
            let others: Vec<String> = candidates
                .iter()
                .filter(|(w, _, _)| w != wheel)
                .map(|(_, f, _)| f.to_string())
                .collect();
            warnings.push(format!(
                "several wheels of {project}: installing {filename} (best for the target), ignoring {}",
                others.join(", ")
            ));
        }
        chosen.push((wheel.clone(), filename.clone()));
    }
    Ok(chosen)
}
