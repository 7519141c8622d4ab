//! What a layer pyko wrote holds, read from the layer itself so that any
//! pyko image can be inspected, whichever pyko built it: the deps layer's
//! `*.dist-info` directories name the installed distributions; the app
//! layer's files are counted and its top-level names listed.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holds {
    /// Installed distributions as `name==version`, sorted.
    Wheels { packages: Vec<String>, files: usize },
    /// The app: how many files, and the names at the top of `workdir`.
    App { files: usize, top: Vec<String> },
}

/// Which of pyko's layers `created_by` (the history line) describes.
pub enum PykoLayer {
    Deps,
    App { workdir: String },
}

pub fn kind(created_by: &str) -> Option<PykoLayer> {
    let rest = created_by.strip_prefix("pyko: ")?;
    if rest.starts_with("pip install") {
        Some(PykoLayer::Deps)
    } else {
        // `pyko: COPY . /app`: the last word is where the app went.
        let workdir = rest.strip_prefix("COPY ")?.rsplit(' ').next()?;
        Some(PykoLayer::App {
            workdir: workdir.trim_start_matches('/').to_string(),
        })
    }
}

/// Reads the layer blob at `path` (gzip or zstd) for what the layer of
/// `kind` holds.
pub fn read(path: &Path, kind: &PykoLayer) -> std::io::Result<Holds> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    holds(crate::oci::compression::decompress(file)?, kind)
}

fn holds(r: impl Read, kind: &PykoLayer) -> std::io::Result<Holds> {
    let mut archive = tar::Archive::new(r);
    let mut files = 0;
    let mut names = BTreeSet::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let path = entry
            .path()?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let is_file = entry.header().entry_type().is_file();
        files += usize::from(is_file);
        match kind {
            PykoLayer::Deps => {
                // site-packages/NAME-VERSION.dist-info/METADATA, once each.
                if let Some(dir) = path.strip_suffix("/METADATA") {
                    let leaf = dir.rsplit('/').next().unwrap_or(dir);
                    if let Some(stem) = leaf.strip_suffix(".dist-info") {
                        if let Some((name, version)) = stem.split_once('-') {
                            names.insert(format!("{name}=={version}"));
                        }
                    }
                }
            }
            PykoLayer::App { workdir } => {
                let rel = path.strip_prefix(workdir.as_str()).unwrap_or(&path);
                let top = rel.trim_start_matches('/').split('/').next().unwrap_or("");
                names.insert(top.to_string());
            }
        }
    }
    names.remove("");
    let names: Vec<String> = names.into_iter().collect();
    Ok(match kind {
        PykoLayer::Deps => Holds::Wheels {
            packages: names,
            files,
        },
        PykoLayer::App { .. } => Holds::App { files, top: names },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(paths: &[&str]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for p in paths {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, p, &b"x"[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn deps_layers_name_their_distributions() {
        let t = tar_of(&[
            "usr/lib/python3.12/site-packages/six-1.17.0.dist-info/METADATA",
            "usr/lib/python3.12/site-packages/six-1.17.0.dist-info/RECORD",
            "usr/lib/python3.12/site-packages/six.py",
            "usr/lib/python3.12/site-packages/Flask-3.0.0.dist-info/METADATA",
        ]);
        let h = holds(&t[..], &kind("pyko: pip install into /x").unwrap()).unwrap();
        assert_eq!(
            h,
            Holds::Wheels {
                packages: vec!["Flask==3.0.0".into(), "six==1.17.0".into()],
                files: 4
            }
        );
    }

    #[test]
    fn app_layers_list_their_top_level_names() {
        let t = tar_of(&["app/main.py", "app/pkg/a.py", "app/pkg/b.py"]);
        let h = holds(&t[..], &kind("pyko: COPY . /app").unwrap()).unwrap();
        assert_eq!(
            h,
            Holds::App {
                files: 3,
                top: vec!["main.py".into(), "pkg".into()]
            }
        );
    }
}
