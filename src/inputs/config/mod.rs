//! Where `pyko build`'s values come from besides the command line: `PYKO_*`
//! environment variables and a config file (`pyko.toml`, or `[tool.pyko]` in
//! `pyproject.toml`), with a flag winning over the environment and the
//! environment over the file.
//!
//! The keys are not a list kept here: they are read from the clap
//! definitions (a key is a flag's long name, its variable `PYKO_` and the
//! name upper-cased), so a flag added to `BuildArgs` is a key and a
//! variable with no code here. The values found are handed back to clap as
//! extra arguments, so they are checked exactly as flags are.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, CommandFactory};
use toml::Value;

use super::cli::{Cli, FlagError};

mod file;
#[cfg(test)]
mod tests;

/// Groups of flags taken as a whole from one source: `--push` on the
/// command line means the file's `tarball` is not also written.
const TAKEN_TOGETHER: &[&str] = &["output"];

/// Flags that are no config keys: `--no-config` turns the file off, so it
/// only means something on the command line or as `PYKO_NO_CONFIG`.
const NOT_IN_FILE: &[&str] = &["no-config"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", file.display())]
    Syntax { file: PathBuf, message: String },
    #[error(
        "{}:{line}: unknown key `{key}`; the closest valid key is `{closest}` (keys are `pyko build`'s long flag names, see docs/config.md)",
        file.display()
    )]
    UnknownKey {
        file: PathBuf,
        line: usize,
        key: String,
        closest: String,
    },
    #[error("{}:{line}: `{key}` takes {expected}, not {found}", file.display())]
    WrongType {
        file: PathBuf,
        line: usize,
        key: String,
        expected: &'static str,
        found: String,
    },
    #[error("{var}={value:?}: {expected}")]
    Env {
        var: String,
        value: String,
        expected: &'static str,
    },
}

/// The command line to parse, with the environment's and the file's values
/// added, and the file they came from (to tell the user).
#[derive(Debug)]
pub struct Configured {
    pub argv: Vec<OsString>,
    pub file: Option<PathBuf>,
    /// (`--flag`, `PYKO_FLAG` or `FILE:LINE`) for each value added.
    pub origins: Vec<(String, String)>,
}

impl Configured {
    /// A flag's error, said with where its value came from when that was
    /// not the command line, since the user may not know it was set.
    pub fn blame(&self, mut e: FlagError) -> FlagError {
        let first = e.flag.split([' ', '/']).next().unwrap_or(e.flag);
        if let Some((_, origin)) = self.origins.iter().find(|(f, _)| f == first) {
            e.message.push_str(&format!(" (set by {origin})"));
        }
        e
    }

    /// For clap's own errors: which values came from elsewhere than the
    /// command line, or None when all of them came from it.
    pub fn note(&self) -> Option<String> {
        (!self.origins.is_empty()).then(|| {
            let list: Vec<String> = self
                .origins
                .iter()
                .map(|(f, o)| format!("{f} from {o}"))
                .collect();
            format!("note: besides the command line: {}", list.join(", "))
        })
    }
}

/// What a flag takes, from its clap action.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Switch,
    One,
    Many,
}

/// One flag as a key: its name, variable, kind and whether it is a path.
struct Key<'a> {
    arg: &'a Arg,
    name: String,
    kind: Kind,
    path: bool,
}

impl Key<'_> {
    fn var(&self) -> String {
        format!("PYKO_{}", self.name.to_uppercase().replace('-', "_"))
    }

    fn expected(&self) -> &'static str {
        match self.kind {
            Kind::Switch => "true or false",
            Kind::One => "one string",
            Kind::Many => "a list of strings (the flag is repeatable)",
        }
    }
}

/// A value for a key: a switch on or off, or the flag's values.
enum Given {
    Switch(bool),
    Values(Vec<String>),
}

impl Given {
    fn is_set(&self) -> bool {
        !matches!(self, Given::Switch(false))
    }
}

