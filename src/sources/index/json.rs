//! PEP 691 JSON pages, with the PEP 700 (`upload-time`, `size`) and PEP
//! 658/714 (`core-metadata`) fields the resolver decides by.

use std::collections::BTreeMap;

use reqwest::Url;
use serde_json::Value;

use super::{CoreMetadataHint, IndexError, IndexFile};

#[derive(serde::Deserialize)]
struct Page {
    files: Vec<File>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct File {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default)]
    yanked: Value,
    #[serde(default)]
    requires_python: Option<String>,
    #[serde(default)]
    upload_time: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    core_metadata: Value,
    /// The PEP 658 spelling, which PEP 714 replaced; read when the new
    /// key is missing, since older indexes only send this one.
    #[serde(default)]
    dist_info_metadata: Value,
}

/// `{"files": [{"filename", "url", "hashes", "yanked", "requires-python",
/// "upload-time", "size", "core-metadata"}]}`; URLs relative to `base`.
pub fn parse_json(body: &str, base: &Url) -> Result<Vec<IndexFile>, IndexError> {
    let bad = |message: String| IndexError::Json {
        url: base.to_string(),
        message,
    };
    let page: Page = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    page.files
        .into_iter()
        .map(|f| {
            let url = base
                .join(&f.url)
                .map_err(|_| bad(format!("file URL {:?} does not parse", f.url)))?;
            let upload_time = f
                .upload_time
                .as_deref()
                .map(|t| {
                    t.parse::<jiff::Timestamp>()
                        .map(|ts| ts.as_second())
                        .map_err(|e| {
                            bad(format!(
                                "{}: upload-time {t:?} is not an RFC 3339 time: {e}",
                                f.filename
                            ))
                        })
                })
                .transpose()?;
            let hint = match f.core_metadata {
                Value::Null => &f.dist_info_metadata,
                ref v => v,
            };
            Ok(IndexFile {
                sha256: f.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
                yanked: !matches!(f.yanked, Value::Bool(false) | Value::Null),
                requires_python: f.requires_python.filter(|s| !s.trim().is_empty()),
                upload_time,
                core_metadata: metadata_hint(hint),
                size: f.size,
                filename: f.filename,
                url,
            })
        })
        .collect()
}

/// `true`, or a hashes object (`{"sha256": …}`, possibly empty).
fn metadata_hint(v: &Value) -> CoreMetadataHint {
    match v {
        Value::Bool(true) => CoreMetadataHint::Available { sha256: None },
        Value::Object(hashes) => CoreMetadataHint::Available {
            sha256: hashes
                .get("sha256")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase),
        },
        _ => CoreMetadataHint::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://127.0.0.1:1/simple/numpy/").unwrap()
    }

    #[test]
    fn urls_hashes_and_yanked() {
        let json = r#"{"meta":{"api-version":"1.1"},"name":"numpy","files":[
            {"filename":"numpy-2.0-py3-none-any.whl","url":"/f/numpy-2.0-py3-none-any.whl","hashes":{"sha256":"AA"}},
            {"filename":"numpy-1.0-py3-none-any.whl","url":"x.whl","hashes":{},"yanked":"broken"},
            {"filename":"numpy-0.9-py3-none-any.whl","url":"y.whl","yanked":true},
            {"filename":"numpy-0.8-py3-none-any.whl","url":"z.whl","yanked":false}]}"#;
        let files = parse_json(json, &base()).unwrap();
        assert_eq!(
            files[0].url.as_str(),
            "http://127.0.0.1:1/f/numpy-2.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("aa"));
        assert!(!files[0].yanked);
        assert!(files[1].yanked, "a reason string means yanked");
        assert!(files[2].yanked);
        assert!(!files[3].yanked);
        assert_eq!(
            files[1].url.as_str(),
            "http://127.0.0.1:1/simple/numpy/x.whl"
        );
        assert!(parse_json("{}", &base()).is_err());
    }

    #[test]
    fn pep_700_fields() {
        let json = r#"{"files":[
            {"filename":"a-1-py3-none-any.whl","url":"a.whl","requires-python":">=3.9,<4",
             "upload-time":"2024-02-05T20:49:48.123456Z","size":123456},
            {"filename":"a-0-py3-none-any.whl","url":"b.whl","requires-python":"",
             "upload-time":"2024-02-05T21:49:48+01:00"},
            {"filename":"a-2-py3-none-any.whl","url":"c.whl"}]}"#;
        let files = parse_json(json, &base()).unwrap();
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.9,<4"));
        assert_eq!(files[0].upload_time, Some(1_707_166_188));
        assert_eq!(files[0].size, Some(123_456));
        assert_eq!(files[1].requires_python, None, "empty means unrestricted");
        assert_eq!(files[1].upload_time, Some(1_707_166_188), "offset applied");
        assert_eq!(files[2].upload_time, None);
        assert_eq!(files[2].size, None);
    }

    #[test]
    fn bad_upload_time_names_the_file() {
        let json = r#"{"files":[{"filename":"a-1-py3-none-any.whl","url":"a.whl","upload-time":"yesterday"}]}"#;
        let e = parse_json(json, &base()).unwrap_err().to_string();
        assert!(
            e.contains("a-1-py3-none-any.whl") && e.contains("yesterday"),
            "{e}"
        );
    }

    #[test]
    fn core_metadata_both_spellings() {
        let json = r#"{"files":[
            {"filename":"a-1-py3-none-any.whl","url":"a.whl","core-metadata":{"sha256":"ABC"}},
            {"filename":"a-2-py3-none-any.whl","url":"b.whl","core-metadata":true},
            {"filename":"a-3-py3-none-any.whl","url":"c.whl","dist-info-metadata":{"sha256":"def"}},
            {"filename":"a-4-py3-none-any.whl","url":"d.whl","core-metadata":false,"dist-info-metadata":true},
            {"filename":"a-5-py3-none-any.whl","url":"e.whl","core-metadata":{}},
            {"filename":"a-6-py3-none-any.whl","url":"f.whl"}]}"#;
        let hints: Vec<_> = parse_json(json, &base())
            .unwrap()
            .into_iter()
            .map(|f| f.core_metadata)
            .collect();
        let avail = |h: Option<&str>| CoreMetadataHint::Available {
            sha256: h.map(String::from),
        };
        assert_eq!(
            hints,
            vec![
                avail(Some("abc")),
                avail(None),
                avail(Some("def")),
                CoreMetadataHint::Absent,
                avail(None),
                CoreMetadataHint::Absent,
            ]
        );
    }
}
