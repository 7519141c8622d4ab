//! Choosing wheels for the target: [`best_wheel`], the one preference order
//! (pip's), used for a wheel directory that may hold wheels for several
//! platforms or versions and for the files an index or lock lists for a pin.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::IncompatibleWheel;
use super::filename::WheelFilename;
use super::tags::{TagCompatibility, Tags};
use super::WheelError;

/// The index of the best of `wheels` for the target, in pip's preference
/// order: highest version, then the best tag for the target, then the
/// highest build tag; `None` when no wheel fits. Exact ties go to the
/// greatest file name, so the choice never depends on listing order.
pub fn best_wheel<'a>(
    tags: &Tags,
    wheels: impl IntoIterator<Item = &'a WheelFilename>,
) -> Option<usize> {
    wheels
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| match tags.compatibility(f) {
            TagCompatibility::Compatible(rank) => Some((i, f, rank)),
            TagCompatibility::Incompatible(_) => None,
        })
        .max_by(|(_, a, ra), (_, b, rb)| {
            (&a.version, Reverse(ra), &a.build)
                .cmp(&(&b.version, Reverse(rb), &b.build))
                .then_with(|| a.to_string().cmp(&b.to_string()))
        })
        .map(|(i, _, _)| i)
}

/// One wheel per project ([`best_wheel`]). Wheels for other targets are
/// skipped when another wheel of the project fits.
pub fn select_wheels(
    wheels: &[PathBuf],
    tags: &Tags,
    warnings: &mut Vec<String>,
) -> Result<Vec<(PathBuf, WheelFilename)>, WheelError> {
    let mut projects: BTreeMap<String, Vec<(PathBuf, WheelFilename)>> = BTreeMap::new();
    for wheel in wheels {
        let file_name = wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let filename: WheelFilename = file_name.parse()?;
        projects
            .entry(filename.normalized_name())
            .or_default()
            .push((wheel.clone(), filename));
    }
    let mut chosen = Vec::new();
    for (project, candidates) in projects {
        let Some(best) = best_wheel(tags, candidates.iter().map(|(_, f)| f)) else {
            let (wheel, filename) = &candidates[0];
            let TagCompatibility::Incompatible(why) = tags.compatibility(filename) else {
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
        let (wheel, filename) = &candidates[best];
        if candidates.len() > 1 {
            let others: Vec<String> = candidates
                .iter()
                .filter(|(w, _)| w != wheel)
                .map(|(_, f)| f.to_string())
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
