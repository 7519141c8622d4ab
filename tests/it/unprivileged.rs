//! pyko as an arbitrary unprivileged user in a locked-down CI pod: uid 12345
//! with no passwd entry, no capabilities, no supplementary groups, HOME
//! unset, a read-only app directory, only a scratch directory writable. Each
//! recipe in docs/ci.md is run with its flags and environment variables, and
//! the image must be byte-identical to the one root builds.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::{Registry, RegistryOptions};

const UID: &str = "12345";

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_user(p: &Path) {
    let st = Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Copies `src` to `dst` and makes every file read-only for everybody.
fn read_only_copy(src: &Path, dst: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("chmod")
        .args(["-R", "a-w,a+rX"])
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success());
}

struct Env {
    reg: Registry,
    base: String,
    /// World-readable scratch root (mode 0755) holding the inputs.
    root: tempfile::TempDir,
    pyko: PathBuf,
    app: PathBuf,
    wheels: String,
}

fn setup() -> Env {
    for tool in ["setpriv", "chown"] {
        fixtures::require_tool(tool);
    }
    let reg = Registry::start_with(RegistryOptions {
        basic: Some(("ci".into(), "s3cret".into())),
        ..Default::default()
    });
    let base = fixtures::push_base(&reg, Flavour::Debian, "library/python:3.11-test");
    let root = tempfile::tempdir().unwrap();
    chmod(root.path(), 0o755);
    // The binary where any user can run it (a CI clone may be 0700).
    let pyko = root.path().join("pyko");
    std::fs::copy(crate::common::run::pyko_bin(), &pyko).unwrap();
    chmod(&pyko, 0o755);
    let app = root.path().join("app");
    read_only_copy(&fixtures::example_app(), &app);
    Env {
        reg,
        base,
        root,
        pyko,
        app,
        wheels: fixtures::wheelhouse().display().to_string(),
    }
}

/// A Docker config.json with Basic credentials for `host`, as `docker login` writes it.
fn docker_config(dir: &Path, host: &str) {
    use base64::Engine as _;
    std::fs::create_dir_all(dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
}

/// Runs pyko with exactly `env` (plus PATH), as root or as uid 12345 with
/// every capability dropped; returns (stdout, stderr).
fn run(e: &Env, unprivileged: bool, env: &[(&str, String)], tag: &str) -> (String, String) {
    let dest = format!("{}/demo/app:{tag}", e.reg.host);
    let args = [
        "build",
        "--from",
        &e.base,
        "--wheels",
        &e.wheels,
        "--app",
        e.app.to_str().unwrap(),
        "--port",
        "8501",
        "--cmd",
        "streamlit run app.py",
        "--push",
        &dest,
    ];
    let mut cmd = if unprivileged {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={UID}"),
            &format!("--regid={UID}"),
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]);
        c.arg(&e.pyko);
        c
    } else {
        Command::new(&e.pyko)
    };
    // The copied example's pyko.toml would add its Dockerfile to the flags.
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("PYKO_NO_CONFIG", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "pyko (unprivileged={unprivileged}) failed:\n{stderr}"
    );
    (stdout, stderr)
}

fn digest_of(stdout: &str) -> String {
    stdout
        .trim()
        .rsplit_once('@')
        .expect("REF@DIGEST on stdout")
        .1
        .to_string()
}

#[test]
fn ci_recipes_as_uid_12345_match_root() {
    let e = setup();
    // Root, with its own cache and credentials.
    let root_home = e.root.path().join("root-home");
    docker_config(&root_home.join(".docker"), &e.reg.host);
    let (out, _) = run(
        &e,
        false,
        &[("HOME", root_home.display().to_string())],
        "root",
    );
    let want = digest_of(&out);

    // The only writable place for the unprivileged user.
    let scratch = e.root.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    chown_user(&scratch);

    // GitHub Actions: PYKO_CACHE_DIR under runner.temp, SOURCE_DATE_EPOCH=0,
    // credentials from `docker login` in the runner's HOME.
    let gh_home = scratch.join("gh-home");
    docker_config(&gh_home.join(".docker"), &e.reg.host);
    chown_user(&gh_home);
    let (out, _) = run(
        &e,
        true,
        &[
            ("HOME", gh_home.display().to_string()),
            (
                "PYKO_CACHE_DIR",
                scratch.join("runner-temp/pyko-cache").display().to_string(),
            ),
            ("SOURCE_DATE_EPOCH", "0".into()),
            ("TMPDIR", scratch.display().to_string()),
        ],
        "gha",
    );
    assert_eq!(digest_of(&out), want, "GitHub Actions recipe");

    // GitLab on Kubernetes: no HOME, cache and DOCKER_CONFIG in the project dir.
    let project = scratch.join("project");
    docker_config(&project.join(".docker"), &e.reg.host);
    chown_user(&project);
    let (out, _) = run(
        &e,
        true,
        &[
            (
                "PYKO_CACHE_DIR",
                project.join(".pyko-cache").display().to_string(),
            ),
            (
                "DOCKER_CONFIG",
                project.join(".docker").display().to_string(),
            ),
            ("TMPDIR", scratch.display().to_string()),
        ],
        "gitlab",
    );
    assert_eq!(digest_of(&out), want, "GitLab recipe");

    // Kubernetes Job: no HOME, no cache dir given, credentials in a read-only
    // secret mount, only TMPDIR writable: the cache falls back there, once, loudly.
    let secret = e.root.path().join("secret");
    docker_config(&secret, &e.reg.host);
    let st = Command::new("chmod")
        .args(["-R", "a-w,a+rX"])
        .arg(&secret)
        .status()
        .unwrap();
    assert!(st.success());
    let tmp = scratch.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    chown_user(&tmp);
    let (out, err) = run(
        &e,
        true,
        &[
            ("DOCKER_CONFIG", secret.display().to_string()),
            ("TMPDIR", tmp.display().to_string()),
        ],
        "k8s",
    );
    assert_eq!(digest_of(&out), want, "Kubernetes Job recipe");
    assert_eq!(err.matches("HOME is not set").count(), 1, "{err}");
    assert!(
        tmp.join(format!("pyko-cache-{UID}")).is_dir(),
        "cache under TMPDIR"
    );
}

#[test]
fn unreadable_app_file_is_named() {
    let e = setup();
    let app = e.root.path().join("app-secret");
    read_only_copy(&fixtures::example_app(), &app);
    let secret = app.join("secret.env");
    let st = Command::new("chmod")
        .args(["u+w"])
        .arg(&app)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(&secret, "TOKEN=x").unwrap();
    chmod(&secret, 0o600);
    let scratch = e.root.path().join("scratch2");
    std::fs::create_dir(&scratch).unwrap();
    chown_user(&scratch);
    let creds = e.root.path().join("creds2");
    docker_config(&creds, &e.reg.host);
    let out = Command::new("setpriv")
        .args([
            &format!("--reuid={UID}"),
            &format!("--regid={UID}"),
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&e.pyko)
        .args([
            "build",
            "--from",
            &e.base,
            "--wheels",
            &e.wheels,
            "--app",
            app.to_str().unwrap(),
        ])
        .args(["--tarball", scratch.join("app.tar").to_str().unwrap()])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", &scratch)
        .env("DOCKER_CONFIG", &creds)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("secret.env"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!scratch.join("app.tar").exists());
}
