//! Index passwords never leave the URL parser: what is shown is
//! `user:****@host`, as pip shows it.

use reqwest::Url;

/// `url` as messages show it: the password (or a lone user name, which is
/// usually a token) replaced by `****`.
pub(super) fn redact_url(url: &Url) -> Url {
    let mut shown = url.clone();
    if url.password().is_some() {
        let _ = shown.set_password(Some("****"));
    } else if !url.username().is_empty() {
        let _ = shown.set_username("****");
    }
    shown
}

/// The same for text that may not parse as a URL (a typo'd `--index-url`):
/// whatever sits between `://` (or the start) and the last `@` before the
/// path is hidden.
pub fn redact_str(text: &str) -> String {
    let start = text.find("://").map_or(0, |i| i + 3);
    let rest = &text[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return text.to_string();
    };
    let userinfo = &rest[..at];
    let hidden = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:****"),
        None => "****".to_string(),
    };
    format!("{}{hidden}{}", &text[..start], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(u: &Url) -> String {
        redact_url(u).to_string()
    }

    #[test]
    fn passwords_and_tokens_are_hidden() {
        let u = Url::parse("https://alice:s3cr%40t@host:8443/simple/").unwrap();
        assert_eq!(redact(&u), "https://alice:****@host:8443/simple/");
        let t = Url::parse("https://tok3n@host/simple/").unwrap();
        assert_eq!(redact(&t), "https://****@host/simple/");
        let plain = Url::parse("https://host/simple/").unwrap();
        assert_eq!(redact(&plain), "https://host/simple/");
    }

    #[test]
    fn unparsable_text_is_redacted_too() {
        assert_eq!(
            redact_str("https://bob:hunter2@ho st/simple/@x"),
            "https://bob:****@ho st/simple/@x"
        );
        assert_eq!(redact_str("https://a:b:c@h"), "https://a:****@h");
        assert_eq!(redact_str("u:pw@host/simple"), "u:****@host/simple");
        assert_eq!(redact_str("http://host/a@b"), "http://host/a@b");
    }
}
