//! Issue 12's acceptance: pyko's resolver against real uv on a frozen
//! local index of real wheels (`tests/fixtures/resolve-sets.sh`), the
//! example app built from top-level names, `pyko lock` read back by uv,
//! and the failures a user meets first.

mod bench_server;
mod example;
mod failures;
mod lock_uv;
mod parity;
mod pyproject;
mod uv_workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::common::fixtures::repo_root;
pub use crate::common::index::Form;
use crate::common::index::{self, IndexOptions, IndexServer};
use crate::common::run::pyko_cmd;

/// The fixture: `wheels/` (the index's files) and `pins/` (uv's answers
/// against the default index when the fixture was made).
pub fn fixture() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = repo_root().join("tests/fixtures/resolve-sets.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .expect("run resolve-sets.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(stdout.lines().last().expect("a path").trim())
    })
}

pub fn fixture_wheels() -> Vec<PathBuf> {
    let mut w: Vec<PathBuf> = std::fs::read_dir(fixture().join("wheels"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    w.sort();
    w
}

/// One requirement set of `tests/fixtures/resolve/`.
pub struct ReqSet {
    pub name: String,
    pub path: PathBuf,
    pub pythons: Vec<String>,
}

pub fn sets() -> Vec<ReqSet> {
    let dir = repo_root().join("tests/fixtures/resolve");
    let mut sets: Vec<ReqSet> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let pythons = text
                .lines()
                .find_map(|l| l.strip_prefix("# pyko-python:"))
                .map(|v| v.split_whitespace().map(String::from).collect())
                .unwrap_or_else(|| vec!["3.11".to_string()]);
            ReqSet {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                path,
                pythons,
            }
        })
        .collect();
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(sets.len() >= 6, "expected six requirement sets in {dir:?}");
    sets
}

/// The two targets, as uv's `--python-platform` and pyko's `--platform`.
pub const ARCHES: [(&str, &str); 2] = [
    ("x86_64-manylinux_2_28", "linux/amd64"),
    ("aarch64-manylinux_2_28", "linux/arm64"),
];

/// The glibc that manylinux_2_28 means, for pyko's `--libc`.
pub const LIBC: &str = "glibc-2.28";

/// How the table names an index form.
pub fn form_name(form: Form) -> &'static str {
    match form {
        Form::Json => "json+658",
        Form::HtmlRange => "html+range",
        Form::HtmlNoRange => "html",
    }
}

/// Serves `wheels` in `form` (the harness's three index forms);
/// `upload_times` (file name → RFC 3339) fill PEP 700 `upload-time`.
pub fn serve(
    form: Form,
    wheels: &[PathBuf],
    upload_times: &BTreeMap<String, String>,
) -> IndexServer {
    let mut opts = IndexOptions::new(form);
    opts.upload_times = upload_times.clone();
    IndexServer::start_with(wheels, &opts)
}

/// A resolution: normalized name → version.
pub type Pins = BTreeMap<String, String>;

pub fn uv_bin() -> PathBuf {
    let out = Command::new("bash")
        .arg(repo_root().join("tests/fixtures/uv.sh"))
        .output()
        .expect("run uv.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// uv with no configuration but its flags and a cache of its own.
pub fn uv_cmd(cache: &Path) -> Command {
    let mut c = Command::new(uv_bin());
    c.env("UV_CACHE_DIR", cache)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_NO_CONFIG", "1")
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_EXTRA_INDEX_URL")
        .env_remove("UV_EXCLUDE_NEWER")
        .stdin(Stdio::null());
    c
}

/// `uv pip compile` of `reqs` for one target against `index_url`.
pub fn uv_compile(
    reqs: &Path,
    uv_platform: &str,
    python: &str,
    index_url: &str,
    extra: &[&str],
    cache: &Path,
) -> Result<Pins, String> {
    let out = uv_cmd(cache)
        .args(["pip", "compile", "--quiet", "--no-header", "--no-annotate"])
        .args(["--only-binary", ":all:", "--python-platform", uv_platform])
        .args(["--python-version", python, "--index-url", index_url])
        .args(extra)
        .arg(reqs)
        .output()
        .expect("run uv");
    if !out.status.success() {
        return Err(format!(
            "uv failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(parse_pins(&String::from_utf8_lossy(&out.stdout)))
}

/// `name==version` lines (comments, markers and hashes dropped).
pub fn parse_pins(text: &str) -> Pins {
    text.lines()
        .map(|l| l.split(['#', ';']).next().unwrap().trim())
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (index::normalize(n.trim()), v.trim().to_string()))
        .collect()
}

/// `pyko lock` of `reqs` for one target into `work/pylock.toml`, with
/// pyko's cache in `cache`; the lock's packages.
pub fn pyko_lock(
    reqs: &Path,
    platform: &str,
    python: &str,
    index_url: &str,
    extra: &[&str],
    (work, cache): (&Path, &Path),
) -> Result<Pins, String> {
    let lock = work.join("pylock.toml");
    let out = pyko_cmd(cache)
        .args(["lock", "-r"])
        .arg(reqs)
        .args(["--python", python, "--platform", platform, "--libc", LIBC])
        .args(["--index-url", index_url])
        .args(extra)
        .arg("-o")
        .arg(&lock)
        .output()
        .expect("run pyko");
    if !out.status.success() {
        return Err(format!("pyko failed: {}", stderr(&out)));
    }
    Ok(lock_packages(&lock)
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect())
}

/// One `[[packages]]` entry of a pylock.toml.
pub struct Locked {
    pub name: String,
    pub version: String,
    pub marker: Option<String>,
    /// The `[[packages.wheels]]` file names.
    pub wheels: Vec<String>,
}

pub fn lock_packages(lock: &Path) -> Vec<Locked> {
    let text = std::fs::read_to_string(lock).unwrap();
    // A document, not one value (toml 1 parses `str::parse` as a value).
    let v: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", lock.display()));
    v["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no [[packages]] in {text}"))
        .iter()
        .map(|p| Locked {
            name: index::normalize(p["name"].as_str().unwrap()),
            version: p["version"].as_str().unwrap().to_string(),
            marker: p.get("marker").and_then(|m| m.as_str()).map(String::from),
            wheels: p
                .get("wheels")
                .and_then(|w| w.as_array())
                .into_iter()
                .flatten()
                .filter_map(|w| w.get("name").and_then(|n| n.as_str()).map(String::from))
                .collect(),
        })
        .collect()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What differs between two resolutions, as `-name==v` / `+name==v` lines
/// (`-` only uv has, `+` only pyko has).
pub fn diff(uv: &Pins, pyko: &Pins) -> Vec<String> {
    let all: BTreeSet<&String> = uv.keys().chain(pyko.keys()).collect();
    let mut out = Vec::new();
    for name in all {
        match (uv.get(name), pyko.get(name)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => {
                if let Some(a) = a {
                    out.push(format!("-{name}=={a}"));
                }
                if let Some(b) = b {
                    out.push(format!("+{name}=={b}"));
                }
            }
        }
    }
    out
}
