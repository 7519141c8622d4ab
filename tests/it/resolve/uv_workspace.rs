//! Issue 13, "uv.lock as uv uses it" (acceptance 2): a uv workspace whose
//! uv.lock real uv writes at test time against the local index of real
//! wheels. pyko installs what `uv export --frozen --no-dev` (with the same
//! `--group`/`--extra`/`--package`) names for the target, never a member,
//! and the image's Cmd, a dependency's console script, answers HTTP.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder, MarkerTree};

use super::example::installed;
use super::{fixture_wheels, serve, stderr, uv_cmd, Form, Pins};
use crate::common::fixtures::{self, Flavour};
use crate::common::index::{self, IndexServer};
use crate::common::run::pyko_cmd;

pub const EXCLUDE_NEWER: &str = "2026-12-01T00:00:00Z";
const SITE: &str = "usr/local/lib/python3.11/site-packages";

pub fn base() -> String {
    format!(
        "oci-layout:{}:latest",
        fixtures::base_layout(Flavour::Slim).display()
    )
}

/// The root project: a member dependency, an extra inside a dependency
/// (`uvicorn[standard]`), arch markers, a dev group, an extra of its own,
/// and a dependency that exists only as an sdist (a local archive).
const ROOT: &str = r#"[project]
name = "webapp"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [
    "mylib",
    "uvicorn[standard]",
    "orjson; platform_machine == 'x86_64'",
    "py-cpuinfo; platform_machine == 'aarch64'",
    "pyko-sdist-demo",
]

[project.optional-dependencies]
cli = ["typer"]

[dependency-groups]
dev = ["pytest", "black"]

[tool.uv]
environments = ["sys_platform == 'linux'"]

[tool.uv.workspace]
members = ["packages/*"]

[tool.uv.sources]
mylib = { workspace = true }
pyko-sdist-demo = { path = "vendor/pyko_sdist_demo-1.0.tar.gz" }
"#;

const MEMBER: &str = r#"[project]
name = "mylib"
version = "0.2.0"
requires-python = ">=3.11"
dependencies = ["jinja2"]

[dependency-groups]
test = ["pytest"]

[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"#;

/// A plain ASGI app: the member's code (from the app directory), the
/// sdist-only package (from the user's wheel) and jinja2 (the member's
/// dependency) all answer in one page.
const APP: &str = r#"import jinja2, orjson, mylib, pyko_sdist_demo

async def app(scope, receive, send):
    body = jinja2.Template("{{ a }} / {{ b }} / {{ c }}").render(
        a=mylib.GREETING, b=pyko_sdist_demo.MESSAGE, c=orjson.dumps({"ok": 1}).decode())
    body = body.encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"#;

/// Writes the workspace into `dir` (the app directory).
pub fn write_workspace(dir: &Path) {
    let w = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w("pyproject.toml", ROOT);
    w("app.py", APP);
    w("packages/mylib/pyproject.toml", MEMBER);
    w(
        "packages/mylib/mylib/__init__.py",
        "GREETING = \"hello from mylib\"\n",
    );
    // The sdist: static metadata (PKG-INFO 2.2 and pyproject), which uv
    // reads without building it.
    let src = dir.join("vendor/src/pyko_sdist_demo-1.0");
    let w2 = |rel: &str, text: &str| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w2(
        "PKG-INFO",
        "Metadata-Version: 2.2\nName: pyko-sdist-demo\nVersion: 1.0\nRequires-Python: >=3.8\n",
    );
    w2("pyproject.toml", "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"pyko-sdist-demo\"\nversion = \"1.0\"\nrequires-python = \">=3.8\"\ndependencies = []\n");
    w2(
        "pyko_sdist_demo/__init__.py",
        "MESSAGE = \"built from an sdist\"\n",
    );
    let status = std::process::Command::new("tar")
        .args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "-czf",
        ])
        .arg(dir.join("vendor/pyko_sdist_demo-1.0.tar.gz"))
        .arg("-C")
        .arg(dir.join("vendor/src"))
        .arg("pyko_sdist_demo-1.0")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_dir_all(dir.join("vendor/src")).unwrap();
}

