//! `pyproject.toml` as a requirements input (`-r pyproject.toml`, or found
//! in the app directory): the project's `[project] dependencies`, plus the
//! optional dependencies of each `--extra` and the PEP 735
//! `[dependency-groups]` of each `--group`, resolved for the target as a
//! requirements file is. The project itself is the app directory, copied
//! as `COPY . .` copies it, never installed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pep508_rs::MarkerEnvironment;
use serde::Deserialize;

use super::requirements::{self, requirement_line, RequirementsFile};
use super::{LockError, Selection};

#[derive(Deserialize)]
struct File {
    project: Option<Project>,
    #[serde(default, rename = "dependency-groups")]
    groups: BTreeMap<String, Vec<toml::Value>>,
}

#[derive(Deserialize)]
struct Project {
    #[serde(default)]
    dependencies: Vec<toml::Spanned<String>>,
    #[serde(default, rename = "optional-dependencies")]
    optional: BTreeMap<String, Vec<toml::Spanned<String>>>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    dynamic: Vec<String>,
}

/// What a pyproject.toml asks to install.
#[derive(Debug)]
pub struct PyProject {
    /// As a requirements file (with `-c` constraints from the command
    /// line), so it goes through the same resolver and checks.
    pub requirements: RequirementsFile,
    /// `[project] requires-python`, checked against the target.
    pub requires_python: Option<String>,
}

/// True when `file` is to be read as a pyproject.toml rather than a pip
/// requirements file.
pub fn is_pyproject(file: &Path) -> bool {
    file.file_name().is_some_and(|n| n == "pyproject.toml")
}

