use std::path::{Path, PathBuf};

use pep508_rs::MarkerEnvironment;

use super::read;
use crate::sources::{marker_environment, Location, Pin, Selection};
use crate::target::PythonTarget;
use crate::wheel::Tags;

fn env(arch: &str) -> MarkerEnvironment {
    let tags = Tags::for_target(&PythonTarget::test_cpython311(arch)).unwrap();
    marker_environment(&tags)
}

/// A workspace as uv 0.13 writes it: a virtual root, one editable member,
/// one package of each `source` kind pyko installs.
const WORKSPACE: &str = r#"
version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = ["app", "lib"]

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "click" },
    { name = "lib" },
    { name = "orjson", marker = "platform_machine == 'x86_64'" },
]

[package.optional-dependencies]
web = [{ name = "h11" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]
lint = [{ name = "black" }]

[package.metadata]
requires-dist = [{ name = "click" }, { name = "lib", editable = "packages/lib" }]

[[package]]
name = "black"
version = "25.1.0"
source = { registry = "https://example.invalid/simple" }
wheels = [{ url = "https://example.invalid/f/black-25.1.0-py3-none-any.whl", hash = "sha256:0B" }]

[[package]]
name = "click"
version = "8.1.8"
source = { registry = "https://example.invalid/simple" }
sdist = { url = "https://example.invalid/f/click-8.1.8.tar.gz", hash = "sha256:00" }
wheels = [{ url = "https://example.invalid/f/click-8.1.8-py3-none-any.whl", hash = "sha256:AB" }]

[[package]]
name = "h11"
version = "0.16.0"
source = { url = "https://example.invalid/f/h11-0.16.0.tar.gz" }
sdist = { hash = "sha256:11" }

[[package]]
name = "idna"
version = "3.10"
source = { path = "wheels/idna-3.10-py3-none-any.whl" }
wheels = [{ filename = "idna-3.10-py3-none-any.whl", hash = "sha256:1D" }]

[[package]]
name = "lib"
version = "0.2.0"
source = { editable = "packages/lib" }
dependencies = [{ name = "idna" }]

[package.dev-dependencies]
test = [{ name = "pytest" }]

[[package]]
name = "orjson"
version = "3.10.0"
source = { url = "https://example.invalid/f/orjson-3.10.0-cp311-cp311-manylinux_2_17_x86_64.whl" }
wheels = [{ url = "https://example.invalid/f/orjson-3.10.0-cp311-cp311-manylinux_2_17_x86_64.whl", hash = "sha256:0A" }]

[[package]]
name = "pytest"
version = "8.3.0"
source = { registry = "https://example.invalid/simple" }
wheels = [{ url = "https://example.invalid/f/pytest-8.3.0-py3-none-any.whl", hash = "sha256:77" }]
"#;

fn pins(text: &str, arch: &str, selection: &Selection) -> Result<Vec<Pin>, String> {
    read(Path::new("/w/uv.lock"), text, &env(arch), selection, &[])
        .map(|l| l.pins)
        .map_err(|e| e.to_string())
}

fn names(pins: &[Pin]) -> Vec<&str> {
    pins.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn members_are_not_installed_but_their_dependencies_are() {
    let l = read(
        Path::new("/w/uv.lock"),
        WORKSPACE,
        &env("amd64"),
        &Selection::default(),
        &[],
    )
    .unwrap();
    // lib (a member) is the app's code; idna, its dependency, is installed;
    // no dependency group (pytest, black) is, as with `uv sync --no-dev`.
    assert_eq!(names(&l.pins), ["click", "idna", "orjson"]);
    assert_eq!(
        l.requested,
        Some(vec!["click".into(), "idna".into(), "orjson".into()])
    );
    assert!(l.warnings.is_empty());
    // The marker leaves orjson out on arm64.
    let arm = pins(WORKSPACE, "arm64", &Selection::default()).unwrap();
    assert_eq!(names(&arm), ["click", "idna"]);
}

#[test]
fn source_kinds() {
    let all = pins(
        WORKSPACE,
        "amd64",
        &Selection {
            extras: vec!["web".into()],
            ..Default::default()
        },
    )
    .unwrap();
    let by = |n: &str| all.iter().find(|p| p.name == n).unwrap();
    // registry: the index's wheel by URL, with the lock's hash.
    let click = by("click");
    assert_eq!(click.wheels.len(), 1);
    assert_eq!(click.wheels[0].sha256.as_deref(), Some("ab"));
    assert!(!click.sdist_only);
    // path: the wheel beside the lock, by the source's path.
    let idna = by("idna");
    assert_eq!(
        idna.wheels[0].location,
        Location::Path(PathBuf::from("/w/wheels/idna-3.10-py3-none-any.whl"))
    );
    assert_eq!(idna.wheels[0].filename, "idna-3.10-py3-none-any.whl");
    assert_eq!(idna.wheels[0].sha256.as_deref(), Some("1d"));
    // url to a wheel: installed, hashed.
    let orjson = by("orjson");
    assert!(matches!(&orjson.wheels[0].location, Location::Url(u) if u.ends_with("x86_64.whl")));
    assert_eq!(orjson.wheels[0].sha256.as_deref(), Some("0a"));
    // url to an sdist: only a wheel the user brings can fill it.
    let h11 = by("h11");
    assert!(h11.sdist_only && h11.wheels.is_empty());
}

#[test]
fn groups_extras_and_package() {
    let sel = |groups: &[&str], all_groups, extras: &[&str], package: Option<&str>| Selection {
        groups: groups.iter().map(|s| s.to_string()).collect(),
        all_groups,
        extras: extras.iter().map(|s| s.to_string()).collect(),
        package: package.map(String::from),
    };
    let got = pins(WORKSPACE, "amd64", &sel(&["dev"], false, &[], None)).unwrap();
    assert_eq!(names(&got), ["click", "idna", "orjson", "pytest"]);
    let got = pins(WORKSPACE, "amd64", &sel(&[], true, &["web"], None)).unwrap();
    assert_eq!(
        names(&got),
        ["black", "click", "h11", "idna", "orjson", "pytest"]
    );
    // --package lib: only the member's own dependencies, and its groups.
    let got = pins(WORKSPACE, "amd64", &sel(&[], false, &[], Some("lib"))).unwrap();
    assert_eq!(names(&got), ["idna"]);
    let got = pins(WORKSPACE, "amd64", &sel(&["test"], false, &[], Some("lib"))).unwrap();
    assert_eq!(names(&got), ["idna", "pytest"]);

    let e = pins(WORKSPACE, "amd64", &sel(&["docs"], false, &[], None)).unwrap_err();
    assert!(
        e.contains("--group docs: app has no such dependency group (it has: dev, lint)"),
        "{e}"
    );
    let e = pins(WORKSPACE, "amd64", &sel(&[], false, &["gui"], None)).unwrap_err();
    assert!(
        e.contains("--extra gui: app has no such optional dependencies (it has: web)"),
        "{e}"
    );
    let e = pins(WORKSPACE, "amd64", &sel(&[], false, &[], Some("click"))).unwrap_err();
    assert!(
        e.contains("--package click is not a member of this workspace (members: app, lib)"),
        "{e}"
    );
}

#[test]
fn a_workspace_whose_root_is_no_project_installs_every_member() {
    let text = WORKSPACE.replace(
        "source = { virtual = \".\" }",
        "source = { editable = \"packages/app\" }",
    )
        + "\n[manifest.dependency-groups]\ntools = [{ name = \"black\", specifier = \">=25\" }]\n";
    let got = pins(&text, "amd64", &Selection::default()).unwrap();
    assert_eq!(names(&got), ["click", "idna", "orjson"]);
    // The root's own groups live in [manifest]; members' groups count too.
    let got = pins(
        &text,
        "amd64",
        &Selection {
            groups: vec!["tools".into(), "test".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(names(&got), ["black", "click", "idna", "orjson", "pytest"]);
}

/// A non-member source tree: refused saying what to do, unless the user's
/// `--wheels` has a wheel of that name and version.
#[test]
fn source_trees_are_refused_unless_a_wheel_stands_in() {
    for (source, hint) in [
        (
            "{ directory = \"../shared\" }",
            "pip wheel --no-deps /w/../shared -w wheels/",
        ),
        (
            "{ editable = \"../shared\" }",
            "pip wheel --no-deps /w/../shared -w wheels/",
        ),
        (
            "{ git = \"https://example.invalid/shared.git?rev=main#0123abcd\" }",
            "pip wheel --no-deps 'git+https://example.invalid/shared.git?rev=main'",
        ),
    ] {
        let text = format!(
            "version = 1\nrevision = 2\n\n[[package]]\nname = \"app\"\nversion = \"1\"\nsource = {{ editable = \".\" }}\ndependencies = [{{ name = \"shared\" }}]\n\n[[package]]\nname = \"shared\"\nversion = \"1.2\"\nsource = {source}\n"
        );
        let e = pins(&text, "amd64", &Selection::default()).unwrap_err();
        assert!(
            e.contains("package shared comes from the source tree"),
            "{e}"
        );
        assert!(e.contains("pyko installs no source trees"), "{e}");
        assert!(e.contains(hint), "{e}");
        let local = [PathBuf::from("/wh/shared-1.2-py3-none-any.whl")];
        let l = read(
            Path::new("/w/uv.lock"),
            &text,
            &env("amd64"),
            &Selection::default(),
            &local,
        )
        .unwrap();
        assert!(l.pins[0].sdist_only && l.pins[0].name == "shared");
        assert!(l.pins[0].lock_lists().contains("source tree"));
        let other = [PathBuf::from("/wh/shared-1.3-py3-none-any.whl")];
        assert!(read(
            Path::new("/w/uv.lock"),
            &text,
            &env("amd64"),
            &Selection::default(),
            &other
        )
        .is_err());
    }
}

#[test]
fn versions_and_revisions() {
    let body = "\n[[package]]\nname = \"app\"\nversion = \"1\"\nsource = { virtual = \".\" }\n";
    for revision in [
        "",
        "\nrevision = 1",
        "\nrevision = 2",
        "\nrevision = 3",
        "\nrevision = 5",
    ] {
        let head = format!("version = 1{revision}");
        let l = read(
            Path::new("uv.lock"),
            &format!("{head}{body}"),
            &env("amd64"),
            &Selection::default(),
            &[],
        )
        .unwrap();
        assert!(l.pins.is_empty() && l.warnings.is_empty(), "{head}");
    }
    // A newer revision only adds fields: read, with a warning (as uv reads it).
    let l = read(
        Path::new("uv.lock"),
        &format!("version = 1\nrevision = 6{body}"),
        &env("amd64"),
        &Selection::default(),
        &[],
    )
    .unwrap();
    assert_eq!(l.warnings.len(), 1);
    assert!(
        l.warnings[0].contains("revision 6 is newer"),
        "{:?}",
        l.warnings
    );
    // A newer (or missing) version is another format: refused, as uv does.
    for head in ["version = 2", "revision = 3"] {
        let e = pins(&format!("{head}{body}"), "amd64", &Selection::default()).unwrap_err();
        assert!(e.contains("is not supported (pyko reads version 1"), "{e}");
    }
    // requires-python is checked against the image's Python (3.11 here).
    let e = pins(
        &format!("version = 1\nrequires-python = \">=3.12\"{body}"),
        "amd64",
        &Selection::default(),
    )
    .unwrap_err();
    assert!(
        e.contains("requires Python >=3.12, but the image's Python is 3.11"),
        "{e}"
    );
}
