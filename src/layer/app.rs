//! The application directory as layer entries: what `WORKDIR <workdir>` +
//! `COPY . .` put in an image, `.dockerignore` included.
//!
//! Modes are recorded as git stores them, not as the checkout's umask left
//! them: a regular file is 0644, or 0755 when its owner may execute it, and
//! a directory is 0755. Two checkouts of one commit (umask 077 on one CI
//! runner, 022 on another) then give one image, and a container running as
//! a non-root user can read its own app. Docker's `COPY` would keep 0600;
//! `COPY --chmod` still sets exact bits. Symlinks are copied as symlinks.
//! Anything that cannot be copied faithfully (an unreadable file, a socket,
//! a device) is an error naming it, never a silent skip: an image missing a
//! file fails much later.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::dockerignore::{clean, DockerIgnore};
use super::{DiskFile, Entry, LayerError, Node};

/// Entries for `app_dir` copied to `workdir` (absolute, e.g. `/app`), owned
/// by `owner` (as `COPY --chown`; `None` is 0:0). The workdir and its parents
/// are included as directories.
pub fn app_entries(
    app_dir: &Path,
    workdir: &str,
    owner: Option<(u64, u64)>,
) -> Result<Vec<Entry>, LayerError> {
    app_entries_ignoring(app_dir, workdir, owner, &DockerIgnore::load(app_dir)?)
}

/// [`app_entries`] with the ignore file already chosen (a Dockerfile's own
/// `NAME.Dockerfile.dockerignore` wins over the context's).
pub fn app_entries_ignoring(
    app_dir: &Path,
    workdir: &str,
    owner: Option<(u64, u64)>,
    ignore: &DockerIgnore,
) -> Result<Vec<Entry>, LayerError> {
    let workdir = clean(&format!("/{workdir}"));
    let dest = workdir.trim_start_matches('/');
    let mut entries = Vec::new();

    // The workdir (as WORKDIR creates it, owned like the copy so the app can
    // write there) and its parents (as the base would have them).
    if !dest.is_empty() {
        let mut prefix = String::new();
        for part in dest.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            let mut e = Entry::dir(prefix.clone(), 0o755);
            if prefix == dest {
                e.owner = owner;
            }
            entries.push(e);
        }
    }

    let mut walk = walkdir::WalkDir::new(app_dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(item) = walk.next() {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(app_dir).to_path_buf();
            let source = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("filesystem loop"));
            LayerError::Unreadable {
                path,
                error: source,
            }
        })?;
        let path = item.path();
        let rel = path
            .strip_prefix(app_dir)
            .expect("walkdir yields paths under its root")
            .to_str()
            .ok_or_else(|| LayerError::NonUtf8Path {
                path: path.to_path_buf(),
            })?
            .to_string();
        let ft = item.file_type();
        if ignore.excluded(&rel) {
            if ft.is_dir() && !ignore.may_reinclude_below(&rel) {
                walk.skip_current_dir();
            }
            continue;
        }
        let target = if dest.is_empty() {
            rel.clone()
        } else {
            format!("{dest}/{rel}")
        };
        let mut e = entry_for(path, target)?;
        e.owner = owner;
        entries.push(e);
    }
    Ok(entries)
}

