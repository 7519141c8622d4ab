//! The registry client, base resolution and push against a real
//! `docker-registry` process: plain http, Basic auth over TLS, mounts,
//! platform selection and the failures users hit.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::blobs::{count_requests, random_layer, skopeo_raw, test_image};
use crate::common::registry::{free_port, Registry, RegistryOptions};
use pyko::push;
use pyko::BaseError;
use pyko::Cache;
use pyko::Digest;
use pyko::Reference;
use pyko::{media_types::OCI_INDEX as MEDIA_TYPE_OCI_INDEX, BlobSource, Platform};
use pyko::{Client, ClientOptions, RegistryError};

/// A client that ignores the machine's credential files.
fn anon_client() -> Client {
    Client::new(ClientOptions {
        auth_files: Some(vec![]),
        ..Default::default()
    })
    .unwrap()
}

fn reference(s: &str) -> Reference {
    s.parse().unwrap()
}

fn platform(arch: &str) -> Platform {
    Platform {
        os: "linux".into(),
        architecture: arch.into(),
        variant: None,
    }
}

#[test]
fn push_then_pull_back_over_plain_http() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let client = anon_client();
    let image = test_image(dir.path(), "amd64", &[300_000, 1000, 5]);
    let dest = reference(&format!("{}/team/app:v1", reg.host));

    let digest = push(&client, &image, &cache, &dest).unwrap();
    assert_eq!(digest, image.manifest_blob().digest);
    let raw = skopeo_raw(&reg, &dest.to_string());
    assert_eq!(raw, image.manifest_blob().bytes);

    let base = pyko::resolve_base(&client, &dest, &platform("amd64"), &cache).unwrap();
    assert_eq!(base.manifest_digest, digest);
    assert_eq!(base.index_digest, None);
    assert_eq!(base.image.config, image.config);
    assert_eq!(base.image.config_blob().bytes, image.config_blob().bytes);
    assert_eq!(base.image.manifest_blob().bytes, raw);
    for (got, want) in base.image.layers.iter().zip(&image.layers) {
        assert_eq!(got.layer, want.layer);
        assert_eq!(
            got.source,
            BlobSource::Registry {
                registry: reg.host.clone(),
                repository: "team/app".into()
            }
        );
    }
    // Base layers are not downloaded by resolve, only on demand.
    let first = &base.image.layers[0];
    assert!(cache.get(&first.layer.digest, None).is_none());
    let path = client.materialize(first, &cache).unwrap();
    let BlobSource::File(orig) = &image.layers[0].source else {
        unreachable!()
    };
    assert_eq!(std::fs::read(path).unwrap(), std::fs::read(orig).unwrap());

    // Pulling by digest works and is verified; re-pushing uploads nothing.
    let by_digest = dest.with_digest(digest.clone());
    assert_eq!(client.get_manifest(&by_digest).unwrap().bytes, raw);
    let uploads = count_requests(&reg, "PUT", "/v2/team/app/blobs/uploads/");
    assert_eq!(uploads, 4, "3 layers + config");
    push(&client, &image, &cache, &dest).unwrap();
    assert_eq!(
        count_requests(&reg, "PUT", "/v2/team/app/blobs/uploads/"),
        uploads
    );
}

