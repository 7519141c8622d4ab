use std::path::{Path, PathBuf};

use super::*;
use crate::sources::marker_environment;
use crate::target::PythonTarget;
use crate::wheel::Tags;

fn env(arch: &str) -> MarkerEnvironment {
    marker_environment(&Tags::for_target(&PythonTarget::test_cpython311(arch)).unwrap())
}

fn parse_text(text: &str) -> Result<RequirementsFile, LockError> {
    parse_str(Path::new("r.txt"), text, &[])
}

#[test]
fn a_fully_pinned_file_gives_pins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.txt"),
        "Typing_Extensions==4.16.0\n--extra-index-url http://127.0.0.1:1/extra/\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("constraints.txt"), "idna>=1\n").unwrap();
    let text = "\
# top comment
--index-url=http://127.0.0.1:1/simple/
-r base.txt
-c constraints.txt
--require-hashes
numpy==2.4.6 \\
    --hash=sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \\
    --hash sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb  # two hashes
requests[socks]==2.34.2  # extras are the lock's business
pywin32==311 ; sys_platform == 'win32'
uvloop===0.21 ; platform_machine == 'aarch64'
";
    let path = dir.path().join("req.txt");
    // The second hash is short: named with its line.
    let err = parse_str(&path, text, &[]).unwrap_err().to_string();
    assert!(err.contains("req.txt:6"), "{err}");
    let text = text.replace("sha256:bbbb", "sha256:bbbbbbbbbbbb");
    let r = parse_str(&path, &text, &[]).unwrap();
    let pins = r.pins(&env("arm64")).unwrap().expect("every line is a pin");
    let got: Vec<(String, String, usize)> = pins
        .iter()
        .map(|p| (p.name.clone(), p.version.to_string(), p.hashes.len()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("typing-extensions".into(), "4.16.0".into(), 0),
            ("numpy".into(), "2.4.6".into(), 2),
            ("requests".into(), "2.34.2".into(), 0),
            ("uvloop".into(), "0.21".into(), 0),
        ]
    );
    assert_eq!(pins[1].hashes[0], "a".repeat(64));
    assert!(pins[1].origin.ends_with("req.txt:6"), "{}", pins[1].origin);
    assert_eq!(r.index_url.as_deref(), Some("http://127.0.0.1:1/simple/"));
    assert_eq!(r.extra_index_urls, vec!["http://127.0.0.1:1/extra/"]);
    // The constraint bounds only a resolution.
    assert_eq!(r.constraints.len(), 1);
    // The same file for amd64 drops uvloop.
    let pins = r.pins(&env("amd64")).unwrap().unwrap();
    assert!(pins.iter().all(|p| p.name != "uvloop"));
    let dup = parse_text("flask==2\nflask==3\n").unwrap();
    let err = dup.pins(&env("amd64")).unwrap_err().to_string();
    assert!(
        err.starts_with("r.txt:2:") && err.contains("pin it once"),
        "{err}"
    );
}

#[test]
fn anything_but_full_pins_is_a_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.txt"),
        "numpy<2.3 ; python_version >= '3.9'\n",
    )
    .unwrap();
    let extra_c = dir.path().join("more.txt");
    std::fs::write(&extra_c, "pandas!=2.2.0\n").unwrap();
    let text = "\
--pre
streamlit
Flask[async]>=2.0,<4 ; python_version >= '3.8'
numpy==2.*
scikit-learn~=1.5
joblib==1.4.2
-c c.txt
";
    let r = parse_str(&dir.path().join("requirements.txt"), text, &[extra_c]).unwrap();
    for arch in ["amd64", "arm64"] {
        assert!(r.pins(&env(arch)).unwrap().is_none(), "{arch}");
    }
    let req = r.request(&ResolveOptions {
        pre: false,
        exclude_newer: Some(42),
        build_sdists: false,
    });
    let shown: Vec<(String, String)> = req
        .requirements
        .iter()
        .map(|u| {
            let origin = u.origin.rsplit('/').next().unwrap().to_string();
            (u.requirement.to_string(), origin)
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("streamlit".into(), "requirements.txt:2".into()),
            (
                "flask[async]>=2.0,<4 ; python_full_version >= '3.8'".into(),
                "requirements.txt:3".into()
            ),
            ("numpy==2.*".into(), "requirements.txt:4".into()),
            ("scikit-learn~=1.5".into(), "requirements.txt:5".into()),
            ("joblib==1.4.2".into(), "requirements.txt:6".into()),
        ]
    );
    let constraints: Vec<String> = req
        .constraints
        .iter()
        .map(|c| c.requirement.name.to_string())
        .collect();
    assert_eq!(constraints, ["numpy", "pandas"]);
    assert!(req.constraints[0].origin.ends_with("c.txt:1"));
    // `--pre` in the file, the command line's --exclude-newer kept.
    assert!(req.options.pre);
    assert_eq!(req.options.exclude_newer, Some(42));
    assert_eq!(
        r.top_level_names(),
        ["flask", "joblib", "numpy", "scikit-learn", "streamlit"]
    );
}

