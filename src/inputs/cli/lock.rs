//! `pyko lock`'s flags and their validation into a `LockSpec`.

use std::path::PathBuf;

use clap::{ArgGroup, Args};

use super::resolve::ResolveFlags;
use super::{flag, reference, FlagError};
use crate::inputs::spec::{self, BaseSource, LockSpec, RegistryOptions};

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).multiple(true).args(["from", "python"])))]
pub struct LockArgs {
    /// Requirements file (pip's format) or pyproject.toml (its [project]
    /// dependencies); repeatable.
    #[arg(
        short = 'r',
        long = "requirements",
        value_name = "FILE",
        required = true
    )]
    pub requirements: Vec<PathBuf>,
    /// Base image whose Python, libc and architecture each platform's
    /// target is read from (same forms as `build --from`).
    #[arg(
        long = "from",
        value_name = "IMAGE",
        required_unless_present = "python"
    )]
    pub from: Option<String>,
    /// Target Python X.Y: without --from, the target is made from
    /// --python, --platform and --libc alone.
    #[arg(long, value_name = "X.Y")]
    pub python: Option<String>,
    /// Platform(s) to lock for, comma-separated [default: linux/amd64].
    #[arg(long)]
    pub platform: Option<String>,
    /// C library of a target without --from: glibc-X.Y or musl-X.Y
    /// [default: glibc-2.36, Debian bookworm's, as in the python:3.x images].
    #[arg(long, value_name = "LIBC", conflicts_with = "from")]
    pub libc: Option<String>,
    /// Package index (simple API); wins over the files' own.
    #[arg(long, value_name = "URL", env = "PIP_INDEX_URL")]
    pub index_url: Option<String>,
    /// Further package indexes (repeatable).
    #[arg(long, value_name = "URL")]
    pub extra_index_url: Vec<String>,
    /// Local wheels: not used by the resolver yet (refused, so that a lock
    /// never silently differs from what the flag suggests).
    #[arg(long, value_name = "DIR")]
    pub wheels: Option<PathBuf>,
    /// Registry (host[:port]) of --from to reach over plain http.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure: Vec<String>,
    /// Extra CA certificate (PEM) to trust for registries and indexes.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Cache directory (default: $PYKO_CACHE_DIR, $XDG_CACHE_HOME/pyko, ~/.cache/pyko).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Use no persistent cache at all.
    #[arg(long)]
    pub no_cache: bool,
    /// Where to write the lock.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "pylock.toml"
    )]
    pub output: PathBuf,
    #[command(flatten)]
    pub resolve: ResolveFlags,
}

impl LockArgs {
    pub fn into_spec(self, default_cache: Option<PathBuf>) -> Result<LockSpec, FlagError> {
        if self.wheels.is_some() {
            return Err(FlagError {
                flag: "--wheels",
                message: "is not supported by `pyko lock` yet: a lock lists index URLs; serve the wheels from an index (--extra-index-url) instead".into(),
            });
        }
        let name = self
            .output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !is_pylock_name(&name) {
            return Err(FlagError {
                flag: "-o",
                message: format!(
                    "{:?}: PEP 751 names a lock pylock.toml or pylock.<name>.toml (what installers such as uv accept, and what `pyko build --lock` reads as PEP 751)",
                    self.output
                ),
            });
        }
        let python = self
            .python
            .as_deref()
            .map(|v| {
                crate::target::parse_version(v)
                    .ok_or(format!("{v:?} is not a Python version like 3.12"))
            })
            .transpose()
            .map_err(flag("--python"))?;
        let base = match &self.from {
            None => None,
            Some(from) => Some(match crate::base::disk::DiskBase::parse(from) {
                Some(disk) => BaseSource::Disk(disk.map_err(flag("--from"))?),
                None => BaseSource::Registry(reference("--from", from)?),
            }),
        };
        let mut platforms = Vec::new();
        for p in self.platform.as_deref().unwrap_or("linux/amd64").split(',') {
            let p = spec::parse_platform(p.trim()).map_err(flag("--platform"))?;
            if !platforms.contains(&p) {
                platforms.push(p);
            }
        }
        let libc = spec::parse_libc(self.libc.as_deref().unwrap_or("glibc-2.36"))
            .map_err(flag("--libc"))?;
        let options = self.resolve.options()?;
        let build = self.resolve.build_policy();
        let index_url = self
            .index_url
            .or_else(|| std::env::var("UV_INDEX_URL").ok().filter(|u| !u.is_empty()));
        Ok(LockSpec {
            requirements: self.requirements,
            constraints: self.resolve.constraints,
            base,
            python,
            platforms,
            libc,
            index_url,
            extra_index_urls: self.extra_index_url,
            options,
            build,
            registry: RegistryOptions {
                insecure: self.insecure,
                ca_certs: self.ca_certs,
            },
            cache_dir: if self.no_cache {
                None
            } else {
                self.cache_dir.or(default_cache)
            },
            output: self.output,
        })
    }
}

/// `pylock.toml` or `pylock.<name>.toml`, `<name>` non-empty without dots.
fn is_pylock_name(name: &str) -> bool {
    name == "pylock.toml"
        || name
            .strip_prefix("pylock.")
            .and_then(|n| n.strip_suffix(".toml"))
            .is_some_and(|n| !n.is_empty() && !n.contains('.'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pep751_file_names() {
        for ok in ["pylock.toml", "pylock.arm64.toml"] {
            assert!(super::is_pylock_name(ok), "{ok}");
        }
        for bad in [
            "lock.toml",
            "pylock..toml",
            "pylock.a.b.toml",
            "pylock.json",
        ] {
            assert!(!super::is_pylock_name(bad), "{bad}");
        }
    }
}