pub fn read(
    file: &Path,
    selection: &Selection,
    constraints: &[PathBuf],
) -> Result<PyProject, LockError> {
    let text = std::fs::read_to_string(file).map_err(|source| LockError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let mut out = parse(file, &text, selection)?;
    out.requirements.constraints = requirements::parse(&[], constraints)?.constraints;
    Ok(out)
}

/// `pyko lock -r`'s files, each a requirements file or a pyproject.toml
/// (its `[project] dependencies`, as `build -r` reads it), as one
/// requirements input; with each pyproject's requires-python, for the
/// caller to check against every target.
pub fn read_inputs(
    files: &[PathBuf],
    constraints: &[PathBuf],
) -> Result<(RequirementsFile, Vec<(PathBuf, String)>), LockError> {
    let (projects, plain): (Vec<PathBuf>, Vec<PathBuf>) =
        files.iter().cloned().partition(|f| is_pyproject(f));
    let mut out = requirements::parse(&plain, constraints)?;
    let mut pythons = Vec::new();
    for file in projects {
        let project = read(&file, &Selection::default(), &[])?;
        out.requirements.extend(project.requirements.requirements);
        if let Some(spec) = project.requires_python {
            pythons.push((file, spec));
        }
    }
    Ok((out, pythons))
}

/// Reads `text` (the content of `file`), without constraints.
pub fn parse(file: &Path, text: &str, selection: &Selection) -> Result<PyProject, LockError> {
    let err = |message: String| LockError::LockFile {
        file: file.to_path_buf(),
        message,
    };
    if let Some(p) = &selection.package {
        return Err(err(format!(
            "--package {p} picks a member of a uv workspace, which only a uv.lock describes; give --lock uv.lock"
        )));
    }
    let doc: File = toml::from_str(text).map_err(|e| err(format!("not valid TOML: {e}")))?;
    let project = doc.project.ok_or_else(|| {
        err("has no [project] table, so no dependencies to install; add one (PEP 621) or give a requirements file".into())
    })?;
    if project.dynamic.iter().any(|d| d == "dependencies") {
        return Err(err("its dependencies are dynamic (the build backend decides them), so pyko cannot read them; list them in [project] dependencies, or lock them (`uv lock`, then --lock uv.lock)".into()));
    }
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let mut lines = Vec::new();
    let mut add = |spec: &str, offset: usize| -> Result<(), LockError> {
        lines.push(requirement_line(file, line_of(offset), spec, spec.trim())?);
        Ok(())
    };
    for d in &project.dependencies {
        add(d.get_ref(), d.span().start)?;
    }
    let normalize = |n: &str| crate::wheel::normalize_name(n);
    for extra in &selection.extras {
        let deps = project
            .optional
            .iter()
            .find(|(k, _)| normalize(k) == normalize(extra))
            .map(|(_, v)| v)
            .ok_or_else(|| {
                err(format!(
                    "--extra {extra}: [project.optional-dependencies] has no such key (it has: {})",
                    names(project.optional.keys())
                ))
            })?;
        for d in deps {
            add(d.get_ref(), d.span().start)?;
        }
    }
    let mut groups: Vec<&String> = selection.groups.iter().collect();
    if selection.all_groups {
        groups.extend(doc.groups.keys());
    }
    for group in groups {
        for spec in group_requirements(&doc.groups, group, &mut Vec::new()).map_err(err)? {
            // PEP 735 strings have no span once read as a table of values:
            // the first line that quotes one is where it is written.
            let offset = text.find(&format!("\"{spec}\"")).unwrap_or(0);
            add(&spec, offset)?;
        }
    }
    Ok(PyProject {
        requirements: RequirementsFile {
            requirements: lines,
            ..Default::default()
        },
        requires_python: project.requires_python,
    })
}

/// A PEP 735 group's requirement strings, `{include-group = …}` expanded.
fn group_requirements(
    groups: &BTreeMap<String, Vec<toml::Value>>,
    name: &str,
    stack: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let normalize = |n: &str| crate::wheel::normalize_name(n);
    let (key, items) = groups
        .iter()
        .find(|(k, _)| normalize(k) == normalize(name))
        .ok_or_else(|| {
            format!(
                "--group {name}: [dependency-groups] has no such group (it has: {})",
                names(groups.keys())
            )
        })?;
    if stack.contains(key) {
        return Err(format!("[dependency-groups] {key} includes itself"));
    }
    stack.push(key.clone());
    let mut out = Vec::new();
    for item in items {
        match item {
            toml::Value::String(s) => out.push(s.clone()),
            toml::Value::Table(t) => match t.get("include-group").and_then(|v| v.as_str()) {
                Some(inner) => out.extend(group_requirements(groups, inner, stack)?),
                None => return Err(format!("[dependency-groups] {key}: {t} is neither a requirement string nor {{include-group = \"…\"}}")),
            },
            other => return Err(format!("[dependency-groups] {key}: {other} is not a requirement string")),
        }
    }
    stack.pop();
    Ok(out)
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let keys: BTreeSet<&String> = keys.collect();
    if keys.is_empty() {
        "none".into()
    } else {
        keys.into_iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Beyond any CPython patch release so far (3.x.y has stayed under 30).
const MAX_PATCH: u64 = 99;

/// uv and pip refuse an interpreter outside a project's (or lock's)
/// `requires-python`; the interpreter here is the image's.
pub fn check_python(file: &Path, spec: &str, env: &MarkerEnvironment) -> Result<(), LockError> {
    let err = |message: String| LockError::LockFile {
        file: file.to_path_buf(),
        message,
    };
    let specs: pep440_rs::VersionSpecifiers = spec
        .parse()
        .map_err(|e| err(format!("requires-python {spec:?}: {e}")))?;
    // The target knows X.Y only, not the image's patch release: refuse only
    // when no X.Y.z could meet the spec (`>=3.11.4` is met by a 3.11 image
    // of a late enough patch; `>=3.12` by none).
    let minor = &env.python_version().version;
    let could = (0..=MAX_PATCH).any(|patch| {
        let mut release = minor.release().to_vec();
        release.truncate(2);
        release.push(patch);
        specs.contains(&pep440_rs::Version::new(release))
    });
    if could {
        Ok(())
    } else {
        Err(err(format!(
            "requires Python {spec}, but the image's Python is {}; pick a base image with such a Python (or --python X.Y)",
            env.python_version().version
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYPROJECT: &str = r#"[project]
name = "web"
version = "1.0"
requires-python = ">=3.11"
dependencies = [
    "fastapi>=0.110",
    "uvicorn[standard]; sys_platform == 'linux'",
]

[project.optional-dependencies]
Fast-JSON = ["orjson"]

[dependency-groups]
test = ["pytest>=8"]
dev = [{ include-group = "test" }, "black"]
"#;

    fn specs(selection: &Selection) -> Result<Vec<(usize, String)>, String> {
        parse(Path::new("/p/pyproject.toml"), PYPROJECT, selection)
            .map(|p| {
                p.requirements
                    .requirements
                    .iter()
                    .map(|l| (l.line, l.requirement.to_string()))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn dependencies_extras_and_groups_with_their_lines() {
        let got = specs(&Selection::default()).unwrap();
        assert_eq!(got[0], (6, "fastapi>=0.110".to_string()));
        assert_eq!(got[1].0, 7);
        assert!(got[1].1.starts_with("uvicorn[standard]"), "{got:?}");
        assert_eq!(got.len(), 2);
        let got = specs(&Selection {
            extras: vec!["fast_json".into()],
            groups: vec!["dev".into()],
            ..Default::default()
        })
        .unwrap();
        let names: Vec<&str> = got.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(names[2..], ["orjson", "pytest>=8", "black"]);
        assert_eq!(got[2].0, 11);
        assert_eq!(got[3].0, 14);
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let e = specs(&Selection {
            extras: vec!["gui".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.contains(
                "--extra gui: [project.optional-dependencies] has no such key (it has: Fast-JSON)"
            ),
            "{e}"
        );
        let e = specs(&Selection {
            groups: vec!["docs".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.contains("--group docs: [dependency-groups] has no such group (it has: dev, test)"),
            "{e}"
        );
        let e = specs(&Selection {
            package: Some("lib".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.contains("--package lib picks a member of a uv workspace"),
            "{e}"
        );
        let dynamic = "[project]\nname = \"x\"\ndynamic = [\"dependencies\", \"version\"]\n";
        let e = parse(Path::new("pyproject.toml"), dynamic, &Selection::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("its dependencies are dynamic"), "{e}");
        let e = parse(
            Path::new("pyproject.toml"),
            "[tool.x]\n",
            &Selection::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("has no [project] table"), "{e}");
        let bad = "[project]\nname = \"x\"\ndependencies = [\"ok\", \"bad name!\"]\n";
        let e = parse(Path::new("pyproject.toml"), bad, &Selection::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("pyproject.toml:3: \"bad name!\": not a valid requirement"),
            "{e}"
        );
        let cycle =
            "[project]\nname = \"x\"\n[dependency-groups]\na = [{ include-group = \"a\" }]\n";
        let e = parse(
            Path::new("pyproject.toml"),
            cycle,
            &Selection {
                groups: vec!["a".into()],
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("[dependency-groups] a includes itself"), "{e}");
    }

    #[test]
    fn requires_python_is_checked_against_the_image() {
        let tags =
            crate::wheel::Tags::for_target(&crate::target::PythonTarget::test_cpython311("amd64"))
                .unwrap();
        let env = crate::sources::marker_environment(&tags);
        let f = Path::new("pyproject.toml");
        check_python(f, ">=3.11", &env).unwrap();
        // A patch release the image may have (its patch is not known).
        check_python(f, ">=3.11.4", &env).unwrap();
        check_python(f, "~=3.11.2", &env).unwrap();
        check_python(f, "==3.11.9", &env).unwrap();
        for none in ["!=3.11.*", "<3.11", "==3.10.*", ">3.11.99"] {
            let e = check_python(f, none, &env).unwrap_err().to_string();
            assert!(e.contains("the image's Python is 3.11"), "{none}: {e}");
        }
        let e = check_python(f, ">=3.12,<4", &env).unwrap_err().to_string();
        assert_eq!(e, "pyproject.toml: requires Python >=3.12,<4, but the image's Python is 3.11; pick a base image with such a Python (or --python X.Y)");
    }
}
