//! The parsers that read untrusted bytes (references, Dockerfiles,
//! requirements and lock files, wheel file names, RECORD, METADATA and
//! WHEEL files), exposed for the cargo-fuzz targets in `fuzz/` only. Each
//! entry point takes raw input and discards the result: the fuzzer looks
//! for panics, hangs and runaway allocations, not for answers.

use std::path::Path;
use std::sync::OnceLock;

use pep508_rs::MarkerEnvironment;

use crate::oci::Platform;
use crate::target::{Libc, PythonTarget, Scheme};
use crate::wheel::Tags;

/// A CPython 3.11 glibc x86_64 target, as the official images have.
fn env() -> &'static (Tags, MarkerEnvironment) {
    static ENV: OnceLock<(Tags, MarkerEnvironment)> = OnceLock::new();
    ENV.get_or_init(|| {
        let site = "/usr/local/lib/python3.11/site-packages".to_string();
        let target = PythonTarget {
            major: 3,
            minor: 11,
            interpreter: "/usr/local/bin/python3".into(),
            scheme: Scheme {
                purelib: site.clone(),
                platlib: site,
                scripts: "/usr/local/bin".into(),
                data: "/usr/local".into(),
                headers: "/usr/local/include/python3.11".into(),
            },
            platform: Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            },
            libc: Libc::Glibc {
                major: 2,
                minor: 36,
            },
        };
        let tags = Tags::for_target(&target).expect("a valid target");
        let env = crate::wheel::marker_environment(&tags);
        (tags, env)
    })
}

pub fn reference(s: &str) {
    let _ = s.parse::<crate::oci::Reference>();
}

pub fn dockerfile(text: &str) {
    let _ = crate::inputs::dockerfile::parse(
        Path::new("/fuzz/Dockerfile"),
        text,
        Path::new("/fuzz"),
        &[("V".into(), "1".into())],
    );
}

/// Includes (`-r other.txt`) point at files that do not exist, so only
/// the text itself is parsed.
pub fn requirements(text: &str) {
    let _ = crate::sources::requirements::parse_str(
        Path::new("/nonexistent/fuzz/requirements.txt"),
        text,
        &[],
    );
}

pub fn pylock(text: &str) {
    let _ = crate::sources::pylock::parse(Path::new("pylock.toml"), text, &env().1);
}

pub fn uvlock(text: &str) {
    let _ = crate::sources::uvlock::parse(Path::new("uv.lock"), text, &env().1);
}

/// A wheel file name, and where it ranks for the target (tag matching).
pub fn wheel_filename(s: &str) {
    if let Ok(w) = s.parse::<crate::wheel::WheelFilename>() {
        let _ = crate::wheel::best_wheel(&env().0, [&w]);
    }
    let _ = crate::wheel::parse_sdist(s);
}

pub fn record(text: &str) {
    let _ = crate::wheel::parse_record(text);
}

/// METADATA and WHEEL as the installer reads them, and core metadata as
/// the resolver reads it.
pub fn metadata(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::wheel::parse_metadata(text);
        let _ = crate::wheel::parse_wheel_file(text);
    }
    let _ = crate::sources::metadata::parse(bytes, "fuzz");
}

#[cfg(test)]
mod found {
    /// Inputs the fuzzers found crashing, kept so they stay fixed.
    #[test]
    fn requirements_crash_2026_12_06() {
        for text in [
            "u[00..\n",
            "u[a- b]\n",
            "u[x_]==1\n",
            "u [ok,y.] ; python_version>'3'\n",
        ] {
            super::requirements(text);
        }
    }
}
