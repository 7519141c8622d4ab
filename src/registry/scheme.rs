//! Which URL a registry name means. https always, except that loopback
//! registries and ones listed with `--insecure-registry` may speak plain
//! http: for those https is tried first and http used only if the server
//! does not speak TLS at all, as Docker does. A certificate that fails
//! verification is never a reason to fall back — that is reported instead.

use std::net::IpAddr;
use std::time::Duration;

use super::client::Client;
use super::error::chain;
use crate::oci::reference::DOCKER_HUB;

/// Docker Hub's API lives on another host than its canonical name.
pub(crate) fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        "registry-1.docker.io"
    } else {
        registry
    }
}

/// Plain http is only ever allowed for loopback or an explicitly listed
/// registry, so credentials never cross a network in the clear by accident.
pub(crate) fn plain_http_allowed(registry: &str, insecure: &[String]) -> bool {
    let host = host_part(registry);
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback || insecure.iter().any(|i| i == registry || i == host)
}

fn host_part(registry: &str) -> &str {
    if let Some(end) = registry.find(']') {
        return &registry[..=end];
    }
    registry.split(':').next().unwrap_or(registry)
}

impl Client {
    /// `https://registry-1.docker.io/v2/`, `http://127.0.0.1:5000/v2/`, …
    pub fn base_url(&self, registry: &str) -> String {
        let host = api_host(registry);
        if !plain_http_allowed(registry, &self.insecure) {
            return format!("https://{host}/v2/");
        }
        let mut known = self.schemes.lock().expect("scheme cache lock");
        let scheme = *known
            .entry(registry.to_string())
            .or_insert_with(|| self.probe_scheme(host));
        format!("{scheme}://{host}/v2/")
    }

    fn probe_scheme(&self, host: &str) -> &'static str {
        let url = format!("https://{host}/v2/");
        match self
            .http
            .raw()
            .get(&url)
            .timeout(Duration::from_secs(5))
            .send()
        {
            Ok(_) => "https",
            Err(e) => {
                let detail = chain(&e);
                if detail.contains("certificate") || detail.contains("UnknownIssuer") {
                    "https"
                } else {
                    "http"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_and_listed() {
        let insecure = vec!["reg.internal:5000".to_string(), "other.lan".to_string()];
        let allowed = |r: &str| plain_http_allowed(r, &insecure);
        assert!(!allowed("docker.io") && !allowed("ghcr.io"));
        assert!(allowed("localhost:5000") && allowed("localhost"));
        assert!(allowed("127.3.4.5:80") && allowed("[::1]:5000"));
        assert!(allowed("reg.internal:5000") && !allowed("reg.internal:6000"));
        assert!(allowed("other.lan:1"));
        assert!(!allowed("10.0.0.1:5000") && !allowed("localhost.evil.example"));
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
    }
}
