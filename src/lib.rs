//! pyko: build OCI images for Python applications without a daemon.
//!
//! The modules follow the pipeline in DESIGN.md, data flowing one way:
//! `spec` (inputs) → `base` → `target` → `wheel` + `layer` → `image` →
//! `output`; `build` wires them together.

pub mod base;
pub mod base_disk;
pub mod build;
pub mod cache;
pub mod cli;
pub mod digest;
pub mod dockerfile;
pub mod image;
pub mod index;
pub mod layer;
pub mod lock;
pub mod multi;
pub mod output;
pub mod reference;
pub mod registry;
pub mod spec;
pub mod target;
pub mod venv;
pub mod wheel;
