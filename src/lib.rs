//! pyko: build OCI images for Python applications without a daemon.
//!
//! The modules follow the pipeline in DESIGN.md, data flowing one way (see
//! docs/architecture.md for what passes between them):
//!
//! ```text
//! inputs → base → target → sources → wheel + layer → oci → output
//!                                  build wires them; ui reports progress
//! ```
//!
//! Every module is private: what the binary, the tests and the examples
//! use is re-exported below, once, so each item has one public path.

mod at_once;
mod base;
mod build;
mod cache;
mod error;
mod exit;
#[doc(hidden)]
pub mod fuzzing;
mod hint;
mod http;
mod inputs;
mod inspect;
mod interrupt;
mod layer;
mod oci;
mod output;
mod registry;
mod sources;
mod target;
mod ui;
mod wheel;

// The binary's edge: flags in, a build or a login, progress out, exit codes.
pub use build::{build, lock, BuildError, Outcome, Report, REPORT_SCHEMA};
pub use cache::{default_dir as default_cache_dir, Cache};
pub use exit::{exit_class, is_broken_pipe, ExitClass};
pub use hint::hint;
pub use inputs::cli::{Cli, Cmd};
pub use inputs::cli_docs;
pub use inputs::commands::ReportArgs;
pub use inputs::config::{with_config, ConfigError, Configured};
pub use inputs::source_date_epoch;
pub use inputs::spec::{parse_platform, TarballDest};
pub use inspect::{inspect, text as inspect_text, InspectRequest, Inspection};
pub use interrupt::install as install_signal_cleanup;
pub use registry::login::{default_config_path, login_from_stdin, logout, LoginRequest};
pub use ui::Reporter;
pub use ui::{Level, Stats};

// The image model every stage shares.
pub use oci::config::{apply as apply_config, Command, ConfigChanges};
pub use oci::Reference;
pub use oci::{
    media_types, BlobSource, Compression, Digest, HashingWriter, Image, ImageLayer, Layer, Platform,
};

// Stages usable on their own (tests and examples drive them directly).
pub use base::{default_platform, resolve as resolve_base, BaseError};
pub use http::{HttpClient, HttpOptions};
pub use layer::app::app_entries;
pub use layer::{write_layer, DiskFile, Entry, LayerOptions, Node};
pub use output::push::push;
pub use output::{write_layout, write_tarball, OutputError};
pub use registry::{Client, ClientOptions, RegistryError};
pub use sources::index::{CoreMetadataHint, IndexClient, IndexError, IndexFile};
pub use sources::metadata::{CoreMetadata, MetadataClient, MetadataError};
pub use target::{detect as detect_target, Libc, PythonTarget, Scheme};
pub use wheel::{
    find_wheels, install as install_wheels, normalize_name, InstallOptions, Installation, Tags,
    WheelError,
};
