//! Which of a pin's wheel files fits the target best, or why none does.

use std::collections::BTreeSet;

use crate::sources::{LockError, Pin};
use crate::wheel::{self, normalize_name, Tags, WheelFilename};

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
            "only a source distribution ({}) fits {target}{}: build a wheel for {} (pip wheel) and pass it with --wheels, or pin a version that ships one",
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

pub(super) fn is_sdist_of(filename: &str, pin: &Pin) -> bool {
    wheel::parse_sdist(filename).is_some_and(|(name, version)| {
        normalize_name(name) == pin.name
            && version.parse::<pep440_rs::Version>().ok().as_ref() == Some(&pin.version)
    })
}
