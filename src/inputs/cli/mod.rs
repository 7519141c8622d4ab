//! Command-line flags, parsed to plain data by clap and then validated into
//! a spec (the `inputs` stage): `build.rs` a `BuildSpec`, `lock.rs` a
//! `LockSpec`, `resolve.rs` the resolver flags both share. Nothing here
//! does any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::inputs::spec;
use crate::oci::config::Command;
use crate::oci::reference::Reference;

mod build;
mod lock;
mod project;
mod resolve;

pub use build::BuildArgs;
pub use lock::LockArgs;

#[derive(Parser, Debug)]
#[command(
    name = "pyko",
    version = crate::inputs::cli_docs::VERSION,
    about = "Build OCI images for Python apps without a daemon"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
    /// Say more (to stderr): -v each step's details, -vv also every HTTP
    /// request and response, credentials redacted.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print nothing but errors and the pushed references.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

// Parsed once per run; boxing BuildArgs would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Build an image from a base image, a wheel directory and an app directory.
    #[command(after_help = CONFIG_HELP)]
    Build(BuildArgs),
    /// Resolve requirements for each target platform and write a PEP 751
    /// pylock.toml that `pyko build --lock` (or uv) installs as it is.
    Lock(LockArgs),
    /// Log in to a registry: checks the credentials, then stores them in
    /// Docker's config.json ($DOCKER_CONFIG, else ~/.docker), like docker login.
    Login(LoginArgs),
    /// Remove a registry's credentials from Docker's config.json.
    Logout(LogoutArgs),
    /// Show what an image holds: platforms, layers (for pyko's, the wheels
    /// and app files), config, base.
    Inspect(super::commands::InspectArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(super::commands::CompletionsArgs),
}

/// Said under `pyko build --help`, so a user finds the config without docs.
const CONFIG_HELP: &str = "\
Configuration: each flag can also be a key in pyko.toml (or [tool.pyko] in
pyproject.toml) in the --app directory, else the build CONTEXT, else the
current directory; the key is the flag's long name: from = \"python:3.12-slim\",
port = [\"8501\"], no-cache = true; paths are relative to the file. And each
is an environment variable PYKO_<NAME>: PYKO_FROM, PYKO_PUSH, PYKO_NO_CACHE=true
(a repeatable flag's values separated by spaces). A flag wins over a
variable, a variable over the file. See docs/config.md.";

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Registry host[:port] (docker.io for Docker Hub).
    pub registry: String,
    #[arg(short, long)]
    pub username: String,
    /// Read the password (or token) from stdin; required, since a password
    /// on the command line is visible to every user of the machine.
    #[arg(long)]
    pub password_stdin: bool,
    /// Reach the registry over plain http.
    #[arg(long = "insecure-registry")]
    pub insecure: bool,
    /// Extra CA certificate (PEM) to trust for the registry.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// Registry host[:port].
    pub registry: String,
}

/// The flags that failed validation, named as the user typed them.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {message}")]
pub struct FlagError {
    pub flag: &'static str,
    pub message: String,
}

pub(super) fn flag(flag: &'static str) -> impl Fn(String) -> FlagError {
    move |message| FlagError { flag, message }
}

pub(super) fn reference(flag_name: &'static str, s: &str) -> Result<Reference, FlagError> {
    s.parse::<Reference>().map_err(|e| FlagError {
        flag: flag_name,
        message: format!("{s:?}: {e}"),
    })
}

/// Each value parsed by `parse`; a flag given more than once gives many.
pub(super) fn each<T>(
    values: &[String],
    flag_name: &'static str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, FlagError> {
    values
        .iter()
        .map(|v| parse(v))
        .collect::<Result<_, _>>()
        .map_err(flag(flag_name))
}

pub(super) fn command(
    value: Option<&str>,
    flag_name: &'static str,
) -> Result<Option<Command>, FlagError> {
    value
        .map(spec::parse_command)
        .transpose()
        .map_err(flag(flag_name))
}
