//! The wheel tags a target accepts, in pip's order of preference
//! (`packaging.tags.sys_tags()` for CPython on Linux), computed from the
//! target description alone — never from the host.

use std::collections::HashMap;
use std::fmt;

use crate::target::{Libc, PythonTarget};

use super::{WheelError, WheelFilename};

/// Why a wheel does or does not fit; turned into a message only at the edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagCompatibility {
    Incompatible(IncompatibleTag),
    /// Lower is better: the index of the wheel's best tag in [`Tags`].
    Compatible(usize),
}

/// The most specific part of the tag that rules the wheel out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncompatibleTag {
    Python,
    Abi,
    Platform,
}

impl fmt::Display for IncompatibleTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IncompatibleTag::Python => "it is built for another Python",
            IncompatibleTag::Abi => "it is built for another Python ABI",
            IncompatibleTag::Platform => "it is built for another platform",
        })
    }
}

/// The ordered list of compatible tags, with a lookup from tag to rank.
#[derive(Clone, Debug)]
pub struct Tags {
    ranked: Vec<(String, String, String)>,
    rank: HashMap<(String, String, String), usize>,
    machine: String,
    python: (u32, u32),
}

impl Tags {
    pub fn for_target(target: &PythonTarget) -> Result<Tags, WheelError> {
        let machine = machine(target)?;
        let platforms = platform_tags(&machine, target.libc);
        let ranked = cpython_tags((target.major, target.minor), &platforms);
        let rank = ranked
            .iter()
            .enumerate()
            .rev()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Ok(Tags {
            ranked,
            rank,
            machine,
            python: (target.major, target.minor),
        })
    }

    pub fn compatibility(&self, wheel: &WheelFilename) -> TagCompatibility {
        if let Some(best) = wheel
            .tags()
            .filter_map(|(py, abi, plat)| {
                self.rank
                    .get(&(py.to_string(), abi.to_string(), plat.to_string()))
            })
            .min()
        {
            return TagCompatibility::Compatible(*best);
        }
        let has_python = |py: &str| self.ranked.iter().any(|t| t.0 == py);
        let has_abi = |py: &str, abi: &str| self.ranked.iter().any(|t| t.0 == py && t.1 == abi);
        let reason = if !wheel.python.iter().any(|py| has_python(py)) {
            IncompatibleTag::Python
        } else if !wheel
            .python
            .iter()
            .any(|py| wheel.abi.iter().any(|abi| has_abi(py, abi)))
        {
            IncompatibleTag::Abi
        } else {
            IncompatibleTag::Platform
        };
        TagCompatibility::Incompatible(reason)
    }

    /// The most specific tag, e.g. `cp311-cp311-manylinux_2_36_x86_64`.
    pub fn best(&self) -> String {
        let (py, abi, plat) = &self.ranked[0];
        format!("{py}-{abi}-{plat}")
    }

    /// The most specific platform tag, for `pip download --platform`.
    pub fn best_platform(&self) -> &str {
        &self.ranked[0].2
    }

    /// `platform_machine` as Python reports it on the target.
    pub fn machine(&self) -> &str {
        &self.machine
    }

    pub fn python_version(&self) -> String {
        format!("{}.{}", self.python.0, self.python.1)
    }

    /// Every accepted tag as `python-abi-platform`, best first.
    pub fn iter(&self) -> impl Iterator<Item = String> + '_ {
        self.ranked.iter().map(|(a, b, c)| format!("{a}-{b}-{c}"))
    }

    #[cfg(test)]
    fn strings(&self) -> Vec<String> {
        self.iter().collect()
    }
}

/// `uname -m` of the target, from the OCI architecture and variant.
fn machine(target: &PythonTarget) -> Result<String, WheelError> {
    let p = &target.platform;
    let unsupported = |reason: &str| WheelError::UnsupportedPlatform {
        platform: p.to_string(),
        reason: reason.to_string(),
    };
    if p.os != "linux" {
        return Err(unsupported(
            "only linux images can be built; choose a linux base image or --platform linux/…",
        ));
    }
    let m =
        match (p.architecture.as_str(), p.variant.as_deref()) {
            ("amd64", _) => "x86_64",
            ("arm64", _) => "aarch64",
            ("arm", None | Some("v7")) => "armv7l",
            ("arm", Some("v6")) => "armv6l",
            ("arm", Some("v5")) => "armv5tel",
            ("386", _) => "i686",
            ("ppc64le", _) => "ppc64le",
            ("ppc64", _) => "ppc64",
            ("s390x", _) => "s390x",
            ("riscv64", _) => "riscv64",
            ("loong64", _) => "loongarch64",
            ("mips64le", _) => "mips64",
            _ => return Err(unsupported(
                "no wheel platform tag is known for this architecture; use one of linux/amd64, \
                 linux/arm64, linux/arm/v7, linux/386, linux/ppc64le, linux/s390x, linux/riscv64",
            )),
        };
    Ok(m.to_string())
}

