//! Where a file that `RUN pip install -r PATH` names came from. In docker
//! the path is read inside the image, so it exists only if an earlier COPY
//! put it there; pyko reads the same file from the build context instead,
//! never from the build machine's own filesystem (an absolute path such as
//! `/etc/passwd`, or `../secrets.txt`, must not reach the requirements
//! reader).

use std::path::{Path, PathBuf};

use crate::layer::copy::CopyOp;
use crate::oci::path::clean;

/// The context file that is at `path` (relative to `workdir`) in the image
/// after `copies` (in order) and, when `context_at` is `Some(n)`, a
/// `COPY . <workdir>` that came after the first `n` copies.
pub(super) fn context_file(
    path: &str,
    workdir: &str,
    copies: &[CopyOp],
    context_at: Option<(usize, &str)>,
    context: &Path,
) -> Result<PathBuf, String> {
    let in_image = clean(&if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", workdir.trim_end_matches('/'))
    });
    // Later copies win, as later layers do.
    let mut found = None;
    for (i, op) in copies.iter().enumerate() {
        if let Some((at, app_dest)) = context_at {
            if i == at {
                found = under(&in_image, app_dest, ".").or(found);
            }
        }
        for src in &op.sources {
            let dest = if op.dest_is_dir {
                // A file source lands under its own name; a directory's
                // contents land in the destination: both are covered by
                // trying the name and the contents.
                let name = Path::new(src)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                let as_file = name.and_then(|n| {
                    (clean(&format!("{}/{n}", op.dest)) == in_image).then(|| src.clone())
                });
                as_file.or_else(|| under(&in_image, &op.dest, src))
            } else {
                under(&in_image, &op.dest, src)
            };
            found = dest.or(found);
        }
    }
    if let Some((at, app_dest)) = context_at {
        if at >= copies.len() {
            found = under(&in_image, app_dest, ".").or(found);
        }
    }
    let rel = found.ok_or_else(|| {
        format!("{path}: no earlier COPY puts this file in the image (it would be {in_image}); pyko reads requirements from the build context only: COPY it first (e.g. `COPY requirements.txt .`)")
    })?;
    let rel = clean(&rel);
    if rel == ".." || rel.starts_with("../") || rel.starts_with('/') {
        return Err(format!(
            "{path}: comes from {rel}, outside the build context"
        ));
    }
    let dir = std::path::absolute(context).unwrap_or_else(|_| context.to_path_buf());
    let file = dir.join(rel.trim_start_matches("./"));
    // A link inside the context must not lead out of it either.
    if let (Ok(real), Ok(root)) = (file.canonicalize(), dir.canonicalize()) {
        if !real.starts_with(&root) {
            return Err(format!(
                "{path}: {} leads outside the build context (to {})",
                file.display(),
                real.display()
            ));
        }
    }
    Ok(file)
}

/// `in_image` under `dest` → the same relative path under `src`.
fn under(in_image: &str, dest: &str, src: &str) -> Option<String> {
    let dest = clean(dest);
    let rest = if in_image == dest {
        ""
    } else {
        in_image.strip_prefix(&format!("{}/", dest.trim_end_matches('/')))?
    };
    Some(match (src.trim_end_matches('/'), rest) {
        (s, "") => s.to_string(),
        (".", r) => r.to_string(),
        (s, r) => format!("{s}/{r}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(sources: &[&str], dest: &str, dest_is_dir: bool) -> CopyOp {
        CopyOp {
            origin: "Dockerfile:2".into(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            dest: dest.into(),
            dest_is_dir,
            owner: None,
            mode: None,
            add: false,
        }
    }

    #[test]
    fn paths_map_back_through_the_copies() {
        let ctx = Path::new("/ctx");
        let app = Some((0, "/app"));
        let f = |p: &str, copies: &[CopyOp], at| context_file(p, "/app", copies, at, ctx);
        assert_eq!(
            f("requirements.txt", &[], app).unwrap(),
            ctx.join("requirements.txt")
        );
        assert_eq!(
            f("/app/req/base.txt", &[], app).unwrap(),
            ctx.join("req/base.txt")
        );
        let copies = [
            op(&["deps/prod.txt"], "/tmp/", true),
            op(&["reqs"], "/opt/reqs", false),
            op(&["one.txt"], "/r.txt", false),
        ];
        assert_eq!(
            f("/tmp/prod.txt", &copies, None).unwrap(),
            ctx.join("deps/prod.txt")
        );
        assert_eq!(
            f("/opt/reqs/a.txt", &copies, None).unwrap(),
            ctx.join("reqs/a.txt")
        );
        assert_eq!(f("../r.txt", &copies, None).unwrap(), ctx.join("one.txt"));
        // Read inside the image in docker: nothing put it there.
        let e = f("/etc/passwd", &copies, app).unwrap_err();
        assert!(
            e.contains("no earlier COPY") && e.contains("/etc/passwd"),
            "{e}"
        );
        assert!(f("requirements.txt", &copies, None).is_err());
        // A COPY whose source climbs out of the context.
        let e = f("/x.txt", &[op(&["../x.txt"], "/x.txt", false)], None).unwrap_err();
        assert!(e.contains("outside the build context"), "{e}");
    }

    #[test]
    fn a_relative_context_gives_absolute_paths() {
        let got = context_file(
            "requirements.txt",
            "/app",
            &[],
            Some((0, "/app")),
            Path::new("ctx"),
        );
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(got.unwrap(), cwd.join("ctx/requirements.txt"));
    }

    #[test]
    fn a_link_out_of_the_context_is_refused() {
        let t = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", t.path().join("req.txt")).unwrap();
        let e = context_file("req.txt", "/app", &[], Some((0, "/app")), t.path()).unwrap_err();
        assert!(e.contains("outside the build context"), "{e}");
    }
}
