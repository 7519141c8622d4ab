//! The config file and `PYKO_*` variables through the real binary: the
//! example app builds with `pyko build` and no flags (its pyko.toml names
//! the Dockerfile, the context and a tarball), a flag beats a variable,
//! which beats the file, and a typo in the file stops the build before
//! anything is written.

use std::path::Path;
use std::process::Output;

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::Registry;
use crate::common::run::{json, pyko_cmd, skopeo};

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "pyko failed ({}):\n{stderr}",
        out.status
    );
    stderr
}

/// A copy of examples/diabetes (a flat directory) with `extra` appended to
/// its pyko.toml.
fn example_copy(dest: &Path, extra: &str) {
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(fixtures::example_app()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && p.extension().is_none_or(|x| x != "tar") {
            std::fs::copy(&p, dest.join(p.file_name().unwrap())).unwrap();
        }
    }
    let toml = dest.join("pyko.toml");
    let text = std::fs::read_to_string(&toml).unwrap() + extra;
    std::fs::write(toml, text).unwrap();
}

fn config_of(tarball: &Path) -> serde_json::Value {
    let src = format!("docker-archive:{}", tarball.display());
    json(&skopeo(&["inspect", "--config", &src]))["config"].clone()
}

#[test]
fn example_builds_from_its_pyko_toml_and_flags_beat_env_beat_file() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-slim");
    let wheels = fixtures::wheelhouse();
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("diabetes");
    example_copy(&app, "user = \"fileuser\"\nlabel = [\"level=file\"]\n");
    let cache = tmp.path().join("cache");

    // `pyko build` alone, in the app's directory: the base and wheels from
    // variables, everything else from pyko.toml and its Dockerfile.
    let out = pyko_cmd(&cache)
        .env_remove("PYKO_NO_CONFIG")
        .env("PYKO_FROM", &base)
        .env("PYKO_WHEELS", &wheels)
        .current_dir(&app)
        .arg("build")
        .output()
        .unwrap();
    let stderr = ok(&out);
    assert!(
        stderr.contains(&format!("config: {}", app.join("pyko.toml").display())),
        "{stderr}"
    );
    let tarball = app.join("diabetes.tar");
    let c = config_of(&tarball);
    assert_eq!(
        c["ExposedPorts"],
        serde_json::json!({"8501/tcp": {}}),
        "{c}"
    );
    assert_eq!(
        c["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "streamlit run app.py"])
    );
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(c["User"], "fileuser");
    assert_eq!(c["Labels"]["level"], "file");
    let first = skopeo(&["inspect", &format!("docker-archive:{}", tarball.display())]);
    let layers = json(&first)["Layers"].as_array().unwrap().len();
    assert!(layers >= 3, "base + deps + app layers: {first}");
    std::fs::remove_file(&tarball).unwrap();

    // From another directory, the file found through PYKO_APP: the flag's
    // user beats the variable's, the variable's label list replaces the
    // file's, and the variable's output replaces the file's tarball.
    let out = pyko_cmd(&cache)
        .env_remove("PYKO_NO_CONFIG")
        .env("PYKO_FROM", &base)
        .env("PYKO_WHEELS", &wheels)
        .env("PYKO_APP", &app)
        .env("PYKO_USER", "envuser")
        .env("PYKO_LABEL", "level=env")
        .env("PYKO_TARBALL", "env.tar")
        .current_dir(tmp.path())
        .args(["build", "--user", "cliuser"])
        .output()
        .unwrap();
    ok(&out);
    assert!(!tarball.exists(), "the file's tarball is not written");
    let c = config_of(&tmp.path().join("env.tar"));
    assert_eq!(c["User"], "cliuser");
    assert_eq!(c["Labels"], serde_json::json!({"level": "env"}), "{c}");
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(c["ExposedPorts"], serde_json::json!({"8501/tcp": {}}));
}

#[test]
fn a_typo_in_pyko_toml_is_a_usage_error_naming_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("pyko.toml"),
        "from = \"python:3.12-slim\"\nwheels = \"w\"\ntarbal = \"app.tar\"\n",
    )
    .unwrap();
    let out = pyko_cmd(&tmp.path().join("cache"))
        .env_remove("PYKO_NO_CONFIG")
        .current_dir(&app)
        .arg("build")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "error: {}:3: unknown key `tarbal`; the closest valid key is `tarball` (keys are `pyko build`'s long flag names, see docs/config.md)\n",
            app.join("pyko.toml").display()
        )
    );
    assert!(out.stdout.is_empty());
    let left: Vec<_> = std::fs::read_dir(&app).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing written beside pyko.toml");
    // The same file is not read with --no-config (the build then fails
    // for want of a base, as any flagless build does).
    let out = pyko_cmd(&tmp.path().join("cache"))
        .current_dir(&app)
        .args(["build", "--tarball", "x.tar"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("unknown key"), "{stderr}");
    assert!(stderr.contains("--from <IMAGE>"), "{stderr}");
}
