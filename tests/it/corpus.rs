//! The hostile corpus: inputs built as an attacker would (wheels from
//! tests/fixtures/hostile.sh under testdata/hostile/, app directories with
//! FIFOs, sockets and escaping links made here, bad references, ports,
//! epochs, manifests and lock names). Each must fail with its own message,
//! exit non-zero, write no output, and write nothing outside the temp and
//! cache directories it was given.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::faults::{Fault, FaultProxy, Rule};
use crate::common::fixtures::{self, Flavour};
use crate::common::run::pyko_cmd;

struct Case {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    /// What the error must say (all of them).
    needles: &'static [&'static str],
}

/// What no case's error may say: the input got past the check meant for it.
const FORBIDDEN: &[&str] = &["index lists no file", "Connection refused"];

fn hostile() -> PathBuf {
    fixtures::repo_root().join("testdata/hostile")
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Every file under `dir`, relative.
fn files(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

/// Runs one case in a fresh root: HOME, TMPDIR, the cache, the working
/// directory and the output directory are all inside it.
fn run(case: &Case, base: &str, app: &Path, good_wheels: &Path) -> (Output, Result<(), String>) {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for d in ["home", "tmp", "cwd", "out"] {
        std::fs::create_dir(r.join(d)).unwrap();
    }
    let tarball = r.join("out/app.tar");
    let mut cmd = pyko_cmd(&r.join("cache"));
    cmd.current_dir(r.join("cwd"))
        .env("HOME", r.join("home"))
        .env("TMPDIR", r.join("tmp"))
        .env_remove("DOCKER_CONFIG")
        .arg("build");
    let has = |flag: &str| case.args.iter().any(|a| a == flag);
    if !has("--from") {
        cmd.args(["--from", base]);
    }
    if !has("--app") && !has("-f") {
        cmd.arg("--app").arg(app);
    }
    if !has("--wheels") && !has("--lock") && !has("-r") {
        cmd.arg("--wheels").arg(good_wheels);
    }
    cmd.args(&case.args).arg("--tarball").arg(&tarball);
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let verdict = (|| {
        if out.status.success() {
            return Err("succeeded".to_string());
        }
        let code = out.status.code().unwrap_or(-1);
        if code == 101 || err.contains("panicked") {
            return Err(format!("panicked (exit {code})"));
        }
        if let Some(n) = case.needles.iter().find(|n| !err.contains(*n)) {
            return Err(format!("message lacks {n:?}"));
        }
        if let Some(n) = FORBIDDEN.iter().find(|n| err.contains(*n)) {
            return Err(format!("got past the check: {n:?}"));
        }
        for d in ["out", "home", "cwd"] {
            let left = files(&r.join(d));
            if !left.is_empty() {
                return Err(format!("wrote {d}/: {left:?}"));
            }
        }
        for evil in ["dotdot", "absolute", "lock"] {
            let p = PathBuf::from(format!("/tmp/pyko-evil-{evil}"));
            if p.exists() {
                let _ = std::fs::remove_file(&p);
                return Err(format!("wrote {}", p.display()));
            }
        }
        let outside: Vec<String> = files(r)
            .into_iter()
            .filter(|f| !f.starts_with("tmp/") && !f.starts_with("cache/"))
            .collect();
        if !outside.is_empty() {
            return Err(format!("wrote outside temp and cache: {outside:?}"));
        }
        Ok(())
    })();
    (out, verdict)
}

fn wheel_case(name: &'static str, needles: &'static [&'static str]) -> Case {
    Case {
        name,
        args: vec![
            "--wheels".into(),
            hostile().join("wheels").join(name).display().to_string(),
        ],
        env: vec![],
        needles,
    }
}

#[test]
fn hostile_corpus() {
    let base = format!(
        "oci-layout:{}:latest",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let apps = tempfile::tempdir().unwrap();
    let good_app = apps.path().join("good");
    std::fs::create_dir(&good_app).unwrap();
    std::fs::write(good_app.join("app.py"), "print('hi')\n").unwrap();
    // A real wheel for the cases that are not about wheels.
    let good_wheels = fixtures::wheels_named(&apps.path().join("wheels"), &["idna-"]);
    let app_with = |name: &str, make: &dyn Fn(&Path)| {
        let d = apps.path().join(name);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("app.py"), "print('hi')\n").unwrap();
        make(&d);
        d.display().to_string()
    };
    let fifo = app_with("fifo", &|d| {
        let st = std::process::Command::new("mkfifo")
            .arg(d.join("pipe"))
            .status()
            .unwrap();
        assert!(st.success());
    });
    let socket = app_with("socket", &|d| {
        std::mem::forget(std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap());
    });
    let escaping = app_with("escaping", &|d| {
        std::os::unix::fs::symlink("/etc/shadow", d.join("creds")).unwrap();
    });
    let escaping_dir = app_with("escaping-dir", &|d| {
        std::os::unix::fs::symlink("/etc", d.join("sub")).unwrap();
    });

    let reg = crate::common::registry::Registry::start();
    fixtures::push_base(&reg, Flavour::Slim, "library/python:base");
    // Registries that lie about every manifest: 5 MiB of JSON padding,
    // and a captive portal's HTML page.
    let mut padded = br#"{"schemaVersion":2,"pad":""#.to_vec();
    padded.resize(5 << 20, b'x');
    padded.extend_from_slice(br#""}"#);
    let oversized = FaultProxy::start(
        &reg.host,
        vec![Rule::always(
            "GET",
            "/manifests/",
            Fault::Body(media_type_json(), padded),
        )],
    );
    let html = FaultProxy::start(
        &reg.host,
        vec![Rule::always(
            "GET",
            "/manifests/",
            Fault::Body("text/html".into(), b"<html>please log in</html>".to_vec()),
        )],
    );

    let mut cases = vec![
        wheel_case("dotdot", &["evil", ".."]),
        wheel_case("absolute", &["evil", "/tmp/pyko-evil-absolute"]),
        wheel_case("symlink", &["evil", "evil/passwd"]),
        wheel_case("record-mismatch", &["evil", "evil/__init__.py", "RECORD"]),
        wheel_case("missing-record", &["evil", "RECORD"]),
        wheel_case("wheel-version-2", &["evil", "2.0"]),
        wheel_case("zip-bomb", &["evil", "METADATA"]),
        wheel_case("duplicate-members", &["evil", "twice"]),
        wheel_case("name-mismatch", &["evil", "notevil"]),
        wheel_case("whiteout-data", &["evil", ".wh.python3"]),
        wheel_case("whiteout-opaque", &["evil", ".wh..wh..opq"]),
        wheel_case("whiteout-script", &["evil", ".wh..wh..opq"]),
        Case {
            name: "app fifo",
            args: vec!["--app".into(), fifo],
            env: vec![],
            needles: &["pipe", "FIFO"],
        },
        Case {
            name: "app socket",
            args: vec!["--app".into(), socket],
            env: vec![],
            needles: &["sock", "socket"],
        },
        Case {
            name: "app escaping symlink",
            args: vec![
                "-f".into(),
                write_dockerfile(&escaping, "COPY creds /app/\n"),
                escaping.clone(),
            ],
            env: vec![],
            needles: &["creds", "outside"],
        },
        Case {
            name: "app escaping parent dir",
            args: vec![
                "-f".into(),
                write_dockerfile(&escaping_dir, "COPY sub/passwd /app/\n"),
                escaping_dir.clone(),
            ],
            env: vec![],
            needles: &["sub", "outside"],
        },
        Case {
            name: "bad --from reference",
            args: s(&["--from", "Registry.Example/UPPER/Case:tag"]),
            env: vec![],
            needles: &["--from", "Registry.Example/UPPER/Case:tag"],
        },
        Case {
            name: "bad --push reference",
            args: s(&["--push", "host:5000/a:b:c"]),
            env: vec![],
            needles: &["--push", "host:5000/a:b:c"],
        },
        Case {
            name: "port out of range",
            args: s(&["--port", "99999"]),
            env: vec![],
            needles: &["--port", "99999"],
        },
        Case {
            name: "port bad protocol",
            args: s(&["--port", "80/sctpx"]),
            env: vec![],
            needles: &["--port", "80/sctpx"],
        },
        Case {
            name: "SOURCE_DATE_EPOCH not a number",
            args: vec![],
            env: vec![("SOURCE_DATE_EPOCH", "yesterday".into())],
            needles: &["SOURCE_DATE_EPOCH", "yesterday"],
        },
        Case {
            name: "SOURCE_DATE_EPOCH negative",
            args: vec![],
            env: vec![("SOURCE_DATE_EPOCH", "-5".into())],
            needles: &["SOURCE_DATE_EPOCH", "-5"],
        },
        Case {
            name: "oversized manifest",
            args: vec![
                "--from".into(),
                format!("{}/library/python:base", oversized.host),
            ],
            env: vec![],
            needles: &["manifest", "library/python"],
        },
        Case {
            name: "wrong-media-type manifest",
            args: vec![
                "--from".into(),
                format!("{}/library/python:base", html.host),
            ],
            env: vec![],
            needles: &["text/html", "library/python"],
        },
        Case {
            name: "hostile lock name",
            args: vec![
                "--lock".into(),
                hostile().join("locks/pylock.toml").display().to_string(),
            ],
            env: vec![],
            needles: &["pylock.toml", "../../../tmp/pyko-evil-lock"],
        },
        Case {
            name: "requirement name ending in a dot",
            args: vec![
                "-r".into(),
                hostile()
                    .join("locks/requirements-bad-name.txt")
                    .display()
                    .to_string(),
            ],
            env: vec![],
            needles: &["requirements-bad-name.txt", "u0."],
        },
        Case {
            name: "--require-hashes without hashes",
            args: vec![
                "-r".into(),
                hostile()
                    .join("locks/requirements-unhashed.txt")
                    .display()
                    .to_string(),
                "--index-url".into(),
                "http://127.0.0.1:9/simple/".into(),
            ],
            env: vec![],
            needles: &["requirements-unhashed.txt", "idna", "hash"],
        },
    ];
    let only = std::env::var("PYKO_CORPUS").ok();
    cases.retain(|c| only.as_ref().is_none_or(|o| c.name.contains(o.as_str())));
    let mut messages = std::collections::BTreeMap::new();
    let mut failed = 0;
    for case in &cases {
        let (out, verdict) = run(case, &base, &good_app, &good_wheels);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let last = err
            .lines()
            .rev()
            .find(|l| l.starts_with("error"))
            .unwrap_or("")
            .to_string();
        match verdict {
            Ok(()) => eprintln!("ok    {}: {last}", case.name),
            Err(why) => {
                failed += 1;
                eprintln!("FAIL  {}: {why}\n      {last}", case.name);
            }
        }
        messages
            .entry(last)
            .or_insert_with(Vec::new)
            .push(case.name);
    }
    // Each case its own message: no catch-all error.
    for (msg, names) in &messages {
        if names.len() > 1 && !msg.is_empty() {
            eprintln!("SHARED message for {names:?}: {msg}");
        }
    }
    eprintln!(
        "hostile corpus: {} passed, {failed} failed",
        cases.len() - failed
    );
    assert_eq!(failed, 0, "hostile corpus has red cases (see above)");
}

fn media_type_json() -> String {
    "application/vnd.oci.image.manifest.v1+json".into()
}

fn write_dockerfile(context: &str, body: &str) -> String {
    let df = Path::new(context).parent().unwrap().join(format!(
        "{}.Dockerfile",
        Path::new(context).file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&df, format!("FROM scratch\n{body}")).unwrap();
    df.display().to_string()
}