#[test]
fn what_needs_a_build_is_refused_with_its_line() {
    for (bad, what) in [
        (
            "flask @ https://example.invalid/flask.whl\n",
            "URL requirement",
        ),
        ("https://example.invalid/flask-2.0.tar.gz\n", "path or URL"),
        ("./vendor/mylib\n", "path or URL"),
        ("/abs/dist/mylib-1.0-py3-none-any.whl\n", "path or URL"),
        ("mylib-1.0.tar.gz\n", "path or URL"),
        ("-e .\n", "editable"),
        ("flask==2 --hash=md5:00\n", "sha256"),
        ("flask==2 --install-option=x\n", "not supported"),
        ("--no-binary=flask\n", "not supported"),
        ("fl ask\n", "not a valid requirement"),
        ("-r missing.txt\n", "cannot read"),
    ] {
        let err = parse_text(&format!("ok==1\n{bad}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(what), "{bad:?}: {err}");
        assert!(err.starts_with("r.txt:2:"), "{bad:?}: {err}");
    }
    let missing = PathBuf::from("/nonexistent/c.txt");
    let err = parse(&[], &[missing]).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/c.txt"), "{err}");
}

#[test]
fn hash_checking_mode_refuses_unhashed_and_unpinned_lines() {
    let e = env("amd64");
    let h = "a".repeat(64);
    // The file's own --require-hashes: the unhashed line is named.
    let r = parse_text(&format!(
        "--require-hashes\nidna==3.20 --hash=sha256:{h}\nsix==1.17.0\n"
    ))
    .unwrap();
    let err = r.check_hashes(false, &e).unwrap_err().to_string();
    assert!(err.starts_with("r.txt:3: \"six==1.17.0\""), "{err}");
    assert!(err.contains("no --hash"), "{err}");
    // Any --hash turns the mode on, as in pip.
    let r = parse_text(&format!("idna==3.20 --hash=sha256:{h}\nsix==1.17.0\n")).unwrap();
    let err = r.check_hashes(false, &e).unwrap_err().to_string();
    assert!(
        err.contains("r.txt:2") && err.contains("hash-checking"),
        "{err}"
    );
    // The command line's flag; a range is refused even with a hash.
    let r = parse_text(&format!("idna>=3 --hash=sha256:{h}\n")).unwrap();
    let err = r.check_hashes(true, &e).unwrap_err().to_string();
    assert!(
        err.contains("r.txt:1") && err.contains("pinned with =="),
        "{err}"
    );
    // A line whose marker excludes the target needs nothing.
    let r = parse_text(&format!(
        "idna==3.20 --hash=sha256:{h}\npywin32==311 ; sys_platform == 'win32'\n"
    ))
    .unwrap();
    r.check_hashes(true, &e).unwrap();
    // Without the mode, unhashed lines are fine (the index's hash is checked).
    parse_text("six==1.17.0\nidna>=3\n")
        .unwrap()
        .check_hashes(false, &e)
        .unwrap();
}
