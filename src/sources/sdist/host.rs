//! The build machine's interpreter, asked once what it is, so the build
//! requirements are resolved for *it* (not for the image's target) and
//! installed into a venv with pyko's own installer.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::oci::Platform;
use crate::target::{Libc, PythonTarget, Scheme};

/// What the probe prints.
#[derive(Clone, Debug, Deserialize)]
pub struct Host {
    pub major: u32,
    pub minor: u32,
    pub machine: String,
    /// `platform.libc_ver()`: `("glibc", "2.36")`, or empty elsewhere.
    pub libc: (String, String),
}

const PROBE: &str = "import json, platform, sys; print(json.dumps({'major': sys.version_info[0], 'minor': sys.version_info[1], 'machine': platform.machine(), 'libc': platform.libc_ver()}))";

pub fn probe(python: &Path) -> Result<Host, String> {
    let out = Command::new(python)
        .args(["-I", "-c", PROBE])
        .output()
        .map_err(|e| format!("cannot run the build interpreter {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the build interpreter {} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "the build interpreter {} is not a Python 3 pyko can use: {e}",
            python.display()
        )
    })
}

impl Host {
    /// The target pyko's installer writes the venv `venv` for: its
    /// site-packages and bin, the host's tags.
    pub fn venv_target(&self, venv: &Path) -> Result<PythonTarget, String> {
        let v = venv.to_string_lossy();
        let pyver = format!("python{}.{}", self.major, self.minor);
        let architecture = match self.machine.as_str() {
            "x86_64" | "amd64" => "amd64",
            "aarch64" | "arm64" => "arm64",
            other => other,
        };
        let (major, minor) = self
            .libc
            .1
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| {
                format!(
                    "the build interpreter reports no glibc version ({:?}); pyko builds sdists on glibc Linux only",
                    self.libc
                )
            })?;
        Ok(PythonTarget {
            major: self.major,
            minor: self.minor,
            interpreter: format!("{v}/bin/python"),
            scheme: Scheme {
                purelib: format!("{v}/lib/{pyver}/site-packages"),
                platlib: format!("{v}/lib/{pyver}/site-packages"),
                scripts: format!("{v}/bin"),
                data: v.to_string(),
                headers: format!("{v}/include/site/{pyver}"),
            },
            platform: Platform {
                os: "linux".into(),
                architecture: architecture.into(),
                variant: None,
            },
            libc: Libc::Glibc { major, minor },
        })
    }
}

/// `--build-python`, else `python3` on PATH.
pub fn find_python(flag: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    which("python3").ok_or_else(|| {
        "building it needs a Python on the build machine: put python3 on PATH or pass --build-python PATH (or --no-build to refuse sdists)".to_string()
    })
}

pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
