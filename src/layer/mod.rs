//! Layers: what goes into them (`Entry`), how they are written (deterministic
//! tar, gzip or zstd on every core, both digests in one pass) and what comes out
//! (`Layer`, a blob in the cache plus its descriptor data).
//!
//! Producers (the wheel installer, the app-directory walker) only build a
//! list of `Entry`s; the writer owns ordering, parent directories, ownership
//! and timestamps, so every layer is reproducible by construction.

use std::io;
use std::path::PathBuf;

pub mod app;
mod compress;
pub mod copy;
pub mod dockerignore;
mod error;
#[cfg(test)]
mod hostile_tests;
mod scope;
mod tar;
pub mod writer;

pub use error::LayerError;
pub use writer::{write_layer, LayerOptions};

/// Streams a regular file's bytes into a layer. Implementations verify what
/// they stream (e.g. against a wheel's RECORD) and fail with an error that
/// names the file, so a bad input aborts the layer instead of landing in it.
pub trait Contents: Send + Sync {
    fn write_to(&self, out: &mut dyn io::Write) -> io::Result<()>;
}

impl Contents for Vec<u8> {
    fn write_to(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(self)
    }
}

/// A file on the build machine's disk, read when the layer is written.
pub struct DiskFile(pub PathBuf);

impl Contents for DiskFile {
    fn write_to(&self, out: &mut dyn io::Write) -> io::Result<()> {
        // fs-err's File names the path in both open and read errors; a
        // file replaced by a symlink since it was listed is not followed.
        use std::os::unix::fs::OpenOptionsExt;
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        let mut f = fs_err::OpenOptions::from_options(opts).open(&self.0)?;
        io::copy(&mut f, out)?;
        Ok(())
    }
}

pub enum Node {
    Dir,
    /// `size` is written into the tar header before the contents stream;
    /// a mismatch is an error, never a truncated or padded file.
    File {
        size: u64,
        contents: Box<dyn Contents>,
    },
    Symlink {
        target: String,
    },
}

/// One path in a layer. `path` is relative to the image root, `/`-separated,
/// without a leading `/` (e.g. `usr/local/bin/streamlit`).
pub struct Entry {
    pub path: String,
    /// Permission bits only (e.g. 0o755); the file type comes from `node`.
    pub mode: u32,
    pub node: Node,
    /// Owner in the image; `None` means 0:0.
    pub owner: Option<(u64, u64)>,
}

impl Entry {
    pub fn dir(path: impl Into<String>, mode: u32) -> Entry {
        Entry {
            path: path.into(),
            mode,
            node: Node::Dir,
            owner: None,
        }
    }

    pub fn file(path: impl Into<String>, mode: u32, bytes: Vec<u8>) -> Entry {
        Entry {
            path: path.into(),
            mode,
            node: Node::File {
                size: bytes.len() as u64,
                contents: Box::new(bytes),
            },
            owner: None,
        }
    }
}
