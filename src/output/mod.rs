//! Outputs: push to a registry, OCI image layout, `docker load` tarball.
//! Each writes an `ImageSet` (one image, or several behind an index).

pub mod layout;
mod layout_merge;
pub mod push;
pub mod tarball;

pub use layout::{write_layout, OutputError};
pub use tarball::write_tarball;
