//! `pyko build`'s flags and their validation into a `BuildSpec`, with a
//! Dockerfile (`--file`) giving the defaults.

use std::path::PathBuf;

use clap::Args;

use super::project::{find_project, Found, ProjectFlags};
use super::resolve::ResolveFlags;
use super::{command, each, flag, reference, FlagError};
use crate::inputs::dockerfile::{self, Dockerfile};
use crate::inputs::spec::{self, BuildSpec, Outputs, RegistryOptions, TarballDest};
use crate::layer::copy::Copies;
use crate::oci::config::parse_port;
use crate::sources::WheelInput;
use crate::target::{self, Overrides};

#[derive(Args, Debug)]
// The outputs are taken as a whole from the command line, the environment
// or the config file, whichever names one first (see inputs/config).
#[command(group(clap::ArgGroup::new("output").multiple(true).args(["push", "tarball", "oci_layout"])))]
pub struct BuildArgs {
    /// Base image, e.g. python:3.12-slim or registry.example.com/python:3.12;
    /// from disk: oci-layout:DIR[:tag], oci-archive:FILE[:tag],
    /// docker-archive:FILE[:name:tag].
    #[arg(long = "from", value_name = "IMAGE", required_unless_present = "file")]
    pub from: Option<String>,
    /// Dockerfile whose FROM/ENV/EXPOSE/WORKDIR/COPY . ./RUN pip install/CMD…
    /// give the defaults (flags win).
    #[arg(short = 'f', long = "file", value_name = "DOCKERFILE")]
    pub file: Option<PathBuf>,
    /// Build context for --file (the app directory of `COPY . .`).
    #[arg(value_name = "CONTEXT", requires = "file")]
    pub context: Option<PathBuf>,
    /// Dockerfile ARG value NAME=VALUE (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// Directory of wheels already resolved for the target (pip download / uv).
    /// With --requirements or --lock: a local source looked at before the index.
    /// Without --wheels, -r or --lock: the app directory's uv.lock, else its
    /// pyproject.toml.
    #[arg(long, value_name = "DIR")]
    pub wheels: Option<PathBuf>,
    /// Requirements file (pip's format) or pyproject.toml (its [project]
    /// dependencies): resolved for the target against the index, unless
    /// every line is a full `==` pin (then installed as pinned); the wheels
    /// are downloaded and verified.
    #[arg(long, short = 'r', value_name = "FILE", conflicts_with = "lock")]
    pub requirements: Option<PathBuf>,
    /// Lock file: PEP 751 pylock.toml (or pylock.*.toml) or uv.lock.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Refuse any wheel no hash vouches for, as pip's hash-checking mode:
    /// every requirement `==`-pinned with a --hash; every locked wheel with
    /// a sha256 (without it such wheels install with a warning).
    #[arg(long)]
    pub require_hashes: bool,
    /// Package index (simple API) for --requirements; wins over the file's own.
    #[arg(long, value_name = "URL", env = "PIP_INDEX_URL")]
    pub index_url: Option<String>,
    /// Further package indexes for --requirements (repeatable).
    #[arg(long, value_name = "URL")]
    pub extra_index_url: Vec<String>,
    /// Application directory, copied to --workdir (honours .dockerignore).
    #[arg(long, value_name = "DIR")]
    pub app: Option<PathBuf>,
    /// Working directory in the image; the app is copied there [default: /app].
    #[arg(long)]
    pub workdir: Option<String>,
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
    /// Platform(s) to build [default: linux/amd64], or a comma list (one
    /// image each, pushed behind an OCI index), or `all`: every platform of
    /// the base that the wheels can serve.
    #[arg(long)]
    pub platform: Option<String>,
    /// Target Python X.Y when the base image does not say.
    #[arg(long, value_name = "X.Y")]
    pub python: Option<String>,
    /// Install into this site-packages directory instead of the detected one.
    #[arg(long, value_name = "PATH")]
    pub site_packages: Option<String>,
    /// Install into a virtual environment created at DIR in the image
    /// (DIR/bin goes first on PATH).
    #[arg(long, value_name = "DIR", conflicts_with = "site_packages")]
    pub venv: Option<String>,
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
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// Layer compression: gzip (default; every reader) or zstd (faster; Docker
    /// Engine 23+, containerd, podman), each with an optional :LEVEL (gzip:9, zstd:19).
    #[arg(long, value_name = "ALGO")]
    pub compression: Option<crate::oci::Compression>,
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
    /// Read no pyko.toml / [tool.pyko] (PYKO_* variables still count).
    #[arg(long)]
    pub no_config: bool,
    #[command(flatten)]
    pub resolve: ResolveFlags,
    #[command(flatten)]
    pub project: ProjectFlags,
    #[command(flatten)]
    pub report: crate::inputs::commands::ReportArgs,

