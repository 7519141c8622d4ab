//! The content-addressed blob cache.
//!
//! Blobs live at `<root>/blobs/sha256/<hex>`. Every write goes to a temp file
//! in the same directory and is renamed into place only after its digest has
//! been checked, so concurrent builds never see a half-written blob and a
//! crash never leaves a wrong one behind. Reads re-check size (cheap) and a
//! blob whose size is wrong is deleted and reported as missing, so it is
//! refetched rather than served.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::oci::digest::{Digest, HashingWriter};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache directory {path}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cache directory {path} {problem}; another user could plant blobs in it, so pyko will not use it: {fix}")]
    Unsafe {
        path: PathBuf,
        problem: String,
        fix: String,
    },
    #[error("blob {expected} from {origin}: content has digest {actual} ({size} bytes); refusing to store it")]
    DigestMismatch {
        expected: Digest,
        actual: Digest,
        size: u64,
        origin: String,
    },
    #[error("blob {digest} from {origin}")]
    Read {
        digest: String,
        origin: String,
        source: io::Error,
    },
}

/// Refuses a cache directory another local user could write to: not ours,
/// or group/world-writable (a shared TMPDIR is where such a trap is laid).
fn check_private(dir: &Path) -> Result<(), CacheError> {
    let meta = fs::metadata(dir).map_err(io_err(dir))?;
    let me = rustix::process::geteuid().as_raw();
    let unsafe_dir = |problem: String, fix: String| CacheError::Unsafe {
        path: dir.to_path_buf(),
        problem,
        fix,
    };
    if !meta.is_dir() {
        return Err(unsafe_dir(
            "is not a directory".into(),
            "pass --cache-dir with a directory of your own".into(),
        ));
    }
    if meta.uid() != me {
        return Err(unsafe_dir(
            format!("is owned by uid {}, not by you (uid {me})", meta.uid()),
            "pass --cache-dir (or set PYKO_CACHE_DIR) to a directory you own".into(),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(unsafe_dir(
            format!("has mode {mode:04o} (writable by group or others)"),
            format!(
                "run `chmod go-w {}` if its contents are trusted, or pass --cache-dir with a private directory",
                dir.display()
            ),
        ));
    }
    Ok(())
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `tmp/` file names: this prefix, the writer's pid, `-`, random.
const TEMP_PREFIX: &str = ".pyko-";

#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// Opens (creating, mode 0700) the cache at `root`. Blobs found here
    /// by their hash are used without re-hashing, so the directory must be
    /// one only this user can write: an existing one owned by someone else
    /// or writable by group or others is refused.
    pub fn open(root: impl Into<PathBuf>) -> Result<Cache, CacheError> {
        let cache = Cache { root: root.into() };
        if let Some(parent) = cache.root.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        match fs::DirBuilder::new().mode(0o700).create(&cache.root) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(&cache.root)(e)),
        }
        check_private(&cache.root)?;
        for dir in [cache.blob_dir(), cache.root.join("keys"), cache.tmp_dir()] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(io_err(&dir))?;
        }
        cache.sweep_dead_temps();
        Ok(cache)
    }

    /// A cache in a fresh temporary directory, for `--no-cache` and tests;
    /// removed when the returned guard drops.
    pub fn ephemeral() -> Result<(Cache, tempfile::TempDir), CacheError> {
        let dir = tempfile::Builder::new()
            .prefix("pyko-cache-")
            .tempdir()
            .map_err(io_err(&std::env::temp_dir()))?;
        Ok((Cache::open(dir.path())?, dir))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blob_dir().join(digest.hex())
    }

    /// The path of a cached blob, if present with the expected size.
    pub fn get(&self, digest: &Digest, size: Option<u64>) -> Option<PathBuf> {
        let path = self.blob_path(digest);
        let meta = fs::metadata(&path).ok()?;
        match size {
            Some(s) if meta.len() != s => {
                let _ = fs::remove_file(&path);
                None
            }
            _ => Some(path),
        }
    }

    /// A temp file inside the cache (same filesystem, so `persist` is a
    /// rename), named after this process so that one killed mid-write
    /// (SIGINT, SIGKILL, a crash) can be told apart from a live build's.
    pub fn temp_file(&self) -> Result<NamedTempFile, CacheError> {
        let dir = self.tmp_dir();
        tempfile::Builder::new()
            .prefix(&format!("{}{}-", TEMP_PREFIX, std::process::id()))
            .tempfile_in(&dir)
            .map_err(io_err(&dir))
    }

    /// A temp directory inside the cache's `tmp/` (an sdist build's
    /// work tree), removed when the guard drops.
    pub fn temp_dir(&self, prefix: &str) -> Result<tempfile::TempDir, CacheError> {
        let dir = self.tmp_dir();
        tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-{prefix}", std::process::id()))
            .tempdir_in(&dir)
            .map_err(io_err(&dir))
    }

    /// Removes temp files left by builds that died mid-write: their pid is
    /// gone. Files of live processes (concurrent builds) are left alone;
    /// failures are ignored, since the files are never read.
    fn sweep_dead_temps(&self) {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix(TEMP_PREFIX)
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }

    /// Moves a fully written temp file into place under its (already
    /// computed) digest. The data reaches the disk before the rename: a
    /// blob is trusted by its name, so a crash must never leave a name
    /// over bytes that were not yet written.
    pub fn persist(&self, tmp: NamedTempFile, digest: &Digest) -> Result<PathBuf, CacheError> {
        let path = self.blob_path(digest);
        tmp.as_file().sync_data().map_err(io_err(&path))?;
        tmp.persist(&path).map_err(|e| CacheError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(path)
    }

    /// Streams `reader` into the cache, verifying it against `expected`.
    /// `origin` names where the bytes came from, for the error message.
    pub fn put_verified(
        &self,
        expected: &Digest,
        mut reader: impl Read,
        origin: &str,
    ) -> Result<PathBuf, CacheError> {
        let tmp = self.temp_file()?;
        let mut w = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, tmp));
        io::copy(&mut reader, &mut w).map_err(|source| CacheError::Read {
            digest: expected.to_string(),
            origin: origin.to_string(),
            source,
        })?;
        let (buf, actual, size) = w.finish();
        let tmp = buf.into_inner().map_err(|e| CacheError::Io {
            path: self.tmp_dir(),
            source: e.into_error(),
        })?;
        if &actual != expected {
            return Err(CacheError::DigestMismatch {
                expected: expected.clone(),
                actual,
                size,
                origin: origin.to_string(),
            });
        }
        self.persist(tmp, expected)
    }

    /// Stores small bytes (configs, manifests) under their own digest.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<(Digest, PathBuf), CacheError> {
        let digest = Digest::of_bytes(bytes);
        if let Some(p) = self.get(&digest, Some(bytes.len() as u64)) {
            return Ok((digest, p));
        }
        let mut tmp = self.temp_file()?;
        tmp.write_all(bytes).map_err(io_err(&self.tmp_dir()))?;
        let path = self.persist(tmp, &digest)?;
        Ok((digest, path))
    }

    /// Reads a small named record (e.g. the deps layer for a cache key).
    pub fn get_key(&self, key: &str) -> Option<Vec<u8>> {
        fs::read(self.root.join("keys").join(key)).ok()
    }

    /// Writes a small named record atomically.
    pub fn put_key(&self, key: &str, value: &[u8]) -> Result<(), CacheError> {
        let mut tmp = self.temp_file()?;
        tmp.write_all(value).map_err(io_err(&self.tmp_dir()))?;
        let path = self.root.join("keys").join(key);
        tmp.as_file().sync_data().map_err(io_err(&path))?;
        tmp.persist(&path).map_err(|e| CacheError::Io {
            path,
            source: e.error,
        })?;
        Ok(())
    }
}

