//! What a SIGINT, SIGTERM or SIGHUP must not leave behind. Outputs are
//! written aside and renamed into place, but a signal's default action ends
//! the process before any destructor runs, so the half-written tarball or
//! layout beside the user's destination would stay forever. Each output
//! registers its temp path here while it exists; on a signal they are
//! removed and the process exits with 128 + the signal, as a shell reports
//! it. Cache temp files need none of this: the next build sweeps them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Catches the signals on a thread of their own (never in a signal
/// handler, where removing files is not allowed). Called once, by the
/// binary; a library user keeps its own signal policy.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("pyko-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                remove_pending();
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

fn remove_pending() {
    // A panicking writer may have poisoned the lock: its paths still go.
    let pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    for p in pending.iter() {
        let _ = std::fs::remove_file(p).or_else(|_| std::fs::remove_dir_all(p));
    }
}

/// A temp path removed on a signal for as long as this guard lives; drop it
/// once the path is renamed into place (or removed).
#[must_use]
pub struct Pending(PathBuf);

pub fn pending(path: &Path) -> Pending {
    let mut list = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    list.push(path.to_path_buf());
    Pending(path.to_path_buf())
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut list = PENDING.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = list.iter().position(|p| *p == self.0) {
            list.swap_remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_paths_are_removed_until_their_guard_drops() {
        let t = tempfile::tempdir().unwrap();
        let (file, dir, done) = (t.path().join("f"), t.path().join("d"), t.path().join("g"));
        std::fs::write(&file, "x").unwrap();
        std::fs::create_dir_all(dir.join("blobs")).unwrap();
        std::fs::write(&done, "x").unwrap();
        let _f = pending(&file);
        let _d = pending(&dir);
        drop(pending(&done));
        remove_pending();
        assert!(!file.exists() && !dir.exists());
        assert!(done.exists(), "a path whose guard dropped is left alone");
    }
}