/// The wheel a user would build from the sdist (`pip wheel`), written
/// directly: a pure-Python wheel with the same module.
pub fn user_wheel(dir: &Path) -> PathBuf {
    use zip::write::SimpleFileOptions;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("pyko_sdist_demo-1.0-py3-none-any.whl");
    let di = "pyko_sdist_demo-1.0.dist-info";
    let files = [
        (
            "pyko_sdist_demo/__init__.py".to_string(),
            "MESSAGE = \"built from an sdist\"\n".to_string(),
        ),
        (
            format!("{di}/METADATA"),
            "Metadata-Version: 2.1\nName: pyko-sdist-demo\nVersion: 1.0\n".to_string(),
        ),
        (
            format!("{di}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_string(),
        ),
    ];
    let mut record = String::new();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, text) in &files {
        use base64::Engine;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        record.push_str(&format!("{name},sha256={b64},{}\n", text.len()));
        zip.start_file(name.as_str(), SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    record.push_str(&format!("{di}/RECORD,,\n"));
    zip.start_file(format!("{di}/RECORD"), SimpleFileOptions::default())
        .unwrap();
    zip.write_all(record.as_bytes()).unwrap();
    zip.finish().unwrap();
    path
}

/// `uv lock` of the project in `dir` against the local index, frozen in
/// time; returns the lock's path.
pub fn uv_lock(dir: &Path, index: &IndexServer, uv_cache: &Path) -> PathBuf {
    let out = uv_cmd(uv_cache)
        .current_dir(dir)
        .args([
            "lock",
            "--index-url",
            &index.url,
            "--exclude-newer",
            EXCLUDE_NEWER,
        ])
        .output()
        .expect("run uv lock");
    assert!(out.status.success(), "uv lock failed:\n{}", stderr(&out));
    dir.join("uv.lock")
}

/// The marker environment of the slim base: CPython 3.11 on linux/amd64.
fn target_env() -> MarkerEnvironment {
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: "3.11.0",
        os_name: "posix",
        platform_machine: "x86_64",
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: "3.11.0",
        python_version: "3.11",
        sys_platform: "linux",
    })
    .unwrap()
}

/// What `uv export --frozen --no-default-groups ARGS` installs on the target: each
/// `name==version` line whose marker holds there, plus local sdists by
/// their file name; editable members (`-e`) are left out, as pyko leaves
/// them to the app directory.
pub fn uv_export(dir: &Path, args: &[&str], uv_cache: &Path) -> Pins {
    let out = uv_cmd(uv_cache)
        .current_dir(dir)
        // `--no-default-groups`, not `--no-dev`: uv's `--no-dev` would
        // also drop a `--group dev` asked for.
        .args(["export", "--frozen", "--no-default-groups", "--no-hashes"])
        .args([
            "--format",
            "requirements-txt",
            "--no-header",
            "--no-annotate",
        ])
        .args(args)
        .output()
        .expect("run uv export");
    assert!(out.status.success(), "uv export failed:\n{}", stderr(&out));
    let env = target_env();
    let mut pins = Pins::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("-e ") {
            continue;
        }
        let (req, marker) = line.split_once(" ; ").unwrap_or((line, ""));
        if !marker.is_empty() && !MarkerTree::from_str(marker).unwrap().evaluate(&env, &[]) {
            continue;
        }
        let (name, version) = match req.split_once("==") {
            Some((n, v)) => (n.trim(), v.trim()),
            None => {
                // A local sdist: NAME-VERSION.tar.gz.
                let file = req.rsplit('/').next().unwrap();
                let stem = file
                    .strip_suffix(".tar.gz")
                    .unwrap_or_else(|| panic!("{line}"));
                stem.rsplit_once('-').unwrap()
            }
        };
        pins.insert(index::normalize(name), version.to_string());
    }
    pins
}

/// `pyko build --from slim ARGS --oci-layout work/NAME --tag app`; returns
/// the layout and stderr, asserting success.
pub fn build(work: &Path, name: &str, args: &[&str]) -> (PathBuf, String) {
    let layout = work.join(name);
    let out = pyko_cmd(&work.join("cache"))
        .args(["build", "--from", &base(), "--tag", "app"])
        .args(args)
        .arg("--oci-layout")
        .arg(&layout)
        .output()
        .expect("run pyko");
    assert!(
        out.status.success(),
        "pyko build {args:?} failed:\n{}",
        stderr(&out)
    );
    (layout, stderr(&out))
}

