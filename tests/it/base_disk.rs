//! Base images from disk (air-gapped CI): the fixture OCI layouts directly,
//! and archives that skopeo made from them (`oci-archive:`,
//! `docker-archive:` with uncompressed layers). No registry is involved:
//! the outputs are a tarball and a layout, read back by skopeo and run.

use crate::common::run::{json, pyko, skopeo};

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fixtures::{self, Flavour, BASE_TAG};

fn small_wheels(dir: &Path) -> PathBuf {
    let w = dir.join("wheels");
    std::fs::create_dir_all(&w).unwrap();
    let src = fixtures::wheel("packaging-");
    std::fs::copy(&src, w.join(src.file_name().unwrap())).unwrap();
    w
}

/// Builds onto `from` into an OCI layout; returns (manifest, config) of the
/// result as skopeo reads them.
fn build_from(from: &str, dir: &Path) -> (serde_json::Value, serde_json::Value, PathBuf) {
    let layout = dir.join(format!("out-{}", from.len()));
    let out = pyko(
        &[
            "build",
            "--from",
            from,
            "--wheels",
            small_wheels(dir).to_str().unwrap(),
            "--app",
            fixtures::example_app().to_str().unwrap(),
            "--cmd",
            "python3 -c 'import packaging'",
            "--oci-layout",
            layout.to_str().unwrap(),
            "--tag",
            "app:1",
        ],
        &dir.join("cache"),
    );
    assert!(
        out.status.success(),
        "pyko --from {from} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = format!("oci:{}:app:1", layout.display());
    (
        json(&skopeo(&["inspect", "--raw", &r])),
        json(&skopeo(&["inspect", "--config", &r])),
        layout,
    )
}

#[test]
fn oci_layout_oci_archive_and_docker_archive_bases() {
    fixtures::require_tool("skopeo");
    let tmp = tempfile::tempdir().unwrap();

    // A layout whose tag names an index (Slim): the platform is picked from it.
    let slim = fixtures::base_layout(Flavour::Slim);
    let slim_ref = fixtures::base_oci_ref(Flavour::Slim);
    let (m, cfg, _) = build_from(
        &format!("oci-layout:{}:{BASE_TAG}", slim.display()),
        tmp.path(),
    );
    let base_m = json(&skopeo(&[
        "inspect",
        "--raw",
        "--override-arch",
        "amd64",
        &slim_ref,
    ]));
    let base_m = if base_m.get("manifests").is_some() {
        // skopeo --raw gives the index; read the child from the blob store.
        let d = base_m["manifests"][0]["digest"].as_str().unwrap();
        json(
            &std::fs::read_to_string(slim.join("blobs/sha256").join(&d["sha256:".len()..]))
                .unwrap(),
        )
    } else {
        base_m
    };
    let (ours, theirs) = (
        fixtures::layer_digests(&m),
        fixtures::layer_digests(&base_m),
    );
    assert_eq!(ours.len(), theirs.len() + 2);
    assert_eq!(ours[..theirs.len()], theirs[..]);
    let index = json(&std::fs::read_to_string(slim.join("index.json")).unwrap());
    assert_eq!(
        m["annotations"]["org.opencontainers.image.base.digest"], index["manifests"][0]["digest"],
        "base.digest names the index the tag pointed at"
    );
    assert!(
        m["annotations"]
            .get("org.opencontainers.image.base.name")
            .is_none(),
        "no build-machine path in the manifest"
    );
    assert_eq!(
        cfg["config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e.as_str().unwrap().starts_with("PYTHON_VERSION="))
            .count(),
        1
    );

    // oci-archive of the Debian base: same layers as the layout.
    let debian = fixtures::base_oci_ref(Flavour::Debian);
    let oci_archive = tmp.path().join("debian-oci.tar");
    skopeo(&[
        "copy",
        "--quiet",
        &debian,
        &format!("oci-archive:{}", oci_archive.display()),
    ]);
    let (m, _, _) = build_from(
        &format!("oci-archive:{}", oci_archive.display()),
        tmp.path(),
    );
    let debian_m = json(&skopeo(&["inspect", "--raw", &debian]));
    let theirs = fixtures::layer_digests(&debian_m);
    assert_eq!(fixtures::layer_digests(&m)[..theirs.len()], theirs[..]);

    // docker-archive (classic `docker save`, uncompressed layers): they are
    // kept as OCI tar layers, digest = diff_id.
    let docker_archive = tmp.path().join("debian-docker.tar");
    skopeo(&[
        "copy",
        "--quiet",
        &debian,
        &format!(
            "docker-archive:{}:base/python:3.11",
            docker_archive.display()
        ),
    ]);
    let (m, cfg, layout) = build_from(
        &format!(
            "docker-archive:{}:base/python:3.11",
            docker_archive.display()
        ),
        tmp.path(),
    );
    let diff_ids: Vec<String> = cfg["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    let base_layer = &m["layers"][0];
    assert_eq!(base_layer["digest"].as_str().unwrap(), diff_ids[0]);
    assert_eq!(
        base_layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    // The image runs: the base from the archive plus our layers.
    let rootfs = fixtures::unpack_oci(&layout, "app:1");
    let out = rootfs.chroot(&[
        "python3",
        "-c",
        "import packaging, sys; print(sys.version_info[:2])",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "(3, 11)");
}

#[test]
fn corrupt_or_wrong_disk_base_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let debian = fixtures::base_layout(Flavour::Debian);
    // A hard-linked copy of the layout with the config blob replaced.
    let copy = tmp.path().join("layout");
    let st = Command::new("cp")
        .arg("-al")
        .arg(&debian)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(st.success());
    let index = json(&std::fs::read_to_string(copy.join("index.json")).unwrap());
    let mdigest = index["manifests"][0]["digest"].as_str().unwrap();
    let blob = |d: &str| copy.join("blobs/sha256").join(&d["sha256:".len()..]);
    let manifest = json(&std::fs::read_to_string(blob(mdigest)).unwrap());
    let cdigest = manifest["config"]["digest"].as_str().unwrap();
    let mut bytes = std::fs::read(blob(cdigest)).unwrap();
    std::fs::remove_file(blob(cdigest)).unwrap();
    bytes.push(b' ');
    std::fs::write(blob(cdigest), bytes).unwrap();

    let fail = |from: &str, want: &[&str]| {
        let out = pyko(
            &[
                "build",
                "--from",
                from,
                "--wheels",
                small_wheels(tmp.path()).to_str().unwrap(),
                "--tarball",
                tmp.path().join("x.tar").to_str().unwrap(),
            ],
            &tmp.path().join("cache"),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{from} should fail");
        for w in want {
            assert!(err.contains(w), "{from}: want {w:?} in:\n{err}");
        }
        assert!(!tmp.path().join("x.tar").exists());
    };
    fail(
        &format!("oci-layout:{}", copy.display()),
        &[cdigest, "digest"],
    );
    fail(
        &format!("oci-layout:{}:nope", debian.display()),
        &["nope", "latest"],
    );
    fail(
        &format!("oci-archive:{}", tmp.path().join("missing.tar").display()),
        &["missing.tar"],
    );
}
