//! pip's requirements file format: PEP 508 requirements (names, ranges,
//! extras, markers) with `--hash` options, `-r`/`-c` includes, index
//! options and `--pre`. A file whose every requirement is a full `==` pin
//! is installed as it is (no resolution, so what was compiled is what is
//! built); anything else becomes a resolver [`Request`].

use std::path::{Path, PathBuf};

use pep440_rs::{Operator, Version};
use pep508_rs::{MarkerEnvironment, Requirement, VersionOrUrl};

use super::resolve::{Request, ResolveOptions, UserRequirement};
use super::{LockError, Pin};

/// Everything a requirements file (with its includes) says.
#[derive(Debug, Default)]
pub struct RequirementsFile {
    /// Top-level requirements in file order, markers not yet evaluated.
    pub requirements: Vec<Line>,
    /// `-c` files' requirements: they bound versions, never add packages.
    pub constraints: Vec<Line>,
    /// A `--pre` line.
    pub pre: bool,
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    /// `-f`/`--find-links` directories (URLs are refused).
    pub find_links: Vec<PathBuf>,
    /// A `--require-hashes` line.
    pub require_hashes: bool,
}

/// One requirement as written, with where.
#[derive(Clone, Debug)]
pub struct Line {
    pub requirement: Requirement,
    /// `--hash=sha256:` values (hex).
    pub hashes: Vec<String>,
    pub file: PathBuf,
    pub line: usize,
    pub text: String,
}

impl Line {
    fn origin(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    /// The version of a full pin: one `==`/`===` specifier, no wildcard.
    fn pinned(&self) -> Option<&Version> {
        let Some(VersionOrUrl::VersionSpecifier(specs)) = &self.requirement.version_or_url else {
            return None;
        };
        match specs.iter().collect::<Vec<_>>().as_slice() {
            [s] if matches!(s.operator(), Operator::Equal | Operator::ExactEqual) => {
                Some(s.version())
            }
            _ => None,
        }
    }
}

const BUILD_HINT: &str = "pyko builds only the sdists an index or a lock lists, not local trees or direct URLs: build a wheel (pip wheel) and pass its directory with --wheels, or name the package as it is on the index";

impl RequirementsFile {
    /// The pins when every requirement that applies to `env` is a full
    /// `==` pin, else `None` (the file needs resolving).
    pub fn pins(&self, env: &MarkerEnvironment) -> Result<Option<Vec<Pin>>, LockError> {
        let mut pins: Vec<Pin> = Vec::new();
        for l in &self.requirements {
            if !l.requirement.marker.evaluate(env, &[]) {
                continue;
            }
            let Some(version) = l.pinned() else {
                return Ok(None);
            };
            push_pin(&mut pins, l, version.clone())?;
        }
        Ok(Some(pins))
    }

    /// What to resolve: every requirement (pins included, as `==`) and
    /// constraint; `options` are the command line's, a `--pre` line adds.
    pub fn request(&self, options: &ResolveOptions) -> Request {
        let user = |l: &Line| UserRequirement {
            requirement: l.requirement.clone(),
            origin: l.origin(),
        };
        Request {
            requirements: self.requirements.iter().map(user).collect(),
            constraints: self.constraints.iter().map(user).collect(),
            options: ResolveOptions {
                pre: options.pre || self.pre,
                ..options.clone()
            },
        }
    }

    /// pip's hash-checking mode, on with `--require-hashes` (the file's
    /// or the command line's, `forced`) or, as pip does, with any `--hash`:
    /// then every requirement that applies to `env` must be a full `==` pin
    /// with a `--hash`, so nothing is installed that was not verified.
    /// Checked before any index is asked.
    pub fn check_hashes(&self, forced: bool, env: &MarkerEnvironment) -> Result<(), LockError> {
        let why = if forced {
            "--require-hashes is given"
        } else if self.require_hashes {
            "the file says --require-hashes"
        } else if self.requirements.iter().any(|l| !l.hashes.is_empty()) {
            "another line has a --hash, which turns on pip's hash-checking mode"
        } else {
            return Ok(());
        };
        for l in &self.requirements {
            if !l.requirement.marker.evaluate(env, &[]) {
                continue;
            }
            let message = if l.pinned().is_none() {
                format!("{why}, so every requirement must be pinned with == and a --hash (pip's rule); pin it, e.g. with `uv pip compile --generate-hashes`")
            } else if l.hashes.is_empty() {
                format!("{why}, but this requirement has no --hash=sha256:…; add the wheel's hash (`uv pip compile --generate-hashes` or `pip hash FILE`)")
            } else {
                continue;
            };
            return Err(LockError::Requirements {
                file: l.file.clone(),
                line: l.line,
                text: l.text.clone(),
                message,
            });
        }
        Ok(())
    }

    /// The `--hash`es given for `name` (normalized) on any line.
    pub fn hashes_of(&self, name: &str) -> Vec<String> {
        self.requirements
            .iter()
            .filter(|l| crate::wheel::normalize_name(l.requirement.name.as_ref()) == name)
            .flat_map(|l| l.hashes.iter().cloned())
            .collect()
    }