/// Platform tags, best first, as packaging's `_linux_platforms`: manylinux
/// (PEP 600, with the legacy aliases next to the glibc version they name),
/// musllinux (PEP 656), then the plain `linux_<arch>`.
fn platform_tags(machine: &str, libc: Libc) -> Vec<String> {
    let mut tags = Vec::new();
    match libc {
        Libc::Glibc { major, minor } => {
            // Architectures that manylinux defines (packaging's
            // `_have_compatible_abi`; armv7l assumes hard-float as Debian's armhf).
            let manylinux_arch = matches!(
                machine,
                "x86_64"
                    | "i686"
                    | "aarch64"
                    | "armv7l"
                    | "ppc64"
                    | "ppc64le"
                    | "s390x"
                    | "loongarch64"
                    | "riscv64"
            );
            if manylinux_arch {
                // x86 manylinux goes back to glibc 2.5 (manylinux1); the other
                // architectures start at 2.17 (manylinux2014).
                let oldest_minor = if matches!(machine, "x86_64" | "i686") {
                    5
                } else {
                    17
                };
                // Glibc keeps compatibility across major versions; only 2.x exists.
                for glibc_major in (2..=major).rev() {
                    let top = if glibc_major == major { minor } else { 50 };
                    let bottom = if glibc_major == 2 { oldest_minor } else { 0 };
                    for glibc_minor in (bottom..=top).rev() {
                        tags.push(format!("manylinux_{glibc_major}_{glibc_minor}_{machine}"));
                        let legacy = match (glibc_major, glibc_minor) {
                            (2, 17) => Some("manylinux2014"),
                            (2, 12) => Some("manylinux2010"),
                            (2, 5) => Some("manylinux1"),
                            _ => None,
                        };
                        if let Some(legacy) = legacy {
                            tags.push(format!("{legacy}_{machine}"));
                        }
                    }
                }
            }
        }
        Libc::Musl { major, minor } => {
            for m in (0..=minor).rev() {
                tags.push(format!("musllinux_{major}_{m}_{machine}"));
            }
        }
    }
    tags.push(format!("linux_{machine}"));
    tags
}

