//! Where `pyko build --push` finds credentials, and `pyko login`/`logout`,
//! with the pyko binary as a subprocess whose PATH, DOCKER_CONFIG, HOME and
//! REGISTRY_AUTH_FILE are its own (the test process environment is never
//! changed). A real Basic-auth registry decides whether they worked.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::{Registry, RegistryOptions};
use crate::common::run::pyko_cmd;

const USER: &str = "alice";
const PASS: &str = "s3cret";

/// What every case shares: a Basic-auth registry holding a base image, a
/// one-wheel wheelhouse, and a `docker-credential-test` helper on a PATH dir.
struct Env {
    reg: Registry,
    base: String,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let reg = Registry::start_with(RegistryOptions {
            basic: Some((USER.into(), PASS.into())),
            ..Default::default()
        });
        let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
        let dir = tempfile::tempdir().unwrap();
        let wheels = dir.path().join("wheels");
        std::fs::create_dir(&wheels).unwrap();
        let small = std::fs::read_dir(fixtures::wheelhouse())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with("itsdangerous-")
            })
            .expect("itsdangerous wheel in the wheelhouse");
        std::fs::copy(&small, wheels.join(small.file_name().unwrap())).unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let helper = bin.join("docker-credential-test");
        // The docker-credential-helpers protocol: verb in argv, server URL
        // (get/erase) or JSON (store) on stdin.
        std::fs::write(
            &helper,
            r#"#!/bin/sh
verb="$1"; input=$(cat)
echo "$verb $input" >> "$HELPER_LOG"
case "$verb" in
  get) if [ "$input" = "$HELPER_HOST" ]; then
         printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$input" "$HELPER_USER" "$HELPER_SECRET"
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) echo "$input" > "$HELPER_LOG.stored" ;;
  erase) rm -f "$HELPER_LOG.stored" ;;
esac
"#,
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        Env { reg, base, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("helper.log")).unwrap_or_default()
    }

    /// pyko with its own credential environment: DOCKER_CONFIG=`docker_config`,
    /// HOME empty, optional REGISTRY_AUTH_FILE, the helper dir first on PATH.
    fn pyko(&self, args: &[&str], docker_config: &Path, auth_file: Option<&Path>) -> Command {
        let mut cmd = pyko_cmd(&self.path("cache"));
        let home = self.path("home");
        std::fs::create_dir_all(&home).unwrap();
        cmd.args(args)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.path("bin").display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("DOCKER_CONFIG", docker_config)
            .env("HOME", home)
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("REGISTRY_AUTH_FILE")
            .env("HELPER_LOG", self.path("helper.log"))
            .env("HELPER_HOST", &self.reg.host)
            .env("HELPER_USER", USER)
            .env("HELPER_SECRET", PASS)
            .stdin(Stdio::null());
        if let Some(f) = auth_file {
            cmd.env("REGISTRY_AUTH_FILE", f);
        }
        cmd
    }

    fn build_push(&self, tag: &str, docker_config: &Path, auth_file: Option<&Path>) -> Output {
        let dest = format!("{}/team/app:{tag}", self.reg.host);
        let wheels = self.path("wheels");
        self.pyko(
            &[
                "build",
                "--from",
                &self.base,
                "--wheels",
                wheels.to_str().unwrap(),
                "--cmd",
                "python3 -m itsdangerous",
                "--push",
                &dest,
            ],
            docker_config,
            auth_file,
        )
        .output()
        .unwrap()
    }

    /// The pushed tag exists, read back by skopeo with its own credentials.
    fn assert_pushed(&self, out: &Output, tag: &str) {
        assert!(
            out.status.success(),
            "pyko failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let pushed = stdout.trim();
        assert!(
            pushed.starts_with(&format!("{}/team/app@sha256:", self.reg.host)),
            "{pushed}"
        );
        let manifest =
            fixtures::inspect_raw(&self.reg, &format!("{}/team/app:{tag}", self.reg.host));
        let bytes = serde_json::to_vec(&manifest).unwrap();
        assert!(!bytes.is_empty());
        let raw = Command::new("skopeo")
            .args(["inspect", "--raw"])
            .args(self.reg.skopeo_args())
            .arg(format!("docker://{pushed}"))
            .output()
            .unwrap();
        assert!(raw.status.success(), "{pushed} is in the registry");
    }
}

