//! The wheel installer: which wheels fit the target (`tags`), and what
//! installing them with pip into the target interpreter would write
//! (`install`), as layer entries that stream from the wheels and verify
//! them against their RECORD on the way.
//!
//! Layout follows the binary distribution format: `filename` (PEP 427 names),
//! `tags` (PEP 425/600/656 compatibility), `archive` (the zip, safety,
//! verified streaming), `record` (RECORD in and out), `launcher` (entry-point
//! scripts and shebangs), `metadata` (WHEEL/METADATA), `check` (`pip check`
//! for the target), `select` (one wheel per project),
//! `dist_info` (reading and verifying a wheel's `.dist-info`), `plan` (one
//! wheel, the spec's steps in order), `install` (the whole set), `dir`
//! (finding wheels).

mod archive;
mod check;
mod dir;
mod dist_info;
mod error;
mod filename;
#[cfg(test)]
mod hostile_tests;
mod install;
mod launcher;
mod metadata;
mod plan;
mod record;
mod select;
mod tags;

pub use check::marker_environment;
pub use dir::find_wheels;
pub use error::{IncompatibleWheel, WheelError};
pub use filename::{
    invalid_project_name, normalize_name, parse_sdist, unsafe_file_name, WheelFilename,
};
pub use install::{install, InstallOptions, Installation};
pub use select::best_wheel;
pub use tags::Tags;

// For the fuzz targets (`crate::fuzzing`).
pub(crate) use metadata::{parse_metadata, parse_wheel_file};
pub(crate) use record::parse as parse_record;
