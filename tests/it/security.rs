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