fn config_dir(env: &Env, name: &str, json: serde_json::Value) -> PathBuf {
    let d = env.path(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("config.json"), json.to_string()).unwrap();
    d
}

#[test]
fn helpers_auth_files_and_login() {
    let env = Env::new();
    let host = env.reg.host.clone();

    // No credentials anywhere: refused, and the message says how to log in.
    let none = config_dir(&env, "none", serde_json::json!({}));
    let out = env.build_push("none", &none, None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("No credentials") && err.contains(&host),
        "{err}"
    );

    // credHelpers: the helper is asked for exactly this registry.
    let helpers = config_dir(
        &env,
        "helpers",
        serde_json::json!({"credHelpers": {host.clone(): "test", "other.example": "missing"}}),
    );
    env.assert_pushed(&env.build_push("helper", &helpers, None), "helper");
    assert!(env.log().contains(&format!("get {host}")), "{}", env.log());

    // credsStore: the default helper for every registry.
    std::fs::remove_file(env.path("helper.log")).unwrap();
    let store = config_dir(&env, "store", serde_json::json!({"credsStore": "test"}));
    env.assert_pushed(&env.build_push("store", &store, None), "store");
    assert!(env.log().contains(&format!("get {host}")), "{}", env.log());

    // REGISTRY_AUTH_FILE (podman's auth.json) wins over DOCKER_CONFIG.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    let auth_json = env.path("auth.json");
    std::fs::write(
        &auth_json,
        serde_json::json!({"auths": {host.clone(): {"auth": b64}}}).to_string(),
    )
    .unwrap();
    env.assert_pushed(&env.build_push("podman", &none, Some(&auth_json)), "podman");

    // pyko login: a wrong password fails and leaves the file as it was.
    let login_dir = config_dir(
        &env,
        "login",
        serde_json::json!({"auths": {"other.example": {"auth": "Zm9vOmJhcg=="}}, "HttpHeaders": {"X-Keep": "1"}}),
    );
    let config = login_dir.join("config.json");
    let before = std::fs::read(&config).unwrap();
    let login = |password: &str| {
        let mut child = env
            .pyko(
                &["login", &host, "-u", USER, "--password-stdin"],
                &login_dir,
                None,
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = login("wrong");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&host) && err.contains("401"), "{err}");
    assert_eq!(std::fs::read(&config).unwrap(), before, "file unchanged");

    // The right one is stored like docker login does, 0600, others kept;
    // then build+push with it works.
    let out = login(PASS);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(saved["auths"][&host]["auth"], b64.as_str(), "{saved}");
    assert_eq!(saved["auths"]["other.example"]["auth"], "Zm9vOmJhcg==");
    assert_eq!(saved["HttpHeaders"]["X-Keep"], "1");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // skopeo (containers/image) reads the file pyko wrote.
    let skopeo = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
        .arg(&config)
        .arg(format!("docker://{}", env.base))
        .output()
        .unwrap();
    assert!(
        skopeo.status.success(),
        "{}",
        String::from_utf8_lossy(&skopeo.stderr)
    );
    env.assert_pushed(&env.build_push("login", &login_dir, None), "login");

    // logout removes only this registry; pushing then needs credentials again.
    let out = env
        .pyko(&["logout", &host], &login_dir, None)
        .output()
        .unwrap();
    assert!(out.status.success());
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert!(saved["auths"].get(&host).is_none(), "{saved}");
    assert_eq!(saved["auths"]["other.example"]["auth"], "Zm9vOmJhcg==");
    let out = env.build_push("after-logout", &login_dir, None);
    assert!(!out.status.success());

    // With a credsStore, login hands the credentials to the helper instead.
    let out = env
        .pyko(
            &["login", &host, "-u", USER, "--password-stdin"],
            &store,
            None,
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(PASS.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("helper.log.stored")).unwrap())
            .unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"ServerURL": host, "Username": USER, "Secret": PASS})
    );
    let store_cfg = std::fs::read_to_string(store.join("config.json")).unwrap();
    assert!(
        !store_cfg.contains(PASS),
        "no secret in the file: {store_cfg}"
    );
}