    /// The top-level names (normalized), as pip marks them `REQUESTED`.
    pub fn top_level_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .requirements
            .iter()
            .map(|l| crate::wheel::normalize_name(l.requirement.name.as_ref()))
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Reads each of `files` and `constraints` (with their `-r`/`-c`
/// includes) into one set, as pip does with several `-r`/`-c` options.
pub fn parse(files: &[PathBuf], constraints: &[PathBuf]) -> Result<RequirementsFile, LockError> {
    let mut out = RequirementsFile::default();
    for (list, is_constraint) in [(files, false), (constraints, true)] {
        for f in list {
            parse_into(f, is_constraint, &mut out, &mut Vec::new())?;
        }
    }
    Ok(out)
}

/// Parses requirements text (as if read from `path`, e.g. a Dockerfile's
/// `RUN pip install` words); includes are resolved relative to `path`'s
/// directory. `constraints` are further `-c` files.
pub fn parse_str(
    path: &Path,
    text: &str,
    constraints: &[PathBuf],
) -> Result<RequirementsFile, LockError> {
    let mut out = RequirementsFile::default();
    let mut stack = vec![path.to_path_buf()];
    parse_text(path, text, false, &mut out, &mut stack)?;
    for f in constraints {
        parse_into(f, true, &mut out, &mut Vec::new())?;
    }
    Ok(out)
}

fn parse_into(
    path: &Path,
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
    parse_text(path, &text, constraints, out, stack)?;
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
            match parse_into(&dir.join(v), constraints, out, stack) {
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
                "an editable install needs a build; {BUILD_HINT}"
            )));
        }
        if line == "--pre" {
            out.pre = true;
            continue;
        }
        if line == "--require-hashes" {
            out.require_hashes = true;
            continue;
        }
        if line.starts_with('-') {
            // Options that change nothing when only wheels from an index
            // are installed.
            const HARMLESS: &[&str] = &[
                "--no-index",
                "--prefer-binary",
                "--only-binary",
                "--trusted-host",
                "--no-binary=:none:",
                "--use-feature",
            ];
            if HARMLESS.iter().any(|h| line.starts_with(h)) {
                continue;
            }
            return Err(err("this option is not supported by pyko; remove it".into()));
        }
        let (spec, hashes) = split_hashes(&line).map_err(err)?;
        if looks_like_path(&spec) {
            return Err(err(format!(
                "a path or URL requirement needs a build; {BUILD_HINT}"
            )));
        }
        let mut line = requirement_line(path, number, &line, &spec)?;
        line.hashes = hashes;
        if constraints {
            out.constraints.push(line);
        } else {
            out.requirements.push(line);
        }
    }
    Ok(())
}

/// One PEP 508 requirement, `spec`, written at `path:number` as `text` (a
/// requirements line, or a pyproject.toml dependency string).
pub(super) fn requirement_line(
    path: &Path,
    number: usize,
    text: &str,
    spec: &str,
) -> Result<Line, LockError> {
    let err = |message: String| LockError::Requirements {
        file: path.to_path_buf(),
        line: number,
        text: text.to_string(),
        message,
    };
    check_name(spec).map_err(err)?;
    let requirement = super::pep508::parse_requirement(spec)
        .map_err(|e| err(format!("not a valid requirement: {e}")))?;
    if let Some(VersionOrUrl::Url(_)) = &requirement.version_or_url {
        return Err(err(format!(
            "a URL requirement (name @ URL) is not installed from an index; {BUILD_HINT}"
        )));
    }
    Ok(Line {
        requirement,
        hashes: Vec::new(),
        file: path.to_path_buf(),
        line: number,
        text: text.to_string(),
    })
}

/// pip takes a line naming a local file or directory, or a bare URL, as
/// that thing rather than as a project name.
fn looks_like_path(spec: &str) -> bool {
    let first = spec.split([' ', ';']).next().unwrap_or(spec);
    first.starts_with(['.', '/', '~'])
        || (first.contains("://") && !spec.contains(" @ "))
        || [".whl", ".tar.gz", ".zip", ".tgz", ".tar.bz2"]
            .iter()
            .any(|ext| first.ends_with(ext))
}

fn push_pin(pins: &mut Vec<Pin>, l: &Line, version: Version) -> Result<(), LockError> {
    let name = l.requirement.name.to_string();
    let normalized = crate::wheel::normalize_name(&name);
    if let Some(prev) = pins.iter_mut().find(|p| p.name == normalized) {
        if prev.version != version {
            return Err(LockError::Requirements {
                file: l.file.clone(),
                line: l.line,
                text: l.text.clone(),
                message: format!(
                    "{name} is pinned to {} at {}; pin it once",
                    prev.version, prev.origin
                ),
            });
        }
        prev.hashes.extend(l.hashes.iter().cloned());
        return Ok(());
    }
    pins.push(Pin {
        name: normalized,
        version,
        hashes: l.hashes.clone(),
        origin: l.origin(),
        wheels: Vec::new(),
        sdist_only: false,
        sdist: None,
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

#[cfg(test)]
#[path = "requirements_tests.rs"]
mod tests;
