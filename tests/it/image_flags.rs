//! The image-shaping flags, read back by independent tools: `--label`,
//! `--env`, `--user`, `--entrypoint`/`--cmd` in the config (skopeo), the
//! base annotations in the manifest, several `--push` references getting
//! one manifest with every blob sent once, and `--tag` naming the image in
//! the tarball and the layout.

use crate::common::run::{json, pyko, skopeo};

use std::path::Path;
use std::process::Command;

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::Registry;

/// One small pure wheel: these tests are about the image, not the install.
pub fn small_wheels(dir: &Path) -> std::path::PathBuf {
    let w = dir.join("wheels");
    std::fs::create_dir(&w).unwrap();
    let src = fixtures::wheel("packaging-");
    std::fs::copy(&src, w.join(src.file_name().unwrap())).unwrap();
    w
}

/// Access-log request paths of `method` containing `part`.
fn requests(log: &str, method: &str, part: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let start = l.find(&format!("\"{method} /v2/"))?;
            let path = l[start + 1..].split(' ').nth(1)?;
            path.contains(part).then(|| path.replace("%3A", ":"))
        })
        .collect()
}

#[test]
fn flags_reach_config_manifest_tarball_and_every_push() {
    fixtures::require_tool("skopeo");
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Debian, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let wheels = small_wheels(tmp.path());
    let tarball = tmp.path().join("app.tar");
    let layout = tmp.path().join("layout");
    let h = &reg.host;
    let dests = [
        format!("{h}/demo/x:1"),
        format!("{h}/demo/x:2"),
        format!("{h}/other/y:1"),
    ];
    let log_before = reg.log().len();
    let out = pyko(
        &[
            "build",
            "--from",
            &base,
            "--wheels",
            wheels.to_str().unwrap(),
            "--app",
            fixtures::example_app().to_str().unwrap(),
            "--label",
            "org.opencontainers.image.source=https://example.invalid/app",
            "--label",
            "team=data science",
            "--env",
            "FOO=bar",
            "--env",
            "GREETING=hello world",
            "--user",
            "1000:1000",
            "--entrypoint",
            r#"["python3", "-m"]"#,
            "--cmd",
            r#"["http.server", "8000"]"#,
            "--push",
            &dests[0],
            "--push",
            &dests[1],
            "--push",
            &dests[2],
            "--tarball",
            tarball.to_str().unwrap(),
            "--oci-layout",
            layout.to_str().unwrap(),
            "--tag",
            "my/app:v1",
        ],
        &tmp.path().join("cache"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pyko failed:\n{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "one line per --push: {stdout}");
    let digest = lines[0].rsplit_once('@').unwrap().1;
    assert!(lines.iter().all(|l| l.ends_with(digest)), "{stdout}");
    assert_eq!(lines[0], format!("{h}/demo/x@{digest}"));
    assert_eq!(lines[2], format!("{h}/other/y@{digest}"));

    for d in &dests {
        let cfg = json(&skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--config",
            &format!("docker://{d}"),
        ]));
        let c = &cfg["config"];
        assert_eq!(c["User"], "1000:1000");
        assert_eq!(c["Entrypoint"], serde_json::json!(["python3", "-m"]));
        assert_eq!(c["Cmd"], serde_json::json!(["http.server", "8000"]));
        assert_eq!(c["Labels"]["team"], "data science");
        assert_eq!(
            c["Labels"]["org.opencontainers.image.source"],
            "https://example.invalid/app"
        );
        let env: Vec<&str> = c["Env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(env.contains(&"FOO=bar"), "{env:?}");
        assert!(env.contains(&"GREETING=hello world"), "{env:?}");
        assert!(
            env.iter()
                .any(|e| e.starts_with("PATH=") && e.contains("/usr/bin")),
            "base PATH kept: {env:?}"
        );
    }

    // Base annotations: the reference as given and the digest of what it
    // named (the index, for a multi-platform base; else the manifest).
    let manifest = json(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{}", dests[0]),
    ]));
    let base_raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{base}"),
    ]);
    let base_digest = {
        use sha2::Digest;
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(base_raw.as_bytes()))
        )
    };
    let ann = &manifest["annotations"];
    assert_eq!(ann["org.opencontainers.image.base.name"], base.as_str());
    assert_eq!(
        ann["org.opencontainers.image.base.digest"],
        base_digest.as_str()
    );

    // Every blob crossed the wire once: base layers were mounted from the
    // base's repository, ours uploaded to demo/x and mounted into other/y;
    // only the (small) config is uploaded per repository.
    let log = reg.log()[log_before..].to_string();
    let ours: Vec<String> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(2)
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    let config = manifest["config"]["digest"].as_str().unwrap();
    let puts = requests(&log, "PUT", "/blobs/uploads/");
    for l in &ours {
        let n = puts.iter().filter(|p| p.contains(l.as_str())).count();
        assert_eq!(n, 1, "layer {l} uploaded {n} times: {puts:#?}");
    }
    assert_eq!(
        puts.len(),
        ours.len() + 2,
        "two layers once + the config per repository: {puts:#?}"
    );
    assert!(puts
        .iter()
        .all(|p| p.contains("/demo/x/") || p.contains(config)));
    let mounts = requests(&log, "POST", "mount=");
    assert!(
        mounts
            .iter()
            .any(|p| p.starts_with("/v2/other/y/") && p.contains("from=demo")),
        "{mounts:#?}"
    );
    let manifest_puts = requests(&log, "PUT", "/manifests/");
    assert_eq!(
        manifest_puts,
        [
            "/v2/demo/x/manifests/1",
            "/v2/demo/x/manifests/2",
            "/v2/other/y/manifests/1"
        ]
    );

    // --tag names the image in the tarball and the layout, instead of the
    // pushed references.
    let m = Command::new("tar")
        .arg("-xOf")
        .arg(&tarball)
        .arg("manifest.json")
        .output()
        .unwrap();
    assert!(m.status.success());
    let m = json(&String::from_utf8_lossy(&m.stdout));
    assert_eq!(m[0]["RepoTags"], serde_json::json!(["my/app:v1"]));
    let index = json(&std::fs::read_to_string(layout.join("index.json")).unwrap());
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    assert!(
        names.iter().any(|n| *n == "my/app:v1" || *n == "v1"),
        "{names:?}"
    );
    // skopeo reads the tarball by that name.
    let cfg = json(&skopeo(&[
        "inspect",
        "--config",
        &format!("docker-archive:{}:my/app:v1", tarball.display()),
    ]));
    assert_eq!(cfg["config"]["User"], "1000:1000");
}
