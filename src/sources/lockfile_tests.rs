use std::path::Path;

use reqwest::Url;

use super::*;
use crate::sources::index::{CoreMetadataHint, IndexFile};
use crate::sources::{marker_environment, pylock, Location};
use crate::target::PythonTarget;
use crate::wheel::Tags;

fn file(name: &str, sha: char, upload_time: Option<i64>) -> IndexFile {
    IndexFile {
        filename: name.into(),
        url: Url::parse(&format!("http://127.0.0.1:1/files/{name}")).unwrap(),
        sha256: Some(sha.to_string().repeat(64)),
        yanked: false,
        requires_python: None,
        upload_time,
        core_metadata: CoreMetadataHint::Absent,
        size: upload_time.map(|_| 1234),
    }
}

fn resolved(name: &str, version: &str, wheel: IndexFile, requested: bool) -> Resolved {
    Resolved {
        name: name.into(),
        version: version.parse().unwrap(),
        files: vec![wheel.clone()],
        wheel,
        requested,
    }
}

/// numpy differs by platform, six is the same everywhere, and a package
/// only arm64 needs (a marker on platform_machine) gets that marker.
fn two_platforms() -> (LockHeader, Vec<PlatformLock>) {
    let six = || {
        resolved(
            "six",
            "1.17.0",
            file("six-1.17.0-py2.py3-none-any.whl", 'a', Some(1_733_000_000)),
            false,
        )
    };
    let amd = PlatformLock {
        machine: "x86_64".into(),
        resolved: vec![
            resolved(
                "numpy",
                "2.2.0",
                file(
                    "numpy-2.2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                    'b',
                    None,
                ),
                true,
            ),
            six(),
        ],
    };
    let arm = PlatformLock {
        machine: "aarch64".into(),
        resolved: vec![
            six(),
            resolved(
                "numpy",
                "2.1.3",
                file(
                    "numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
                    'c',
                    Some(1_730_000_000),
                ),
                true,
            ),
            resolved(
                "armhelper",
                "0.1",
                file("armhelper-0.1-py3-none-any.whl", 'd', None),
                false,
            ),
        ],
    };
    let header = LockHeader {
        python: (3, 12),
        requested: vec!["numpy".into()],
    };
    (header, vec![amd, arm])
}

#[test]
fn two_platform_lock() {
    let (header, platforms) = two_platforms();
    let text = render(&header, &platforms).unwrap();
    insta::assert_snapshot!("two_platform_lock", text);
    // Order of the platforms' answers does not change a byte.
    let (header, mut platforms) = two_platforms();
    platforms.reverse();
    assert_eq!(render(&header, &platforms).unwrap(), text);
}

#[test]
fn the_reader_reads_what_the_writer_wrote() {
    let (header, platforms) = two_platforms();
    let text = render(&header, &platforms).unwrap();
    for (arch, numpy, extra) in [
        ("amd64", "2.2.0", None),
        ("arm64", "2.1.3", Some("armhelper")),
    ] {
        let target = PythonTarget {
            major: 3,
            minor: 12,
            ..PythonTarget::test_cpython311(arch)
        };
        let env = marker_environment(&Tags::for_target(&target).unwrap());
        let lock = pylock::parse(Path::new("/x/pylock.toml"), &text, &env).unwrap();
        let mut got: Vec<(String, String)> = lock
            .pins
            .iter()
            .map(|p| (p.name.clone(), p.version.to_string()))
            .collect();
        got.sort();
        let mut want = vec![
            ("numpy".to_string(), numpy.to_string()),
            ("six".to_string(), "1.17.0".to_string()),
        ];
        want.extend(extra.map(|e| (e.to_string(), "0.1".to_string())));
        want.sort();
        assert_eq!(got, want, "{arch}");
        assert_eq!(lock.requested, Some(vec!["numpy".to_string()]));
        let numpy_pin = lock.pins.iter().find(|p| p.name == "numpy").unwrap();
        let w = &numpy_pin.wheels[0];
        assert_eq!(
            w.location,
            Location::Url(format!("http://127.0.0.1:1/files/{}", w.filename))
        );
        assert!(w.sha256.as_ref().is_some_and(|h| h.len() == 64));
    }
}

/// A version resolved to its sdist is written as PEP 751's `sdist` (no
/// `wheels`), and read back as a pin the build builds.
#[test]
fn an_sdist_only_version_round_trips() {
    let platforms = vec![PlatformLock {
        machine: "x86_64".into(),
        resolved: vec![resolved(
            "docopt",
            "0.6.2",
            file("docopt-0.6.2.tar.gz", 'c', None),
            true,
        )],
    }];
    let header = LockHeader {
        python: (3, 11),
        requested: vec!["docopt".into()],
    };
    let text = render(&header, &platforms).unwrap();
    assert!(!text.contains("wheels"), "{text}");
    let env =
        marker_environment(&Tags::for_target(&PythonTarget::test_cpython311("amd64")).unwrap());
    let lock = pylock::parse(Path::new("/x/pylock.toml"), &text, &env).unwrap();
    let pin = &lock.pins[0];
    assert!(pin.sdist_only && pin.wheels.is_empty(), "{pin:?}");
    let sdist = &pin.sdist.as_ref().unwrap().file;
    assert_eq!(sdist.filename, "docopt-0.6.2.tar.gz");
    assert_eq!(sdist.sha256.as_deref(), Some("c".repeat(64).as_str()));
}

#[test]
fn a_wheel_without_a_hash_is_refused() {
    let (header, mut platforms) = two_platforms();
    platforms[0].resolved[0].wheel.sha256 = None;
    let e = render(&header, &platforms).unwrap_err();
    assert!(e.contains("numpy==2.2.0") && e.contains("no sha256"), "{e}");
}

#[test]
fn written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pylock.toml");
    write_atomic(&path, "old").unwrap();
    write_atomic(&path, "lock-version = \"1.0\"\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "lock-version = \"1.0\"\n"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temp file left");
    let e = write_atomic(&dir.path().join("no/such/dir/pylock.toml"), "x").unwrap_err();
    assert!(e.to_string().contains("no/such/dir/pylock.toml"), "{e}");
}
