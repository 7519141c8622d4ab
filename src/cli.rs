//! Command-line flags, parsed to plain data by clap and then validated into
//! a `BuildSpec` (the `inputs` stage). Nothing here does any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::lock::WheelInput;
use crate::reference::Reference;
use crate::spec::{self, BuildSpec, Command, Outputs, RegistryOptions, TarballDest};
use crate::target::{self, Overrides};

#[derive(Parser, Debug)]
#[command(
    name = "pyko",
    version,
    about = "Build OCI images for Python apps without a daemon"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
    /// Print what each step does (to stderr).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print nothing but errors and the pushed references.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Build an image from a base image, a wheel directory and an app directory.
    Build(BuildArgs),
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Base image, e.g. python:3.12-slim or registry.example.com/python:3.12.
    #[arg(long = "from", value_name = "IMAGE")]
    pub from: String,
    /// Directory of wheels already resolved for the target (pip download / uv).
    /// With --requirements or --lock: a local source looked at before the index.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["requirements", "lock"])]
    pub wheels: Option<PathBuf>,
    /// Pinned requirements file (name==version, optional --hash); the wheels
    /// for the target are downloaded from the index.
    #[arg(long, short = 'r', value_name = "FILE", conflicts_with = "lock")]
    pub requirements: Option<PathBuf>,
    /// Lock file: PEP 751 pylock.toml (or pylock.*.toml) or uv.lock.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Package index (simple API) for --requirements; wins over the file's own.
    #[arg(long, value_name = "URL", env = "PIP_INDEX_URL")]
    pub index_url: Option<String>,
    /// Further package indexes for --requirements (repeatable).
    #[arg(long, value_name = "URL")]
    pub extra_index_url: Vec<String>,
    /// Application directory, copied to --workdir (honours .dockerignore).
    #[arg(long, value_name = "DIR")]
    pub app: Option<PathBuf>,
    /// Working directory in the image; the app is copied there.
    #[arg(long, default_value = "/app")]
    pub workdir: String,
    /// Port to expose: 8501, 8501/tcp, 53/udp (repeatable).
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<String>,
    /// Command: shell form ('streamlit run app.py') or exec form ('["python","app.py"]').
    #[arg(long)]
    pub cmd: Option<String>,
    /// Entrypoint, same forms as --cmd.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Environment variable KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Label KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// User the container runs as (name, uid or uid:gid).
    #[arg(long)]
    pub user: Option<String>,
    /// Platform of the base image to build on.
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Target Python X.Y when the base image does not say.
    #[arg(long, value_name = "X.Y")]
    pub python: Option<String>,
    /// Install into this site-packages directory instead of the detected one.
    #[arg(long, value_name = "PATH")]
    pub site_packages: Option<String>,
    /// Push to this reference (repeatable for several tags).
    #[arg(long, value_name = "REF")]
    pub push: Vec<String>,
    /// Write a tarball for `docker load` / `podman load` ('-' for stdout).
    #[arg(long, value_name = "FILE")]
    pub tarball: Option<PathBuf>,
    /// Write an OCI image layout directory.
    #[arg(long, value_name = "DIR")]
    pub oci_layout: Option<PathBuf>,
    /// Name for the image in the tarball/layout (repeatable); defaults to the --push references.
    #[arg(long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// Registry (host[:port]) to reach over plain http (localhost is always allowed).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure: Vec<String>,
    /// Extra CA certificate (PEM) to trust for registries.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Cache directory (default: $PYKO_CACHE_DIR, $XDG_CACHE_HOME/pyko, ~/.cache/pyko).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Use no persistent cache at all.
    #[arg(long)]
    pub no_cache: bool,
}

/// The flags that failed validation, named as the user typed them.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {message}")]
pub struct FlagError {
    pub flag: &'static str,
    pub message: String,
}

fn flag(flag: &'static str) -> impl Fn(String) -> FlagError {
    move |message| FlagError { flag, message }
}

fn reference(flag_name: &'static str, s: &str) -> Result<Reference, FlagError> {
    s.parse::<Reference>().map_err(|e| FlagError {
        flag: flag_name,
        message: format!("{s:?}: {e}"),
    })
}

