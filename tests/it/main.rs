//! The one integration-test binary: every test module shares one harness
//! (`common`) and the crate is linked once.

mod auth;
mod base_disk;
mod cli_ux;
mod common;
mod credentials;
mod dockerfile_copy;
mod e2e;
mod error_messages;
mod errors;
mod fixtures_smoke;
mod harness_smoke;
mod image_flags;
mod layer;
mod lock;
mod lock_arm64;
mod multi_platform;
mod output;
mod pip_parity;
mod registry;
mod reproducible;
mod unprivileged;
mod wheel;
