//! `pip check` for the target before anything is built: every
//! `Requires-Dist` whose markers hold on the target is met by a wheel in the
//! set, and every `Requires-Python` admits the target's Python.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{
    ExtraName, MarkerEnvironment, MarkerEnvironmentBuilder, Requirement, VersionOrUrl,
};

use super::filename::normalize_name;
use super::metadata::Metadata;
use super::tags::Tags;
use super::WheelError;

/// Marker values for the target. Only `X.Y` of the Python is known, so
/// `python_full_version` is `X.Y.0`; release/version strings are unknown and
/// left empty.
pub fn marker_environment(tags: &Tags) -> MarkerEnvironment {
    let version = tags.python_version();
    let full = format!("{version}.0");
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &full,
        os_name: "posix",
        platform_machine: tags.machine(),
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: &full,
        python_version: &version,
        sys_platform: "linux",
    })
    .expect("X.Y and X.Y.0 are valid versions")
}

/// Checks `dists` (METADATA of each installed distribution) as a whole and
/// returns one error listing every problem.
pub fn check(dists: &[Metadata], tags: &Tags) -> Result<(), WheelError> {
    let env = marker_environment(tags);
    let installed: HashMap<String, &Metadata> =
        dists.iter().map(|m| (normalize_name(&m.name), m)).collect();
    let mut unmet = Vec::new();

    let mut requirements = Vec::new();
    for m in dists {
        for text in &m.requires_dist {
            match Requirement::<pep508_rs::VerbatimUrl>::from_str(text) {
                Ok(r) => requirements.push((m, r)),
                Err(e) => unmet.push(format!(
                    "{} {} has an unparsable requirement {text:?}: {e}",
                    m.name, m.version
                )),
            }
        }
    }

    // Extras are active only when some active requirement asks for them;
    // activating one can activate more, so iterate to a fixed point.
    let mut extras: HashMap<String, BTreeSet<ExtraName>> = HashMap::new();
    loop {
        let mut changed = false;
        for (m, r) in &requirements {
            let own: Vec<ExtraName> = extras
                .get(&normalize_name(&m.name))
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            if r.evaluate_markers(&env, &own) {
                let wanted = extras.entry(r.name.to_string()).or_default();
                for e in &r.extras {
                    changed |= wanted.insert(e.clone());
                }
            }
        }
        if !changed {
            break;
        }
    }

    for (m, r) in &requirements {
        let own: Vec<ExtraName> = extras
            .get(&normalize_name(&m.name))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        if !r.evaluate_markers(&env, &own) {
            continue;
        }
        let Some(dep) = installed.get(r.name.as_ref()) else {
            unmet.push(format!(
                "{} {} requires {}, which is not installed.",
                m.name, m.version, r.name
            ));
            continue;
        };
        if let Some(VersionOrUrl::VersionSpecifier(spec)) = &r.version_or_url {
            let ok = Version::from_str(&dep.version).is_ok_and(|v| spec.contains(&v));
            if !ok {
                let req = format!("{}{}", r.name, spec);
                unmet.push(format!(
                    "{} {} has requirement {req}, but you have {} {}.",
                    m.name, m.version, dep.name, dep.version
                ));
            }
        }
    }

    for m in dists {
        let Some(spec) = &m.requires_python else {
            continue;
        };
        let Ok(spec) = VersionSpecifiers::from_str(spec) else {
            unmet.push(format!(
                "{} {} has an unparsable Requires-Python {spec:?}",
                m.name, m.version
            ));
            continue;
        };
        // The patch release is unknown: accept when some X.Y.z fits.
        let version = tags.python_version();
        let fits = [0, 99]
            .iter()
            .any(|patch| spec.contains(&Version::from_str(&format!("{version}.{patch}")).unwrap()));
        if !fits {
            unmet.push(format!(
                "{} {} requires Python {spec}, but the target has Python {version}.",
                m.name, m.version
            ));
        }
    }

    if unmet.is_empty() {
        return Ok(());
    }
    Err(WheelError::Unmet {
        unmet,
        hint: format!(
            "pip download --only-binary=:all: --platform {} --python-version {} -d DIR -r requirements.txt",
            tags.best_platform(),
            tags.python_version()
        ),
    })
}
