//! Dockerfile COPY/ADD of local paths besides `COPY . .`: read back from
//! the written OCI layout with the tar crate, owner and mode as asked,
//! paths as Docker puts them, `.dockerignore` honoured.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::Registry;
use crate::common::run::pyko_cmd;

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The top (app) layer of the layout's image: path → (uid, gid, mode, kind).
fn app_layer_entries(layout: &Path) -> BTreeMap<String, (u64, u64, u32, char)> {
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let idx = json(&layout.join("index.json"));
    let manifest = json(&blob(idx["manifests"][0]["digest"].as_str().unwrap()));
    let app = manifest["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let f = std::fs::File::open(blob(&app)).unwrap();
    let mut ar = tar::Archive::new(flate2::read::MultiGzDecoder::new(f));
    let mut got = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        let kind = if h.entry_type().is_dir() { 'd' } else { 'f' };
        got.insert(
            e.path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string(),
            (
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mode().unwrap() & 0o7777,
                kind,
            ),
        );
    }
    got
}

#[test]
fn copy_add_chown_chmod_land_in_the_app_layer() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let dir = tempfile::tempdir().unwrap();
    let wheels = fixtures::wheels_named(&dir.path().join("wheels"), &["packaging-"]);
    let ctx = dir.path().join("ctx");
    let write = |rel: &str, mode: u32| {
        let f = ctx.join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, rel).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    write("requirements.txt", 0o644);
    write("config.ini", 0o644);
    write("src/main.py", 0o644);
    write("src/tool.sh", 0o755);
    write("src/__pycache__/main.pyc", 0o644);
    write("a.txt", 0o600);
    write("b.txt", 0o644);
    write("assets/logo.svg", 0o644);
    std::fs::write(ctx.join(".dockerignore"), "**/__pycache__\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM {base}\nWORKDIR /app\nCOPY requirements.txt ./\n\
             COPY --chown=1000:1000 --chmod=0640 config.ini /etc/app/\n\
             COPY src/ /app/src/\nADD a.txt b.txt /dest/\nADD --chown=7 assets static\n\
             CMD python3 -m http.server\n"
        ),
    )
    .unwrap();
    let layout = dir.path().join("layout");
    let out = pyko_cmd(&dir.path().join("cache"))
        .args(["build", "-f"])
        .arg(ctx.join("Dockerfile"))
        .arg(&ctx)
        .arg("--wheels")
        .arg(&wheels)
        .arg("--oci-layout")
        .arg(&layout)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pyko failed:\n{stderr}");

    let got = app_layer_entries(&layout);
    let want: BTreeMap<String, (u64, u64, u32, char)> = [
        ("app", (0, 0, 0o755, 'd')),
        ("app/requirements.txt", (0, 0, 0o644, 'f')),
        ("app/src", (0, 0, 0o755, 'd')),
        ("app/src/main.py", (0, 0, 0o644, 'f')),
        ("app/src/tool.sh", (0, 0, 0o755, 'f')),
        ("app/static", (7, 7, 0o755, 'd')),
        ("app/static/logo.svg", (7, 7, 0o644, 'f')),
        ("dest", (0, 0, 0o755, 'd')),
        // 0600 on disk; the image has git's mode (umask-proof).
        ("dest/a.txt", (0, 0, 0o644, 'f')),
        ("dest/b.txt", (0, 0, 0o644, 'f')),
        ("etc", (0, 0, 0o755, 'd')),
        ("etc/app", (0, 0, 0o755, 'd')),
        ("etc/app/config.ini", (1000, 1000, 0o640, 'f')),
    ]
    .into_iter()
    .map(|(p, v)| (p.to_string(), v))
    .collect();
    assert_eq!(got, want, "app layer entries (uid, gid, mode, kind)");

    // ADD of a local archive is refused, quoting the line.
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_cksum();
    tar.append_data(&mut h, "x", &b"x"[..]).unwrap();
    std::fs::write(ctx.join("bundle.tar"), tar.into_inner().unwrap()).unwrap();
    std::fs::write(
        ctx.join("Dockerfile.add"),
        format!("FROM {base}\nADD bundle.tar /opt/\n"),
    )
    .unwrap();
    let out = pyko_cmd(&dir.path().join("cache"))
        .args(["build", "-f"])
        .arg(ctx.join("Dockerfile.add"))
        .arg(&ctx)
        .arg("--wheels")
        .arg(&wheels)
        .arg("--oci-layout")
        .arg(dir.path().join("layout2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("Dockerfile.add:2: ADD bundle.tar /opt/") && err.contains("archive"),
        "{err}"
    );
}

/// Issue 17 hole 6: BuildKit reads `NAME.Dockerfile.dockerignore` beside a
/// Dockerfile instead of the context's `.dockerignore` (it replaces it, not
/// adds to it), for `COPY . .` and every other COPY alike.
#[test]
fn a_dockerfiles_own_ignore_file_wins_over_the_contexts() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = fixtures::wheels_named(&dir.path().join("wheels"), &["idna-"]);
    let ctx = dir.path().join("ctx");
    for rel in [
        "app.py",
        "secret.env",
        "debug.log",
        "conf/a.ini",
        "conf/secret.env",
    ] {
        let f = ctx.join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, rel).unwrap();
    }
    std::fs::write(ctx.join(".dockerignore"), "*.log\n").unwrap();
    std::fs::write(ctx.join("app.Dockerfile.dockerignore"), "**/secret.env\n").unwrap();
    let dockerfile =
        "FROM python:3.11\nWORKDIR /app\nCOPY . .\nCOPY conf /etc/conf\nCMD python3 app.py\n";
    std::fs::write(ctx.join("app.Dockerfile"), dockerfile).unwrap();
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let build = |file: &str, out: &str| {
        let layout = dir.path().join(out);
        let run = pyko_cmd(&dir.path().join("cache"))
            .args(["build", "-f"])
            .arg(ctx.join(file))
            .arg(&ctx)
            .arg("--from")
            .arg(format!(
                "oci-layout:{}:latest",
                fixtures::base_layout(Flavour::Debian).display()
            ))
            .arg("--wheels")
            .arg(&wheels)
            .arg("--oci-layout")
            .arg(&layout)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "pyko failed:\n{stderr}");
        let files: Vec<String> = app_layer_entries(&layout)
            .into_iter()
            .filter(|(_, v)| v.3 == 'f')
            .map(|(p, _)| p)
            .collect();
        files
    };
    // Its own ignore file: the secrets stay out, and the context's `*.log`
    // no longer applies.
    assert_eq!(
        build("app.Dockerfile", "layout-own"),
        [
            "app/.dockerignore",
            "app/Dockerfile",
            "app/app.Dockerfile",
            "app/app.Dockerfile.dockerignore",
            "app/app.py",
            "app/conf/a.ini",
            "app/debug.log",
            "etc/conf/a.ini",
        ]
    );
    // A Dockerfile without one: the context's `.dockerignore`.
    assert_eq!(
        build("Dockerfile", "layout-ctx"),
        [
            "app/.dockerignore",
            "app/Dockerfile",
            "app/app.Dockerfile",
            "app/app.Dockerfile.dockerignore",
            "app/app.py",
            "app/conf/a.ini",
            "app/conf/secret.env",
            "app/secret.env",
            "etc/conf/a.ini",
            "etc/conf/secret.env",
        ]
    );
}
