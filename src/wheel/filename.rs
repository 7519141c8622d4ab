//! Wheel file names (PEP 427 / the binary distribution format spec):
//! `NAME-VERSION(-BUILD)?-PYTHON-ABI-PLATFORM.whl`, each tag part possibly a
//! compressed set such as `py2.py3`.

use std::fmt;
use std::str::FromStr;

use pep440_rs::Version;

use super::WheelError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelFilename {
    /// As spelled in the file name (escaped: `-` is `_`).
    pub name: String,
    pub version: Version,
    /// The version exactly as spelled, so `Display` round-trips.
    version_str: String,
    pub build: Option<BuildTag>,
    pub python: Vec<String>,
    pub abi: Vec<String>,
    pub platform: Vec<String>,
}

/// Build tags sort by their leading number, then the rest as a string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BuildTag {
    pub number: u64,
    pub rest: String,
}

impl WheelFilename {
    /// PEP 503 normalized project name.
    pub fn normalized_name(&self) -> String {
        normalize_name(&self.name)
    }

    /// Every tag triple the compressed tag sets expand to.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.python.iter().flat_map(move |py| {
            self.abi.iter().flat_map(move |abi| {
                self.platform
                    .iter()
                    .map(move |plat| (py.as_str(), abi.as_str(), plat.as_str()))
            })
        })
    }

    /// The tag part of the name, e.g. `py2.py3-none-any`.
    pub fn tag_string(&self) -> String {
        format!(
            "{}-{}-{}",
            self.python.join("."),
            self.abi.join("."),
            self.platform.join(".")
        )
    }
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

/// Why `name` is not a project name by the PEP 508 grammar (letters,
/// digits, `.`, `_`, `-`, starting and ending with a letter or digit);
/// `None` when it is. Lock files and indexes are input: a name such as
/// `../../x` must never reach a path or URL.
pub fn invalid_project_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("an empty string is not a project name".into());
    }
    name.parse::<pep508_rs::PackageName>()
        .err()
        .map(|e| format!("{name:?} is not a valid project name ({e})"))
}

/// Why `file_name` (from a lock or an index page) cannot be used as the name
/// of a file in a directory: a path separator, a NUL, or a leading dot (`.`,
/// `..`, hidden files) would put it somewhere else. `None` when it can.
pub fn unsafe_file_name(file_name: &str) -> Option<String> {
    let bad =
        file_name.is_empty() || file_name.starts_with('.') || file_name.contains(['/', '\\', '\0']);
    bad.then(|| format!("{file_name:?} is not a plain file name"))
}

/// The archive suffixes of source distributions pip would build from.
const SDIST_SUFFIXES: &[&str] = &[".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"];

/// `NAME-VERSION.tar.gz` (or another sdist archive suffix) as `(NAME,
/// VERSION)`, VERSION empty when the stem has no `-`; `None` when the file
/// is not a source distribution. The one test both the wheel directory and
/// the index candidates use, so they agree on what pyko refuses to build.
pub fn parse_sdist(file_name: &str) -> Option<(&str, &str)> {
    let stem = SDIST_SUFFIXES
        .iter()
        .find_map(|s| file_name.strip_suffix(s))?;
    Some(stem.rsplit_once('-').unwrap_or((stem, "")))
}

impl FromStr for WheelFilename {
    type Err = WheelError;

    fn from_str(file_name: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| WheelError::Filename {
            name: file_name.to_string(),
            reason: reason.to_string(),
        };
        if let Some(why) = unsafe_file_name(file_name) {
            return Err(bad(&why));
        }
        let stem = file_name
            .strip_suffix(".whl")
            .ok_or_else(|| bad("it does not end in .whl"))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, py, abi, plat) = match parts[..] {
            [n, v, py, abi, plat] => (n, v, None, py, abi, plat),
            [n, v, b, py, abi, plat] => (n, v, Some(b), py, abi, plat),
            _ => return Err(bad("it does not have 5 or 6 dash-separated parts")),
        };
        if name.is_empty() || [py, abi, plat].iter().any(|t| t.is_empty()) {
            return Err(bad("a part is empty"));
        }
        let parsed_version = Version::from_str(version)
            .map_err(|e| bad(&format!("version {version:?} is not PEP 440 ({e})")))?;
        let build = build
            .map(|b| {
                let digits = b.bytes().take_while(u8::is_ascii_digit).count();
                let number = b[..digits]
                    .parse()
                    .map_err(|_| bad("the build tag must start with a digit"))?;
                Ok(BuildTag {
                    number,
                    rest: b[digits..].to_string(),
                })
            })
            .transpose()?;
        let split = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        Ok(WheelFilename {
            name: name.to_string(),
            version: parsed_version,
            version_str: version.to_string(),
            build,
            python: split(py),
            abi: split(abi),
            platform: split(plat),
        })
    }
}

impl fmt::Display for WheelFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.name, self.version_str)?;
        if let Some(b) = &self.build {
            write!(f, "-{}{}", b.number, b.rest)?;
        }
        write!(f, "-{}.whl", self.tag_string())
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for bad in ["../../x", "x/y", "-x", "x-", "", "a b", "x\0"] {
            assert!(invalid_project_name(bad).is_some(), "{bad:?}");
        }
        for good in ["x", "Flask", "zope.interface", "typing_extensions", "a-b"] {
            assert_eq!(invalid_project_name(good), None, "{good}");
        }
        for bad in [
            "../../x-1.0-py3-none-any.whl",
            "x-1.0-py3-none-a/../../b.whl",
            ".x-1.0-py3-none-any.whl",
            "..",
        ] {
            assert!(unsafe_file_name(bad).is_some(), "{bad:?}");
            assert!(bad.parse::<WheelFilename>().is_err(), "{bad:?}");
        }
        assert_eq!(unsafe_file_name("x-1.0-py3-none-any.whl"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for name in [
            "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "six-1.16.0-py2.py3-none-any.whl",
            "foo_bar-2.0-1local-py3-none-any.whl",
        ] {
            let w: WheelFilename = name.parse().unwrap();
            assert_eq!(w.to_string(), name);
        }
        let w: WheelFilename = "six-1.16.0-py2.py3-none-any.whl".parse().unwrap();
        assert_eq!(w.python, ["py2", "py3"]);
        assert_eq!(w.tags().count(), 2);
        let w: WheelFilename = "foo_bar-2.0-1local-py3-none-any.whl".parse().unwrap();
        assert_eq!(
            w.build,
            Some(BuildTag {
                number: 1,
                rest: "local".into()
            })
        );
        assert_eq!(w.normalized_name(), "foo-bar");
    }

    #[test]
    fn rejects_bad_names() {
        for name in [
            "foo-1.0.tar.gz",
            "foo-1.0-py3-none.whl",
            "foo-1.0-x-py3-none-any.whl",
            "foo-notaversion!!-py3-none-any.whl",
            "a-b-c-d-e-f-g.whl",
        ] {
            let err = name.parse::<WheelFilename>().unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn recognizes_sdists() {
        assert_eq!(parse_sdist("scipy-1.0.tar.gz"), Some(("scipy", "1.0")));
        assert_eq!(parse_sdist("my-pkg-2.0.zip"), Some(("my-pkg", "2.0")));
        assert_eq!(parse_sdist("odd.tgz"), Some(("odd", "")));
        assert_eq!(parse_sdist("six-1.16.0-py2.py3-none-any.whl"), None);
        assert_eq!(parse_sdist("notes.txt"), None);
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_name("Foo.Bar__baz-Qux"), "foo-bar-baz-qux");
        assert_eq!(normalize_name("streamlit"), "streamlit");
    }
}
