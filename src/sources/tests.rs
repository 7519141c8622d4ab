use std::path::Path;

use super::fetch::select_wheel;
use super::*;
use crate::target::PythonTarget;

fn target(arch: &str) -> PythonTarget {
    PythonTarget::test_cpython311(arch)
}

fn env(arch: &str) -> (Tags, MarkerEnvironment) {
    let t = target(arch);
    let tags = Tags::for_target(&t).unwrap();
    let env = marker_environment(&tags);
    (tags, env)
}

fn pin(name: &str, version: &str) -> Pin {
    Pin {
        name: name.into(),
        version: version.parse().unwrap(),
        hashes: vec![],
        origin: "test".into(),
        wheels: vec![],
        sdist_only: false,
        sdist: None,
    }
}

const NUMPY_FILES: &[&str] = &[
    "numpy-2.4.6.tar.gz",
    "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    "numpy-2.4.6-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
    "numpy-2.4.6-cp311-cp311-musllinux_1_2_aarch64.whl",
    "numpy-2.4.6-cp311-cp311-macosx_14_0_arm64.whl",
    "numpy-2.4.6-cp312-cp312-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
    "numpy-2.4.5-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-2.4.6-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-2.4.6-cp311-cp311-manylinux_2_39_aarch64.whl",
];

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_target_decides_the_wheel_not_the_host() {
    let files = names(NUMPY_FILES);
    let (arm, _) = env("arm64");
    let i = select_wheel(&arm, &pin("numpy", "2.4.6"), &files).unwrap();
    assert_eq!(
        files[i],
        "numpy-2.4.6-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl"
    );
    let (amd, _) = env("amd64");
    let i = select_wheel(&amd, &pin("numpy", "2.4.6"), &files).unwrap();
    assert!(
        files[i].ends_with("manylinux_2_28_x86_64.whl"),
        "{}",
        files[i]
    );
}

#[test]
fn no_wheel_for_the_target_names_the_package_and_tags() {
    let (arm, _) = env("arm64");
    let only_x86 = names(&[
        "scipy-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "scipy-1.0.tar.gz",
    ]);
    let err = select_wheel(&arm, &pin("scipy", "1.0"), &only_x86)
        .unwrap_err()
        .to_string();
    assert!(err.contains("scipy==1.0"), "{err}");
    assert!(
        err.contains("only a source distribution (scipy-1.0.tar.gz)"),
        "{err}"
    );
    assert!(err.contains("cp311-cp311-manylinux_2_36_aarch64"), "{err}");
    assert!(err.contains("manylinux_2_28_x86_64"), "{err}");
    let err = select_wheel(&arm, &pin("scipy", "2.0"), &only_x86)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lists no file"), "{err}");
}

#[test]
fn uv_lock_walks_the_graph_with_the_targets_markers() {
    let lock = r#"
version = 1
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "click" },
    { name = "uvicorn", extra = ["standard"] },
]

[[package]]
name = "click"
version = "8.1.0"
source = { registry = "https://example.invalid/simple" }
dependencies = [{ name = "colorama", marker = "sys_platform == 'win32'" }]
wheels = [{ url = "https://example.invalid/f/click-8.1.0-py3-none-any.whl", hash = "sha256:AB" }]

[[package]]
name = "colorama"
version = "0.4.6"
source = { registry = "https://example.invalid/simple" }
wheels = [{ url = "https://example.invalid/f/colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:cd" }]

[[package]]
name = "uvicorn"
version = "0.30.0"
source = { registry = "https://example.invalid/simple" }
wheels = [{ url = "https://example.invalid/f/uvicorn-0.30.0-py3-none-any.whl", hash = "sha256:ef" }]

[package.optional-dependencies]
standard = [{ name = "uvloop", marker = "platform_machine == 'aarch64'" }]

