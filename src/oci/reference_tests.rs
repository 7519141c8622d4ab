use super::*;

fn parse(s: &str) -> Reference {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn rule(s: &str) -> String {
    s.parse::<Reference>().unwrap_err().to_string()
}

const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn docker_hub_official_image() {
    let r = parse("python:3.12-slim");
    assert_eq!(r.registry, "docker.io");
    assert_eq!(r.repository, "library/python");
    assert_eq!(r.tag.as_deref(), Some("3.12-slim"));
    assert_eq!(r.digest, None);
    assert_eq!(r.to_string(), "docker.io/library/python:3.12-slim");
    assert_eq!(parse("python").tag.as_deref(), Some("latest"));
    assert_eq!(parse("user/app").repository, "user/app");
    assert_eq!(
        parse("index.docker.io/python").name(),
        "docker.io/library/python"
    );
}

#[test]
fn other_registries_and_ports() {
    let r = parse("ghcr.io/a/b:t");
    assert_eq!(
        (r.registry.as_str(), r.repository.as_str()),
        ("ghcr.io", "a/b")
    );
    let r = parse("localhost:5000/x");
    assert_eq!(
        (r.registry.as_str(), r.repository.as_str()),
        ("localhost:5000", "x")
    );
    assert_eq!(r.tag.as_deref(), Some("latest"));
    let r = parse("localhost/x");
    assert_eq!(r.registry, "localhost");
    let r = parse(&format!("127.0.0.1:5000/a/b@{D}"));
    assert_eq!(r.registry, "127.0.0.1:5000");
    assert_eq!(r.repository, "a/b");
    assert_eq!(r.tag, None);
    assert_eq!(r.digest.as_ref().unwrap().as_str(), D);
    assert_eq!(r.pull_target(), D);
    let r = parse("[::1]:5000/a");
    assert_eq!(r.registry, "[::1]:5000");
}

#[test]
fn tag_and_digest_are_both_kept_and_digest_wins() {
    let r = parse(&format!("repo:tag@{D}"));
    assert_eq!(r.repository, "library/repo");
    assert_eq!(r.tag.as_deref(), Some("tag"));
    assert_eq!(r.pull_target(), D);
    assert_eq!(r.to_string(), format!("docker.io/library/repo:tag@{D}"));
    assert_eq!(parse(&r.to_string()), r);
}

#[test]
fn separators_in_repository_names() {
    for ok in ["a.b/c__d", "a-b--c/d_e", "a/b/c/d"] {
        parse(ok);
    }
    for bad in ["a..b", "a___b", "-a", "a-", "a//b", "a/"] {
        assert!(rule(bad).contains("repository"), "{bad}: {}", rule(bad));
    }
}

#[test]
fn rejections_name_the_rule() {
    assert!(rule("").contains("empty"));
    assert!(
        rule("Python:3").contains("uppercase"),
        "{}",
        rule("Python:3")
    );
    assert!(rule("ghcr.io/Org/app").contains("uppercase"));
    assert!(
        rule("python:3.12/slim").contains("repository")
            || rule("python:3.12/slim").contains("registry")
    );
    assert!(rule("python:a+b").contains("tag"), "{}", rule("python:a+b"));
    assert!(rule("python:.x").contains("must not start"));
    assert!(rule("python:").contains("empty"));
    let long = format!("python:{}", "a".repeat(129));
    assert!(rule(&long).contains("at most 128"), "{}", rule(&long));
    parse(&format!("python:{}", "a".repeat(128)));
    assert!(rule("python@sha256:abc").contains("sha256:<64"));
    assert!(rule("host:0/x").contains("port"));
    assert!(rule("host:99999/x").contains("port"));
    assert!(rule("ho_st.io/x").contains("host"));
}
