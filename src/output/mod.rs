//! Outputs: push to a registry, OCI image layout, `docker load` tarball.

pub mod layout;
pub mod push;
pub mod tarball;

pub use layout::{write_layout, OutputError};
pub use tarball::write_tarball;
