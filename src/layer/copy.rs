//! Dockerfile `COPY`/`ADD` of local paths other than `COPY . .`, with
//! Docker's semantics: a relative destination is under WORKDIR (resolved by
//! the parser), a destination ending in `/` is a directory, a directory
//! source copies its contents, `--chown`/`--chmod` apply to everything
//! copied. `.dockerignore` applies to the context as for `COPY . .`.
//!
//! All copies land in the app layer, in Dockerfile order: a later copy of
//! the same path replaces the earlier one, as a later layer would.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::dockerignore::{clean, DockerIgnore};
use super::scope::resolve_in_context;
use super::{Entry, LayerError, Node};

/// One `COPY`/`ADD` instruction of local paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyOp {
    /// `Dockerfile:5: COPY a b`, for errors.
    pub origin: String,
    /// Paths relative to the build context, as written.
    pub sources: Vec<String>,
    /// Absolute destination (WORKDIR already applied).
    pub dest: String,
    /// The destination names a directory (it ended in `/`, or is `.`).
    pub dest_is_dir: bool,
    /// `--chown` (numeric); `None` is 0:0.
    pub owner: Option<(u64, u64)>,
    /// `--chmod`: replaces the permission bits of copied files and dirs.
    pub mode: Option<u32>,
    /// `ADD`: pyko refuses local archives rather than silently not
    /// extracting them.
    pub add: bool,
}

/// Every copy of a Dockerfile plus where `COPY . .` sits among them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Copies {
    pub context: PathBuf,
    pub ops: Vec<CopyOp>,
    /// How many of `ops` come before the `COPY . .` (the app entries).
    pub app_at: usize,
    /// The Dockerfile, whose own `NAME.dockerignore` beside it wins over the
    /// context's `.dockerignore`.
    pub dockerfile: Option<PathBuf>,
}

fn fail(op: &CopyOp, message: String) -> LayerError {
    LayerError::Copy {
        origin: op.origin.clone(),
        message,
    }
}

/// The app layer's entries: the copies before `COPY . .`, the app
/// entries (if any), then the rest; a later path replaces an earlier one.
pub fn combine(app: Option<Vec<Entry>>, copies: &Copies) -> Result<Vec<Entry>, LayerError> {
    let ignore = DockerIgnore::for_build(&copies.context, copies.dockerfile.as_deref())?;
    let mut by_path: BTreeMap<String, Entry> = BTreeMap::new();
    let mut add = |entries: Vec<Entry>| {
        for e in entries {
            by_path.insert(e.path.trim_end_matches('/').to_string(), e);
        }
    };
    let at = copies.app_at.min(copies.ops.len());
    for op in &copies.ops[..at] {
        add(copy_entries(&copies.context, op, &ignore)?);
    }
    if let Some(app) = app {
        add(app);
    }
    for op in &copies.ops[at..] {
        add(copy_entries(&copies.context, op, &ignore)?);
    }
    Ok(by_path.into_values().collect())
}

fn is_archive(path: &Path) -> std::io::Result<bool> {
    let mut head = Vec::with_capacity(512);
    fs::File::open(path)?.take(512).read_to_end(&mut head)?;
    let magic: [&[u8]; 5] = [
        b"\x1f\x8b",
        b"BZh",
        b"\xfd7zXZ\x00",
        b"\x28\xb5\x2f\xfd",
        b"\x5d\x00\x00",
    ];
    Ok(
        magic.iter().any(|m| head.starts_with(m))
            || head.get(257..262) == Some(b"ustar".as_slice()),
    )
}

