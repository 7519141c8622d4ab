//! `.dockerignore` with Docker's semantics, so an app directory gives the
//! same files here as `COPY . .` gives in `docker build`.
//!
//! Follows moby's `patternmatcher` and `ignorefile`: patterns are relative to
//! the context root, cleaned like Go's `filepath.Clean`, a leading `/` is
//! dropped; `*`, `?` and `[...]` are Go `filepath.Match` syntax (never
//! crossing `/`), `**` crosses directories; a pattern excludes the path it
//! matches and everything below; `!` re-includes, and the last matching
//! pattern wins.

use std::path::Path;

use regex::Regex;

use super::LayerError;
pub(crate) use crate::oci::path::clean;

#[derive(Debug)]
struct Pattern {
    /// The cleaned pattern, without `!`: used for the directory-skip test.
    text: String,
    exclusion: bool,
    re: Regex,
}

/// `app.Dockerfile` → `app.Dockerfile.dockerignore` beside it, when it exists.
pub fn own_ignore_file(dockerfile: &Path) -> Option<std::path::PathBuf> {
    let mut name = dockerfile.as_os_str().to_owned();
    name.push(".dockerignore");
    let path = std::path::PathBuf::from(name);
    path.exists().then_some(path)
}

#[derive(Debug)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    /// Reads `<context>/.dockerignore`; a missing file ignores nothing.
    pub fn load(context: &Path) -> Result<DockerIgnore, LayerError> {
        DockerIgnore::load_file(context.join(".dockerignore"))
    }

    /// The ignore file docker uses for a build with `dockerfile`: BuildKit
    /// prefers `<Dockerfile path>.dockerignore` (so several Dockerfiles in
    /// one context can each exclude their own files) over the context's.
    pub fn for_build(context: &Path, dockerfile: Option<&Path>) -> Result<Self, LayerError> {
        match dockerfile.and_then(own_ignore_file) {
            Some(path) => DockerIgnore::load_file(path),
            None => DockerIgnore::load(context),
        }
    }

    pub fn load_file(path: std::path::PathBuf) -> Result<DockerIgnore, LayerError> {
        match std::fs::read(&path) {
            Ok(bytes) => DockerIgnore::parse(&String::from_utf8_lossy(&bytes), &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(DockerIgnore { patterns: vec![] })
            }
            Err(source) => Err(LayerError::Unreadable {
                path,
                error: source,
            }),
        }
    }

    /// `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<DockerIgnore, LayerError> {
        let mut patterns = Vec::new();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, line) in text.lines().enumerate() {
            // As in moby: a comment only when `#` is the very first byte.
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            if p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
            }
            let bad = |reason: &str| LayerError::Dockerignore {
                path: origin.to_path_buf(),
                line: i + 1,
                pattern: line.to_string(),
                reason: reason.to_string(),
            };
            if p.is_empty() {
                return Err(bad("'!' needs a pattern after it"));
            }
            let mut cleaned = clean(p);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let re = compile(&cleaned).map_err(|e| bad(&e))?;
            patterns.push(Pattern {
                text: cleaned,
                exclusion,
                re,
            });
        }
        Ok(DockerIgnore { patterns })
    }

    /// Whether `rel` (relative to the context, `/`-separated) is excluded:
    /// the last pattern matching it or one of its parent directories wins.
    pub fn excluded(&self, rel: &str) -> bool {
        let mut matched = false;
        for p in &self.patterns {
            // An inclusion cannot change an already excluded path, nor an
            // exclusion a path that is not excluded.
            if p.exclusion != matched {
                continue;
            }
            let hit = p.re.is_match(rel)
                || rel
                    .match_indices('/')
                    .any(|(i, _)| p.re.is_match(&rel[..i]));
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// Whether an excluded directory must still be walked because a `!`
    /// pattern may re-include something below it. Docker only looks for
    /// `!` patterns spelled with the directory as prefix; BuildKit also
    /// finds re-inclusions through wildcards, so anything that could match
    /// below `dir` keeps the walk going (the files are then decided one by
    /// one by [`excluded`](Self::excluded)).
    pub fn may_reinclude_below(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns.iter().filter(|p| p.exclusion).any(|p| {
            let literal_end = p.text.find(['*', '?', '[', '\\']).unwrap_or(p.text.len());
            let literal = &p.text[..literal_end];
            if literal_end == p.text.len() {
                format!("{literal}/").starts_with(&dir_slash)
            } else {
                literal.starts_with(&dir_slash) || dir_slash.starts_with(literal)
            }
        })
    }
}

/// Translates a cleaned pattern into an anchored regex the way moby's
/// `patternmatcher` does: `*` → `[^/]*`, `?` → `[^/]`, `**/` → `(.*/)?`,
/// trailing `**` → `.*`, `\x` escapes `x`, `[...]` kept as a class.
fn compile(pattern: &str) -> Result<Regex, String> {
    let mut re = String::from("(?s)^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if in_class {
            match c {
                ']' => {
                    re.push(']');
                    in_class = false;
                }
                '\\' if i + 1 < chars.len() => {
                    i += 1;
                    re.push_str(&regex::escape(&chars[i].to_string()));
                }
                '^' if chars[i - 1] == '[' => re.push('^'),
                '-' => re.push('-'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
            i += 1;
            continue;
        }
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
                continue;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => {
                if i + 1 < chars.len() {
                    i += 1;
                    re.push_str(&regex::escape(&chars[i].to_string()));
                } else {
                    re.push_str(r"\\");
                }
            }
            '[' => {
                if chars.get(i + 1) == Some(&']') || i + 1 == chars.len() {
                    return Err("empty or unterminated character class".into());
                }
                re.push('[');
                in_class = true;
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if in_class {
        return Err("unterminated character class '['".into());
    }
    re.push('$');
    Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn di(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text, Path::new(".dockerignore")).unwrap()
    }

    #[test]
    fn clean_like_go() {
        for (a, b) in [
            ("a//b/./c/", "a/b/c"),
            ("./a", "a"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("/", "/"),
            (".", "."),
            ("a/..", "."),
        ] {
            assert_eq!(clean(a), b, "{a}");
        }
    }

    // The examples from Docker's documentation of .dockerignore.
    #[test]
    fn documented_examples() {
        let d = di("# comment\n*/temp*\n*/*/temp*\ntemp?\n");
        assert!(d.excluded("somedir/temporary.txt"));
        assert!(d.excluded("somedir/temp"));
        assert!(d.excluded("somedir/subdir/temporary.txt"));
        assert!(d.excluded("tempa"));
        assert!(d.excluded("tempb/inside"));
        assert!(!d.excluded("temp"));
        assert!(!d.excluded("temporary.txt"));
        assert!(!d.excluded("a/b/c/temp.txt"));
        assert!(!d.excluded("# comment"));

        let d = di("**/*.go\n");
        assert!(d.excluded("main.go"));
        assert!(d.excluded("a/b/c.go"));
        assert!(!d.excluded("a/b/c.gox"));

        let d = di("*.md\n!README*.md\nREADME-secret.md\n");
        assert!(d.excluded("CHANGES.md"));
        assert!(!d.excluded("README.md"));
        assert!(d.excluded("README-secret.md"));

        let d = di("*.md\nREADME-secret.md\n!README*.md\n");
        assert!(!d.excluded("README-secret.md"));
    }

    #[test]
    fn directories_leading_slash_and_cleaning() {
        let d = di("/build\n./dist/\nnode_modules\n  spaced  \nlogs/**\n");
        assert!(d.excluded("build"));
        assert!(d.excluded("build/x/y.o"));
        assert!(!d.excluded("src/build"));
        assert!(d.excluded("dist/app.whl"));
        assert!(d.excluded("node_modules/a/b"));
        assert!(!d.excluded("src/node_modules"));
        assert!(d.excluded("spaced"));
        assert!(d.excluded("logs/a/b.log"));
        // `logs/**` is everything below logs, not logs itself (as in moby).
        assert!(!d.excluded("logs"));
    }

    #[test]
    fn reinclude_below_excluded_dir() {
        let d = di("data\n!data/keep.csv\n");
        assert!(d.excluded("data"));
        assert!(d.excluded("data/big.bin"));
        assert!(!d.excluded("data/keep.csv"));
        assert!(d.may_reinclude_below("data"));
        assert!(!d.may_reinclude_below("other"));

        let d = di("**/__pycache__\n*.pyc\n!keep.pyc\n");
        assert!(d.excluded("pkg/__pycache__/m.cpython-311.pyc"));
        assert!(d.excluded("__pycache__"));
        assert!(d.excluded("x.pyc"));
        assert!(!d.excluded("keep.pyc"));
        // Unlike .gitignore, `*.pyc` only matches at the context root.
        assert!(!d.excluded("sub/x.pyc"));
        assert!(!d.may_reinclude_below("pkg/__pycache__"));

        let d = di("*\n!src\n!requirements.txt\n");
        assert!(d.excluded("Dockerfile"));
        assert!(d.excluded(".git/config"));
        assert!(!d.excluded("src/app/main.py"));
        assert!(!d.excluded("requirements.txt"));
    }

    #[test]
    fn classes_escapes_and_errors() {
        let d = di("file[0-9].txt\n[!a]x\n\\*lit\n");
        assert!(d.excluded("file3.txt"));
        assert!(!d.excluded("filex.txt"));
        assert!(d.excluded("*lit"));
        assert!(!d.excluded("xlit"));
        let d = di("[^a]b\n");
        assert!(d.excluded("cb"));
        assert!(!d.excluded("ab"));
        let d = di("a.b\n");
        assert!(!d.excluded("axb"), ". is literal");
        let err = DockerIgnore::parse("ok\n[abc\n", Path::new("/ctx/.dockerignore")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/ctx/.dockerignore:2") && msg.contains("[abc"),
            "{msg}"
        );
        assert!(DockerIgnore::parse("!\n", Path::new("x")).is_err());
    }
}
