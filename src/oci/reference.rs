//! Image references (`python:3.12-slim`, `host:5000/a/b:tag@sha256:…`),
//! normalised the way Docker does, so a name means the same image here as in
//! `docker pull`.

use std::fmt;
use std::str::FromStr;

use crate::oci::digest::Digest;

/// Docker Hub's canonical name. The API host differs (`registry-1.docker.io`);
/// the registry client maps one to the other, so references, credentials and
/// `BlobSource`s all agree on this spelling.
pub const DOCKER_HUB: &str = "docker.io";

/// A normalised reference: `registry` is the canonical name (`docker.io` for
/// Docker Hub; the API host is chosen by the registry client), `repository`
/// has `library/` added for Docker Hub's official images.
///
/// A reference with neither tag nor digest gets the tag `latest`, as in
/// `docker pull`. When both are given both are kept: the digest is what is
/// pulled, the tag is informative (and is where a push goes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid image reference {input:?}: {rule}")]
pub struct InvalidReference {
    pub input: String,
    pub rule: String,
}

impl Reference {
    /// What goes after `/manifests/` when pulling: the digest wins, because
    /// it cannot move under us.
    pub fn pull_target(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// The same repository pinned to `digest` (tag kept for display).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = InvalidReference;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |rule: &str| InvalidReference {
            input: input.to_string(),
            rule: rule.to_string(),
        };
        if input.is_empty() {
            return Err(bad("it is empty"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                let d = d.parse::<Digest>().map_err(|_| {
                    bad("the part after '@' must be sha256:<64 lowercase hex digits>")
                })?;
                (r, Some(d))
            }
            None => (input, None),
        };
        // A ':' after the last '/' starts the tag; one before it is a port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].find(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            check_tag(t).map_err(|r| bad(&r))?;
        }
        let (registry, repository) = split_registry(name);
        check_registry(registry).map_err(|r| bad(&r))?;
        check_repository(repository).map_err(|r| bad(&r))?;
        let (registry, repository) = normalise(registry, repository);
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_string()),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

/// Docker's rule: the first component is a registry only if it looks like a
/// host (has '.' or ':', is `localhost`, or has uppercase letters, which
/// repository names cannot).
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DOCKER_HUB, name),
    }
}

fn normalise(registry: &str, repository: &str) -> (String, String) {
    let registry = match registry {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        r => r,
    };
    let repository = if registry == DOCKER_HUB && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository.to_string()
    };
    (registry.to_string(), repository)
}

fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("the tag after ':' is empty".into());
    }
    if tag.len() > 128 {
        return Err(format!(
            "the tag is {} characters; at most 128 are allowed",
            tag.len()
        ));
    }
    let ok_first = tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    let ok_rest = tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok_first || !ok_rest {
        return Err(format!(
            "tag {tag:?} may contain only letters, digits, '_', '.' and '-', and must not start with '.' or '-'"
        ));
    }
    Ok(())
}

fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = if let Some(end) = registry.find(']') {
        match &registry[end + 1..] {
            "" => (&registry[..=end], None),
            rest => (
                &registry[..=end],
                Some(rest.strip_prefix(':').unwrap_or(rest)),
            ),
        }
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        }
    };
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!(
                "registry port {p:?} is not a number from 1 to 65535"
            ));
        }
    }
    let host_ok = !host.is_empty()
        && (host.starts_with('[') && host.ends_with(']')
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')));
    if !host_ok {
        return Err(format!("registry host {host:?} is not a valid host name"));
    }
    Ok(())
}

/// Each `/`-separated component is `[a-z0-9]+` joined by `.`, `_`, `__` or
/// runs of `-`, as the distribution spec requires.
fn check_repository(repo: &str) -> Result<(), String> {
    if repo.is_empty() {
        return Err("the repository name is empty".into());
    }
    if repo.len() > 255 {
        return Err("the repository name is longer than 255 characters".into());
    }
    if repo.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "repository {repo:?} has uppercase letters; repository names must be lowercase"
        ));
    }
    for comp in repo.split('/') {
        if !component_ok(comp) {
            return Err(format!(
                "repository component {comp:?} must be lowercase letters and digits, separated by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

fn component_ok(comp: &str) -> bool {
    let b = comp.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &comp[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

#[cfg(test)]
#[path = "reference_tests.rs"]
mod tests;
