//! The flags of the commands around `build`: how its results are reported
//! (`--json`, `--image-refs`), `inspect` and `completions`. Kept apart from
//! the build flags so each file has one job.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug, Default, Clone)]
pub struct ReportArgs {
    /// Print one JSON document to stdout instead of the pushed references
    /// (schema: docs/json-schema.md).
    #[arg(long)]
    pub json: bool,
    /// Also write the pushed REF@DIGEST lines to FILE, one a line (as ko does).
    #[arg(long, value_name = "FILE")]
    pub image_refs: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Image to look at: a registry reference, oci-layout:DIR[:tag],
    /// oci-archive:FILE[:tag] or docker-archive:FILE[:name:tag].
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Print one JSON document to stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Only this platform of a multi-platform image (e.g. linux/arm64).
    #[arg(long)]
    pub platform: Option<String>,
    /// Registry (host[:port]) to reach over plain http.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure: Vec<String>,
    /// Extra CA certificate (PEM) to trust for registries.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// Shell to write the completion script for (to stdout).
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
