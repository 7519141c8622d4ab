//! Issue 13, "the interpreter that exists": on a Debian base whose only
//! interpreter is `/usr/bin/python3.13` (trixie's `python3.13` package
//! without `python3`, `tests/fixtures/base-trixie.sh`), every launcher pyko
//! writes names that interpreter and runs inside the image, with and
//! without `--venv`; asking for a Python the base lacks fails up front.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::fixtures::{self, unpack_oci, Rootfs};
use crate::common::run::pyko;

/// (layout with tag `latest`, cp313 wheels with console scripts).
fn trixie_fixture() -> (PathBuf, PathBuf) {
    for t in ["mmdebstrap", "umoci", "flock", "skopeo"] {
        fixtures::require_tool(t);
    }
    let script = fixtures::repo_root().join("tests/fixtures/base-trixie.sh");
    let out = Command::new("bash")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "base-trixie.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    (PathBuf::from(lines[0]), PathBuf::from(lines[1]))
}

fn build(layout: &Path, wheels: &Path, dir: &Path, extra: &[&str]) -> PathBuf {
    let out_dir = dir.join(format!("out{}", extra.len()));
    let from = format!("oci-layout:{}:latest", layout.display());
    let mut args = vec![
        "build",
        "--from",
        &from,
        "--wheels",
        wheels.to_str().unwrap(),
        "--oci-layout",
        out_dir.to_str().unwrap(),
        "--tag",
        "app:1",
    ];
    args.extend_from_slice(extra);
    let out = pyko(&args, &dir.join("cache"));
    assert!(
        out.status.success(),
        "pyko {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out_dir
}

/// Every file in `bin` (inside the rootfs) is a launcher with `shebang`
/// that runs `--help` successfully; returns their names.
fn run_every_launcher(root: &Rootfs, bin: &str, shebang: &str) -> Vec<String> {
    let mut names = Vec::new();
    let dir = root.path().join(bin.trim_start_matches('/'));
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        if !e.file_type().unwrap().is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(e.path()).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(first, format!("#!{shebang}"), "{bin}/{name}");
        let out = root.chroot_ok(&[&format!("{bin}/{name}"), "--help"]);
        assert!(!out.trim().is_empty(), "{name} --help printed nothing");
        names.push(name);
    }
    names.sort();
    names
}

#[test]
fn launchers_use_the_only_interpreter_the_base_has() {
    let (layout, wheels) = trixie_fixture();
    let dir = tempfile::tempdir().unwrap();

    let out = build(&layout, &wheels, dir.path(), &[]);
    let root = unpack_oci(&out, "app:1");
    assert!(!root.path().join("usr/bin/python3").exists());
    let names = run_every_launcher(&root, "/usr/local/bin", "/usr/bin/python3.13");
    assert_eq!(
        names,
        ["markdown-it", "normalizer", "pygmentize"],
        "console scripts of the fixture wheels"
    );
    // The packages are where that interpreter looks (Debian's scheme).
    let got = root.chroot_ok(&[
        "/usr/bin/python3.13",
        "-c",
        "import pygments, charset_normalizer, markdown_it; print(pygments.__file__)",
    ]);
    assert_eq!(
        got.trim(),
        "/usr/local/lib/python3.13/dist-packages/pygments/__init__.py"
    );

    // In a venv the launchers name the venv's python, which links to it.
    let out = build(&layout, &wheels, dir.path(), &["--venv", "/opt/venv"]);
    let root = unpack_oci(&out, "app:1");
    let link = std::fs::read_link(root.path().join("opt/venv/bin/python")).unwrap();
    assert_eq!(link, Path::new("/usr/bin/python3.13"));
    let names: Vec<String> = run_every_launcher(&root, "/opt/venv/bin", "/opt/venv/bin/python");
    assert_eq!(names, ["markdown-it", "normalizer", "pygmentize"]);
    let cfg = std::fs::read_to_string(root.path().join("opt/venv/pyvenv.cfg")).unwrap();
    assert!(cfg.contains("home = /usr/bin\n"), "{cfg}");
    assert!(
        cfg.contains("command = /usr/bin/python3.13 -m venv"),
        "{cfg}"
    );
}

#[test]
fn a_python_the_base_lacks_is_refused_before_anything_is_written() {
    let (layout, wheels) = trixie_fixture();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let from = format!("oci-layout:{}:latest", layout.display());
    let out = pyko(
        &[
            "build",
            "--from",
            &from,
            "--python",
            "3.12",
            "--wheels",
            wheels.to_str().unwrap(),
            "--oci-layout",
            out_dir.to_str().unwrap(),
        ],
        &dir.path().join("cache"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("no interpreter for Python 3.12 (found: /usr/bin/python3.13)"),
        "{err}"
    );
    assert!(!out_dir.exists(), "output written despite the error");
}
