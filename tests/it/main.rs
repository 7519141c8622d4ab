//! The one integration-test binary: every test module shares one harness
//! (`common`) and the crate is linked once.

mod auth;
mod base_disk;
mod cli_ux;
mod common;
mod concurrency;
mod corpus;
mod credentials;
mod deps_layers;
mod dockerfile_copy;
mod e2e;
mod error_messages;
mod errors;
mod faults;
mod fixtures_smoke;
mod harness_smoke;
mod image_flags;
mod index_credentials;
mod interpreter;
mod interrupt;
mod layer;
mod lazy_base;
mod local_wheels;
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
