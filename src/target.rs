//! What the wheels must fit: the base image's Python (version, interpreter,
//! install scheme), libc and architecture. Decided from flags, the base
//! config's Env and the base layers' files — never by running anything.
//! (Detection being written.)

use crate::image::Platform;

/// The C library of the image, which decides manylinux vs musllinux tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Libc {
    Glibc { major: u32, minor: u32 },
    Musl { major: u32, minor: u32 },
}

/// Absolute in-image directories that pip's install scheme maps to
/// (`sysconfig.get_paths()` for the target interpreter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheme {
    pub purelib: String,
    pub platlib: String,
    pub scripts: String,
    /// `data` scheme key: the prefix (e.g. `/usr/local`).
    pub data: String,
    /// `include` dir; pip puts headers under `<headers>/<distribution name>`.
    pub headers: String,
}

/// Everything the installer needs to know about the interpreter in the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonTarget {
    pub major: u32,
    pub minor: u32,
    /// Absolute path used in launcher shebangs (what `sys.executable` is).
    pub interpreter: String,
    pub scheme: Scheme,
    pub platform: Platform,
    pub libc: Libc,
}
