//! Issue 13, "pyproject.toml as an input" (acceptance 4): `-r
//! pyproject.toml` builds the same image as the requirements file with the
//! same lines; with no source named, the app directory's pyproject.toml is
//! resolved, or its uv.lock installed when there is one (as `uv sync`
//! would); `requires-python` is checked against the image's Python.

use std::collections::BTreeMap;
use std::path::Path;

use super::uv_workspace::{base, build, uv_lock};
use super::{fixture_wheels, serve, stderr, Form};
use crate::common::fixtures::manifest_digest;
use crate::common::run::pyko_cmd;

const PYPROJECT: &str = r#"[project]
name = "api"
version = "1.0"
# The local index has CPython 3.11 wheels only, so uv lock must not
# look further.
requires-python = "==3.11.*"
dependencies = [
    "fastapi[standard]",
    "orjson; platform_machine == 'x86_64'",
]

[project.optional-dependencies]
cli = ["httpie"]

[dependency-groups]
test = ["pytest"]
dev = [{ include-group = "test" }, "black"]

[tool.uv]
environments = ["sys_platform == 'linux'"]
"#;

fn project(dir: &Path, pyproject: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("pyproject.toml"), pyproject).unwrap();
    std::fs::write(
        dir.join("app.py"),
        "import fastapi\napp = fastapi.FastAPI()\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("requirements.txt"),
        "fastapi[standard]\norjson; platform_machine == 'x86_64'\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("requirements-all.txt"),
        "fastapi[standard]\norjson; platform_machine == 'x86_64'\nhttpie\npytest\nblack\n",
    )
    .unwrap();
}

#[test]
fn pyproject_builds_the_image_its_requirements_file_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let index = serve(Form::Json, &fixture_wheels(), &BTreeMap::new());
    let app = tmp.path().join("app");
    project(&app, PYPROJECT);
    let a = app.to_str().unwrap();
    let file = |name: &str| app.join(name).to_str().unwrap().to_string();
    let common = ["--app", a, "--index-url", &index.url];
    let with = |extra: &[&str]| -> Vec<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |name: &str, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        build(tmp.path(), name, &args)
    };

    let (req, _) = run("req", with(&["-r", &file("requirements.txt")]));
    let (py, _) = run("py", with(&["-r", &file("pyproject.toml")]));
    assert_eq!(manifest_digest(&py), manifest_digest(&req));
    // No source named: the app directory's pyproject.toml, said on stderr.
    let (auto, err) = run("auto", with(&[]));
    assert!(
        err.contains("no --wheels, -r or --lock given: resolving the dependencies of"),
        "{err}"
    );
    assert_eq!(manifest_digest(&auto), manifest_digest(&req));
    // --extra and --group (with an include-group) add their lines.
    let (all_req, _) = run("all-req", with(&["-r", &file("requirements-all.txt")]));
    let (all_py, _) = run(
        "all-py",
        with(&[
            "-r",
            &file("pyproject.toml"),
            "--extra",
            "cli",
            "--group",
            "dev",
        ]),
    );
    assert_eq!(manifest_digest(&all_py), manifest_digest(&all_req));
    assert_ne!(manifest_digest(&all_py), manifest_digest(&py));
}

#[test]
fn a_uv_lock_beside_the_pyproject_is_preferred() {
    let tmp = tempfile::tempdir().unwrap();
    let index = serve(Form::Json, &fixture_wheels(), &BTreeMap::new());
    let app = tmp.path().join("app");
    project(&app, PYPROJECT);
    let lock = uv_lock(&app, &index, &tmp.path().join("uv-cache"));
    let a = app.to_str().unwrap();
    let (auto, err) = build(tmp.path(), "auto", &["--app", a]);
    assert!(
        err.contains(&format!(
            "installing {} (preferred over resolving pyproject.toml",
            lock.display()
        )),
        "{err}"
    );
    assert!(!err.contains("resolved "), "nothing is resolved: {err}");
    let (locked, _) = build(
        tmp.path(),
        "locked",
        &["--app", a, "--lock", lock.to_str().unwrap()],
    );
    assert_eq!(manifest_digest(&auto), manifest_digest(&locked));
}

#[test]
fn requires_python_is_checked_against_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    project(&app, &PYPROJECT.replace("==3.11.*", ">=3.12"));
    let layout = tmp.path().join("layout");
    let out = pyko_cmd(&tmp.path().join("cache"))
        .args(["build", "--from", &base(), "--app"])
        .arg(&app)
        .arg("--oci-layout")
        .arg(&layout)
        .args(["--index-url", "http://127.0.0.1:9/simple/"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "{}: requires Python >=3.12, but the image's Python is 3.11",
            app.join("pyproject.toml").display()
        )),
        "{err}"
    );
    assert!(!layout.exists());
}