#[test]
fn cross_repo_mount_uploads_no_base_bytes() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let client = anon_client();
    let base_image = test_image(dir.path(), "amd64", &[200_000, 100_000]);
    let base_ref = reference(&format!("{}/base/python:3", reg.host));
    push(&client, &base_image, &cache, &base_ref).unwrap();

    let (fresh_cache, _g2) = Cache::ephemeral().unwrap();
    let base = pyko::resolve_base(&client, &base_ref, &platform("amd64"), &fresh_cache).unwrap();
    let mut image = base.image.clone();
    image.layers.push(random_layer(dir.path(), "app", 1000));
    let diff_ids: Vec<String> = image
        .layers
        .iter()
        .map(|l| l.layer.diff_id.to_string())
        .collect();
    image.config["rootfs"]["diff_ids"] = serde_json::json!(diff_ids);
    let dest = reference(&format!("{}/team/app:v2", reg.host));
    let digest = push(&client, &image, &fresh_cache, &dest).unwrap();

    assert_eq!(
        skopeo_raw(&reg, &dest.to_string()),
        image.manifest_blob().bytes
    );
    assert_eq!(digest, image.manifest_blob().digest);
    let log = reg.log();
    let mounted = log
        .lines()
        .filter(|l| {
            l.contains("\"POST /v2/team/app/blobs/uploads/?mount=") && l.contains("\" 201 ")
        })
        .count();
    assert_eq!(mounted, 2, "both base layers mounted:\n{log}");
    // Only the app layer and the config are uploaded; no base byte moved.
    assert_eq!(
        count_requests(&reg, "PUT", "/v2/team/app/blobs/uploads/"),
        2
    );
    assert_eq!(
        count_requests(&reg, "PATCH", "/v2/team/app/blobs/uploads/"),
        0
    );
    for l in &base.image.layers {
        assert!(
            fresh_cache.get(&l.layer.digest, None).is_none(),
            "base layer was downloaded"
        );
    }
}

#[test]
fn platform_is_picked_from_an_index() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let client = anon_client();
    let repo = reference(&format!("{}/multi/py:1", reg.host));
    let mut entries = Vec::new();
    let mut digests = Vec::new();
    for arch in ["amd64", "arm64"] {
        let img = test_image(dir.path(), arch, &[1000]);
        let m = img.manifest_blob();
        let at = Reference {
            tag: None,
            digest: Some(m.digest.clone()),
            ..repo.clone()
        };
        assert_eq!(push(&client, &img, &cache, &at).unwrap(), m.digest);
        entries.push(serde_json::json!({
            "mediaType": m.media_type, "digest": m.digest, "size": m.bytes.len(),
            "platform": {"os": "linux", "architecture": arch},
        }));
        digests.push(m.digest);
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": MEDIA_TYPE_OCI_INDEX, "manifests": entries,
    }))
    .unwrap();
    let index_digest = client
        .put_manifest(&repo, "1", &index, MEDIA_TYPE_OCI_INDEX)
        .unwrap();
    assert_eq!(index_digest, Digest::of_bytes(&index));

    let arm = pyko::resolve_base(&client, &repo, &platform("arm64"), &cache).unwrap();
    assert_eq!(arm.manifest_digest, digests[1]);
    assert_eq!(arm.index_digest, Some(index_digest.clone()));
    assert_eq!(arm.image.platform(), platform("arm64"));
    let amd = pyko::resolve_base(&client, &repo, &pyko::default_platform(), &cache).unwrap();
    assert_eq!(amd.manifest_digest, digests[0]);

    let err = pyko::resolve_base(&client, &repo, &platform("s390x"), &cache).unwrap_err();
    assert!(matches!(err, BaseError::NoSuchPlatform { .. }));
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(
        msg.contains("linux/s390x") && msg.contains("linux/amd64, linux/arm64"),
        "{msg}"
    );
    assert!(msg.contains(&repo.to_string()), "{msg}");
}

#[test]
fn missing_tag_names_the_reference() {
    let reg = Registry::start();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let r = reference(&format!("{}/no/such:tag", reg.host));
    let err =
        pyko::resolve_base(&anon_client(), &r, &pyko::default_platform(), &cache).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains(&r.to_string()) && msg.contains("404"), "{msg}");
    assert!(
        msg.contains("NAME_UNKNOWN") || msg.contains("MANIFEST_UNKNOWN"),
        "{msg}"
    );
}