/// packaging's `cpython_tags()` followed by `compatible_tags()`.
fn cpython_tags((major, minor): (u32, u32), platforms: &[String]) -> Vec<(String, String, String)> {
    let mut tags = Vec::new();
    let mut push = |py: &str, abi: &str, plat: &str| {
        tags.push((py.to_string(), abi.to_string(), plat.to_string()))
    };
    let interpreter = format!("cp{major}{minor}");
    // Before 3.8 the default build's ABI carries pymalloc's `m`.
    let abi = if (major, minor) < (3, 8) {
        format!("{interpreter}m")
    } else {
        interpreter.clone()
    };
    let abi3 = major == 3 && minor >= 2;
    for plat in platforms {
        push(&interpreter, &abi, plat);
    }
    if abi3 {
        for plat in platforms {
            push(&interpreter, "abi3", plat);
        }
    }
    for plat in platforms {
        push(&interpreter, "none", plat);
    }
    if abi3 {
        for older in (2..minor).rev() {
            for plat in platforms {
                push(&format!("cp{major}{older}"), "abi3", plat);
            }
        }
    }
    let mut py_versions = vec![format!("py{major}{minor}"), format!("py{major}")];
    py_versions.extend((0..minor).rev().map(|m| format!("py{major}{m}")));
    for py in &py_versions {
        for plat in platforms {
            push(py, "none", plat);
        }
    }
    push(&interpreter, "none", "any");
    for py in &py_versions {
        push(py, "none", "any");
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn target(arch: &str, variant: Option<&str>, libc: Libc) -> PythonTarget {
        let mut t = PythonTarget::test_cpython311(arch);
        t.platform.variant = variant.map(str::to_string);
        t.libc = libc;
        t
    }

    #[test]
    fn glibc_x86_64_order_matches_packaging() {
        let t = Tags::for_target(&target(
            "amd64",
            None,
            Libc::Glibc {
                major: 2,
                minor: 36,
            },
        ))
        .unwrap();
        let s = t.strings();
        assert_eq!(s[0], "cp311-cp311-manylinux_2_36_x86_64");
        let plats: Vec<&str> = s[..36]
            .iter()
            .map(|t| t.strip_prefix("cp311-cp311-").unwrap())
            .collect();
        let pos = |p: &str| plats.iter().position(|x| *x == p).unwrap();
        assert_eq!(
            pos("manylinux2014_x86_64"),
            pos("manylinux_2_17_x86_64") + 1
        );
        assert_eq!(
            pos("manylinux2010_x86_64"),
            pos("manylinux_2_12_x86_64") + 1
        );
        assert_eq!(pos("manylinux1_x86_64"), pos("manylinux_2_5_x86_64") + 1);
        // 2_36 .. 2_5 plus three aliases plus linux_x86_64.
        let n = 32 + 3 + 1;
        assert_eq!(plats[n - 1], "linux_x86_64");
        assert_eq!(s[n], "cp311-abi3-manylinux_2_36_x86_64");
        assert_eq!(s[2 * n], "cp311-none-manylinux_2_36_x86_64");
        assert_eq!(s[3 * n], "cp310-abi3-manylinux_2_36_x86_64");
        assert_eq!(s[12 * n - 1], "cp32-abi3-linux_x86_64");
        assert_eq!(s[12 * n], "py311-none-manylinux_2_36_x86_64");
        assert_eq!(s[13 * n], "py3-none-manylinux_2_36_x86_64");
        let any = s.iter().position(|t| t == "cp311-none-any").unwrap();
        assert_eq!(
            &s[any..any + 4],
            [
                "cp311-none-any",
                "py311-none-any",
                "py3-none-any",
                "py310-none-any"
            ]
        );
        assert_eq!(s.last().unwrap(), "py30-none-any");
        assert_eq!(t.machine(), "x86_64");
        assert_eq!(t.best_platform(), "manylinux_2_36_x86_64");
    }

    #[test]
    fn aarch64_starts_at_manylinux2014_and_musl_counts_down() {
        let t = Tags::for_target(&target(
            "arm64",
            Some("v8"),
            Libc::Glibc {
                major: 2,
                minor: 31,
            },
        ))
        .unwrap();
        let s = t.strings();
        assert_eq!(
            &s[13..17],
            [
                "cp311-cp311-manylinux_2_18_aarch64",
                "cp311-cp311-manylinux_2_17_aarch64",
                "cp311-cp311-manylinux2014_aarch64",
                "cp311-cp311-linux_aarch64"
            ]
        );
        let t = Tags::for_target(&target(
            "arm",
            Some("v7"),
            Libc::Musl { major: 1, minor: 2 },
        ))
        .unwrap();
        assert_eq!(
            &t.strings()[..4],
            [
                "cp311-cp311-musllinux_1_2_armv7l",
                "cp311-cp311-musllinux_1_1_armv7l",
                "cp311-cp311-musllinux_1_0_armv7l",
                "cp311-cp311-linux_armv7l"
            ]
        );
    }

    #[test]
    fn compatibility_ranks_and_explains() {
        let t = Tags::for_target(&target(
            "amd64",
            None,
            Libc::Glibc {
                major: 2,
                minor: 36,
            },
        ))
        .unwrap();
        let c = |n: &str| t.compatibility(&n.parse().unwrap());
        let TagCompatibility::Compatible(native) =
            c("x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
        else {
            panic!()
        };
        let TagCompatibility::Compatible(pure) = c("x-1-py2.py3-none-any.whl") else {
            panic!()
        };
        assert!(native < pure);
        assert_eq!(
            c("x-1-cp311-cp311-manylinux_2_17_aarch64.whl"),
            TagCompatibility::Incompatible(IncompatibleTag::Platform)
        );
        assert_eq!(
            c("x-1-cp312-cp312-manylinux_2_17_x86_64.whl"),
            TagCompatibility::Incompatible(IncompatibleTag::Python)
        );
        assert_eq!(
            c("x-1-cp311-cp311d-manylinux_2_17_x86_64.whl"),
            TagCompatibility::Incompatible(IncompatibleTag::Abi)
        );
        assert_eq!(
            c("x-1-cp311-cp311-manylinux_2_38_x86_64.whl"),
            TagCompatibility::Incompatible(IncompatibleTag::Platform)
        );
        assert!(matches!(
            c("x-1-cp39-abi3-manylinux_2_17_x86_64.whl"),
            TagCompatibility::Compatible(_)
        ));
    }
}
