use super::*;

fn store(files: &[(&str, serde_json::Value)]) -> (tempfile::TempDir, CredentialStore) {
    let d = tempfile::tempdir().unwrap();
    let mut paths = vec![d.path().join("absent.json")];
    for (name, json) in files {
        let p = d.path().join(name);
        std::fs::write(&p, serde_json::to_vec(json).unwrap()).unwrap();
        paths.push(p);
    }
    (d, CredentialStore::from_files(paths))
}

fn basic_of(c: Option<Credential>) -> (String, String) {
    match c.expect("credential").secret {
        Secret::Basic { username, password } => (username, password),
        s => panic!("{s:?}"),
    }
}

#[test]
fn docker_hub_key_spellings_and_auth_field() {
    let (_d, s) = store(&[(
        "config.json",
        serde_json::json!({"auths": {"https://index.docker.io/v1/": {"auth": "dTpwOnc="}}}),
    )]);
    assert_eq!(
        basic_of(s.lookup("docker.io").unwrap()),
        ("u".into(), "p:w".into())
    );
    assert!(s.lookup("ghcr.io").unwrap().is_none());
}

#[test]
fn first_file_that_knows_the_registry_wins() {
    let (_d, s) = store(&[
        (
            "auth.json",
            serde_json::json!({"auths": {"ghcr.io": {"identitytoken": "tok"}}}),
        ),
        (
            "config.json",
            serde_json::json!({"auths": {"ghcr.io": {"username": "a", "password": "b"},
                                         "quay.io": {"username": "q", "password": "r"}}}),
        ),
    ]);
    let c = s.lookup("ghcr.io").unwrap().unwrap();
    assert!(matches!(c.secret, Secret::IdentityToken(ref t) if t == "tok"));
    assert!(c.source.ends_with("auth.json"));
    assert_eq!(
        basic_of(s.lookup("quay.io").unwrap()),
        ("q".into(), "r".into())
    );
}

#[test]
fn helpers_and_bad_files_are_reported_by_name() {
    let (_d, s) = store(&[(
        "config.json",
        serde_json::json!({"credHelpers": {"gcr.io": "pyko-test-absent"},
                           "auths": {"gcr.io": {"auth": "eDp5"}}}),
    )]);
    let msg = s.lookup("gcr.io").unwrap_err().to_string();
    assert!(
        msg.contains("docker-credential-pyko-test-absent") && msg.contains("PATH"),
        "{msg}"
    );
    let (_d, s) = store(&[(
        "config.json",
        serde_json::json!({"auths": {"x.io": {"auth": "!!"}}}),
    )]);
    let msg = s.lookup("x.io").unwrap_err().to_string();
    assert!(
        msg.contains("config.json") && msg.contains("base64"),
        "{msg}"
    );
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("config.json");
    std::fs::write(&p, "{not json").unwrap();
    let msg = CredentialStore::from_files(vec![p])
        .lookup("x.io")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not valid JSON"), "{msg}");
}

#[test]
fn a_failing_helpers_output_never_carries_a_credential() {
    assert_eq!(
        helper_said("credentials not found in native keychain\n"),
        "credentials not found in native keychain"
    );
    for leaky in [
        r#"{"ServerURL":"r.io","Username":"u","Secret":"hunter2"}"#,
        "error: token ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa expired",
        "Password: hunter2",
        "eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIn0",
    ] {
        let said = helper_said(leaky);
        assert!(said.contains("withheld"), "{leaky:?} → {said:?}");
    }
    assert_eq!(helper_said("  \n"), "(it printed nothing)");
    assert!(helper_said(&"no such key ".repeat(40)).ends_with('…'));
}
