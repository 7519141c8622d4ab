//! The one integration-test binary: every test module shares one harness
//! (`common`) and the crate is linked once.

mod auth;
mod base_disk;
mod cache_repo;
mod common;
mod credentials;
mod deps_layers;
mod dockerfile_copy;
mod e2e;
mod error_messages;
mod errors;
mod fixtures_smoke;
mod harness_smoke;
mod image_flags;
mod layer;
mod lazy_base;
mod lock;
mod lock_arm64;
mod lock_cmd;
mod metadata;
mod multi_platform;
mod output;
mod pip_parity;
mod registry;
mod reproducible;
mod resolve;
mod security;
mod unprivileged;
mod wheel;
