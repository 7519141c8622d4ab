//! Issue 17's holes, end to end against the real components: each test
//! fails on the code before its fix.

use std::path::Path;

use crate::common::blobs::test_image;
use crate::common::registry::{Registry, RegistryOptions};
use crate::common::token::{grant, TokenServer};
use pyko::{push, Cache, Client, ClientOptions, Reference};

fn client_with(dir: &Path, host: &str, user: &str, password: &str) -> Client {
    let file = dir.join("auth.json");
    std::fs::write(
        &file,
        serde_json::json!({"auths": {host: {"username": user, "password": password}}}).to_string(),
    )
    .unwrap();
    Client::new(ClientOptions {
        auth_files: Some(vec![file]),
        ..Default::default()
    })
    .unwrap()
}

/// The registry hands out upload Locations on another origin (`localhost`
/// instead of `127.0.0.1`): the PUT there goes without the registry's
/// password, so the push fails naming the foreign address instead of
/// leaking it (before the fix the password went along and the push passed).
#[test]
fn upload_location_elsewhere_gets_no_credentials() {
    let reg = Registry::start_with(RegistryOptions {
        basic: Some(("ann".into(), "s3cret".into())),
        public_url: Some("http://localhost:{port}".into()),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let client = client_with(dir.path(), &reg.host, "ann", "s3cret");
    let (cache, _g) = Cache::ephemeral().unwrap();
    let image = test_image(dir.path(), "amd64", &[5_000]);
    let dest: Reference = format!("{}/team/app:v1", reg.host).parse().unwrap();
    let err = push(&client, &image, &cache, &dest)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("http://localhost:") && err.contains("not its own address"),
        "{err}"
    );
    // The PUTs to the foreign origin really went without credentials.
    let log = reg.log();
    let puts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"PUT /v2/team/app/blobs/uploads/"))
        .collect();
    assert!(
        !puts.is_empty(),
        "no upload PUT reached the registry:\n{log}"
    );
    assert!(
        puts.iter().all(|l| l.contains("\" 401 ")),
        "an upload PUT was authorized:\n{}",
        puts.join("\n")
    );
}

/// A token realm over plain http to another machine never gets the
/// password; the refusal comes before any connection to it.
#[test]
fn cleartext_token_realm_elsewhere_is_refused() {
    let tokens = TokenServer::start(
        &[("ann", "s3cret")],
        &[grant("ann", "team/app", "pull,push")],
    );
    let realm = "http://192.0.2.1/token";
    let reg = Registry::start_with(RegistryOptions {
        auth_yaml: Some(tokens.auth_yaml().replace(&tokens.realm, realm)),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let client = client_with(dir.path(), &reg.host, "ann", "s3cret");
    let (cache, _g) = Cache::ephemeral().unwrap();
    let image = test_image(dir.path(), "amd64", &[5_000]);
    let dest: Reference = format!("{}/team/app:v1", reg.host).parse().unwrap();
    let start = std::time::Instant::now();
    let err = push(&client, &image, &cache, &dest)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(realm) && err.contains("plain http") && err.contains("auth.json"),
        "{err}"
    );
    assert!(start.elapsed().as_secs() < 8, "it tried to reach the realm");
    assert!(tokens.requests().is_empty());
}

/// Runs `pyko build` from the test base into a fresh layout, expecting a
/// failure; returns stderr after checking no layout was written.
fn build_fails(dir: &Path, extra: &[&str]) -> String {
    let layout = dir.join("layout");
    let base = crate::common::fixtures::base_oci_ref(crate::common::fixtures::Flavour::Slim);
    let out = crate::common::run::pyko_cmd(&dir.join("cache"))
        .args(["build", "--from", &base, "--oci-layout"])
        .arg(&layout)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "pyko {extra:?} succeeded:\n{stderr}");
    assert!(!layout.exists(), "a layout was written on failure");
    stderr
}

/// Lock names are input: `../../x` as a package name or a wheel file name
/// is refused naming the lock file, and nothing lands outside the cache.
#[test]
fn hostile_lock_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wheel = std::fs::read_dir(crate::common::fixtures::wheelhouse())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("/idna-"))
        .expect("idna in the wheelhouse");
    std::fs::copy(&wheel, d.join("idna.whl")).unwrap();
    let sha = pyko::Digest::of_bytes(&std::fs::read(&wheel).unwrap());
    let sha = sha.hex();
    let cases = [
        (
            "pkg",
            r#"name = "../../x""#,
            "idna-3.20-py3-none-any.whl".to_string(),
            "\"../../x\" is not a valid project name",
        ),
        (
            "file",
            r#"name = "idna""#,
            "../../../escaped-1.0-py3-none-any.whl".to_string(),
            "is not a plain file name",
        ),
    ];
    for (case, name, file, want) in cases {
        let lock = d.join(format!("{case}/pylock.toml"));
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        std::fs::write(
            &lock,
            format!(
                "lock-version = \"1.0\"\ncreated-by = \"test\"\n[[packages]]\n{name}\nversion = \"3.20\"\n\
                 [[packages.wheels]]\nname = \"{file}\"\npath = \"../idna.whl\"\nhashes = {{sha256 = \"{sha}\"}}\n"
            ),
        )
        .unwrap();
        let err = build_fails(d, &["--lock", lock.to_str().unwrap()]);
        assert!(
            err.contains(want) && err.contains(lock.to_str().unwrap()),
            "{case}: {err}"
        );
        assert!(!d.join("escaped-1.0-py3-none-any.whl").exists());
    }
}

/// `--oci-layout DIR` adds to a layout skopeo wrote, as skopeo itself
/// does: its tag and blobs stay, pyko's tag is added, and writing a tag
/// again moves it. Before the fix the skopeo tag was wiped.
#[test]
fn oci_layout_is_added_to_not_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let base = crate::common::fixtures::base_oci_ref(crate::common::fixtures::Flavour::Slim);
    let dest = format!("oci:{}:base", layout.display());
    crate::common::run::skopeo(&["copy", &base, &dest]);
    let base_digest = crate::common::run::json(&crate::common::run::skopeo(&["inspect", &dest]))
        ["Digest"]
        .clone();

    let one = test_image(dir.path(), "amd64", &[3_000]);
    let two = test_image(dir.path(), "arm64", &[4_000]);
    pyko::write_layout(&layout, &[(one.clone(), Some("app".into()))]).unwrap();
    pyko::write_layout(&layout, &[(two.clone(), Some("app".into()))]).unwrap();

    let inspect = |tag: &str| {
        crate::common::run::json(&crate::common::run::skopeo(&[
            "inspect",
            &format!("oci:{}:{tag}", layout.display()),
        ]))
    };
    assert_eq!(inspect("base")["Digest"], base_digest);
    assert_eq!(
        inspect("app")["Digest"],
        two.manifest_blob().digest.to_string()
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
    // The base's blobs are all still there: skopeo copies it out whole.
    let out = dir.path().join("copied");
    crate::common::run::skopeo(&[
        "copy",
        &format!("oci:{}:base", layout.display()),
        &format!("oci:{}:x", out.display()),
    ]);

    // A directory that is not a layout is still refused, untouched.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let err = pyko::write_layout(&other, &[(one, None)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an OCI image layout"), "{err}");
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
}
