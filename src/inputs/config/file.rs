//! Finding and reading the config file: `pyko.toml`, else `[tool.pyko]` in
//! `pyproject.toml`. Values keep their line so every message can point at it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Spanned, Value};

use super::ConfigError;

/// One key of the file, as written, with the line it is on.
pub(super) struct Entry {
    pub key: String,
    pub line: usize,
    pub value: Value,
}

/// A config file that was found, its keys in the order they were written.
pub(super) struct ConfigFile {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl ConfigFile {
    /// The directory relative paths in the file are taken from.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

type SpannedTable = BTreeMap<Spanned<String>, Spanned<Value>>;

/// pyproject.toml holds much besides pyko's table; only that is read.
#[derive(Deserialize)]
struct Pyproject {
    #[serde(default)]
    tool: Tool,
}

#[derive(Deserialize, Default)]
struct Tool {
    pyko: Option<SpannedTable>,
}

/// `pyko.toml` in `dir` wins over `pyproject.toml` there (as ruff.toml wins
/// over pyproject.toml for ruff): one file, never a merge of two.
pub(super) fn find(dir: &Path) -> Result<Option<ConfigFile>, ConfigError> {
    let own = dir.join("pyko.toml");
    if own.is_file() {
        let text = read(&own)?;
        let table: SpannedTable = toml::from_str(&text).map_err(|e| syntax(&own, &e))?;
        return Ok(Some(file(own, &text, table)));
    }
    let pyproject = dir.join("pyproject.toml");
    if pyproject.is_file() {
        let text = read(&pyproject)?;
        let doc: Pyproject = toml::from_str(&text).map_err(|e| syntax(&pyproject, &e))?;
        return Ok(doc.tool.pyko.map(|t| file(pyproject, &text, t)));
    }
    Ok(None)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        file: path.to_path_buf(),
        source: e,
    })
}

fn syntax(path: &Path, e: &toml::de::Error) -> ConfigError {
    ConfigError::Syntax {
        file: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    }
}

fn file(path: PathBuf, text: &str, table: SpannedTable) -> ConfigFile {
    let mut entries: Vec<Entry> = table
        .into_iter()
        .map(|(k, v)| Entry {
            line: line_of(text, k.span().start),
            key: k.into_inner(),
            value: v.into_inner(),
        })
        .collect();
    entries.sort_by_key(|e| e.line);
    ConfigFile { path, entries }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
