//! Finding the wheels in a wheel directory, and refusing one that holds
//! source distributions pip would have to build.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::filename::{normalize_name, parse_sdist};
use super::WheelError;

/// The `*.whl` files in `dir`, sorted. A source distribution whose project
/// has no wheel there is an error naming it: installing it would mean
/// running its build.
pub fn find_wheels(dir: &Path) -> Result<Vec<PathBuf>, WheelError> {
    let read_err = |source| WheelError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut wheels = Vec::new();
    let mut sdists = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if !path.is_file() {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".whl") {
            wheels.push(path);
        } else if let Some((project, _)) = parse_sdist(name) {
            sdists.push((normalize_name(project), name.to_string()));
        }
    }
    let with_wheels: HashSet<String> = wheels
        .iter()
        .filter_map(|w| {
            w.file_name()?
                .to_str()?
                .split('-')
                .next()
                .map(normalize_name)
        })
        .collect();
    let mut unbuilt: Vec<String> = sdists
        .into_iter()
        .filter(|(project, _)| !with_wheels.contains(project))
        .map(|(_, name)| name)
        .collect();
    unbuilt.sort();
    if !unbuilt.is_empty() {
        return Err(WheelError::SourceDistributions {
            dir: dir.to_path_buf(),
            names: unbuilt.join(", "),
        });
    }
    if wheels.is_empty() {
        return Err(WheelError::NoWheels {
            dir: dir.to_path_buf(),
        });
    }
    wheels.sort();
    Ok(wheels)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example: the binary prints the chain with `{:#}`, which
    /// showed the I/O cause twice while the message repeated it.
    #[test]
    fn a_missing_directory_names_its_cause_once() {
        let err = find_wheels(Path::new("/nonexistent/wh")).unwrap_err();
        let line = format!("{:#}", anyhow::Error::from(err));
        assert!(
            line.starts_with("cannot read wheel directory /nonexistent/wh: "),
            "{line}"
        );
        assert_eq!(line.matches("os error 2").count(), 1, "{line}");
    }
}
