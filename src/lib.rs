//! pyko: build OCI images for Python applications without a daemon.
//!
//! The modules follow the pipeline in DESIGN.md, data flowing one way (see
//! docs/architecture.md):
//!
//! `inputs` → `base` → `target` → `sources` → `wheel` + `layer` → `oci` →
//! `output`; `build` wires them, `ui` reports progress.

pub mod base;
pub mod build;
pub mod cache;
mod error;
mod exit;
mod http;
pub mod inputs;
pub mod layer;
pub mod oci;
pub mod output;
pub mod registry;
pub mod sources;
pub mod target;
pub mod ui;
pub mod wheel;

pub use exit::{exit_class, is_broken_pipe, ExitClass};