[[package]]
name = "uvloop"
version = "0.21.0"
source = { registry = "https://example.invalid/simple" }
sdist = { url = "https://example.invalid/f/uvloop-0.21.0.tar.gz", hash = "sha256:00" }
wheels = [
    { url = "https://example.invalid/f/uvloop-0.21.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", hash = "sha256:01" },
    { url = "https://example.invalid/f/uvloop-0.21.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", hash = "sha256:02" },
]
"#;
    let (_, amd_env) = env("amd64");
    let l = uvlock::parse(Path::new("uv.lock"), lock, &amd_env).unwrap();
    let got: Vec<&str> = l.pins.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(got, ["click", "uvicorn"]);
    assert_eq!(l.pins[0].wheels[0].sha256.as_deref(), Some("ab"));
    assert_eq!(
        l.requested,
        Some(vec!["click".to_string(), "uvicorn".to_string()])
    );
    let (arm, arm_env) = env("arm64");
    let l = uvlock::parse(Path::new("uv.lock"), lock, &arm_env).unwrap();
    let uvloop = l.pins.iter().find(|p| p.name == "uvloop").unwrap();
    let files: Vec<String> = uvloop.wheels.iter().map(|w| w.filename.clone()).collect();
    let i = select_wheel(&arm, uvloop, &files).unwrap();
    assert!(files[i].contains("aarch64"), "{}", files[i]);
    assert!(l.pins.iter().all(|p| !p.sdist_only));

    // uvloop without its wheels: a pin only the user's wheel can fill.
    let at = lock
        .find("sdist = { url = \"https://example.invalid/f/uvloop")
        .unwrap();
    let sdist_only = format!(
        "{}{}",
        &lock[..at],
        lock[at..].split_once("\nwheels").unwrap().0
    );
    let l = uvlock::parse(Path::new("uv.lock"), &sdist_only, &arm_env).unwrap();
    let uvloop = l.pins.iter().find(|p| p.name == "uvloop").unwrap();
    assert!(uvloop.sdist_only && uvloop.wheels.is_empty(), "{uvloop:?}");
    assert_eq!(uvloop.version.to_string(), "0.21.0");
}

#[test]
fn pylock_markers_and_sources() {
    let lock = r#"
lock-version = "1.0"
created-by = "test"

[[packages]]
name = "numpy"
version = "2.4.6"
wheels = [
  { url = "https://example.invalid/numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl", hashes = { sha256 = "AA" } },
  { name = "numpy-2.4.6-cp311-cp311-manylinux_2_28_aarch64.whl", path = "wheels/n.whl", hashes = { sha256 = "bb" } },
]

[[packages]]
name = "pywin32"
version = "311"
marker = "sys_platform == 'win32'"
wheels = [{ url = "https://example.invalid/pywin32-311-cp311-cp311-win_amd64.whl", hashes = { sha256 = "cc" } }]
"#;
    let (_, e) = env("arm64");
    let l = pylock::parse(Path::new("/x/pylock.toml"), lock, &e).unwrap();
    assert_eq!(l.pins.len(), 1);
    let w = &l.pins[0].wheels;
    assert_eq!(w[0].sha256.as_deref(), Some("aa"));
    assert_eq!(w[1].location, Location::Path("/x/wheels/n.whl".into()));
    assert_eq!(
        w[1].filename,
        "numpy-2.4.6-cp311-cp311-manylinux_2_28_aarch64.whl"
    );

    let sdist_only = "lock-version = \"1.0\"\n[[packages]]\nname = \"foo\"\nversion = \"1\"\nsdist = { url = \"https://example.invalid/foo-1.tar.gz\" }\n";
    // An sdist-only entry becomes a pin that only a user's wheel can fill.
    let l = pylock::parse(Path::new("pylock.toml"), sdist_only, &e).unwrap();
    assert_eq!(l.pins.len(), 1);
    assert!(l.pins[0].sdist_only && l.pins[0].wheels.is_empty());
    assert_eq!(l.pins[0].version.to_string(), "1");
    let err = pylock::parse(Path::new("pylock.toml"), "[[package]]\n", &e)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lock-version"), "{err}");
}
