//! Dockerfile syntax, without meaning: parser directives, logical lines
//! (continuations joined, comments dropped), the instruction word, shell-like
//! words, `$VAR` substitution, KEY=VALUE pairs and the exec/shell forms.

use crate::inputs::spec;
use crate::oci::config::Command;

/// The `escape` character (`\` unless `# escape=`` ` ``) and notes about
/// directives pyko ignores. Directives count only at the very top, before
/// any instruction or other comment.
pub(super) fn directives(text: &str) -> (char, Vec<String>) {
    let mut escape = '\\';
    let mut notes = Vec::new();
    for line in text.lines() {
        let Some(d) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = d.split_once('=') else {
            break;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "escape" if v.trim() == "`" => escape = '`',
            "syntax" => notes.push(format!(
                "ignoring the `# syntax={}` directive: pyko parses the Dockerfile itself",
                v.trim()
            )),
            _ => {}
        }
    }
    (escape, notes)
}

/// Logical lines (continuations joined, comments dropped) with the number
/// of their first line.
pub(super) fn logical_lines(text: &str, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        let (start, mut buf) = cur.take().unwrap_or((i + 1, String::new()));
        if let Some(s) = raw.trim_end().strip_suffix(escape) {
            buf.push_str(s);
            buf.push(' ');
            cur = Some((start, buf));
            continue;
        }
        buf.push_str(raw);
        if !buf.trim().is_empty() {
            out.push((start, buf.trim().to_string()));
        }
    }
    if let Some((start, buf)) = cur {
        if !buf.trim().is_empty() {
            out.push((start, buf.trim().to_string()));
        }
    }
    out
}

/// The instruction word and the rest of a logical line.
pub(super) fn instruction(line: &str) -> (&str, &str) {
    line.split_once(char::is_whitespace)
        .map(|(a, b)| (a, b.trim()))
        .unwrap_or((line, ""))
}

/// Shell-like words: whitespace-separated, with '…' and "…" quoting and
/// backslash escapes (as Docker's ENV/LABEL/COPY word splitting).
pub(super) fn words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` from ARG/ENV values.
pub(super) fn substitute(s: &str, vars: &[(String, String)]) -> String {
    let get = |k: &str| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let mut out = String::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '\\' && i + 1 < b.len() && b[i + 1] == '$' {
            out.push('$');
            i += 2;
            continue;
        }
        if b[i] != '$' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        if i + 1 < b.len() && b[i + 1] == '{' {
            if let Some(end) = b[i..].iter().position(|&c| c == '}') {
                let inner: String = b[i + 2..i + end].iter().collect();
                let value = if let Some((k, d)) = inner.split_once(":-") {
                    get(k).filter(|v| !v.is_empty()).unwrap_or(d.to_string())
                } else if let Some((k, a)) = inner.split_once(":+") {
                    get(k)
                        .filter(|v| !v.is_empty())
                        .map(|_| a.to_string())
                        .unwrap_or_default()
                } else {
                    get(&inner).unwrap_or_default()
                };
                out.push_str(&value);
                i += end + 1;
                continue;
            }
        }
        let name: String = b[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .collect();
        if name.is_empty() {
            out.push('$');
            i += 1;
        } else {
            out.push_str(&get(&name).unwrap_or_default());
            i += 1 + name.len();
        }
    }
    out
}

/// `KEY=VALUE …` pairs, or the legacy `KEY VALUE` form.
pub(super) fn pairs(rest: &str) -> Result<Vec<(String, String)>, String> {
    let w = words(rest)?;
    if w.first().is_some_and(|f| !f.contains('=')) {
        let (k, v) = rest
            .trim()
            .split_once(char::is_whitespace)
            .ok_or("needs KEY=VALUE")?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    w.iter()
        .map(|p| spec::parse_key_value(p))
        .collect::<Result<_, _>>()
}

/// Docker's rule: a valid JSON array of strings is the exec form,
/// anything else the shell form.
pub(super) fn command(rest: &str) -> Command {
    match serde_json::from_str::<Vec<String>>(rest.trim()) {
        Ok(v) if rest.trim_start().starts_with('[') => Command::Exec(v),
        _ => Command::Shell(rest.trim().to_string()),
    }
}

/// Leading `--flag[=value]` words of COPY/ADD, and the rest of the line.
pub(super) fn leading_flags(rest: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = rest.trim_start();
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        flags.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    (flags, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_words_and_substitution() {
        let text = "# escape=`\nFROM a\nRUN x `\n  y\n# c\nCMD z";
        let (escape, notes) = directives(text);
        assert_eq!((escape, notes.len()), ('`', 0));
        assert_eq!(
            logical_lines(text, escape),
            [
                (2, "FROM a".to_string()),
                (3, "RUN x    y".to_string()),
                (6, "CMD z".to_string())
            ]
        );
        assert_eq!(
            words(r#"a "b c" 'd\e' f\ g"#).unwrap(),
            ["a", "b c", r"d\e", "f g"]
        );
        assert!(words("'open").is_err());
        let vars = [("A".to_string(), "1".to_string())];
        assert_eq!(
            substitute(r"$A ${A}x ${B:-d} ${A:+y} \$A", &vars),
            "1 1x d y $A"
        );
        assert_eq!(command("[\"a\"]"), Command::Exec(vec!["a".into()]));
        assert_eq!(command("[oops"), Command::Shell("[oops".into()));
        assert_eq!(
            leading_flags("--link --chmod=644 a b"),
            (vec!["--link".to_string(), "--chmod=644".to_string()], "a b")
        );
    }
}
