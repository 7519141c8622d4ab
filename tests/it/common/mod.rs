//! Test harness shared by the integration tests: real processes only.

pub mod blobs;
pub mod faults;
pub mod fixtures;
pub mod image;
pub mod index;
pub mod podman;
pub mod registry;
pub mod run;
pub mod token;
