//! The email-header files of a `.dist-info` directory (`WHEEL`, `METADATA`):
//! only the fields installing and checking need.

/// Header fields in order, continuation lines folded in; the body (a long
/// description after the first blank line) is ignored.
pub fn parse_headers(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

fn first<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// What `WHEEL` says.
#[derive(Debug)]
pub struct WheelInfo {
    pub version: (u32, u32),
    pub version_str: String,
    pub root_is_purelib: bool,
}

pub fn parse_wheel_file(text: &str) -> Result<WheelInfo, String> {
    let fields = parse_headers(text);
    let version_str = first(&fields, "Wheel-Version")
        .ok_or("WHEEL has no Wheel-Version")?
        .to_string();
    let mut parts = version_str.split('.').map(|p| p.parse::<u32>());
    let version = match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor),
        (Some(Ok(major)), None) => (major, 0),
        _ => {
            return Err(format!(
                "WHEEL has an invalid Wheel-Version {version_str:?}"
            ))
        }
    };
    Ok(WheelInfo {
        version,
        version_str,
        // pip: anything but "true" (any case) means platlib.
        root_is_purelib: first(&fields, "Root-Is-Purelib")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// What `METADATA` says about identity and dependencies.
#[derive(Clone, Debug)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
}

pub fn parse_metadata(text: &str) -> Result<Metadata, String> {
    let fields = parse_headers(text);
    let get = |k: &str| first(&fields, k).map(str::to_string);
    Ok(Metadata {
        name: get("Name").ok_or("METADATA has no Name")?,
        version: get("Version").ok_or("METADATA has no Version")?,
        requires_dist: fields
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Requires-Dist"))
            .map(|(_, v)| v.clone())
            .collect(),
        requires_python: get("Requires-Python").filter(|s| !s.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wheel_and_metadata() {
        let w =
            parse_wheel_file("Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: True\n").unwrap();
        assert_eq!(w.version, (1, 0));
        assert!(w.root_is_purelib);
        assert!(
            !parse_wheel_file("Wheel-Version: 1.1\n")
                .unwrap()
                .root_is_purelib
        );
        assert!(parse_wheel_file("Generator: x\n").is_err());
        let m = parse_metadata(
            "Metadata-Version: 2.1\nName: Foo\nVersion: 1.0\nRequires-Dist: bar>=1\n\
             Requires-Dist: baz; extra == 'x'\nRequires-Python: >=3.8\nSummary: a\n  b\n\nRequires-Dist: not-a-header\n",
        )
        .unwrap();
        assert_eq!(m.name, "Foo");
        assert_eq!(m.requires_dist, ["bar>=1", "baz; extra == 'x'"]);
        assert_eq!(m.requires_python.as_deref(), Some(">=3.8"));
    }
}
