//! Reproducible images and the cache, as CI sees them: two fresh checkouts
//! of the same app (different mtimes, creation order, inodes and umask) and
//! two different caches give the same manifest digest; an app-only change
//! rebuilds and uploads only the app layer, the config and the manifest.
//!
//! Modes are recorded as git stores them (0644, 0755 when the owner may
//! execute, directories 0755), so a checkout made with umask 077 is the same
//! image as one made with 022, and a non-root user can read the app. What
//! must not matter either is everything else the filesystem remembers:
//! mtimes, atimes, ctimes, inode and directory order.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::fixtures::{self, Flavour};
use crate::common::image::layout_digest;
use crate::common::registry::Registry;
use crate::common::run::{pyko, pyko_cmd};

fn ok(out: &Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "pyko failed ({}):\n{stderr}",
        out.status
    );
    (String::from_utf8(out.stdout.clone()).unwrap(), stderr)
}

/// Copy 1 of the app: a plain recursive copy, files in name order.
fn copy_plain(src: &Path, dest: &Path) {
    let st = Command::new("cp")
        .arg("-r")
        .arg(src)
        .arg(dest)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Copy 2: files created in reverse name order (so inode and directory
/// order differ), after a detour through a scratch file (new inode numbers),
/// and every timestamp moved to another century with `touch -d`.
fn copy_scrambled(src: &Path, dest: &Path) {
    std::fs::create_dir(dest).unwrap();
    std::fs::write(dest.join("zz-scratch"), b"x").unwrap();
    let mut names: Vec<PathBuf> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.reverse();
    for p in &names {
        assert!(p.is_file(), "the example app is flat: {}", p.display());
        let to = dest.join(p.file_name().unwrap());
        std::fs::write(&to, std::fs::read(p).unwrap()).unwrap();
        let mode = std::fs::metadata(p).unwrap().permissions();
        std::fs::set_permissions(&to, mode).unwrap();
    }
    std::fs::remove_file(dest.join("zz-scratch")).unwrap();
    for p in std::fs::read_dir(dest)
        .unwrap()
        .map(|e| e.unwrap().path())
        .chain([dest.to_path_buf()])
    {
        let st = Command::new("touch")
            .args(["-d", "2001-02-03 04:05:06"])
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

fn build(reg: &Registry, base: &str, app: &Path, cache: &Path, dest: &str) -> (String, String) {
    let (stdout, stderr) = ok(&pyko(
        &[
            "build",
            "--from",
            base,
            "--wheels",
            fixtures::wheelhouse().to_str().unwrap(),
            "--app",
            app.to_str().unwrap(),
            "--port",
            "8501",
            "--cmd",
            "streamlit run app.py",
            "--push",
            &format!("{}/{dest}", reg.host),
        ],
        cache,
    ));
    let digest = stdout
        .trim()
        .rsplit_once('@')
        .unwrap_or_else(|| panic!("stdout: {stdout:?}"))
        .1
        .to_string();
    (digest, stderr)
}

fn layers(reg: &Registry, reference: &str) -> Vec<String> {
    let m = fixtures::inspect_raw(reg, reference);
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// Requests of `method` whose path contains `part`, in access-log lines
/// (`"PUT /v2/… HTTP/1.1" 201`) after byte `from`.
fn requests(log: &str, from: usize, method: &str, part: &str) -> Vec<String> {
    log[from..]
        .lines()
        .filter_map(|l| {
            let start = l.find(&format!("\"{method} /v2/"))?;
            let req = &l[start + 1..];
            let path = req.split(' ').nth(1)?;
            path.contains(part)
                .then(|| path.replace("%3A", ":").replace("%3a", ":"))
        })
        .collect()
}

#[test]
fn same_inputs_same_digest_and_app_change_rebuilds_only_the_app_layer() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("checkout-a"), tmp.path().join("checkout-b"));
    copy_plain(&fixtures::example_app(), &a);
    copy_scrambled(&fixtures::example_app(), &b);

    // Two caches, so the second deps layer is really rebuilt from the wheels.
    let (cache_a, cache_b) = (tmp.path().join("cache-a"), tmp.path().join("cache-b"));
    let (d1, e1) = build(&reg, &base, &a, &cache_a, "demo/app:a");
    assert!(!e1.contains("(cached"), "fresh cache:\n{e1}");
    let (d2, e2) = build(&reg, &base, &b, &cache_b, "demo/app:b");
    assert!(!e2.contains("(cached"), "fresh cache:\n{e2}");
    assert_eq!(d1, d2, "same inputs, different checkout and cache");

    // One app file changes: only the app layer (the last) differs.
    let app_py = b.join("app.py");
    let mut src = std::fs::read_to_string(&app_py).unwrap();
    src.push_str("\n# a one-line change\n");
    std::fs::write(&app_py, src).unwrap();
    let log_before = reg.log().len();
    let (d3, e3) = build(&reg, &base, &b, &cache_b, "demo/app:c");
    assert_ne!(d3, d2);
    let deps_line = e3
        .lines()
        .find(|l| l.contains("deps layer"))
        .unwrap_or_else(|| panic!("no deps layer line:\n{e3}"));
    assert!(
        deps_line.contains("(cached"),
        "the deps layer must come from the cache (no wheel unzipped, nothing compressed): {deps_line}"
    );
    let repo = format!("{}/demo/app", reg.host);
    let (l2, l3) = (
        layers(&reg, &format!("{repo}@{d2}")),
        layers(&reg, &format!("{repo}@{d3}")),
    );
    assert_eq!(l2.len(), l3.len());
    let n = l2.len();
    assert_eq!(l2[..n - 1], l3[..n - 1], "base and deps layers unchanged");
    assert_ne!(l2[n - 1], l3[n - 1], "app layer changed");

    // Uploads after the change: the new app layer and the new config, then
    // the manifest. Nothing else is sent (HEAD finds the rest).
    let log = reg.log();
    let blob_puts = requests(&log, log_before, "PUT", "/blobs/uploads/");
    assert_eq!(blob_puts.len(), 2, "blob uploads: {blob_puts:#?}");
    assert!(
        blob_puts.iter().any(|p| p.contains(&l3[n - 1])),
        "app layer uploaded: {blob_puts:#?}"
    );
    let posts = requests(&log, log_before, "POST", "/blobs/uploads/");
    assert_eq!(posts.len(), 2, "upload sessions: {posts:#?}");
    let manifest_puts = requests(&log, log_before, "PUT", "/manifests/");
    assert_eq!(manifest_puts, vec!["/v2/demo/app/manifests/c".to_string()]);
}

fn sh(script: &str, args: &[&Path]) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `git clone` of `repo` into `dest` under `umask`, without the `.git`
/// directory (its index records inodes and times, which no image wants).
fn checkout(umask: &str, repo: &Path, dest: &Path) {
    sh(
        &format!("umask {umask} && git clone -q \"$1\" \"$2\" && rm -rf \"$2/.git\""),
        &[repo, dest],
    );
}

#[test]
fn umask_077_and_022_checkouts_give_one_image_readable_by_uid_1000() {
    fixtures::require_tool("git");
    let tmp = tempfile::tempdir().unwrap();
    // A repository of the example app plus a package directory and an
    // executable script, so directory and execute bits are both exercised.
    let repo = tmp.path().join("repo");
    copy_plain(&fixtures::example_app(), &repo);
    std::fs::create_dir(repo.join("pkg")).unwrap();
    std::fs::write(repo.join("pkg/__init__.py"), "VALUE = 42\n").unwrap();
    std::fs::write(repo.join("run.sh"), "#!/bin/sh\necho run\n").unwrap();
    sh(
        "cd \"$1\" && chmod 755 run.sh && git init -q && git add -A && \
         git -c user.name=t -c user.email=t@t commit -qm app",
        &[&repo],
    );
    let (strict, usual) = (tmp.path().join("umask-077"), tmp.path().join("umask-022"));
    checkout("077", &repo, &strict);
    checkout("022", &repo, &usual);
    let mode = |p: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
            & 0o777
    };
    assert_eq!(mode(&strict.join("app.py")), 0o600, "the umask took effect");
    assert_eq!(mode(&strict.join("pkg")), 0o700);
    assert_eq!(mode(&usual.join("app.py")), 0o644);

    // A few small wheels keep the image small enough to unpack quickly.
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    for p in std::fs::read_dir(fixtures::wheelhouse()).unwrap() {
        let p = p.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if n.starts_with("packaging-") || n.starts_with("idna-") {
            std::fs::copy(&p, wheels.join(n)).unwrap();
        }
    }
    let base = format!(
        "oci-layout:{}:{}",
        fixtures::base_layout(Flavour::Slim).display(),
        fixtures::BASE_TAG
    );
    let build = |app: &Path, name: &str| {
        let layout = tmp.path().join(format!("layout-{name}"));
        let out = pyko_cmd(&tmp.path().join(format!("cache-{name}")))
            .args(["build", "--from", &base, "--wheels"])
            .arg(&wheels)
            .arg("--app")
            .arg(app)
            .args(["--cmd", "python3 app.py", "--oci-layout"])
            .arg(&layout)
            .args(["--tag", "app"])
            .output()
            .unwrap();
        ok(&out);
        layout
    };
    let (l1, l2) = (build(&strict, "077"), build(&usual, "022"));
    assert_eq!(
        layout_digest(&l1),
        layout_digest(&l2),
        "umask 077 and 022 checkouts must give one image"
    );

    // `--user 1000`: the app, as a non-root user with no group in common
    // with root, reads its files and lists its directories.
    let rootfs = fixtures::unpack_oci(&l1, "app");
    let app = rootfs.path().join("app");
    assert_eq!(mode(&app.join("app.py")), 0o644);
    assert_eq!(mode(&app.join("pkg")), 0o755);
    assert_eq!(mode(&app.join("pkg/__init__.py")), 0o644);
    assert_eq!(mode(&app.join("run.sh")), 0o755);
    let out = Command::new(fixtures::require_tool("chroot"))
        .arg("--userspec=1000:1000")
        .arg(rootfs.path())
        .args([
            "/bin/sh",
            "-c",
            "cd /app && cat app.py requirements.txt >/dev/null && ls pkg && \
             PYTHONDONTWRITEBYTECODE=1 python3 -c 'import pkg; print(pkg.VALUE)' && ./run.sh",
        ])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "uid 1000 in the image: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "__init__.py\n42\nrun\n");
}