/// The wheels a build fetched, from its `[i/N] FILE (…)` lines, as pins.
fn fetched(stderr: &str) -> Pins {
    let counter = |t: &str| {
        t.strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.split_once('/'))
            .is_some_and(|(a, b)| {
                [a, b]
                    .iter()
                    .all(|x| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit()))
            })
    };
    stderr
        .lines()
        .filter_map(|l| {
            let tokens: Vec<&str> = l.split_whitespace().collect();
            let i = tokens.iter().position(|t| counter(t))?;
            let file = tokens.get(i + 1)?.strip_suffix(".whl")?;
            let mut parts = file.split('-');
            Some((index::normalize(parts.next()?), parts.next()?.to_string()))
        })
        .collect()
}

/// The image's config (`config` of the config blob) from a layout.
pub fn image_config(layout: &Path) -> serde_json::Value {
    let blob = |digest: &str| -> serde_json::Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap())
            .unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest = blob(index["manifests"][0]["digest"].as_str().unwrap());
    blob(manifest["config"]["digest"].as_str().unwrap())["config"].clone()
}

#[test]
fn uv_workspace_lock_builds_as_uv_sync_no_dev_and_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let uv_cache = tmp.path().join("uv-cache");
    let index = serve(Form::Json, &fixture_wheels(), &BTreeMap::new());
    let ws = tmp.path().join("ws");
    write_workspace(&ws);
    let lock = uv_lock(&ws, &index, &uv_cache);
    let lock_text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        lock_text.contains("source = { editable = \"packages/mylib\" }"),
        "{lock_text}"
    );
    assert!(lock_text.contains("source = { virtual = \".\" }"));
    let wheels = user_wheel(&tmp.path().join("wheelhouse"));

    let port = crate::common::registry::free_port().to_string();
    let cmd = format!(r#"["uvicorn","app:app","--host","127.0.0.1","--port","{port}"]"#);
    let (layout, err) = build(
        tmp.path(),
        "layout",
        &[
            "--lock",
            lock.to_str().unwrap(),
            "--wheels",
            wheels.parent().unwrap().to_str().unwrap(),
            "--app",
            ws.to_str().unwrap(),
            "--env",
            "PYTHONPATH=/app/packages/mylib",
            "--cmd",
            &cmd,
        ],
    );
    // The sdist-only package came from the user's wheel, and stderr says
    // its hash could not be checked against the lock.
    assert!(err.contains("pyko-sdist-demo==1.0"), "{err}");
    assert!(
        err.contains("whose hash cannot be checked against the lock"),
        "{err}"
    );

    let want = uv_export(&ws, &[], &uv_cache);
    for name in ["jinja2", "uvloop", "httptools", "orjson", "pyko-sdist-demo"] {
        assert!(want.contains_key(name), "uv exports {name}: {want:?}");
    }
    for name in ["mylib", "webapp", "pytest", "black", "py-cpuinfo", "typer"] {
        assert!(
            !want.contains_key(name),
            "uv does not export {name}: {want:?}"
        );
    }
    let rootfs = fixtures::unpack_oci(&layout, "app");
    assert_eq!(installed(rootfs.path()), want);
    // The member's code is in the image as app files, not as a distribution.
    assert_eq!(
        std::fs::read_to_string(rootfs.path().join("app/packages/mylib/mylib/__init__.py"))
            .unwrap(),
        "GREETING = \"hello from mylib\"\n"
    );
    assert!(!rootfs.path().join(SITE).join("mylib").exists());
    assert!(!rootfs.path().join("usr/local/bin/pytest").exists());
    assert!(!rootfs.path().join("usr/local/bin/black").exists());

    // The image's own Cmd (uvicorn's console script), in a chroot with the
    // image's Env and WorkingDir.
    let config = image_config(&layout);
    let argv: Vec<String> = serde_json::from_value(config["Cmd"].clone()).unwrap();
    assert_eq!(argv[0], "uvicorn");
    let env: Vec<(String, String)> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (k, v) = e.as_str().unwrap().split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let workdir = config["WorkingDir"].as_str().unwrap();
    let mut child = rootfs.spawn_in_chroot_at(workdir, &argv, &env);
    let res = fixtures::wait_http(
        &format!("http://127.0.0.1:{port}/"),
        Duration::from_secs(60),
    );
    let _ = child.kill();
    let body = res.expect("uvicorn serves the app from the image");
    assert_eq!(body, "hello from mylib / built from an sdist / {\"ok\":1}");
}