impl BuildArgs {
    /// Validates flags into a spec; `epoch` is SOURCE_DATE_EPOCH (read by the
    /// caller so this stays a pure function).
    pub fn into_spec(
        self,
        epoch: u64,
        default_cache: Option<PathBuf>,
    ) -> Result<BuildSpec, FlagError> {
        let python = self
            .python
            .as_deref()
            .map(|v| {
                target::parse_version(v).ok_or(format!("{v:?} is not a Python version like 3.12"))
            })
            .transpose()
            .map_err(flag("--python"))?;
        if !self.workdir.starts_with('/') {
            return Err(FlagError {
                flag: "--workdir",
                message: format!("{:?} must be an absolute path", self.workdir),
            });
        }
        let push = self
            .push
            .iter()
            .map(|r| reference("--push", r))
            .collect::<Result<Vec<_>, _>>()?;
        let tarball = self.tarball.map(|p| {
            if p.as_os_str() == "-" {
                TarballDest::Stdout
            } else {
                TarballDest::File(p)
            }
        });
        if push.is_empty() && tarball.is_none() && self.oci_layout.is_none() {
            return Err(FlagError {
                flag: "--push/--tarball/--oci-layout",
                message: "missing: say where the image goes (e.g. --push registry/app:tag or --tarball app.tar)".into(),
            });
        }
        if tarball == Some(TarballDest::Stdout) && !push.is_empty() {
            return Err(FlagError {
                flag: "--tarball -",
                message:
                    "writes the tarball to stdout, where --push prints its reference; use a file"
                        .into(),
            });
        }
        let mut tags = self.tags.clone();
        for t in &tags {
            reference("--tag", t)?;
        }
        if tags.is_empty() {
            tags = push.iter().map(|r| r.to_string()).collect();
        }
        Ok(BuildSpec {
            base: reference("--from", &self.from)?,
            platform: spec::parse_platform(&self.platform).map_err(flag("--platform"))?,
            wheels: match (self.requirements, self.lock) {
                (Some(file), _) => WheelInput::Requirements {
                    file,
                    local: self.wheels,
                    index_url: self
                        .index_url
                        .or_else(|| std::env::var("UV_INDEX_URL").ok().filter(|u| !u.is_empty())),
                    extra_index_urls: self.extra_index_url,
                },
                (None, Some(file)) => WheelInput::Lock {
                    file,
                    local: self.wheels,
                },
                (None, None) => WheelInput::Dir(self.wheels.ok_or(FlagError {
                    flag: "--wheels/--requirements/--lock",
                    message: "missing: say where the wheels come from".into(),
                })?),
            },
            app: self.app,
            workdir: self.workdir,
            ports: self
                .ports
                .iter()
                .map(|p| spec::parse_port(p))
                .collect::<Result<_, _>>()
                .map_err(flag("--port"))?,
            cmd: self
                .cmd
                .as_deref()
                .map(Command::parse)
                .transpose()
                .map_err(flag("--cmd"))?,
            entrypoint: self
                .entrypoint
                .as_deref()
                .map(Command::parse)
                .transpose()
                .map_err(flag("--entrypoint"))?,
            env: self
                .env
                .iter()
                .map(|e| spec::parse_key_value(e))
                .collect::<Result<_, _>>()
                .map_err(flag("--env"))?,
            labels: self
                .labels
                .iter()
                .map(|e| spec::parse_key_value(e))
                .collect::<Result<_, _>>()
                .map_err(flag("--label"))?,
            user: self.user,
            target: Overrides {
                python,
                site_packages: self.site_packages,
            },
            outputs: Outputs {
                push,
                tarball,
                oci_layout: self.oci_layout,
                tags,
            },
            registry: RegistryOptions {
                insecure: self.insecure,
                ca_certs: self.ca_certs,
            },
            cache_dir: if self.no_cache {
                None
            } else {
                self.cache_dir.or(default_cache)
            },
            epoch,
        })
    }
}