/// One path on disk as a layer entry at `target`, owned by 0:0, with the
/// mode git would give it (see [`git_mode`]), symlinks kept as symlinks,
/// special files an error.
pub(super) fn entry_for(path: &Path, target: String) -> Result<Entry, LayerError> {
    let unreadable = |error| LayerError::Unreadable {
        path: path.to_path_buf(),
        error,
    };
    let mut meta = fs::symlink_metadata(path).map_err(unreadable)?;
    // A tar entry named `.wh.*` is a whiteout: the runtime would delete a
    // base file instead of adding this one, and no tar can say otherwise.
    if target
        .rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with(".wh."))
    {
        return Err(LayerError::SpecialFile {
            path: path.to_path_buf(),
            kind: "file named `.wh.*` (container runtimes read that name as deleting a file)",
        });
    }
    if meta.file_type().is_file() {
        // Opened without following links and described by the open file:
        // a file swapped for a symlink after the walk saw it is refused, not
        // followed out of the directory.
        let f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(
                (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
            )
            .open(path)
            .map_err(unreadable)?;
        let now = f.metadata().map_err(unreadable)?;
        if !now.is_file() || (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
            return Err(unreadable(std::io::Error::other(
                "it changed while being read (replaced by another file)",
            )));
        }
        meta = now;
    }
    let ft = meta.file_type();
    let mode = git_mode(ft.is_dir(), meta.permissions().mode());
    let node = if ft.is_dir() {
        Node::Dir
    } else if ft.is_file() {
        Node::File {
            size: meta.len(),
            contents: Box::new(DiskFile(path.to_path_buf())),
        }
    } else if ft.is_symlink() {
        let link = fs::read_link(path).map_err(|error| LayerError::Unreadable {
            path: path.to_path_buf(),
            error,
        })?;
        let target = link.to_str().ok_or_else(|| LayerError::NonUtf8Path {
            path: path.to_path_buf(),
        })?;
        Node::Symlink {
            target: target.to_string(),
        }
    } else {
        let kind = if ft.is_socket() {
            "socket"
        } else if ft.is_fifo() {
            "named pipe (FIFO)"
        } else if ft.is_block_device() {
            "block device"
        } else if ft.is_char_device() {
            "character device"
        } else {
            "special file"
        };
        return Err(LayerError::SpecialFile {
            path: path.to_path_buf(),
            kind,
        });
    };
    Ok(Entry {
        path: target,
        mode: if ft.is_symlink() { 0o777 } else { mode },
        node,
        owner: None,
    })
}

