//! `--venv DIR`: install into a virtual environment inside the image instead
//! of the base interpreter's site-packages, the way `python -m venv
//! --without-pip DIR && DIR/bin/pip install …` would, so the app's packages
//! stay apart from anything the base image ships.
//!
//! The environment is what `venv` makes on POSIX: `pyvenv.cfg`, `bin/python`
//! (a symlink to the base interpreter) with `python3` and `python3.X`
//! pointing at it, `lib/python3.X/site-packages`, `lib64 -> lib` and an
//! empty `include`. No `activate` scripts: the image config puts `DIR/bin`
//! first on PATH instead, which is all activation does for a container.

use super::env_var;
use crate::layer::{Entry, Node};
use crate::target::{PythonTarget, Scheme};

#[derive(Debug, thiserror::Error)]
pub enum VenvError {
    #[error("--venv {0:?}: give an absolute directory inside the image, e.g. /opt/venv")]
    NotAbsolute(String),
    #[error("--venv {0:?}: the path must not be / nor contain '.', '..' or empty parts")]
    BadPath(String),
}

/// A virtual environment to create in the deps layer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Venv {
    /// Absolute, normalized (`/opt/venv`).
    pub dir: String,
    /// The base interpreter the environment's `bin/python` links to.
    base_interpreter: String,
    major: u32,
    minor: u32,
    /// For `pyvenv.cfg`: the full version when the base image says
    /// (`PYTHON_VERSION` in its Env), else `X.Y`.
    version: String,
}

impl Venv {
    /// `base_config` is the base image's config JSON (for `PYTHON_VERSION`).
    pub fn new(
        dir: &str,
        base: &PythonTarget,
        base_config: &serde_json::Value,
    ) -> Result<Venv, VenvError> {
        let trimmed = dir.trim_end_matches('/');
        if !dir.starts_with('/') {
            return Err(VenvError::NotAbsolute(dir.into()));
        }
        if trimmed.is_empty()
            || trimmed[1..]
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(VenvError::BadPath(dir.into()));
        }
        let xy = format!("{}.{}", base.major, base.minor);
        let version = env_var(base_config, "PYTHON_VERSION")
            .filter(|v| v.starts_with(&format!("{xy}.")) || *v == xy)
            .unwrap_or(xy);
        Ok(Venv {
            dir: trimmed.to_string(),
            base_interpreter: base.interpreter.clone(),
            major: base.major,
            minor: base.minor,
            version,
        })
    }

    /// `DIR/bin`, to prepend to PATH.
    pub fn bin_dir(&self) -> String {
        format!("{}/bin", self.dir)
    }

    /// The target as pip running from `DIR/bin/python` sees it: launchers
    /// get `#!DIR/bin/python`, packages go to the environment's
    /// site-packages, headers to `DIR/include/site/python3.X`.
    pub fn target(&self, base: &PythonTarget) -> PythonTarget {
        let site = format!(
            "{}/lib/python{}.{}/site-packages",
            self.dir, self.major, self.minor
        );
        PythonTarget {
            interpreter: format!("{}/python", self.bin_dir()),
            scheme: Scheme {
                purelib: site.clone(),
                platlib: site,
                scripts: self.bin_dir(),
                data: self.dir.clone(),
                headers: format!(
                    "{}/include/site/python{}.{}",
                    self.dir, self.major, self.minor
                ),
            },
            ..base.clone()
        }
    }

    /// The environment's own files (everything but the packages).
    pub fn entries(&self) -> Vec<Entry> {
        let d = &self.dir[1..];
        let home = self
            .base_interpreter
            .rsplit_once('/')
            .map(|(h, _)| if h.is_empty() { "/" } else { h })
            .unwrap_or("/usr/bin");
        let xy = format!("python{}.{}", self.major, self.minor);
        let cfg = format!(
            "home = {home}\ninclude-system-site-packages = false\nversion = {}\nexecutable = {home}/{xy}\ncommand = {} -m venv --without-pip {}\n",
            self.version, self.base_interpreter, self.dir
        );
        let link = |path: String, target: &str| Entry {
            path,
            mode: 0o777,
            node: Node::Symlink {
                target: target.to_string(),
            },
            owner: None,
        };
        vec![
            Entry::dir(d.to_string(), 0o755),
            Entry::file(format!("{d}/pyvenv.cfg"), 0o644, cfg.into_bytes()),
            Entry::dir(format!("{d}/bin"), 0o755),
            link(format!("{d}/bin/python"), &self.base_interpreter),
            link(format!("{d}/bin/python3"), "python"),
            link(format!("{d}/bin/{xy}"), "python"),
            Entry::dir(format!("{d}/include"), 0o755),
            Entry::dir(format!("{d}/lib/{xy}/site-packages"), 0o755),
            link(format!("{d}/lib64"), "lib"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PythonTarget {
        let mut t = PythonTarget::test_cpython311("amd64");
        t.interpreter = "/usr/local/bin/python".into();
        t
    }

    #[test]
    fn venv_layout_and_target() {
        let cfg = serde_json::json!({"config": {"Env": ["PYTHON_VERSION=3.11.9"]}});
        let v = Venv::new("/opt/venv/", &base(), &cfg).unwrap();
        let t = v.target(&base());
        assert_eq!(t.interpreter, "/opt/venv/bin/python");
        assert_eq!(t.scheme.purelib, "/opt/venv/lib/python3.11/site-packages");
        assert_eq!(t.scheme.scripts, "/opt/venv/bin");
        assert_eq!(v.bin_dir(), "/opt/venv/bin");
        let entries = v.entries();
        let cfg = entries
            .iter()
            .find(|e| e.path == "opt/venv/pyvenv.cfg")
            .unwrap();
        let Node::File { size, .. } = &cfg.node else {
            panic!()
        };
        assert!(*size > 0);
        let links: Vec<(&str, &str)> = entries
            .iter()
            .filter_map(|e| match &e.node {
                Node::Symlink { target } => Some((e.path.as_str(), target.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            links,
            [
                ("opt/venv/bin/python", "/usr/local/bin/python"),
                ("opt/venv/bin/python3", "python"),
                ("opt/venv/bin/python3.11", "python"),
                ("opt/venv/lib64", "lib"),
            ]
        );
        assert_eq!(v.version, "3.11.9");
    }

    #[test]
    fn bad_dirs_are_refused() {
        let cfg = serde_json::json!({});
        for d in ["venv", "/", "/a/../b", "/a//b", "/./a"] {
            let e = Venv::new(d, &base(), &cfg).unwrap_err().to_string();
            assert!(e.contains("--venv"), "{d}: {e}");
        }
        assert_eq!(Venv::new("/v", &base(), &cfg).unwrap().version, "3.11");
    }
}