/// Adds to `argv` (the process's arguments) what `PYKO_*` variables (read
/// through `env`) and the config file say for the flags `argv` lacks.
/// Anything but `pyko build` is returned as it is, as is a command line
/// clap refuses for another reason than a missing flag (clap then says why).
pub fn with_config(
    argv: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<Configured, ConfigError> {
    let unchanged = |argv| Configured {
        argv,
        file: None,
        origins: Vec::new(),
    };
    // A mistake on the command line itself is reported by clap as typed,
    // without the added values in its usage line; only the flags that
    // config may yet supply (--from, --wheels) are let through.
    if let Err(e) = Cli::command().try_get_matches_from(&argv) {
        if e.kind() != clap::error::ErrorKind::MissingRequiredArgument {
            return Ok(unchanged(argv));
        }
    }
    let Ok(matches) = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(&argv)
    else {
        return Ok(unchanged(argv));
    };
    let Some(("build", m)) = matches.subcommand() else {
        return Ok(unchanged(argv));
    };
    let mut root = Cli::command();
    root.build();
    let build = root.find_subcommand("build").expect("pyko has build");
    let keys = keys(build);

    let mut state = State::new(build, m, &keys);
    for key in &keys {
        if let Some(raw) = env(&key.var()).filter(|v| !v.is_empty()) {
            let given = from_env(key, &raw)?;
            state.offer(key, given, key.var());
        }
    }
    state.commit();
    let no_config = m.get_one::<bool>("no_config").copied().unwrap_or(false)
        || matches!(state.value("no_config"), Some(Given::Switch(true)));
    let mut found = None;
    if !no_config {
        let dir = tidy(&cwd.join(state.config_dir(m)));
        if let Some(cfg) = file::find(&dir)? {
            for entry in &cfg.entries {
                let key = keys
                    .iter()
                    .find(|k| k.name == entry.key && !NOT_IN_FILE.contains(&k.name.as_str()))
                    .ok_or_else(|| unknown_key(&cfg, entry, &keys))?;
                let given = from_file(key, entry, &cfg)?;
                let origin = format!("{}:{}", cfg.path.display(), entry.line);
                state.offer(key, given, origin);
            }
            state.commit();
            found = Some(cfg.path);
        }
    }
    Ok(Configured {
        origins: state.origins(),
        argv: state.argv(argv),
        file: found,
    })
}

/// The keys: every argument of `build` but help and the global flags.
fn keys(build: &clap::Command) -> Vec<Key<'_>> {
    build
        .get_arguments()
        .filter(|a| !a.is_global_set())
        .filter_map(|arg| {
            let kind = match arg.get_action() {
                ArgAction::SetTrue => Kind::Switch,
                ArgAction::Set => Kind::One,
                ArgAction::Append => Kind::Many,
                _ => return None,
            };
            let name = match arg.get_long() {
                Some(long) => long.to_string(),
                None if arg.is_positional() => arg.get_id().as_str().replace('_', "-"),
                None => return None,
            };
            let path = arg.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>();
            Some(Key {
                arg,
                name,
                kind,
                path,
            })
        })
        .collect()
}

/// The values decided so far, level by level (command line, then
/// environment, then file): a key a higher level decided is not offered
/// again, nor one that conflicts with, or is taken together with, a flag a
/// higher level set.
struct State<'a> {
    build: &'a clap::Command,
    fixed: HashSet<String>,
    set: HashSet<String>,
    pending: Vec<(&'a Key<'a>, Given, String)>,
    added: Vec<(&'a Key<'a>, Given, String)>,
}