/// pyko's set against `uv export` for several selections of two real
/// workspace locks (a project root; a root that is no project) and a
/// plain project's lock.
#[test]
fn uv_lock_selections_match_uv_export() {
    let tmp = tempfile::tempdir().unwrap();
    let uv_cache = tmp.path().join("uv-cache");
    let index = serve(Form::Json, &fixture_wheels(), &BTreeMap::new());
    let wheels = user_wheel(&tmp.path().join("wheelhouse"));
    let wheels = wheels.parent().unwrap().to_str().unwrap().to_string();

    // 1: the workspace of the test above.
    let ws = tmp.path().join("ws");
    write_workspace(&ws);
    // 2: the same members under a root that is no project: every member is
    // installed, and the root's groups live in the lock's [manifest].
    let ws2 = tmp.path().join("ws2");
    write_workspace(&ws2);
    let member_web = ROOT
        .split("[tool.uv]")
        .next()
        .unwrap()
        .replace("dev = [\"pytest\", \"black\"]", "web-dev = [\"pytest\"]")
        + "[tool.uv.sources]\nmylib = { workspace = true }\npyko-sdist-demo = { path = \"../../vendor/pyko_sdist_demo-1.0.tar.gz\" }\n\n[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n";
    std::fs::create_dir_all(ws2.join("packages/web")).unwrap();
    std::fs::write(ws2.join("packages/web/pyproject.toml"), member_web).unwrap();
    std::fs::write(
        ws2.join("pyproject.toml"),
        "[tool.uv]\nenvironments = [\"sys_platform == 'linux'\"]\n\n[tool.uv.workspace]\nmembers = [\"packages/*\"]\n\n[dependency-groups]\ntools = [\"black\"]\n",
    )
    .unwrap();
    // 3: one project, no workspace: fastapi[standard] and a CLI extra.
    let single = tmp.path().join("single");
    std::fs::create_dir_all(&single).unwrap();
    std::fs::write(
        single.join("pyproject.toml"),
        "[project]\nname = \"api\"\nversion = \"1\"\nrequires-python = \"==3.11.*\"\ndependencies = [\"fastapi[standard]\"]\n\n[project.optional-dependencies]\ncli = [\"httpie\"]\n\n[dependency-groups]\ndev = [\"pytest\"]\n\n[tool.uv]\nenvironments = [\"sys_platform == 'linux'\"]\n",
    )
    .unwrap();

    let cases: &[(&Path, &[&str])] = &[
        (&ws, &[]),
        (&ws, &["--group", "dev"]),
        (&ws, &["--extra", "cli"]),
        (&ws, &["--package", "mylib", "--group", "test"]),
        (&ws, &["--all-groups"]),
        (&ws2, &[]),
        (&ws2, &["--group", "tools", "--group", "web-dev"]),
        (&ws2, &["--package", "mylib"]),
        (&single, &[]),
        (&single, &["--extra", "cli", "--group", "dev"]),
    ];
    let mut locked = std::collections::BTreeSet::new();
    for (i, (dir, args)) in cases.iter().enumerate() {
        if locked.insert(dir.to_path_buf()) {
            uv_lock(dir, &index, &uv_cache);
        }
        let want = uv_export(dir, args, &uv_cache);
        let lock = dir.join("uv.lock");
        let mut pyko_args = vec!["--lock", lock.to_str().unwrap(), "--wheels", &wheels];
        pyko_args.extend_from_slice(args);
        let (_, err) = build(tmp.path(), &format!("layout-{i}"), &pyko_args);
        assert_eq!(
            fetched(&err),
            want,
            "{} {args:?}: pyko's set differs from uv export's\n{err}",
            dir.display()
        );
    }
}
