//! pip's requirements file format, restricted to what a builder that is not
//! a resolver can honour: every requirement pinned with `==`, optionally
//! with `--hash` options, plus includes and index options.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::{Operator, Version};
use pep508_rs::{MarkerEnvironment, Requirement, VersionOrUrl};

use super::{LockError, Pin};

/// Everything a requirements file (with its includes) says.
#[derive(Debug, Default)]
pub struct RequirementsFile {
    pub pins: Vec<Pin>,
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    /// `-f`/`--find-links` directories (URLs are refused).
    pub find_links: Vec<PathBuf>,
}

const RESOLVER_HINT: &str = "pyko is not a resolver: pin it, e.g. with `pip-compile` / `uv pip compile --python-platform …`";

/// Reads `path` and its `-r`/`-c` includes; requirements whose markers are
/// false for `env` are dropped.
pub fn parse(path: &Path, env: &MarkerEnvironment) -> Result<RequirementsFile, LockError> {
    let mut out = RequirementsFile::default();
    let mut stack = Vec::new();
    parse_into(path, env, false, &mut out, &mut stack)?;
    Ok(out)
}

/// Parses requirements text (as if read from `path`); includes are resolved
/// relative to `path`'s directory.
pub fn parse_str(
    path: &Path,
    text: &str,
    env: &MarkerEnvironment,
) -> Result<RequirementsFile, LockError> {
    let mut out = RequirementsFile::default();
    let mut stack = vec![path.to_path_buf()];
    parse_text(path, text, env, false, &mut out, &mut stack)?;
    Ok(out)
}

fn parse_into(
    path: &Path,
    env: &MarkerEnvironment,
    constraints: bool,
    out: &mut RequirementsFile,
    stack: &mut Vec<PathBuf>,
) -> Result<(), LockError> {
    if stack.iter().any(|p| p == path) {
        return Err(LockError::Requirements {
            file: path.to_path_buf(),
            line: 0,
            text: String::new(),
            message: "includes itself (an -r/-c cycle)".into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| LockError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    stack.push(path.to_path_buf());
    parse_text(path, &text, env, constraints, out, stack)?;
    stack.pop();
    Ok(())
}

/// Logical lines: continuations joined, comments stripped, with the number
/// of the line each starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut buf) = current.take().unwrap_or((i + 1, String::new()));
        if let Some(stripped) = raw.strip_suffix('\\') {
            buf.push_str(stripped);
            current = Some((start, buf));
            continue;
        }
        buf.push_str(raw);
        lines.push((start, strip_comment(&buf).trim().to_string()));
    }
    if let Some((start, buf)) = current {
        lines.push((start, strip_comment(&buf).trim().to_string()));
    }
    lines.retain(|(_, l)| !l.is_empty());
    lines
}

/// pip's rule: `#` starts a comment at the line start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// Splits `--opt=value` / `--opt value` / `-o value`.
fn option_value<'a>(line: &'a str, names: &[&str]) -> Option<&'a str> {
    for name in names {
        if let Some(rest) = line.strip_prefix(name) {
            if let Some(v) = rest.strip_prefix('=') {
                return Some(v.trim());
            }
            if rest.starts_with(char::is_whitespace) {
                return Some(rest.trim());
            }
            if name.len() == 2 && !rest.is_empty() {
                // `-rfile.txt`, as pip accepts for short options.
                return Some(rest.trim());
            }
        }
    }
    None
}

