//! Inputs: everything the user said (flags, a Dockerfile, the environment)
//! made into one validated `BuildSpec`. Nothing after this stage reads flags
//! or the environment.

pub mod cli;
pub mod cli_docs;
pub mod commands;
pub mod config;
pub mod dockerfile;
mod epoch;
pub mod spec;

pub use epoch::{source_date_epoch, SourceDateEpochError};
