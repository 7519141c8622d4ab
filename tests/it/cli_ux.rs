//! What a user sees: `--help` of every command, the generated reference
//! docs (which fail here when they drift from the flags), the non-TTY log
//! of a build, its `--json` document and `--image-refs` file, and
//! `pyko inspect` of the image it pushed.

use std::path::Path;

use crate::common::fixtures::{base_layout, wheels_named, Flavour};
use crate::common::registry::Registry;
use crate::common::run::{json, pyko, pyko_cmd};

/// Everything that changes from run to run, masked.
fn masked(text: &str, extra: &[(&str, &str)]) -> String {
    let mut s = text.to_string();
    for (from, to) in extra {
        s = s.replace(from, to);
    }
    for (re, to) in [
        (r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]"),
        (r"sha256:[0-9a-f]{12}\b", "sha256:[SHORT]"),
        (r"blob [0-9a-f]{12}", "blob [SHORT]"),
        (r"layer [0-9a-f]{12}", "layer [SHORT]"),
        (r"\[ *\d+\.\d+s\]", "[T]"),
        (r"\d+\.\ds\b", "[S]s"),
        (r#""(total_)?seconds": [0-9.e-]+"#, "\"${1}seconds\": [S]"),
        (r"\(git [0-9a-f]+(-dirty)?\)", "(git [REV])"),
    ] {
        s = regex::Regex::new(re)
            .unwrap()
            .replace_all(&s, to)
            .into_owned();
    }
    s
}

/// Blobs upload on several threads, so their lines come in the order the
/// uploads finish; each run of them is sorted so the log's other lines keep
/// their order and every upload is still checked.
fn uploads_sorted(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.contains("] uploaded blob ") {
            run.push(line);
            continue;
        }
        run.sort_unstable();
        out.append(&mut run);
        out.push(line);
    }
    run.sort_unstable();
    out.append(&mut run);
    let mut s = out.join("\n");
    if text.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// The base fixture is made from Debian's packages on the day it is built,
/// so its layer sizes move; pyko's own layers must not. The image's total
/// is checked against its layers before it is masked.
fn base_sizes_masked(doc: &serde_json::Value) -> serde_json::Value {
    let mut doc = doc.clone();
    for image in doc["images"].as_array_mut().unwrap() {
        let layers = image["layers"].as_array_mut().unwrap();
        let sum: u64 = layers.iter().map(|l| l["size"].as_u64().unwrap()).sum();
        for l in layers.iter_mut().filter(|l| l["role"] == "base") {
            l["size"] = "[BASE LAYER SIZE]".into();
        }
        let total = image["size"].as_u64().unwrap();
        assert!(total >= sum, "image size {total} < its layers' {sum}");
        image["size"] = format!("[LAYERS + {}]", total - sum).into();
    }
    doc
}

/// [`base_sizes_masked`] for `pyko inspect`'s text: a layer line not
/// followed by pyko's own history line is the base's.
fn base_sizes_masked_text(text: &str) -> String {
    let size = regex::Regex::new(r"^(  sha256:\[SHORT\]\s+)[0-9.]+ [kMG]?B( .*)$").unwrap();
    let total = regex::Regex::new(r"^(layers \(\d+), [0-9.]+ [kMG]?B\)$").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let ours = lines
            .get(i + 1)
            .is_some_and(|n| n.starts_with("      pyko:"));
        let line = match size.captures(line) {
            Some(c) if !ours => format!("{}[BASE]{}", &c[1], &c[2]),
            _ => total.replace(line, "${1}, [TOTAL])").into_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn help_of_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in [
        &[][..],
        &["build"],
        &["lock"],
        &["inspect"],
        &["login"],
        &["logout"],
        &["completions"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = pyko(&args, tmp.path());
        assert!(out.status.success(), "{args:?}");
        let name = format!("help_{}", cmd.first().unwrap_or(&"pyko"));
        insta::assert_snapshot!(name, String::from_utf8(out.stdout).unwrap());
    }
}

/// docs/cli.md and docs/pyko.1 are generated from the clap definitions;
/// `PYKO_UPDATE_DOCS=1 cargo test --test it docs_` rewrites them.
#[test]
fn docs_match_the_flags() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let want = [
        ("cli.md", pyko::cli_docs::markdown().into_bytes()),
        ("pyko.1", pyko::cli_docs::man_page()),
    ];
    for (name, bytes) in want {
        let path = root.join(name);
        if std::env::var_os("PYKO_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let have = std::fs::read(&path).unwrap_or_default();
        assert!(
            have == bytes,
            "{} is out of date with the flags: run PYKO_UPDATE_DOCS=1 cargo test --test it docs_match_the_flags",
            path.display()
        );
    }
}

#[test]
fn version_names_the_crate_version() {
    let tmp = tempfile::tempdir().unwrap();
    let out = pyko(&["--version"], tmp.path());
    let v = String::from_utf8(out.stdout).unwrap();
    assert!(
        v.starts_with(&format!("pyko {}", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
}

#[test]
fn completions_for_bash_name_the_subcommands() {
    let tmp = tempfile::tempdir().unwrap();
    let out = pyko(&["completions", "bash"], tmp.path());
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    for word in ["inspect", "--image-refs", "--oci-layout", "_pyko()"] {
        assert!(s.contains(word), "{word}");
    }
}

/// Two small wheels from the example's wheelhouse: a build of seconds.
fn small_inputs(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let wheels = wheels_named(&dir.join("wheels"), &["idna-", "certifi-"]);
    let app = dir.join("app");
    std::fs::create_dir_all(app.join("pkg")).unwrap();
    std::fs::write(app.join("main.py"), "import idna\nprint('hi')\n").unwrap();
    std::fs::write(app.join("pkg/util.py"), "X = 1\n").unwrap();
    (wheels, app)
}

#[test]
fn build_log_json_image_refs_and_inspect() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let (wheels, app) = small_inputs(tmp.path());
    let base = format!("oci-layout:{}", base_layout(Flavour::Slim).display());
    let dest = format!("{}/demo/app:v1", reg.host);
    let refs = tmp.path().join("refs.txt");
    let cache = tmp.path().join("cache");
    let build = |extra: &[&str]| {
        let mut args = vec![
            "build",
            "--from",
            &base,
            "--wheels",
            wheels.to_str().unwrap(),
            "--app",
            app.to_str().unwrap(),
            "--cmd",
            "python main.py",
            "--port",
            "8000",
            "--push",
            &dest,
        ];
        args.extend_from_slice(extra);
        let out = pyko_cmd(&cache).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let hide: Vec<(&str, &str)> = vec![
        (reg.host.as_str(), "[REGISTRY]"),
        (tmp.path().to_str().unwrap(), "[TMP]"),
        (base.as_str(), "[BASE]"),
    ];

    // Plain stdout: only REF@DIGEST; stderr: lines without control chars.
    let out = build(&["--image-refs", refs.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stdout.starts_with(&format!("{}/demo/app@sha256:", reg.host)),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1);
    assert_eq!(std::fs::read_to_string(&refs).unwrap(), stdout);
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{stderr:?}"
    );
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("built sha256:") && last.contains("layers 2 built"),
        "{last}"
    );
    insta::assert_snapshot!("build_log", uploads_sorted(&masked(&stderr, &hide)));

    // Again with --json: the deps layer comes from the cache and every
    // blob is already in the registry.
    let out = build(&["--json", "-q"]);
    let doc = json(std::str::from_utf8(&out.stdout).unwrap());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(doc["schema"], "pyko.build/v1");
    assert_eq!(doc["pushed"][0].as_str().unwrap(), stdout.trim());
    assert_eq!(doc["stats"]["layers_cached"], 1);
    assert_eq!(doc["stats"]["blobs_uploaded"], 0);
    let layers = doc["images"][0]["layers"].as_array().unwrap();
    let deps = layers.iter().find(|l| l["role"] == "deps").unwrap();
    assert_eq!(deps["holds"]["packages"].as_array().unwrap().len(), 2);
    let app_layer = layers.iter().find(|l| l["role"] == "app").unwrap();
    assert_eq!(
        app_layer["holds"]["top"],
        serde_json::json!(["main.py", "pkg"])
    );
    insta::assert_snapshot!(
        "build_json",
        masked(
            &serde_json::to_string_pretty(&base_sizes_masked(&doc)).unwrap(),
            &hide
        )
    );

    // pyko inspect of what was pushed: text and JSON agree with the build.
    let pushed = dest.clone();
    let out = pyko(
        &["inspect", &pushed, "--insecure-registry", &reg.host],
        &cache,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(
        "inspect_text",
        base_sizes_masked_text(&masked(&String::from_utf8(out.stdout).unwrap(), &hide))
    );
    let out = pyko(&["inspect", &pushed, "--json"], &cache);
    let i = json(std::str::from_utf8(&out.stdout).unwrap());
    assert_eq!(i["manifest_digest"], doc["digest"]);
    assert_eq!(
        i["config"]["cmd"],
        serde_json::json!(["/bin/sh", "-c", "python main.py"])
    );
    assert_eq!(
        i["config"]["exposed_ports"],
        serde_json::json!(["8000/tcp"])
    );
    let held: Vec<_> = i["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["holds"].clone())
        .collect();
    let built: Vec<_> = layers.iter().map(|l| l["holds"].clone()).collect();
    assert_eq!(held, built);
}

/// `--tarball - | head -c1`: the reader leaving is no error worth a word,
/// but the image was not written whole, so the exit code (5, output) says so.
#[test]
fn broken_pipe_exits_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let (wheels, app) = small_inputs(tmp.path());
    let base = format!("oci-layout:{}", base_layout(Flavour::Slim).display());
    let cmd = format!(
        "{} build --from {base} --wheels {} --app {} --tarball - -q | head -c1 >/dev/null",
        env!("CARGO_BIN_EXE_pyko"),
        wheels.display(),
        app.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-o", "pipefail", "-c", &cmd])
        .env("PYKO_CACHE_DIR", tmp.path().join("cache"))
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(5), "{:?}", out.status);
}
