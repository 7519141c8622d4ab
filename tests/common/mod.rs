//! Test harness shared by the integration tests: real processes only.
#![allow(dead_code)]

pub mod image;
pub mod registry;
