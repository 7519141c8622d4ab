//! `ExposedPorts`, and the one port parser every input (`--port`, EXPOSE)
//! goes through, so a port means the same wherever it was written.

use serde_json::{json, Map, Value};

use super::{object, ConfigError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{port:?}: {reason}; expected PORT or PORT/PROTO with PORT 1–65535 and PROTO tcp, udp or sctp (e.g. 8501 or 53/udp)")]
pub struct PortError {
    pub port: String,
    pub reason: &'static str,
}

/// A port as Docker's EXPOSE takes it (`8501`, `8501/tcp`, `53/UDP`) in the
/// config's key form: `8501/tcp`, `53/udp`.
pub fn parse_port(port: &str) -> Result<String, PortError> {
    let bad = |reason| PortError {
        port: port.to_string(),
        reason,
    };
    let (num, proto) = match port.split_once('/') {
        Some((n, p)) => (n, p.to_ascii_lowercase()),
        None => (port, "tcp".to_string()),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a port number"));
    }
    match num.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => {}
        _ => return Err(bad("port out of range")),
    }
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad("unknown protocol"));
    }
    Ok(format!("{}/{proto}", num.trim_start_matches('0')))
}

/// Adds `ports` to the inherited `ExposedPorts` (EXPOSE only ever adds).
pub(super) fn expose(
    cfg: &mut Map<String, Value>,
    ports: &[String],
    steps: &mut Vec<String>,
) -> Result<(), ConfigError> {
    if ports.is_empty() {
        return Ok(());
    }
    let exposed = object(cfg, "ExposedPorts", "config.ExposedPorts")?;
    for p in ports {
        let p = parse_port(p)?;
        steps.push(format!("EXPOSE {p}"));
        exposed.insert(p, json!({}));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_normalize_and_bad_ones_are_named() {
        assert_eq!(parse_port("8501").unwrap(), "8501/tcp");
        assert_eq!(parse_port("53/UDP").unwrap(), "53/udp");
        assert!(parse_port("70000").is_err());
        for p in ["0", "65536", "http", "80/tcpx", "80-90", "", "/tcp"] {
            let err = parse_port(p).unwrap_err();
            assert!(err.to_string().contains(&format!("{p:?}")), "{err}");
        }
        assert_eq!(parse_port("0443/TCP").unwrap(), "443/tcp");
    }
}
