use super::scan::*;
use super::*;
use std::path::Path;

/// A gzip layer holding `files` (path, symlink target or None for a file).
fn layer(dir: &Path, name: &str, files: &[(&str, Option<&str>)]) -> PathBuf {
    let path = dir.join(name);
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    for (p, link) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o755);
        match link {
            Some(t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
            None => {
                let body = b"\x7fELF GNU C Library release version 2.41.\n";
                h.set_size(body.len() as u64);
                b.append_data(&mut h, p, &body[..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap().finish().unwrap();
    path
}

fn config() -> serde_json::Value {
    serde_json::json!({"os": "linux", "architecture": "amd64", "config": {}})
}

#[test]
fn debian_with_only_a_versioned_interpreter_uses_it() {
    let d = tempfile::tempdir().unwrap();
    let l = layer(
        d.path(),
        "a",
        &[
            ("usr/lib/x86_64-linux-gnu/libc.so.6", None),
            ("usr/bin/python3.13", None),
            ("usr/lib/python3/dist-packages/", None),
        ],
    );
    let t = detect(&config(), std::slice::from_ref(&l), &Overrides::default()).unwrap();
    assert_eq!(t.interpreter, "/usr/bin/python3.13");
    assert_eq!((t.major, t.minor), (3, 13));
    assert_eq!(t.scheme.purelib, "/usr/local/lib/python3.13/dist-packages");

    // With Debian's `python3` package the link is there: pip's shebang.
    let l2 = layer(d.path(), "b", &[("usr/bin/python3", Some("python3.13"))]);
    let t = detect(&config(), &[l.clone(), l2], &Overrides::default()).unwrap();
    assert_eq!(t.interpreter, "/usr/bin/python3");

    // A python3 link to another version is not this interpreter.
    let l3 = layer(
        d.path(),
        "c",
        &[
            ("usr/bin/python3.11", None),
            ("usr/bin/python3", Some("python3.11")),
        ],
    );
    let over = Overrides {
        python: Some((3, 13)),
        ..Overrides::default()
    };
    let t = detect(&config(), &[l.clone(), l3], &over).unwrap();
    assert_eq!(t.interpreter, "/usr/bin/python3.13");

    // A later layer deleting the link takes it away again.
    let l4 = layer(d.path(), "d", &[("usr/bin/python3", Some("python3.13"))]);
    let l5 = layer(d.path(), "e", &[("usr/bin/.wh.python3", None)]);
    let t = detect(&config(), &[l, l4, l5], &Overrides::default()).unwrap();
    assert_eq!(t.interpreter, "/usr/bin/python3.13");
}

#[test]
fn no_interpreter_for_the_wanted_python_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let l = layer(
        d.path(),
        "a",
        &[
            ("usr/lib/x86_64-linux-gnu/libc.so.6", None),
            ("usr/bin/python3.13", None),
        ],
    );
    let over = Overrides {
        python: Some((3, 12)),
        ..Overrides::default()
    };
    let e = detect(&config(), &[l], &over).unwrap_err().to_string();
    assert!(e.contains("no interpreter for Python 3.12"), "{e}");
    assert!(e.contains("/usr/bin/python3.13"), "{e}");

    // PYTHON_VERSION in Env but no interpreter at all.
    let l = layer(d.path(), "b", &[("lib/x86_64-linux-gnu/libc.so.6", None)]);
    let mut c = config();
    c["config"]["Env"] = serde_json::json!(["PYTHON_VERSION=3.12.1"]);
    let e = detect(&c, std::slice::from_ref(&l), &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("Python 3.12 (found: none"), "{e}");
    let e = detect(&config(), &[l], &Overrides::default()).unwrap_err();
    assert!(matches!(e, TargetError::NoPython), "{e}");
}

#[test]
fn versions() {
    assert_eq!(parse_version("3.11.2"), Some((3, 11)));
    assert_eq!(parse_version("3.13.0rc1"), Some((3, 13)));
    assert_eq!(strict_version("3.11"), Some((3, 11)));
    assert_eq!(strict_version("3.11-config"), None);
    assert_eq!(
        libc_from_name("libc-2.31.so"),
        Some(Libc::Glibc {
            major: 2,
            minor: 31
        })
    );
    assert_eq!(
        glibc_from_binary(b"xx GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\n"),
        Some(Libc::Glibc {
            major: 2,
            minor: 36
        })
    );
    assert_eq!(
        glibc_from_binary(b"\0GLIBC_2.2.5\0GLIBC_2.17\0GLIBC_2.34\0"),
        Some(Libc::Glibc {
            major: 2,
            minor: 34
        })
    );
    assert_eq!(
        musl_from_apk_db("P:busybox\nV:1.36\n\nP:musl\nV:1.2.4-r2\n"),
        Some(Libc::Musl { major: 1, minor: 2 })
    );
}
