//! PEP 503 HTML pages: the `<a href>` anchors, with their PEP 592
//! (`data-yanked`), PEP 503 (`data-requires-python`) and PEP 658/714
//! (`data-core-metadata`) attributes.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use reqwest::Url;

use super::{CoreMetadataHint, IndexFile};

/// The file name is the last path segment of the URL, the hash its
/// `#sha256=` fragment; anchors that name no file are skipped.
pub fn parse_html(body: &str, base: &Url) -> Vec<IndexFile> {
    static ANCHOR: OnceLock<Regex> = OnceLock::new();
    let anchor = ANCHOR.get_or_init(|| Regex::new(r"(?is)<a\s([^>]*)>").expect("regex"));
    let mut files = Vec::new();
    for a in anchor.captures_iter(body) {
        let attrs = attributes(&a[1]);
        let Some(Some(href)) = attrs.get("href") else {
            continue;
        };
        let Ok(mut url) = base.join(href) else {
            continue;
        };
        let sha256 = url
            .fragment()
            .and_then(|f| f.strip_prefix("sha256=").map(|h| h.to_ascii_lowercase()));
        url.set_fragment(None);
        let Some(filename) = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .map(percent_decode)
        else {
            continue;
        };
        if filename.is_empty() {
            continue;
        }
        let hint = attrs
            .get("data-core-metadata")
            .or_else(|| attrs.get("data-dist-info-metadata"));
        files.push(IndexFile {
            filename,
            url,
            sha256,
            yanked: attrs.contains_key("data-yanked"),
            requires_python: attrs
                .get("data-requires-python")
                .cloned()
                .flatten()
                .filter(|s| !s.trim().is_empty()),
            upload_time: None,
            core_metadata: hint.map_or(CoreMetadataHint::Absent, |v| metadata_hint(v.as_deref())),
            size: None,
        });
    }
    files
}

/// Lower-cased attribute names → entity-decoded values (`None` for a bare
/// attribute such as `data-yanked`).
fn attributes(text: &str) -> BTreeMap<String, Option<String>> {
    static ATTR: OnceLock<Regex> = OnceLock::new();
    let attr = ATTR.get_or_init(|| {
        Regex::new(r#"(?s)([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"#)
            .expect("regex")
    });
    attr.captures_iter(text)
        .map(|c| {
            let value = c
                .get(2)
                .or(c.get(3))
                .or(c.get(4))
                .map(|m| html_escape::decode_html_entities(m.as_str()).into_owned());
            (c[1].to_ascii_lowercase(), value)
        })
        .collect()
}

/// `"true"` or `"<hashname>=<hex>"` (PEP 658); a bare attribute counts as
/// offered too, `"false"` as not.
fn metadata_hint(value: Option<&str>) -> CoreMetadataHint {
    let v = value.unwrap_or("true").trim();
    if v.eq_ignore_ascii_case("false") {
        return CoreMetadataHint::Absent;
    }
    CoreMetadataHint::Available {
        sha256: v
            .split_once('=')
            .filter(|(alg, _)| alg.eq_ignore_ascii_case("sha256"))
            .map(|(_, h)| h.to_ascii_lowercase()),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://127.0.0.1:1/simple/numpy/").unwrap()
    }

    #[test]
    fn anchors_hashes_and_relative_urls() {
        let html = r#"<html><body>
<a href="../../files/numpy-2.0-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=ABCDEF" data-requires-python="&gt;=3.9">numpy-2.0</a>
<a href='https://files.example/x/numpy-2.0.tar.gz' data-yanked="">numpy-2.0.tar.gz</a>
<a href=numpy-1.0%2Blocal-py3-none-any.whl>x</a>
<a name="top">no href</a>
<A HREF="q/numpy-0.1-py3-none-any.whl?x=1&amp;y=2" DATA-YANKED>up</A>
</body></html>"#;
        let files = parse_html(html, &base());
        assert_eq!(files.len(), 4);
        assert_eq!(
            files[0].url.as_str(),
            "http://127.0.0.1:1/files/numpy-2.0-cp311-cp311-manylinux_2_28_x86_64.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("abcdef"));
        assert!(!files[0].yanked);
        assert_eq!(files[1].filename, "numpy-2.0.tar.gz");
        assert!(files[1].yanked);
        assert_eq!(files[2].filename, "numpy-1.0+local-py3-none-any.whl");
        assert!(!files[2].yanked);
        assert_eq!(files[3].filename, "numpy-0.1-py3-none-any.whl");
        assert_eq!(files[3].url.query(), Some("x=1&y=2"));
        assert!(files[3].yanked, "a bare, upper-case data-yanked counts");
    }

    #[test]
    fn requires_python_is_unescaped() {
        let html = r#"<a href="a-1-py3-none-any.whl" data-requires-python="&gt;=3.8,&lt;4,!=3.9.*">a</a>
<a href="a-2-py3-none-any.whl" data-requires-python='&#62;=3.10'>a</a>
<a href="a-3-py3-none-any.whl" data-requires-python="">a</a>
<a href="a-4-py3-none-any.whl">a</a>"#;
        let rp: Vec<_> = parse_html(html, &base())
            .into_iter()
            .map(|f| f.requires_python)
            .collect();
        assert_eq!(
            rp,
            vec![
                Some(">=3.8,<4,!=3.9.*".to_string()),
                Some(">=3.10".to_string()),
                None,
                None
            ]
        );
    }

    #[test]
    fn core_metadata_attributes() {
        let html = r#"<a href="a-1-py3-none-any.whl" data-core-metadata="sha256=ABC">a</a>
<a href="a-2-py3-none-any.whl" data-dist-info-metadata="true">a</a>
<a href="a-3-py3-none-any.whl" data-dist-info-metadata="sha512=ff">a</a>
<a href="a-4-py3-none-any.whl" data-core-metadata="false">a</a>
<a href="a-5-py3-none-any.whl" data-core-metadata>a</a>
<a href="a-6-py3-none-any.whl">a</a>"#;
        let hints: Vec<_> = parse_html(html, &base())
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
                avail(None),
                CoreMetadataHint::Absent,
                avail(None),
                CoreMetadataHint::Absent,
            ]
        );
    }
}
