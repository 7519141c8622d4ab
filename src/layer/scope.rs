//! COPY sources resolved inside the build context, as Docker resolves them.

use std::fs;
use std::path::Path;

/// `rel` (cleaned, relative to `context`, which is canonical) with every
/// symlink on the way resolved inside the context, as Docker resolves COPY
/// sources: an absolute link target is read from the context root (or,
/// when it names a path under the context itself, as that path), and a
/// link climbing above the root is refused. Without this a link such as
/// `cfg -> ~/.docker/config.json` would ship the user's credentials.
pub(super) fn resolve_in_context(context: &Path, rel: &str) -> Result<String, String> {
    let mut todo: Vec<String> = rel.split('/').rev().map(str::to_string).collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = todo.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                if done.pop().is_none() {
                    return Err(format!("source {rel:?} is outside the build context"));
                }
                continue;
            }
            _ => {}
        }
        let here = context.join(done.join("/")).join(&part);
        let Ok(target) = fs::read_link(&here) else {
            done.push(part);
            continue;
        };
        hops += 1;
        if hops > 40 {
            return Err(format!("source {rel:?}: too many levels of symbolic links"));
        }
        let target = target
            .to_str()
            .ok_or_else(|| {
                format!(
                    "source {rel:?}: {} links to a non-UTF-8 path",
                    here.display()
                )
            })?
            .to_string();
        let outside = || {
            format!(
                "source {rel:?} is a symbolic link ({} -> {target}) that leads outside the build context {}; Docker never follows it out: copy what it points to into the context",
                here.display(),
                context.display()
            )
        };
        let rest = if let Some(abs) = target.strip_prefix('/') {
            let rooted = match Path::new(&target).strip_prefix(context) {
                Ok(inside) => inside.to_str().unwrap_or_default().to_string(),
                Err(_) => abs.to_string(),
            };
            if !Path::new(&target).starts_with(context) && !context.join(&rooted).exists() {
                return Err(outside());
            }
            done.clear();
            rooted
        } else {
            let mut depth = done.len() as isize;
            for c in target.split('/') {
                match c {
                    "" | "." => {}
                    ".." => depth -= 1,
                    _ => depth += 1,
                }
                if depth < 0 {
                    return Err(outside());
                }
            }
            target
        };
        todo.extend(rest.split('/').rev().map(str::to_string));
    }
    Ok(done.join("/"))
}

#[cfg(test)]
mod escape_tests {
    use super::super::copy::{copy_entries, CopyOp};
    use super::super::dockerignore::DockerIgnore;
    use super::super::{Entry, LayerError};
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    fn op(src: &str) -> CopyOp {
        CopyOp {
            origin: "Dockerfile:2: COPY x".into(),
            sources: vec![src.into()],
            dest: "/app/".into(),
            dest_is_dir: true,
            owner: None,
            mode: None,
            add: false,
        }
    }

    fn run(ctx: &Path, src: &str) -> Result<Vec<Entry>, LayerError> {
        copy_entries(ctx, &op(src), &DockerIgnore::load(ctx).unwrap())
    }

    #[test]
    fn links_out_of_the_context_are_refused_naming_the_source() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("home");
        fs::create_dir_all(outside.join("etc")).unwrap();
        fs::write(outside.join("config.json"), "secret").unwrap();
        fs::write(outside.join("etc/passwd"), "root").unwrap();
        let ctx = t.path().join("ctx");
        fs::create_dir(&ctx).unwrap();
        symlink(outside.join("config.json"), ctx.join("cfg")).unwrap();
        symlink("../home/config.json", ctx.join("rel")).unwrap();
        symlink(outside.join("etc"), ctx.join("sub")).unwrap();
        for src in ["cfg", "rel", "sub/passwd", "sub", "./sub/../cfg"] {
            let err = run(&ctx, src).err().map(|e| e.to_string());
            let err = err.unwrap_or_else(|| panic!("{src} copied from outside the context"));
            assert!(
                err.contains("Dockerfile:2") && err.contains("outside the build context"),
                "{src}: {err}"
            );
        }
    }

    #[test]
    fn links_inside_the_context_resolve_and_dockerignore_sees_the_target() {
        let t = tempfile::tempdir().unwrap();
        let ctx = t.path();
        fs::create_dir_all(ctx.join("real/deep")).unwrap();
        fs::write(ctx.join("real/deep/f.txt"), "f").unwrap();
        fs::write(ctx.join("secret.env"), "s").unwrap();
        fs::write(ctx.join(".dockerignore"), "secret.env\n").unwrap();
        symlink("real", ctx.join("dir")).unwrap();
        symlink("/real/deep", ctx.join("abs")).unwrap();
        symlink("secret.env", ctx.join("alias")).unwrap();
        let got = run(ctx, "dir/deep/f.txt").unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, "app/f.txt");
        // An absolute link target is read from the context root, as Docker
        // reads it.
        let got = run(ctx, "abs").unwrap();
        assert!(got.iter().any(|e| e.path == "app/f.txt"));
        let err = run(ctx, "alias").err().unwrap().to_string();
        assert!(err.contains("excluded by .dockerignore"), "{err}");
    }
}