fn parse_text(
    path: &Path,
    text: &str,
    env: &MarkerEnvironment,
    constraints: bool,
    out: &mut RequirementsFile,
    stack: &mut Vec<PathBuf>,
) -> Result<(), LockError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    for (number, line) in logical_lines(text) {
        let err = |message: String| LockError::Requirements {
            file: path.to_path_buf(),
            line: number,
            text: line.clone(),
            message,
        };
        let include = option_value(&line, &["-r", "--requirement"])
            .map(|v| (v, constraints))
            .or(option_value(&line, &["-c", "--constraint"]).map(|v| (v, true)));
        if let Some((v, constraints)) = include {
            match parse_into(&dir.join(v), env, constraints, out, stack) {
                Err(LockError::Read { path, source }) => {
                    return Err(err(format!("cannot read {}: {source}", path.display())))
                }
                r => r?,
            }
            continue;
        }
        if let Some(v) = option_value(&line, &["-i", "--index-url"]) {
            out.index_url = Some(v.to_string());
            continue;
        }
        if let Some(v) = option_value(&line, &["--extra-index-url"]) {
            out.extra_index_urls.push(v.to_string());
            continue;
        }
        if let Some(v) = option_value(&line, &["-f", "--find-links"]) {
            if v.contains("://") {
                return Err(err(format!(
                    "find-links URL {v:?}: only local directories are supported; use --index-url for a server"
                )));
            }
            out.find_links.push(dir.join(v));
            continue;
        }
        if option_value(&line, &["-e", "--editable"]).is_some() {
            return Err(err(format!(
                "editable installs need a build; {RESOLVER_HINT}, build a wheel and pin it"
            )));
        }
        if line.starts_with('-') {
            // Options that change nothing when every requirement is pinned
            // to a wheel.
            const HARMLESS: &[&str] = &[
                "--require-hashes",
                "--no-index",
                "--prefer-binary",
                "--only-binary",
                "--trusted-host",
                "--pre",
                "--no-binary=:none:",
                "--use-feature",
            ];
            if HARMLESS.iter().any(|h| line.starts_with(h)) {
                continue;
            }
            return Err(err(
                "this option is not supported by pyko; remove it or pin wheels another way".into(),
            ));
        }
        let (spec, hashes) = split_hashes(&line).map_err(err)?;
        if constraints {
            continue;
        }
        check_name(&spec).map_err(err)?;
        let req = Requirement::<pep508_rs::VerbatimUrl>::from_str(&spec)
            .map_err(|e| err(format!("not a valid requirement: {e}")))?;
        if !req.marker.evaluate(env, &[]) {
            continue;
        }
        let version = match &req.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specs)) => {
                let specs: Vec<_> = specs.iter().collect();
                match specs.as_slice() {
                    [s] if matches!(s.operator(), Operator::Equal | Operator::ExactEqual) => {
                        Some(s.version().clone())
                    }
                    _ => None,
                }
            }
            Some(VersionOrUrl::Url(_)) => {
                return Err(err(format!(
                    "a URL requirement is not pinned to an index version; {RESOLVER_HINT}"
                )))
            }
            None => None,
        };
        let Some(version) = version else {
            return Err(err(format!("not pinned with ==; {RESOLVER_HINT}")));
        };
        push_pin(
            out,
            path,
            number,
            &line,
            req.name.to_string(),
            version,
            hashes,
        )?;
    }
    Ok(())
}

fn push_pin(
    out: &mut RequirementsFile,
    path: &Path,
    number: usize,
    line: &str,
    name: String,
    version: Version,
    hashes: Vec<String>,
) -> Result<(), LockError> {
    let normalized = crate::wheel::normalize_name(&name);
    if let Some(prev) = out.pins.iter_mut().find(|p| p.name == normalized) {
        if prev.version != version {
            return Err(LockError::Requirements {
                file: path.to_path_buf(),
                line: number,
                text: line.to_string(),
                message: format!(
                    "{name} is pinned to {} at {}; pin it once",
                    prev.version, prev.origin
                ),
            });
        }
        prev.hashes.extend(hashes);
        return Ok(());
    }
    out.pins.push(Pin {
        name: normalized,
        version,
        hashes,
        origin: format!("{}:{number}", path.display()),
        wheels: Vec::new(),
    });
    Ok(())
}

/// Splits off `--hash=sha256:…` options; returns the requirement text and
/// the hex digests. Other hash algorithms are refused (the cache is sha256).
fn split_hashes(line: &str) -> Result<(String, Vec<String>), String> {
    let mut spec = Vec::new();
    let mut hashes = Vec::new();
    let mut words = line.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let value = if let Some(v) = w.strip_prefix("--hash=") {
            Some(v.to_string())
        } else if w == "--hash" {
            Some(
                words
                    .next()
                    .ok_or("--hash needs a value like sha256:<hex>")?
                    .to_string(),
            )
        } else {
            None
        };
        match value {
            Some(v) => {
                let (algo, hex) = v
                    .split_once(':')
                    .ok_or(format!("--hash {v:?}: write sha256:<hex>"))?;
                if algo != "sha256" {
                    return Err(format!(
                        "--hash {v:?}: only sha256 hashes are supported; regenerate with sha256"
                    ));
                }
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("--hash {v:?}: not a sha256 hex digest"));
                }
                hashes.push(hex.to_ascii_lowercase());
            }
            None if w.starts_with("--") => {
                return Err(format!(
                    "per-requirement option {w} is not supported; only --hash"
                ))
            }
            None => spec.push(w),
        }
    }
    Ok((spec.join(" "), hashes))
}

/// pep508_rs 0.9 panics on a name that ends in `.`, `-` or `_` before an
/// operator (`u0.==1`; found by the fuzzer), so the name is checked first.
fn check_name(spec: &str) -> Result<(), String> {
    let name: &str = spec
        .trim_start()
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .next()
        .unwrap_or("");
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let well_formed = edge_ok(name.chars().next()) && edge_ok(name.chars().last());
    if !name.is_empty() && !well_formed {
        return Err(format!(
            "not a valid requirement: project name {name:?} must start and end with a letter or digit"
        ));
    }
    Ok(())
}