impl<'a> State<'a> {
    fn new(build: &'a clap::Command, m: &ArgMatches, keys: &[Key]) -> Self {
        // A variable clap reads itself (PIP_INDEX_URL) counts as given too.
        let given: HashSet<String> = keys
            .iter()
            .map(|k| k.arg.get_id().to_string())
            .filter(|id| {
                matches!(
                    m.value_source(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .collect();
        State {
            build,
            fixed: given.clone(),
            set: given,
            pending: Vec::new(),
            added: Vec::new(),
        }
    }

    fn offer(&mut self, key: &'a Key<'a>, given: Given, origin: String) {
        let id = key.arg.get_id().as_str();
        if self.fixed.contains(id) || self.blocked(key.arg) {
            return;
        }
        self.pending
            .retain(|(k, ..)| k.arg.get_id() != key.arg.get_id());
        self.pending.push((key, given, origin));
    }

    fn blocked(&self, arg: &Arg) -> bool {
        let id = arg.get_id();
        // clap keeps a conflict on the side that declared it: look at both.
        let names = |a: &Arg, other: &clap::Id| {
            self.build
                .get_arg_conflicts_with(a)
                .iter()
                .any(|c| c.get_id() == other)
        };
        let conflict = self
            .build
            .get_arguments()
            .filter(|c| self.set.contains(c.get_id().as_str()))
            .any(|c| names(arg, c.get_id()) || names(c, id));
        let together = self
            .build
            .get_groups()
            .filter(|g| TAKEN_TOGETHER.contains(&g.get_id().as_str()))
            .filter(|g| g.get_args().any(|a| a == id))
            .any(|g| g.get_args().any(|a| self.set.contains(a.as_str())));
        conflict || together
    }

    /// Ends a level: what it offered is decided.
    fn commit(&mut self) {
        for (key, given, origin) in self.pending.drain(..) {
            let id = key.arg.get_id().to_string();
            if given.is_set() {
                self.set.insert(id.clone());
            }
            self.fixed.insert(id);
            self.added.push((key, given, origin));
        }
    }

    fn value(&self, id: &str) -> Option<&Given> {
        self.added
            .iter()
            .find(|(k, ..)| k.arg.get_id() == id)
            .map(|(_, g, _)| g)
    }

    /// (flag as typed, where its value came from) for the values added.
    fn origins(&self) -> Vec<(String, String)> {
        self.added
            .iter()
            .filter(|(_, g, _)| g.is_set())
            .map(|(k, _, origin)| {
                let flag = match k.arg.get_long() {
                    Some(long) => format!("--{long}"),
                    None => k.name.to_uppercase(),
                };
                (flag, origin.clone())
            })
            .collect()
    }

    /// Where the file is looked for: the app directory, else the build
    /// context, else the current directory (each from a flag or variable).
    fn config_dir(&self, m: &ArgMatches) -> PathBuf {
        for id in ["app", "context"] {
            if let Some(dir) = m.get_one::<PathBuf>(id) {
                return dir.clone();
            }
            if let Some(Given::Values(v)) = self.value(id) {
                if let Some(dir) = v.first() {
                    return PathBuf::from(dir);
                }
            }
        }
        PathBuf::from(".")
    }

    /// `argv` with the added values as `--flag=value` before any `--`, and
    /// positional ones after it.
    fn argv(&self, argv: Vec<OsString>) -> Vec<OsString> {
        let split = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
        let (head, tail) = argv.split_at(split);
        let mut out = head.to_vec();
        let mut positional = Vec::new();
        for (key, given, _) in &self.added {
            match (given, key.arg.get_long()) {
                (Given::Switch(true), Some(long)) => out.push(format!("--{long}").into()),
                (Given::Values(values), Some(long)) => {
                    out.extend(values.iter().map(|v| format!("--{long}={v}").into()));
                }
                (Given::Values(values), None) => positional.extend(values.iter().cloned()),
                _ => {}
            }
        }
        let tail = tail.get(1..).unwrap_or_default();
        if !tail.is_empty() || !positional.is_empty() {
            out.push("--".into());
            out.extend(tail.iter().cloned());
            out.extend(positional.into_iter().map(OsString::from));
        }
        out
    }
}

/// A variable's value: switches are true/false/1/0; a repeatable flag's
/// values are separated by whitespace (a value with spaces goes in the
/// file or on the command line).
fn from_env(key: &Key, raw: &str) -> Result<Given, ConfigError> {
    let bad = |expected| ConfigError::Env {
        var: key.var(),
        value: raw.to_string(),
        expected,
    };
    Ok(match key.kind {
        Kind::Switch => match raw.trim() {
            "true" | "1" => Given::Switch(true),
            "false" | "0" => Given::Switch(false),
            _ => return Err(bad("write true or false (or 1 or 0)")),
        },
        Kind::One => Given::Values(vec![raw.to_string()]),
        Kind::Many => Given::Values(raw.split_whitespace().map(str::to_string).collect()),
    })
}

/// A file's value, typed by the flag's kind; paths made relative to the
/// file's directory (`-`, stdin or stdout, stays as it is).
fn from_file(key: &Key, entry: &file::Entry, cfg: &file::ConfigFile) -> Result<Given, ConfigError> {
    let wrong = || ConfigError::WrongType {
        file: cfg.path.clone(),
        line: entry.line,
        key: entry.key.clone(),
        expected: key.expected(),
        found: describe(&entry.value),
    };
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Integer(i) => Some(i.to_string()),
        _ => None,
    };
    let values = match (key.kind, &entry.value) {
        (Kind::Switch, Value::Boolean(b)) => return Ok(Given::Switch(*b)),
        (Kind::Switch, _) => return Err(wrong()),
        (Kind::One, v) => vec![scalar(v).ok_or_else(wrong)?],
        (Kind::Many, Value::Array(items)) => items
            .iter()
            .map(|v| scalar(v).ok_or_else(wrong))
            .collect::<Result<_, _>>()?,
        (Kind::Many, v) => vec![scalar(v).ok_or_else(wrong)?],
    };
    let values = if key.path {
        values
            .into_iter()
            .map(|v| {
                if v == "-" {
                    v
                } else {
                    tidy(&cfg.dir().join(v)).to_string_lossy().into_owned()
                }
            })
            .collect()
    } else {
        values
    };
    Ok(Given::Values(values))
}

/// `dir/./x` as `dir/x`, so messages show the path a user would write.
fn tidy(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The value as the message shows it: its TOML type and the value.
fn describe(v: &Value) -> String {
    match v {
        Value::Table(_) => "a table".into(),
        Value::Array(_) => format!("an array ({v})"),
        _ => format!("{} {v}", v.type_str()),
    }
}

fn unknown_key(cfg: &file::ConfigFile, entry: &file::Entry, keys: &[Key]) -> ConfigError {
    let closest = keys
        .iter()
        .filter(|k| !NOT_IN_FILE.contains(&k.name.as_str()))
        .max_by(|a, b| {
            let score = |k: &Key| strsim::normalized_damerau_levenshtein(&entry.key, &k.name);
            score(a).total_cmp(&score(b))
        })
        .map(|k| k.name.clone())
        .unwrap_or_default();
    ConfigError::UnknownKey {
        file: cfg.path.clone(),
        line: entry.line,
        key: entry.key.clone(),
        closest,
    }
}
