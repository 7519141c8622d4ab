//! Outputs read back by real tools: skopeo, umoci, podman, dockerd.

use std::process::Command;

use std::path::Path;

use crate::common::image::{json_of, mode_of, run, test_image, LONG_PATH};
use pyko::BlobSource;
use pyko::{write_layout, write_tarball, OutputError};

fn layer_digests(img: &pyko::Image) -> Vec<String> {
    img.layers
        .iter()
        .map(|l| l.layer.digest.to_string())
        .collect()
}

#[test]
fn tarball_is_a_docker_archive_and_an_oci_archive() {
    let t = test_image();
    let tar = t.dir.path().join("out/app.tar");
    std::fs::create_dir_all(tar.parent().unwrap()).unwrap();
    write_tarball(&tar, &t.image, &["localhost/pyko-test:v1".into()]).unwrap();
    let again = t.dir.path().join("again.tar");
    write_tarball(&again, &t.image, &["localhost/pyko-test:v1".into()]).unwrap();
    assert_eq!(std::fs::read(&tar).unwrap(), std::fs::read(&again).unwrap());
    // Nothing but the tarball is left beside it.
    assert_eq!(std::fs::read_dir(tar.parent().unwrap()).unwrap().count(), 1);

    let names = run(Command::new("tar").arg("-tf").arg(&tar));
    let names: Vec<&str> = names.lines().collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for n in ["oci-layout", "index.json", "manifest.json", "repositories"] {
        assert!(names.contains(&n), "{names:?}");
    }

    let ours = layer_digests(&t.image);
    let manifest_digest = t.image.manifest_blob().digest.to_string();

    // docker-archive: reads manifest.json. skopeo knows docker-archive
    // layers by their uncompressed digest (docker save wrote them
    // uncompressed) and decompresses ours on the fly.
    let diff_ids: Vec<String> = t
        .image
        .layers
        .iter()
        .map(|l| l.layer.diff_id.to_string())
        .collect();
    let src = format!("docker-archive:{}", tar.display());
    let info = json_of(&run(Command::new("skopeo").args(["inspect", &src])));
    assert_eq!(info["Layers"], serde_json::json!(diff_ids), "{info}");
    assert_eq!(info["RepoTags"], serde_json::json!([]), "{info}");
    let cfg = json_of(&run(
        Command::new("skopeo").args(["inspect", "--config", &src])
    ));
    assert_eq!(
        cfg["config"]["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "python app.py"])
    );
    let dir = t.dir.path().join("dir-copy");
    run(Command::new("skopeo")
        .args(["copy", &src])
        .arg(format!("dir:{}", dir.display())));
    for d in &diff_ids {
        let hex = d.strip_prefix("sha256:").unwrap();
        let bytes = std::fs::read(dir.join(hex)).unwrap();
        assert_eq!(&pyko::Digest::of_bytes(&bytes).to_string(), d);
    }

    // oci-archive: reads index.json and the OCI blobs, by tag or alone.
    for src in [
        format!("oci-archive:{}", tar.display()),
        format!("oci-archive:{}:v1", tar.display()),
    ] {
        let info = json_of(&run(Command::new("skopeo").args(["inspect", &src])));
        assert_eq!(info["Layers"], serde_json::json!(ours), "{info}");
        assert_eq!(info["Digest"], manifest_digest, "{info}");
    }
    let oci = t.dir.path().join("oci-copy");
    run(Command::new("skopeo")
        .args(["copy", &format!("oci-archive:{}", tar.display())])
        .arg(format!("oci:{}:copied", oci.display())));
    let info = json_of(&run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:copied", oci.display()))));
    assert_eq!(info["Digest"], manifest_digest, "{info}");
}

#[test]
fn layout_unpacks_with_umoci() {
    let t = test_image();
    let layout = t.dir.path().join("layout");
    write_layout(&layout, &[(t.image.clone(), Some("v1".into()))]).unwrap();
    // Replacing an existing layout works and leaves no temp dirs behind.
    write_layout(&layout, &[(t.image.clone(), Some("v1".into()))]).unwrap();
    let siblings: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(siblings.is_empty(), "{siblings:?}");

    let info = json_of(&run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:v1", layout.display()))));
    assert_eq!(info["Layers"], serde_json::json!(layer_digests(&t.image)));

    let bundle = t.dir.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:v1", layout.display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    assert_eq!(mode_of(&rootfs.join("bin/hello")), 0o755);
    assert_eq!(mode_of(&rootfs.join("tmp")), 0o1777);
    assert_eq!(mode_of(&rootfs.join("app/run.sh")), 0o755);
    assert_eq!(mode_of(&rootfs.join("app/app.py")), 0o644);
    // 0600 in the app directory; git's 0644 in the image (umask-proof).
    assert_eq!(mode_of(&rootfs.join("app/pkg/__init__.py")), 0o644);
    assert!(rootfs.join("app/.dockerignore").is_file());
    assert!(!rootfs.join("app/secret.txt").exists());
    // Go's archive/tar (inside umoci) reads the PAX long names.
    assert_eq!(mode_of(&rootfs.join(LONG_PATH)), 0o640);
    assert_eq!(
        std::fs::read_link(rootfs.join("opt/link")).unwrap(),
        Path::new("/").join(LONG_PATH)
    );
    let rt = json_of(&std::fs::read_to_string(bundle.join("config.json")).unwrap());
    assert_eq!(
        rt["process"]["args"],
        serde_json::json!(["/bin/sh", "-c", "python app.py"])
    );
    assert_eq!(rt["process"]["cwd"], "/app");
}

#[test]
fn layout_with_unmaterialized_layer_fails_and_leaves_nothing() {
    let t = test_image();
    let mut img = t.image.clone();
    img.layers[0].source = BlobSource::Registry {
        registry: "registry.example".into(),
        repository: "base".into(),
    };
    let layout = t.dir.path().join("out/layout");
    let err = write_layout(&layout, &[(img.clone(), None)]).unwrap_err();
    assert!(matches!(err, OutputError::NotMaterialized { .. }), "{err}");
    assert!(err
        .to_string()
        .contains(t.image.layers[0].layer.digest.as_str()));
    assert!(!layout.exists());
    let tar = t.dir.path().join("app.tar");
    assert!(write_tarball(&tar, &img, &[]).is_err());
    assert!(!tar.exists());
    // A directory that is not a layout is never replaced.
    let other = t.dir.path().join("cache");
    let err = write_layout(&other, &[(t.image.clone(), None)]).unwrap_err();
    assert!(matches!(err, OutputError::NotALayout { .. }), "{err}");
}

#[test]
fn podman_loads_the_tarball() {
    let t = test_image();
    let tar = t.dir.path().join("app.tar");
    write_tarball(&tar, &t.image, &["localhost/pyko-test:v1".into()]).unwrap();
    let root = t.dir.path().join("podman");
    let podman = crate::common::podman::Podman::new(&root);
    let podman = |args: &[&str]| podman.run(args);
    let out = podman(&["load", "-i", tar.to_str().unwrap()]);
    assert!(out.contains("localhost/pyko-test:v1"), "{out}");
    let info = json_of(&podman(&["image", "inspect", "localhost/pyko-test:v1"]));
    let info = &info[0];
    assert_eq!(
        info["Config"]["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "python app.py"])
    );
    assert_eq!(
        info["Config"]["ExposedPorts"],
        serde_json::json!({"8501/tcp": {}})
    );
    assert_eq!(info["Config"]["WorkingDir"], "/app");
}

/// A real Docker engine, started as a plain process (see TESTING.md).
struct Dockerd {
    child: std::process::Child,
    sock: String,
    _dir: tempfile::TempDir,
}

impl Dockerd {
    fn start() -> Dockerd {
        // Short path: unix socket paths are limited to ~108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("pyko-dk")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        let sock = format!("unix://{}/sock", d.display());
        let log = std::fs::File::create(d.join("log")).unwrap();
        let child = Command::new("dockerd")
            .args([
                "--storage-driver=vfs",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--containerd-namespace",
                "pyko-test",
            ])
            .arg(format!("--data-root={}/data", d.display()))
            .arg(format!("--exec-root={}/exec", d.display()))
            .arg(format!("--pidfile={}/pid", d.display()))
            .arg(format!("-H={sock}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd (apt docker.io) must be installed");
        let mut dk = Dockerd {
            child,
            sock,
            _dir: dir,
        };
        let start = std::time::Instant::now();
        loop {
            let ok = Command::new("docker")
                .args(["-H", &dk.sock, "version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return dk;
            }
            if let Ok(Some(status)) = dk.child.try_wait() {
                let log = std::fs::read_to_string(dk._dir.path().join("log")).unwrap();
                panic!("dockerd exited with {status}: {log}");
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "dockerd did not become ready in 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    fn docker(&self, args: &[&str]) -> String {
        run(Command::new("docker").args(["-H", &self.sock]).args(args))
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SIGTERM, so dockerd also stops the containerd it started.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn docker_engine_loads_the_tarball() {
    let t = test_image();
    let tar = t.dir.path().join("app.tar");
    write_tarball(&tar, &t.image, &["pyko-test:v1".into()]).unwrap();
    let dk = Dockerd::start();
    let out = dk.docker(&["load", "-i", tar.to_str().unwrap()]);
    assert!(out.contains("pyko-test:v1"), "{out}");
    let info = json_of(&dk.docker(&["image", "inspect", "pyko-test:v1"]));
    let info = &info[0];
    assert_eq!(
        info["Config"]["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "python app.py"])
    );
    assert_eq!(
        info["Config"]["ExposedPorts"],
        serde_json::json!({"8501/tcp": {}})
    );
    let diff_ids: Vec<String> = t
        .image
        .layers
        .iter()
        .map(|l| l.layer.diff_id.to_string())
        .collect();
    assert_eq!(info["RootFS"]["Layers"], serde_json::json!(diff_ids));
    // The engine's image ID is the config digest.
    assert_eq!(info["Id"], t.image.config_blob().digest.as_str());
}