#[test]
fn unreachable_registry_fails_fast_naming_the_host() {
    let host = format!("127.0.0.1:{}", free_port());
    let r = reference(&format!("{host}/a/b:c"));
    let start = Instant::now();
    let err = anon_client().get_manifest(&r).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(err, RegistryError::Unreachable { .. }));
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains(&host) && msg.contains("refused"), "{msg}");
}

/// Writes a Docker `config.json` into a fresh dir; returns (guard, file).
fn docker_config(json: serde_json::Value) -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("config.json");
    std::fs::write(&f, serde_json::to_vec(&json).unwrap()).unwrap();
    (d, f)
}

/// Credentials come from files passed in `ClientOptions`, never from the
/// process environment, so this runs safely beside other tests.
#[test]
fn basic_auth_over_tls_with_docker_config() {
    let reg = Registry::start_with(RegistryOptions {
        basic: Some(("alice".into(), "s3cret".into())),
        tls: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let dest = reference(&format!("{}/secure/app:v1", reg.host));
    let client_with = |auth_file: &Path| {
        Client::new(ClientOptions {
            ca_certs: vec![reg.ca_cert()],
            auth_files: Some(vec![
                dir.path().join("missing.json"),
                auth_file.to_path_buf(),
            ]),
            ..Default::default()
        })
        .unwrap()
    };
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    let (_d1, good) = docker_config(serde_json::json!({"auths": {
        "other.example": {"auth": "Zm9vOmJhcg=="},
        format!("https://{}", reg.host): {"auth": auth},
    }}));

    // Untrusted certificate: says so and how to fix it.
    let untrusted = Client::new(ClientOptions {
        auth_files: Some(vec![good.clone()]),
        ..Default::default()
    })
    .unwrap();
    let msg = untrusted.get_manifest(&dest).unwrap_err().to_string();
    assert!(
        msg.contains(&reg.host) && msg.contains("--ca-cert"),
        "{msg}"
    );

    let client = client_with(&good);
    let image = test_image(dir.path(), "amd64", &[50_000, 10]);
    let digest = push(&client, &image, &cache, &dest).unwrap();
    assert_eq!(
        skopeo_raw(&reg, &dest.to_string()),
        image.manifest_blob().bytes
    );
    let base = pyko::resolve_base(&client, &dest, &pyko::default_platform(), &cache).unwrap();
    assert_eq!(base.manifest_digest, digest);

    // username/password fields work as well as `auth`.
    let (_d2, fields) = docker_config(serde_json::json!({"auths": {
        reg.host.clone(): {"username": "alice", "password": "s3cret"},
    }}));
    client_with(&fields).get_manifest(&dest).unwrap();

    let (_d3, wrong) = docker_config(serde_json::json!({"auths": {
        reg.host.clone(): {"username": "alice", "password": "wrong"},
    }}));
    let err = client_with(&wrong).get_manifest(&dest).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(
        matches!(err, RegistryError::Unauthorized { status: 401, .. }),
        "{msg}"
    );
    assert!(msg.contains(&reg.host) && msg.contains("rejected"), "{msg}");
    assert!(
        msg.contains(wrong.to_str().unwrap()),
        "names the file: {msg}"
    );

    let (_d4, none) = docker_config(serde_json::json!({"auths": {}}));
    let msg = client_with(&none)
        .get_manifest(&dest)
        .unwrap_err()
        .to_string();
    eprintln!("{msg}");
    assert!(
        msg.contains("No credentials") && msg.contains(&reg.host),
        "{msg}"
    );

    let (_d5, helper) =
        docker_config(serde_json::json!({"credHelpers": {reg.host.clone(): "nope"}}));
    let err = client_with(&helper).get_manifest(&dest).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(
        matches!(err, RegistryError::CredentialHelper { .. }),
        "{msg}"
    );
    assert!(
        msg.contains("docker-credential-nope") && msg.contains("not on PATH"),
        "{msg}"
    );
    assert!(msg.contains(&reg.host), "{msg}");
}
