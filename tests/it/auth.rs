//! Token auth end to end: a real `docker-registry` configured for token
//! auth, trusting a test token server (tests/common/token.rs) that grants
//! repository actions per user from a table. pyko's client fetches Bearer
//! tokens for pull, push and cross-repository mounts, and a token for one
//! repository cannot push to another.

use std::path::{Path, PathBuf};

use crate::common::blobs::{count_requests, skopeo_raw, test_image};
use crate::common::registry::{Registry, RegistryOptions};
use crate::common::token::{grant, TokenServer};
use pyko::push;
use pyko::Cache;
use pyko::Reference;
use pyko::{Client, ClientOptions, RegistryError};

fn reference(s: &str) -> Reference {
    s.parse().unwrap()
}

/// A registry behind `tokens`; skopeo (an independent reader) logs in as
/// `skopeo_user`.
fn token_registry(tokens: &TokenServer, skopeo_user: (&str, &str)) -> Registry {
    Registry::start_with(RegistryOptions {
        basic: Some((skopeo_user.0.into(), skopeo_user.1.into())),
        auth_yaml: Some(tokens.auth_yaml()),
        ..Default::default()
    })
}

/// A client whose only credential file holds `user:password` for `reg`.
fn client_as(reg: &Registry, dir: &Path, user: &str, password: &str) -> (Client, PathBuf) {
    let file = dir.join(format!("{user}.json"));
    std::fs::write(
        &file,
        serde_json::json!({"auths": {reg.host.clone(): {"username": user, "password": password}}})
            .to_string(),
    )
    .unwrap();
    let client = Client::new(ClientOptions {
        auth_files: Some(vec![file.clone()]),
        ..Default::default()
    })
    .unwrap();
    (client, file)
}

#[test]
fn bearer_tokens_for_pull_push_and_mount() {
    let tokens = TokenServer::start(
        &[("alice", "a-pass"), ("carol", "c-pass")],
        &[
            grant("alice", "team/a", "pull,push"),
            grant("alice", "team/c", "pull,push"),
            grant("carol", "team/a", "pull"),
        ],
    );
    let reg = token_registry(&tokens, ("alice", "a-pass"));
    let dir = tempfile::tempdir().unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let (alice, _) = client_as(&reg, dir.path(), "alice", "a-pass");

    // Anonymous access is refused outright: the registry really checks.
    let anon = Client::new(ClientOptions {
        auth_files: Some(vec![]),
        ..Default::default()
    })
    .unwrap();
    let a_ref = reference(&format!("{}/team/a:v1", reg.host));
    let err = anon.get_manifest(&a_ref).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");

    // pull+push.
    let image = test_image(dir.path(), "amd64", &[120_000, 3_000]);
    let digest = push(&alice, &image, &cache, &a_ref).unwrap();
    assert_eq!(digest, image.manifest_blob().digest);
    assert_eq!(
        skopeo_raw(&reg, &a_ref.to_string()),
        image.manifest_blob().bytes
    );
    let pushes: Vec<_> = tokens
        .requests()
        .into_iter()
        .filter(|r| r.user.as_deref() == Some("alice") && r.status == 200)
        .collect();
    assert!(
        pushes
            .iter()
            .any(|r| r.scopes == ["repository:team/a:pull,push"]),
        "{pushes:?}"
    );
    // Tokens are cached per scope set: at most one per parallel blob thread
    // racing for the first one, not one per request.
    let push_tokens = pushes
        .iter()
        .filter(|r| r.scopes == ["repository:team/a:pull,push"])
        .count();
    assert!(push_tokens <= 3, "{pushes:?}");

    // pull only, as a reader, through base resolution (manifest + config).
    let (carol, carol_file) = client_as(&reg, dir.path(), "carol", "c-pass");
    let (fresh, _g2) = Cache::ephemeral().unwrap();
    let pulled = pyko::resolve_base(&carol, &a_ref, &pyko::default_platform(), &fresh).unwrap();
    assert_eq!(pulled.manifest_digest, digest);
    assert_eq!(pulled.image.config, image.config);
    // ...and a reader cannot push, even to the repository it can read.
    let err = push(
        &carol,
        &image,
        &cache,
        &reference(&format!("{}/team/a:v2", reg.host)),
    )
    .unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{msg}");
    assert!(msg.contains(carol_file.to_str().unwrap()), "{msg}");

    // mount: the base layers are linked from team/a into team/c with a
    // token that also asks for pull on team/a; no base byte is uploaded.
    let (fresh3, _g3) = Cache::ephemeral().unwrap();
    let base = pyko::resolve_base(&alice, &a_ref, &pyko::default_platform(), &fresh3).unwrap();
    let c_ref = reference(&format!("{}/team/c:v1", reg.host));
    push(&alice, &base.image, &fresh3, &c_ref).unwrap();
    assert_eq!(
        skopeo_raw(&reg, &c_ref.to_string()),
        image.manifest_blob().bytes
    );
    let log = reg.log();
    let mounted = log
        .lines()
        .filter(|l| l.contains("\"POST /v2/team/c/blobs/uploads/?mount=") && l.contains("\" 201 "))
        .count();
    assert_eq!(mounted, 2, "{log}");
    // Only the config blob is uploaded.
    assert_eq!(count_requests(&reg, "PUT", "/v2/team/c/blobs/uploads/"), 1);
    assert!(
        tokens.requests().iter().any(|r| r.status == 200
            && r.scopes
                .contains(&"repository:team/c:pull,push".to_string())
            && r.scopes.contains(&"repository:team/a:pull".to_string())),
        "{:?}",
        tokens.requests()
    );
}

#[test]
fn a_token_for_one_repository_cannot_push_to_another() {
    let tokens = TokenServer::start(&[("bob", "b-pass")], &[grant("bob", "team/a", "pull,push")]);
    let reg = token_registry(&tokens, ("bob", "b-pass"));
    let dir = tempfile::tempdir().unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let (bob, _) = client_as(&reg, dir.path(), "bob", "b-pass");
    let image = test_image(dir.path(), "amd64", &[10_000]);

    push(
        &bob,
        &image,
        &cache,
        &reference(&format!("{}/team/a:v1", reg.host)),
    )
    .unwrap();
    let err = push(
        &bob,
        &image,
        &cache,
        &reference(&format!("{}/team/b:v1", reg.host)),
    )
    .unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{msg}");
    assert!(msg.contains(&format!("{}/team/b", reg.host)), "{msg}");
    assert!(
        msg.contains("insufficient_scope") && msg.contains("did not grant repository:team/b:pull"),
        "names the denial: {msg}"
    );
    // Nothing reached team/b.
    assert_eq!(count_requests(&reg, "PUT", "/v2/team/b/"), 0);
    assert!(!reg.log().contains("\"POST /v2/team/b/blobs/uploads/"));
}

#[test]
fn wrong_password_at_the_token_server_names_the_realm() {
    let tokens = TokenServer::start(&[("bob", "b-pass")], &[grant("bob", "team/a", "pull,push")]);
    let reg = token_registry(&tokens, ("bob", "b-pass"));
    let dir = tempfile::tempdir().unwrap();
    let (bob, file) = client_as(&reg, dir.path(), "bob", "nope");
    let err = bob
        .get_manifest(&reference(&format!("{}/team/a:v1", reg.host)))
        .unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(matches!(err, RegistryError::Token { .. }), "{msg}");
    assert!(
        msg.contains(&tokens.realm) && msg.contains(&reg.host) && msg.contains("HTTP 401"),
        "{msg}"
    );
    assert!(msg.contains(file.to_str().unwrap()), "{msg}");
}
