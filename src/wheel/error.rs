//! The one error type of the wheel installer. Every message names the wheel
//! (or directory, or package) and the path at fault, and says what to do,
//! because the person reading it is building an image and cannot debug pyko.
//! A cause is in the message or returned by `source()`, never both.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    #[error("cannot read wheel directory {}", dir.display())]
    ReadDir { dir: PathBuf, source: io::Error },

    #[error(
        "no wheels (*.whl) in {}: fill it with `pip download --only-binary=:all: -d {} -r requirements.txt` \
         (or `pip wheel -w {} .` for your own packages)",
        dir.display(), dir.display(), dir.display()
    )]
    NoWheels { dir: PathBuf },

    #[error(
        "{} holds source distributions, which cannot be installed without running their build: {names}; \
         build wheels from them first (`pip wheel --no-deps -w {} <sdist>`) or download wheels with \
         `pip download --only-binary=:all:`",
        dir.display(), dir.display()
    )]
    SourceDistributions { dir: PathBuf, names: String },

    #[error(
        "invalid wheel file name {name:?}: {reason}; wheel files are named \
         NAME-VERSION(-BUILD)?-PYTHON-ABI-PLATFORM.whl (PEP 427) — rename it or download it again"
    )]
    Filename { name: String, reason: String },

    #[error("unsupported target platform {platform}: {reason}")]
    UnsupportedPlatform { platform: String, reason: String },

    #[error(transparent)]
    Incompatible(Box<IncompatibleWheel>),

    #[error("cannot open wheel {}", wheel.display())]
    Open { wheel: PathBuf, source: io::Error },

    /// The cause sits mid-sentence, so it is a plain field, not a source.
    #[error("{} is not a readable zip archive ({error}); download it again", wheel.display())]
    Zip {
        wheel: PathBuf,
        error: zip::result::ZipError,
    },

    #[error(
        "{}: unsafe path {path:?} ({reason}); refusing a wheel that could write outside its install \
         scheme — it is broken or malicious, do not install it",
        wheel.display()
    )]
    UnsafePath {
        wheel: PathBuf,
        path: String,
        reason: &'static str,
    },

    #[error(
        "{}: {path} is a symbolic link; wheels cannot contain links (pip would install the link \
         target's text as a file) — rebuild the wheel without it",
        wheel.display()
    )]
    Symlink { wheel: PathBuf, path: String },

    #[error(
        "{}: Wheel-Version {version} is not supported (only 1.x is, as in pip); \
         use a wheel built by a current build backend",
        wheel.display()
    )]
    WheelVersion { wheel: PathBuf, version: String },

    #[error("{}: {message}", wheel.display())]
    Invalid { wheel: PathBuf, message: String },

    #[error(
        "{}: {path} is not listed in RECORD with a hash, so its integrity cannot be checked; \
         rebuild the wheel (its RECORD is incomplete)",
        wheel.display()
    )]
    NotInRecord { wheel: PathBuf, path: String },

    #[error(
        "{}: RECORD lists {path}, which is not in the archive; the wheel is truncated or \
         was repacked — download it again",
        wheel.display()
    )]
    MissingFile { wheel: PathBuf, path: String },

    #[error(
        "{}: {path} does not match RECORD ({detail}); the wheel is corrupt or was modified — \
         download it again",
        wheel.display()
    )]
    RecordMismatch {
        wheel: PathBuf,
        path: String,
        detail: String,
    },

    #[error(
        "{}: unknown .data directory {key:?} (for {path}); only purelib, platlib, scripts, headers \
         and data are install scheme keys — rebuild the wheel",
        wheel.display()
    )]
    DataKey {
        wheel: PathBuf,
        key: String,
        path: String,
    },

    #[error(
        "{}: invalid entry point `{name} = {value}` in entry_points.txt: {reason}",
        wheel.display()
    )]
    EntryPoint {
        wheel: PathBuf,
        name: String,
        value: String,
        reason: String,
    },

    #[error(
        "{path} would be written by both {} and {}; keep only one of these wheels in the wheel directory",
        first.display(), second.display()
    )]
    Conflict {
        path: String,
        first: PathBuf,
        second: PathBuf,
    },

    #[error(
        "the wheels do not form a complete set for the target ({} unmet):\n{}\n\
         add the missing wheels, e.g. with `{hint}`",
        unmet.len(), unmet.iter().map(|u| format!("  {u}")).collect::<Vec<_>>().join("\n")
    )]
    Unmet { unmet: Vec<String>, hint: String },
}

/// A wheel none of whose tags the target accepts (boxed in [`WheelError`]:
/// it carries the most context).
#[derive(Debug, thiserror::Error)]
#[error(
    "{} does not fit the target: {reason} (wheel tags: {tags}; the target's best tag is {best}); \
     download the wheel built for the target, e.g. `pip download --only-binary=:all: --platform {platform} \
     --python-version {python} --no-deps {project}`",
    wheel.display()
)]
pub struct IncompatibleWheel {
    pub wheel: PathBuf,
    pub reason: String,
    pub tags: String,
    pub best: String,
    pub platform: String,
    pub python: String,
    pub project: String,
}
