//! A small image built from scratch layers with pyko's own writer: no
//! registry or base image needed to exercise the outputs.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pyko::app_entries;
use pyko::Cache;
use pyko::{apply_config as apply, Command, ConfigChanges};
use pyko::{write_layer, Entry, LayerOptions};
use pyko::{BlobSource, Image, ImageLayer};

pub const LONG_PATH: &str = "opt/a-directory-name-that-is-long-enough-to-need-pax-headers-in-the-tar/and-then-some-more-characters-to-exceed-one-hundred-bytes/file.txt";

pub struct TestImage {
    pub image: Image,
    pub dir: tempfile::TempDir,
}

/// Layer 1: a fake root filesystem; layer 2: an app directory at /app with
/// a `.dockerignore` excluding `secret.txt`.
pub fn test_image() -> TestImage {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("cache")).unwrap();
    let opts = LayerOptions::default();

    let base = vec![
        Entry::file("bin/hello", 0o755, b"#!/bin/sh\necho hello\n".to_vec()),
        Entry::file("etc/os-release", 0o644, b"ID=pyko-test\n".to_vec()),
        Entry::dir("tmp", 0o1777),
        // Longer than ustar's 100-byte name field: needs PAX.
        Entry::file(LONG_PATH, 0o640, b"long\n".to_vec()),
        pyko::Entry {
            path: "opt/link".into(),
            mode: 0o777,
            node: pyko::Node::Symlink {
                target: format!("/{LONG_PATH}"),
            },
            owner: None,
        },
    ];
    let (l1, p1) = write_layer(base, &opts, &cache).unwrap();

    let app = dir.path().join("app");
    fs::create_dir_all(app.join("pkg")).unwrap();
    let write = |rel: &str, body: &str, mode: u32| {
        let p = app.join(rel);
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    };
    write("app.py", "print('hi')\n", 0o644);
    write("run.sh", "#!/bin/sh\nexec python app.py\n", 0o755);
    write("pkg/__init__.py", "", 0o600);
    write("secret.txt", "token\n", 0o600);
    write(".dockerignore", "secret.txt\n", 0o644);
    let (l2, p2) = write_layer(app_entries(&app, "/app", None).unwrap(), &opts, &cache).unwrap();

    let base_config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": []
    });
    let changes = ConfigChanges {
        exposed_ports: vec!["8501".into()],
        cmd: Some(Command::Shell("python app.py".into())),
        workdir: Some("/app".into()),
        ..Default::default()
    };
    let config = apply(
        &base_config,
        &changes,
        &[
            (l1.clone(), "ADD rootfs /".to_string()),
            (l2.clone(), "COPY . /app".to_string()),
        ],
    )
    .unwrap();
    let image = Image {
        config,
        layers: vec![
            ImageLayer {
                layer: l1,
                source: BlobSource::File(p1),
            },
            ImageLayer {
                layer: l2,
                source: BlobSource::File(p2),
            },
        ],
        annotations: Default::default(),
    };
    TestImage { image, dir }
}

pub fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The manifest digest of an OCI layout's first (only) image.
pub fn layout_digest(layout: &Path) -> String {
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    idx["manifests"][0]["digest"].as_str().unwrap().to_string()
}

pub fn json_of(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

pub fn mode_of(p: &Path) -> u32 {
    fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}
