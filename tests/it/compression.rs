//! `--compression zstd`: pyko writes zstd layers that hold exactly what its
//! gzip layers hold, reads zstd base layers, and podman (containers/image,
//! the same reader as skopeo and CRI-O) pulls, loads and runs the result.

use std::path::Path;

use crate::common::fixtures::{self, Flavour};
use crate::common::podman::Podman;
use crate::common::registry::Registry;
use crate::common::run::{json, pyko, skopeo};

fn build(cache: &Path, args: &[&str]) -> String {
    let out = pyko(&[&["build"], args].concat(), cache);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "pyko {args:?}: {stderr}");
    stderr
}

fn target_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|l| l.split_once("target: ").map(|(_, t)| t))
        .unwrap_or_else(|| panic!("no target line: {stderr}"))
}

#[test]
fn zstd_images_from_a_zstd_base_hold_what_gzip_ones_do_and_podman_runs_them() {
    let reg = Registry::start();
    // The same base recompressed by skopeo: every base layer is zstd. It
    // goes first, to a repository of its own: skopeo reuses a blob of the
    // same content (the gzip one) when its registry already has it.
    let zs_base = format!("{}/zstd/python:3.11", reg.host);
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-compress",
        "--dest-compress-format",
        "zstd",
        &fixtures::base_oci_ref(Flavour::Slim),
        &format!("docker://{zs_base}"),
    ]);
    let types = |m: &serde_json::Value| -> Vec<String> {
        m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["mediaType"].as_str().unwrap().to_string())
            .collect()
    };
    let zstd = pyko::media_types::OCI_LAYER_TAR_ZSTD;
    let base_m = fixtures::inspect_raw(&reg, &zs_base);
    assert_eq!(types(&base_m), vec![zstd; 2], "{base_m}");
    let gz_base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-gz");
    let tmp = tempfile::tempdir().unwrap();
    let wheels = fixtures::wheels_named(&tmp.path().join("wheels"), &["idna-", "packaging-"]);
    let version = |prefix: &str| {
        std::fs::read_dir(&wheels)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find_map(|n| Some(n.strip_prefix(prefix)?.split('-').next()?.to_string()))
            .unwrap()
    };
    let expected = format!("ok {} {}\n", version("idna-"), version("packaging-"));
    let app = tmp.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("app.py"),
        "import idna, packaging\nprint('ok', idna.__version__, packaging.__version__)\n",
    )
    .unwrap();
    let common = [
        "--wheels",
        wheels.to_str().unwrap(),
        "--app",
        app.to_str().unwrap(),
        "--cmd",
        "python app.py",
    ];
    let gz_ref = format!("{}/gz/app:1", reg.host);
    let zs_ref = format!("{}/zs/app:1", reg.host);
    let tarball = tmp.path().join("zs.tar");
    let gz_err = build(
        &tmp.path().join("cache-gz"),
        &[&["--from", &gz_base, "--push", &gz_ref], &common[..]].concat(),
    );
    let zs_args = [
        &[
            "--from",
            &zs_base,
            "--compression",
            "zstd",
            "--push",
            &zs_ref,
            "--tarball",
            tarball.to_str().unwrap(),
            "-t",
            "localhost/zs:1",
        ],
        &common[..],
    ]
    .concat();
    let zs_err = build(&tmp.path().join("cache-zs"), &zs_args);
    // The zstd base's layers are read to find the interpreter.
    assert_eq!(target_line(&zs_err), target_line(&gz_err));
    assert!(zs_err.contains("Docker Engine 23"), "{zs_err}");

    let manifest = |r: &str| fixtures::inspect_raw(&reg, r);
    let (gz_m, zs_m) = (manifest(&gz_ref), manifest(&zs_ref));
    assert_eq!(types(&gz_m), vec![pyko::media_types::OCI_LAYER_TAR_GZIP; 4]);
    assert_eq!(types(&zs_m), vec![zstd; 4]);
    let (gz_l, zs_l) = (
        fixtures::layer_digests(&gz_m),
        fixtures::layer_digests(&zs_m),
    );
    assert!(gz_l.iter().all(|d| !zs_l.contains(d)), "{gz_l:?} {zs_l:?}");
    // Same files, byte for byte: the uncompressed layers are identical.
    let diff_ids = |r: &str| {
        json(&skopeo(&[
            "inspect",
            "--config",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{r}"),
        ]))["rootfs"]["diff_ids"]
            .clone()
    };
    assert_eq!(diff_ids(&zs_ref), diff_ids(&gz_ref));

    // Reproducible: a fresh cache makes the same zstd image.
    build(&tmp.path().join("cache-zs-2"), &zs_args);
    let again = manifest(&zs_ref);
    assert_eq!(fixtures::layer_digests(&again), zs_l);

    // podman pulls it (checking each layer against its diff_id), runs the
    // Cmd in the WorkingDir, and loads the tarball.
    let podman = Podman::new(&tmp.path().join("podman"));
    podman.run(&[
        "pull",
        "-q",
        "--tls-verify=false",
        &format!("docker://{zs_ref}"),
    ]);
    assert_eq!(podman.run_image(&zs_ref, &[]), expected);
    let loaded = podman.run(&["load", "-i", tarball.to_str().unwrap()]);
    assert!(loaded.contains("localhost/zs:1"), "{loaded}");
    assert_eq!(podman.run_image("localhost/zs:1", &[]), expected);
}

#[test]
fn a_bad_compression_names_the_flag_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out_tar = tmp.path().join("out.tar");
    for (value, says) in [("zstd:20", "1 to 19"), ("lz4", "gzip, gzip:LEVEL")] {
        let out = pyko(
            &[
                "build",
                "--from",
                "127.0.0.1:1/none:1",
                "--wheels",
                tmp.path().to_str().unwrap(),
                "--compression",
                value,
                "--tarball",
                out_tar.to_str().unwrap(),
            ],
            &tmp.path().join("cache"),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("--compression") && stderr.contains(says),
            "{stderr}"
        );
        assert!(!out_tar.exists());
        assert!(!tmp.path().join("cache").exists());
    }
}
