//! The build's inputs as one validated value. Everything after this stage
//! reads only the `BuildSpec`, never flags or the environment, so the same
//! spec always means the same build.

use std::path::PathBuf;

use crate::oci::config::Command;
use crate::oci::reference::Reference;
use crate::oci::Platform;
use crate::target::Overrides;

/// Where a tarball goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TarballDest {
    File(PathBuf),
    Stdout,
}

/// Where the base image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseSource {
    Registry(Reference),
    Disk(crate::base::disk::DiskBase),
}

impl std::fmt::Display for BaseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaseSource::Registry(r) => r.fmt(f),
            BaseSource::Disk(d) => d.fmt(f),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Outputs {
    pub push: Vec<Reference>,
    pub tarball: Option<TarballDest>,
    pub oci_layout: Option<PathBuf>,
    /// Names recorded in the tarball/layout (`RepoTags`, ref.name).
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    pub insecure: Vec<String>,
    pub ca_certs: Vec<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct BuildSpec {
    pub base: BaseSource,
    pub platform: Platform,
    /// Every platform asked for (`--platform a,b`), `platform` first; more
    /// than one builds an image per platform behind an OCI index.
    pub platforms: Vec<Platform>,
    /// `--platform all`: every platform of the base the wheels can serve
    /// (`platforms` is then worked out from the base at build time).
    pub all_platforms: bool,
    /// Where the wheels come from: a directory, a requirements file or a lock.
    pub wheels: crate::sources::WheelInput,
    pub app: Option<PathBuf>,
    pub workdir: String,
    pub ports: Vec<String>,
    pub cmd: Option<Command>,
    pub entrypoint: Option<Command>,
    pub env: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub user: Option<String>,
    pub target: Overrides,
    pub outputs: Outputs,
    pub registry: RegistryOptions,
    /// `None` = no persistent cache (`--no-cache`).
    pub cache_dir: Option<PathBuf>,
    /// Layer mtimes and `created`: see [`crate::inputs::source_date_epoch`].
    pub epoch: u64,
    /// `--compression`: what pyko's layers are compressed with.
    pub compression: crate::oci::Compression,
    /// `--venv DIR`: install into a virtual environment at DIR in the image.
    pub venv: Option<String>,
    /// Dockerfile COPY/ADD of local paths besides `COPY . .`: app layer too.
    pub copies: Option<crate::layer::copy::Copies>,
    /// `--cache-repo REF`: the registry cache of deps layers.
    pub cache_repo: Option<crate::oci::Reference>,
    /// `--json`: the report lists what each pyko layer holds, read back
    /// from the layer (a read of every deps layer, over a second for the
    /// example: not paid by builds that print no report).
    pub report_contents: bool,
    /// The app directory's ignore file when it is not `<app>/.dockerignore`:
    /// the Dockerfile's own `NAME.Dockerfile.dockerignore`, which docker
    /// prefers for the context that `COPY . .` copies.
    pub app_ignore: Option<PathBuf>,
}

/// What `pyko lock` needs: the requirements, where each platform's target
/// comes from (a base image, or flags alone), the index and where to write.
#[derive(Clone, Debug)]
pub struct LockSpec {
    pub requirements: Vec<PathBuf>,
    pub constraints: Vec<PathBuf>,
    /// `--from`: each platform's target is detected from this base.
    pub base: Option<BaseSource>,
    /// `--python`: the target's version (overrides the base's).
    pub python: Option<(u32, u32)>,
    pub platforms: Vec<Platform>,
    /// `--libc`, for a target without a base.
    pub libc: crate::target::Libc,
    /// `--index-url`, winning over the files' own.
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub options: crate::sources::resolve::ResolveOptions,
    /// `--no-build`, `--build-python`: an sdist-only version's metadata
    /// may need a build.
    pub build: crate::sources::sdist::BuildPolicy,
    pub registry: RegistryOptions,
    /// `None` = no persistent cache (`--no-cache`).
    pub cache_dir: Option<PathBuf>,
    /// `-o`: the pylock.toml to write.
    pub output: PathBuf,
}

/// `glibc-2.36` or `musl-1.2`.
pub fn parse_libc(s: &str) -> Result<crate::target::Libc, String> {
    use crate::target::Libc;
    let bad = || format!("{s:?} is not a C library; write glibc-2.36 or musl-1.2");
    let (family, version) = s.split_once('-').ok_or_else(bad)?;
    let (major, minor) = version.split_once('.').ok_or_else(bad)?;
    let (major, minor) = (
        major.parse().map_err(|_| bad())?,
        minor.parse().map_err(|_| bad())?,
    );
    match family {
        "glibc" => Ok(Libc::Glibc { major, minor }),
        "musl" => Ok(Libc::Musl { major, minor }),
        _ => Err(bad()),
    }
}

/// `linux/amd64`, `linux/arm/v7`.
pub fn parse_platform(s: &str) -> Result<Platform, String> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        }),
        _ => Err(format!(
            "{s:?} is not a platform; write os/arch[/variant], e.g. linux/amd64"
        )),
    }
}

/// `KEY=VALUE` with a non-empty key.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
            Ok((k.to_string(), v.to_string()))
        }
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// A `--cmd`/`--entrypoint` value: a JSON array is the exec form (as in a
/// Dockerfile), anything else the shell form. Stricter than a Dockerfile's
/// CMD: a flag that starts with '[' but is no array is surely a typo.
pub fn parse_command(s: &str) -> Result<Command, String> {
    let t = s.trim_start();
    if t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(t) {
            return Ok(Command::Exec(v));
        }
        return Err(format!(
            "{s:?} starts with '[' but is not a JSON array of strings; write [\"prog\", \"arg\"] for the exec form"
        ));
    }
    if t.is_empty() {
        return Err("empty command".into());
    }
    Ok(Command::Shell(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_platforms_key_values() {
        assert_eq!(
            parse_command("streamlit run app.py"),
            Ok(Command::Shell("streamlit run app.py".into()))
        );
        assert_eq!(
            parse_command(r#"["python", "-m", "http.server"]"#),
            Ok(Command::Exec(vec![
                "python".into(),
                "-m".into(),
                "http.server".into()
            ]))
        );
        assert!(parse_command("[oops").is_err());
        assert_eq!(
            parse_platform("linux/arm/v7").unwrap().variant.as_deref(),
            Some("v7")
        );
        assert!(parse_platform("linux").is_err());
        assert_eq!(
            parse_key_value("A=b=c").unwrap(),
            ("A".into(), "b=c".into())
        );
        assert!(parse_key_value("=x").is_err());
        assert_eq!(
            parse_libc("musl-1.2"),
            Ok(crate::target::Libc::Musl { major: 1, minor: 2 })
        );
        assert!(parse_libc("glibc2.36").is_err());
        assert!(parse_libc("bionic-1.0").is_err());
    }
}