    // The registry cache (issue 14), a block of its own.
    /// Repository that holds the deps layers and the map from their keys
    /// (shared by every runner); unreachable means a warning, not a failure.
    #[arg(long = "cache-repo", value_name = "REF")]
    pub cache_repo: Option<String>,
}

impl BuildArgs {
    /// Validates flags into a spec, with `--file`'s Dockerfile giving every
    /// value the flags do not (flags win; ENV and LABEL add up, the
    /// Dockerfile's first). `epoch` is [`crate::inputs::source_date_epoch`],
    /// read by the caller so this stays a pure function. Also returns notes
    /// for the user (e.g. Dockerfile directives pyko ignores).
    pub fn into_spec(
        self,
        epoch: u64,
        default_cache: Option<PathBuf>,
    ) -> Result<(BuildSpec, Vec<String>), FlagError> {
        let df = self.dockerfile()?.unwrap_or_default();
        let context = self.context.clone().unwrap_or_else(|| PathBuf::from("."));
        let workdir = self.workdir.or(df.workdir).unwrap_or_else(|| "/app".into());
        let platform = self
            .platform
            .or(df.platform)
            .unwrap_or_else(|| "linux/amd64".into());
        let from = self.from.unwrap_or(df.from);
        let python = self
            .python
            .as_deref()
            .map(|v| {
                target::parse_version(v).ok_or(format!("{v:?} is not a Python version like 3.12"))
            })
            .transpose()
            .map_err(flag("--python"))?;
        if !workdir.starts_with('/') {
            return Err(FlagError {
                flag: "--workdir",
                message: format!("{workdir:?} must be an absolute path"),
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
        let all_platforms = platform.trim() == "all";
        let platform = if all_platforms {
            "linux/amd64".to_string()
        } else {
            platform
        };
        let platforms = platform
            .split(',')
            .map(|p| spec::parse_platform(p.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(flag("--platform"))?;
        let mut tags = self.tags.clone();
        for t in &tags {
            reference("--tag", t)?;
        }
        if tags.is_empty() {
            tags = push.iter().map(|r| r.to_string()).collect();
        }
        let index_url = self.index_url.or(df.index_url);
        let uv_index_url = || std::env::var("UV_INDEX_URL").ok().filter(|u| !u.is_empty());
        let base = match crate::base::disk::DiskBase::parse(&from) {
            Some(disk) => spec::BaseSource::Disk(disk.map_err(flag("--from"))?),
            None => spec::BaseSource::Registry(reference("--from", &from)?),
        };
        let options = self.resolve.options()?;
        let build = self.resolve.build_policy();
        let constraints = self.resolve.constraints;
        let selection = self.project.selection();
        let mut notes = df.notes;
        if matches!(self.compression, Some(crate::oci::Compression::Zstd { .. }))
            && tarball.is_some()
        {
            notes.push(
                "--compression zstd: `docker load` of this tarball needs Docker Engine 23 or newer (podman and containerd read it)".into(),
            );
        }
        let mut requirements = self.requirements;
        let mut lock = self.lock;
        let app_ignore = match (&self.app, &self.file) {
            (None, Some(f)) if df.copies_context => crate::layer::dockerignore::own_ignore_file(f),
            _ => None,
        };
        let app = self
            .app
            .or_else(|| df.copies_context.then(|| context.clone()));
        // No source named at all: the project in the app directory (or the
        // build context), as `uv sync` or `pip install .` would find it.
        if requirements.is_none()
            && lock.is_none()
            && self.wheels.is_none()
            && df.requirements.is_none()
        {
            let dir = app
                .clone()
                .or_else(|| self.file.is_some().then(|| context.clone()));
            if let Some((found, note)) = dir.as_deref().and_then(find_project) {
                notes.push(note);
                match found {
                    Found::Lock(f) => lock = Some(f),
                    Found::PyProject(f) => requirements = Some(f),
                }
            }
        }
        self.project
            .check_applies(requirements.as_deref().or(lock.as_deref()))?;
        let wheels = match (requirements, lock) {
            (None, None) if df.requirements.is_some() && self.wheels.is_none() => {
                WheelInput::Requirements {
                    file: self.file.clone().unwrap_or_default(),
                    inline: df.requirements,
                    local: None,
                    index_url: index_url.or_else(uv_index_url),
                    extra_index_urls: self.extra_index_url,
                    constraints,
                    options,
                    require_hashes: self.require_hashes,
                    selection,
                    build: build.clone(),
                }
            }
            (Some(file), _) => WheelInput::Requirements {
                file,
                inline: None,
                local: self.wheels,
                index_url: index_url.or_else(uv_index_url),
                extra_index_urls: self.extra_index_url,
                constraints,
                options,
                require_hashes: self.require_hashes,
                selection,
                build: build.clone(),
            },
            (None, Some(file)) => WheelInput::Lock {
                file,
                local: self.wheels,
                require_hashes: self.require_hashes,
                selection,
                index_url: index_url.or_else(uv_index_url),
                build,
            },
            (None, None) if self.require_hashes => {
                return Err(FlagError {
                    flag: "--require-hashes",
                    message: "--wheels DIR alone has no hashes to check the wheels against; give --requirements FILE (with --hash lines) or --lock FILE".into(),
                }
                )
            }
            (None, None) => WheelInput::Dir(self.wheels.ok_or(FlagError {
                flag: "--wheels/--requirements/--lock",
                message: "missing: say where the wheels come from (or give --app DIR holding a uv.lock or pyproject.toml)".into(),
            })?),
        };
        let ports = if self.ports.is_empty() {
            df.ports
        } else {
            each(&self.ports, "--port", |p| {
                parse_port(p).map_err(|e| e.to_string())
            })?
        };
        let (cmd, entrypoint) = if self.cmd.is_none() && self.entrypoint.is_none() {
            (df.cmd, df.entrypoint)
        } else {
            (
                command(self.cmd.as_deref(), "--cmd")?,
                command(self.entrypoint.as_deref(), "--entrypoint")?,
            )
        };
        let mut env = df.env;
        env.extend(each(&self.env, "--env", spec::parse_key_value)?);
        let mut labels = df.labels;
        labels.extend(each(&self.labels, "--label", spec::parse_key_value)?);
        let copies = (!df.copies.is_empty()).then(|| Copies {
            context: context.clone(),
            ops: df.copies,
            app_at: df.copies_before_context,
            dockerfile: self.file.clone(),
        });
        let spec = BuildSpec {
            base,
            platform: platforms[0].clone(),
            platforms,
            all_platforms,
            wheels,
            app,
            workdir,
            ports,
            cmd,
            entrypoint,
            env,
            labels,
            user: self.user.or(df.user),
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
            compression: self.compression.unwrap_or_default(),
            venv: self.venv,
            copies,
            report_contents: self.report.json,
            cache_repo: self
                .cache_repo
                .as_deref()
                .map(|r| reference("--cache-repo", r))
                .transpose()?,
            app_ignore,
        };
        Ok((spec, notes))
    }

    /// `--file`'s Dockerfile, read with `--build-arg`s and the context.
    fn dockerfile(&self) -> Result<Option<Dockerfile>, FlagError> {
        let Some(file) = &self.file else {
            return Ok(None);
        };
        let err = flag("--file");
        // Said as every other flag error is: the flag, its value, the cause.
        let text = std::fs::read_to_string(file).map_err(|e| err(format!("{file:?}: {e}")))?;
        let context = self.context.clone().unwrap_or_else(|| PathBuf::from("."));
        let build_args = each(&self.build_args, "--build-arg", spec::parse_key_value)?;
        dockerfile::parse(file, &text, &context, &build_args)
            .map(Some)
            .map_err(|e| err(e.to_string()))
    }
}