/// The mode git would check this out with: only the owner's execute bit of
/// a file survives (as git's 100755 vs 100644); the umask, group/other bits
/// and setuid/setgid/sticky do not.
pub(super) fn git_mode(is_dir: bool, mode: u32) -> u32 {
    if is_dir || mode & 0o100 != 0 {
        0o755
    } else {
        0o644
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        let write = |rel: &str, mode: u32| {
            let f = p.join(rel);
            fs::create_dir_all(f.parent().unwrap()).unwrap();
            fs::write(&f, rel).unwrap();
            fs::set_permissions(&f, fs::Permissions::from_mode(mode)).unwrap();
        };
        write("app.py", 0o644);
        write("run.sh", 0o755);
        write("Dockerfile", 0o644);
        write("pkg/__init__.py", 0o644);
        write("pkg/__pycache__/__init__.cpython-311.pyc", 0o644);
        write(".git/config", 0o644);
        write("data/big.bin", 0o600);
        write("data/keep.csv", 0o640);
        write("docs/a.md", 0o644);
        write("README.md", 0o644);
        fs::create_dir(p.join("empty")).unwrap();
        fs::set_permissions(p.join("empty"), fs::Permissions::from_mode(0o700)).unwrap();
        symlink("app.py", p.join("link.py")).unwrap();
        symlink("/nonexistent/target", p.join("dangling")).unwrap();
        fs::write(
            p.join(".dockerignore"),
            "# build context hygiene\n.git\n**/__pycache__\ndata\n!data/keep.csv\n*.md\n!README.md\n",
        )
        .unwrap();
        t
    }

    fn summary(entries: &[Entry]) -> Vec<(String, String, u32)> {
        let mut v: Vec<_> = entries
            .iter()
            .map(|e| {
                let kind = match &e.node {
                    Node::Dir => "d".to_string(),
                    Node::File { size, .. } => format!("f{size}"),
                    Node::Symlink { target } => format!("l{target}"),
                };
                (e.path.clone(), kind, e.mode)
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn copies_like_docker_copy_with_dockerignore() {
        let t = tree();
        let entries = app_entries(t.path(), "/srv/app/", Some((1000, 1000))).unwrap();
        let got = summary(&entries);
        let s = |p: &str, k: &str, m: u32| (p.to_string(), k.to_string(), m);
        let len = |rel: &str| format!("f{}", rel.len());
        assert_eq!(
            got,
            vec![
                s("srv", "d", 0o755),
                s("srv/app", "d", 0o755),
                s("srv/app/.dockerignore", "f80", 0o644),
                s("srv/app/Dockerfile", &len("Dockerfile"), 0o644),
                s("srv/app/README.md", &len("README.md"), 0o644),
                s("srv/app/app.py", &len("app.py"), 0o644),
                s("srv/app/dangling", "l/nonexistent/target", 0o777),
                // 0640 and 0700 on disk: modes as git stores them.
                s("srv/app/data/keep.csv", &len("data/keep.csv"), 0o644),
                s("srv/app/docs", "d", 0o755),
                // `*.md` matches at the root only, as in Docker.
                s("srv/app/docs/a.md", &len("docs/a.md"), 0o644),
                s("srv/app/empty", "d", 0o755),
                s("srv/app/link.py", "lapp.py", 0o777),
                s("srv/app/pkg", "d", 0o755),
                s("srv/app/pkg/__init__.py", &len("pkg/__init__.py"), 0o644),
                s("srv/app/run.sh", &len("run.sh"), 0o755),
            ]
        );
        let owner = |p: &str| entries.iter().find(|e| e.path == p).unwrap().owner;
        assert_eq!(owner("srv"), None);
        assert_eq!(owner("srv/app"), Some((1000, 1000)));
        assert_eq!(owner("srv/app/app.py"), Some((1000, 1000)));
    }

    #[test]
    fn modes_are_gits_whatever_the_umask() {
        for (disk, want) in [
            (0o600, 0o644),
            (0o640, 0o644),
            (0o666, 0o644),
            (0o700, 0o755),
            (0o744, 0o755),
            (0o4755, 0o755),
            (0o500, 0o755),
            (0o400, 0o644),
        ] {
            assert_eq!(git_mode(false, disk), want, "file {disk:o}");
        }
        for disk in [0o700, 0o755, 0o1777, 0o500] {
            assert_eq!(git_mode(true, disk), 0o755, "dir {disk:o}");
        }
    }

    #[test]
    fn root_workdir_and_layer_round_trip() {
        let t = tree();
        let entries = app_entries(t.path(), "/", None).unwrap();
        assert!(entries.iter().any(|e| e.path == "app.py"));
        assert!(!entries.iter().any(|e| e.path.is_empty()));
        let (cache, _g) = crate::cache::Cache::ephemeral().unwrap();
        let entries = app_entries(t.path(), "/app", None).unwrap();
        crate::layer::write_layer(entries, &Default::default(), &cache).unwrap();
    }

    #[test]
    fn special_files_are_errors_naming_them() {
        let t = tree();
        let sock = t.path().join("pkg/control.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let err = app_entries(t.path(), "/app", None).err().unwrap();
        assert!(
            matches!(err, LayerError::SpecialFile { kind: "socket", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("pkg/control.sock"), "{err}");
        // Ignored special files are fine, as in Docker.
        fs::write(t.path().join(".dockerignore"), "*.sock\n**/*.sock\n").unwrap();
        app_entries(t.path(), "/app", None).unwrap();
    }

    #[test]
    fn bad_dockerignore_names_file_and_line() {
        let t = tree();
        fs::write(t.path().join(".dockerignore"), "ok\n\n[oops\n").unwrap();
        let err = app_entries(t.path(), "/app", None).err().unwrap();
        let msg = err.to_string();
        assert!(
            msg.contains(".dockerignore:3") && msg.contains("[oops"),
            "{msg}"
        );
    }
}