/// Where the cache lives when no `--cache-dir` is given: `$PYKO_CACHE_DIR`,
/// else `$XDG_CACHE_HOME/pyko`, else `$HOME/.cache/pyko` when that can be
/// created, else a per-user directory under the temp dir. A locked-down CI
/// pod often has no writable (or no) HOME; the second element says why the
/// fallback was taken, for a one-line notice.
pub fn default_dir() -> (PathBuf, Option<String>) {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("PYKO_CACHE_DIR") {
        return (d, None);
    }
    if let Some(d) = env("XDG_CACHE_HOME") {
        return (d.join("pyko"), None);
    }
    let why = match env("HOME") {
        Some(home) => {
            let d = home.join(".cache").join("pyko");
            // 0700 whatever the umask, or a group-writable umask would
            // make the user's own new cache one that `open` refuses.
            let made = fs::create_dir_all(home.join(".cache")).and_then(|()| {
                match fs::DirBuilder::new().mode(0o700).create(&d) {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                    r => r,
                }
            });
            match made {
                Ok(()) => return (d, None),
                Err(e) => format!("{} is not writable ({e})", d.display()),
            }
        }
        None => "HOME is not set".to_string(),
    };
    // The uid keeps two users on one machine out of each other's cache.
    let uid = rustix::process::geteuid().as_raw();
    let d = std::env::temp_dir().join(format!("pyko-cache-{uid}"));
    let note = format!(
        "{why}; caching in {} (set PYKO_CACHE_DIR to choose)",
        d.display()
    );
    (d, Some(note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn verified_put_rejects_wrong_digest_and_leaves_nothing() {
        let (cache, _guard) = Cache::ephemeral().unwrap();
        let good = Digest::of_bytes(b"abc");
        let p = cache.put_verified(&good, &b"abc"[..], "test").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        let wrong = Digest::of_bytes(b"xyz");
        let err = cache.put_verified(&wrong, &b"abc"[..], "test").unwrap_err();
        assert!(matches!(err, CacheError::DigestMismatch { .. }), "{err}");
        assert!(cache.get(&wrong, None).is_none());
        assert_eq!(fs::read_dir(cache.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn temps_of_dead_processes_are_swept_on_open() {
        let (cache, _guard) = Cache::ephemeral().unwrap();
        let live = cache.temp_file().unwrap();
        // pid_max is at most 2^22 on Linux: this pid cannot be running.
        let dead = cache.tmp_dir().join(format!("{TEMP_PREFIX}4294967-abc"));
        fs::write(&dead, b"half a blob").unwrap();
        let cache = Cache::open(cache.root()).unwrap();
        assert!(!dead.exists());
        assert!(live.path().exists());
        drop(cache);
    }

    #[test]
    fn new_cache_is_private_and_shared_ones_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("a/b/pyko-cache");
        Cache::open(&root).unwrap();
        assert_eq!(fs::metadata(&root).unwrap().mode() & 0o777, 0o700);

        // A cache planted world-writable in a shared TMPDIR.
        let planted = t.path().join("planted");
        fs::create_dir(&planted).unwrap();
        fs::set_permissions(&planted, fs::Permissions::from_mode(0o777)).unwrap();
        let err = Cache::open(&planted).unwrap_err().to_string();
        assert!(
            err.contains("0777") && err.contains("chmod go-w") && err.contains("--cache-dir"),
            "{err}"
        );
        assert!(!planted.join("blobs").exists(), "nothing written into it");

        // One owned by another user: as root, give it away; otherwise a
        // root-owned directory stands in for it.
        let foreign = if rustix::process::geteuid().is_root() {
            let d = t.path().join("foreign");
            fs::create_dir(&d).unwrap();
            std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
            d
        } else {
            PathBuf::from("/")
        };
        let err = Cache::open(&foreign).unwrap_err().to_string();
        assert!(
            err.contains("not by you") && err.contains("--cache-dir"),
            "{err}"
        );
    }

    #[test]
    fn wrong_size_is_evicted() {
        let (cache, _guard) = Cache::ephemeral().unwrap();
        let (d, p) = cache.put_bytes(b"hello").unwrap();
        fs::write(&p, b"hell").unwrap();
        assert!(cache.get(&d, Some(5)).is_none());
        assert!(!p.exists());
    }
}
