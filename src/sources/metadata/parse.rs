//! `METADATA` (core metadata 1.0–2.4): RFC 822 style headers up to the first
//! blank line, the description body after it (ignored).

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use super::{CoreMetadata, MetadataError};
use crate::wheel::normalize_name;

/// Parses `METADATA` text; `origin` (a file name or URL) names it in errors.
pub fn parse(bytes: &[u8], origin: &str) -> Result<CoreMetadata, MetadataError> {
    let bad = |message: String| MetadataError::Parse {
        file: origin.to_string(),
        message,
    };
    let text =
        std::str::from_utf8(bytes).map_err(|e| bad(format!("METADATA is not UTF-8 ({e})")))?;
    let mut headers: Vec<(String, String, usize)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // Only an empty line ends the headers: a folded License keeps its
        // paragraphs with whitespace-only lines (altair's does), as
        // Python's email parser reads them.
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // A folded header continues the previous one.
            let Some(last) = headers.last_mut() else {
                return Err(bad(format!(
                    "line {}: a continuation line before any header",
                    i + 1
                )));
            };
            last.1.push(' ');
            last.1.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!(
                "line {}: {line:?} is not a `Name: value` header",
                i + 1
            )));
        };
        headers.push((
            name.trim().to_ascii_lowercase(),
            value.trim().to_string(),
            i + 1,
        ));
    }
    let one = |key: &str, shown: &str| -> Result<(String, usize), MetadataError> {
        headers
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, l)| (v.clone(), *l))
            .ok_or_else(|| bad(format!("no {shown} header")))
    };
    let (name, _) = one("name", "Name")?;
    let (version, line) = one("version", "Version")?;
    let version = Version::from_str(&version)
        .map_err(|e| bad(format!("line {line}: Version {version:?}: {e}")))?;
    let requires_python = match headers.iter().find(|(k, _, _)| k == "requires-python") {
        Some((_, v, _)) if v.is_empty() => None,
        Some((_, v, l)) => Some(
            VersionSpecifiers::from_str(v)
                .map_err(|e| bad(format!("line {l}: Requires-Python {v:?}: {e}")))?,
        ),
        None => None,
    };
    let mut requires_dist = Vec::new();
    let mut provides_extra = Vec::new();
    for (k, v, l) in &headers {
        match k.as_str() {
            "requires-dist" => requires_dist.push(
                crate::sources::pep508::parse_requirement(v)
                    .map_err(|e| bad(format!("line {l}: Requires-Dist {v:?}: {e}")))?,
            ),
            "provides-extra" => provides_extra.push(normalize_name(v)),
            _ => {}
        }
    }
    Ok(CoreMetadata {
        name: normalize_name(&name),
        version,
        requires_python,
        requires_dist,
        provides_extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Metadata-Version: 2.1\r
Name: Scikit_Learn\r
version: 1.5.0\r
Summary: A set of python modules for machine learning\r
 and data mining\r
REQUIRES-PYTHON: >=3.9\r
Requires-Dist: numpy>=1.19.5\r
Requires-Dist: scipy >=1.6.0 ; extra == 'Docs'\r
Requires-Dist: pytest>=7.1.2; (python_version < \"3.12\") and extra == \"tests\"\r
Provides-Extra: Docs\r
Provides-Extra: tests__Extra\r
\r
Requires-Dist: not-a-header-but-the-body\r
Name: body\r
";

    #[test]
    fn headers_continuations_and_body() {
        let m = parse(SAMPLE.as_bytes(), "x.whl").unwrap();
        assert_eq!(m.name, "scikit-learn");
        assert_eq!(m.version.to_string(), "1.5.0");
        assert_eq!(m.requires_python.unwrap().to_string(), ">=3.9");
        let deps: Vec<String> = m.requires_dist.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(deps, ["numpy", "scipy", "pytest"]);
        assert!(m.requires_dist[1]
            .marker
            .try_to_string()
            .unwrap()
            .contains("extra == 'docs'"));
        assert_eq!(m.provides_extra, ["docs", "tests-extra"]);
    }

    #[test]
    fn a_whitespace_only_continuation_is_no_end_of_headers() {
        let text = "Name: a\nVersion: 1\nLicense: MIT\n        \n        more\nRequires-Dist: b\n";
        let m = parse(text.as_bytes(), "a.whl").unwrap();
        assert_eq!(m.requires_dist.len(), 1);
    }

    #[test]
    fn a_folded_requirement_joins_its_lines() {
        let text = "Name: a\nVersion: 1\nRequires-Dist: b>=1;\n  python_version >= '3.8'\n";
        let m = parse(text.as_bytes(), "a.whl").unwrap();
        assert_eq!(m.requires_dist.len(), 1);
        assert!(m.requires_dist[0].marker.try_to_string().is_some());
        assert!(m.requires_python.is_none());
    }

    #[test]
    fn bad_lines_name_the_file_and_the_header() {
        for (text, want) in [
            (
                "Name: a\nVersion: 1\nRequires-Dist: b>=>1\n",
                "line 3: Requires-Dist \"b>=>1\"",
            ),
            ("Name: a\nVersion: one\n", "line 2: Version \"one\""),
            (
                "Name: a\nVersion: 1\nRequires-Python: >>3\n",
                "line 3: Requires-Python",
            ),
            ("Name: a\nno colon here\n", "line 2: \"no colon here\""),
            (" folded\n", "line 1: a continuation line"),
            ("Version: 1\n", "no Name header"),
            ("Name: a\n", "no Version header"),
        ] {
            let e = parse(text.as_bytes(), "a-1-py3-none-any.whl")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("a-1-py3-none-any.whl") && e.contains(want),
                "{e}"
            );
        }
        let e = parse(b"Name: \xff\n", "w.whl").unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
    }
}