/// The entries one `COPY`/`ADD` puts in the image.
pub fn copy_entries(
    context: &Path,
    op: &CopyOp,
    ignore: &DockerIgnore,
) -> Result<Vec<Entry>, LayerError> {
    if op.sources.len() > 1 && !op.dest_is_dir {
        return Err(fail(
            op,
            format!(
                "with more than one source the destination must be a directory ending in `/` (write `{}/`)",
                op.dest
            ),
        ));
    }
    let dest = clean(&format!("/{}", op.dest));
    let dest = dest.trim_start_matches('/');
    let join = |a: &str, b: &str| match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    };
    let mut out = Vec::new();
    for src in &op.sources {
        if src.contains(['*', '?', '[']) {
            return Err(fail(
                op,
                format!("wildcard source {src:?} is not supported; list the files"),
            ));
        }
        // Docker reads absolute sources relative to the context too.
        let rel = clean(&format!("/{src}"))
            .trim_start_matches('/')
            .to_string();
        if clean(src).starts_with("..") {
            return Err(fail(
                op,
                format!("source {src:?} is outside the build context"),
            ));
        }
        let written = rel;
        let context = fs::canonicalize(context).map_err(|error| LayerError::Unreadable {
            path: context.to_path_buf(),
            error,
        })?;
        let rel = resolve_in_context(&context, &written).map_err(|m| fail(op, m))?;
        for r in [&written, &rel] {
            if !r.is_empty() && ignore.excluded(r) {
                return Err(fail(
                    op,
                    format!("source {src:?} is excluded by .dockerignore ({r})"),
                ));
            }
        }
        let path = context.join(&rel);
        let meta = fs::metadata(&path).map_err(|e| {
            fail(
                op,
                format!(
                    "source {src:?} not found in the build context {} ({e})",
                    context.display()
                ),
            )
        })?;
        if meta.is_dir() {
            let mut d = Entry::dir(dest.to_string(), op.mode.unwrap_or(0o755));
            d.owner = op.owner;
            if !dest.is_empty() {
                out.push(d);
            }
            let mut walk = walkdir::WalkDir::new(&path)
                .min_depth(1)
                .sort_by_file_name()
                .into_iter();
            while let Some(item) = walk.next() {
                let item = item.map_err(|e| {
                    let path = e.path().unwrap_or(&path).to_path_buf();
                    let source = e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("filesystem loop"));
                    LayerError::Unreadable {
                        path,
                        error: source,
                    }
                })?;
                let sub = item
                    .path()
                    .strip_prefix(&path)
                    .expect("walkdir yields paths under its root")
                    .to_str()
                    .ok_or_else(|| LayerError::NonUtf8Path {
                        path: item.path().to_path_buf(),
                    })?
                    .to_string();
                let ft = item.file_type();
                if ignore.excluded(&join(&rel, &sub)) {
                    if ft.is_dir() && !ignore.may_reinclude_below(&join(&rel, &sub)) {
                        walk.skip_current_dir();
                    }
                    continue;
                }
                let mut e = super::app::entry_for(item.path(), join(dest, &sub))?;
                if !matches!(e.node, Node::Symlink { .. }) {
                    e.mode = op.mode.unwrap_or(e.mode);
                }
                e.owner = op.owner;
                out.push(e);
            }
        } else {
            if op.add
                && is_archive(&path).map_err(|error| LayerError::Unreadable {
                    path: path.clone(),
                    error,
                })?
            {
                return Err(fail(
                    op,
                    format!("{src:?} is an archive, which ADD would extract; pyko does not extract archives: unpack it into the context and COPY the directory, or use COPY to copy the archive file itself"),
                ));
            }
            let name = Path::new(&rel)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let target = if op.dest_is_dir {
                join(dest, name)
            } else {
                dest.to_string()
            };
            if target.is_empty() {
                return Err(fail(op, "cannot copy a file onto `/`".into()));
            }
            let mut e = super::app::entry_for(&path, target)?;
            e.mode = op.mode.unwrap_or(e.mode);
            e.owner = op.owner;
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn context() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        let write = |rel: &str, mode: u32| {
            let f = p.join(rel);
            fs::create_dir_all(f.parent().unwrap()).unwrap();
            fs::write(&f, rel).unwrap();
            fs::set_permissions(&f, fs::Permissions::from_mode(mode)).unwrap();
        };
        write("requirements.txt", 0o644);
        write("a.txt", 0o600);
        write("b.txt", 0o644);
        write("src/main.py", 0o644);
        write("src/pkg/util.py", 0o755);
        write("src/pkg/__pycache__/util.pyc", 0o644);
        write("secret.env", 0o600);
        std::os::unix::fs::symlink("main.py", p.join("src/link.py")).unwrap();
        fs::write(p.join(".dockerignore"), "**/__pycache__\nsecret.env\n").unwrap();
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_cksum();
        tar.append_data(&mut h, "x", &b"x"[..]).unwrap();
        fs::write(p.join("bundle.tar"), tar.into_inner().unwrap()).unwrap();
        t
    }

    fn op(sources: &[&str], dest: &str, dir: bool) -> CopyOp {
        CopyOp {
            origin: "Dockerfile:3: COPY x".into(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            dest: dest.into(),
            dest_is_dir: dir,
            owner: None,
            mode: None,
            add: false,
        }
    }

    /// (path, kind, mode, owner)
    type Row = (String, String, u32, Option<(u64, u64)>);

    fn summary(entries: &[Entry]) -> Vec<Row> {
        let mut v: Vec<_> = entries
            .iter()
            .map(|e| {
                let kind = match &e.node {
                    Node::Dir => "d".to_string(),
                    Node::File { size, .. } => format!("f{size}"),
                    Node::Symlink { target } => format!("l{target}"),
                };
                (e.path.clone(), kind, e.mode, e.owner)
            })
            .collect();
        v.sort();
        v
    }

    fn run(t: &tempfile::TempDir, op: &CopyOp) -> Result<Vec<Entry>, LayerError> {
        let ignore = DockerIgnore::load(t.path()).unwrap();
        copy_entries(t.path(), op, &ignore)
    }

    fn s(p: &str, k: &str, m: u32, o: Option<(u64, u64)>) -> Row {
        (p.into(), k.into(), m, o)
    }

    #[test]
    fn file_into_directory_and_onto_a_name() {
        let t = context();
        let got = run(&t, &op(&["requirements.txt"], "/app", true)).unwrap();
        assert_eq!(
            summary(&got),
            vec![s("app/requirements.txt", "f16", 0o644, None)]
        );
        // a.txt is 0600 on disk (a umask-077 checkout): git's 0644 in the image.
        let got = run(&t, &op(&["./a.txt"], "/etc/renamed.txt", false)).unwrap();
        assert_eq!(summary(&got), vec![s("etc/renamed.txt", "f5", 0o644, None)]);
    }

    #[test]
    fn directory_copies_its_contents_with_dockerignore() {
        let t = context();
        let got = run(&t, &op(&["src/"], "/app/src", true)).unwrap();
        assert_eq!(
            summary(&got),
            vec![
                s("app/src", "d", 0o755, None),
                s("app/src/link.py", "lmain.py", 0o777, None),
                s("app/src/main.py", "f11", 0o644, None),
                s("app/src/pkg", "d", 0o755, None),
                s("app/src/pkg/util.py", "f15", 0o755, None),
            ]
        );
        // Not `app/src/src/...`: the directory itself is not copied.
        let got = run(&t, &op(&["src"], "/opt", false)).unwrap();
        assert!(got.iter().any(|e| e.path == "opt/main.py"));
    }

    #[test]
    fn several_sources_need_a_directory_destination() {
        let t = context();
        let mut o = op(&["a.txt", "b.txt"], "/dest", true);
        o.owner = Some((1000, 1000));
        o.mode = Some(0o640);
        let got = run(&t, &o).unwrap();
        assert_eq!(
            summary(&got),
            vec![
                s("dest/a.txt", "f5", 0o640, Some((1000, 1000))),
                s("dest/b.txt", "f5", 0o640, Some((1000, 1000))),
            ]
        );
        let err = run(&t, &op(&["a.txt", "b.txt"], "/dest", false))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("Dockerfile:3") && err.contains("ending in `/`"),
            "{err}"
        );
    }

    #[test]
    fn chown_and_chmod_apply_to_copied_dirs_and_files() {
        let t = context();
        let mut o = op(&["src"], "/srv", true);
        o.owner = Some((1, 2));
        o.mode = Some(0o700);
        let got = run(&t, &o).unwrap();
        for e in &got {
            assert_eq!(e.owner, Some((1, 2)), "{}", e.path);
            let want = if matches!(e.node, Node::Symlink { .. }) {
                0o777
            } else {
                0o700
            };
            assert_eq!(e.mode, want, "{}", e.path);
        }
    }

    #[test]
    fn errors_name_the_line() {
        let t = context();
        for (o, what) in [
            (op(&["missing.txt"], "/x", true), "not found"),
            (op(&["secret.env"], "/x", true), "excluded by .dockerignore"),
            (
                op(&["../etc/passwd"], "/x", true),
                "outside the build context",
            ),
            (op(&["*.txt"], "/x", true), "wildcard"),
            (
                CopyOp {
                    add: true,
                    ..op(&["bundle.tar"], "/x/", true)
                },
                "ADD would extract",
            ),
        ] {
            let err = run(&t, &o).err().unwrap().to_string();
            assert!(
                err.contains("Dockerfile:3: COPY x") && err.contains(what),
                "{err}"
            );
        }
        // COPY of an archive copies the file.
        run(&t, &op(&["bundle.tar"], "/x/", true)).unwrap();
    }

    #[test]
    fn later_copies_replace_earlier_and_app_entries() {
        let t = context();
        let app = super::super::app::app_entries(t.path(), "/app", None).unwrap();
        let mut late = op(&["a.txt"], "/app/a.txt", false);
        late.mode = Some(0o444);
        let copies = Copies {
            context: t.path().to_path_buf(),
            ops: vec![op(&["b.txt"], "/app/a.txt", false), late],
            app_at: 1,
            dockerfile: None,
        };
        let got = combine(Some(app), &copies).unwrap();
        let a: Vec<_> = got.iter().filter(|e| e.path == "app/a.txt").collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].mode, 0o444);
        let (cache, _g) = crate::cache::Cache::ephemeral().unwrap();
        crate::layer::write_layer(got, &Default::default(), &cache).unwrap();
    }
}
