use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::inputs::cli::BuildArgs;

/// Runs the config step as main does, then clap, and returns the build
/// flags. Most cases leave out --from or --wheels, which clap requires; only
/// that error is let through (the flags are then read leniently).
fn build_args(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Result<BuildArgs, ConfigError> {
    use clap::FromArgMatches;
    let (argv, _) = configured(args, env, cwd)?;
    let m = match Cli::command().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => Cli::command()
            .ignore_errors(true)
            .try_get_matches_from(&argv)
            .unwrap(),
        Err(e) => panic!("clap refuses {argv:?}: {e}"),
    };
    let m = m.subcommand_matches("build").expect("a build");
    Ok(BuildArgs::from_arg_matches(m).unwrap())
}

fn configured(
    args: &[&str],
    env: &[(&str, &str)],
    cwd: &Path,
) -> Result<(Vec<OsString>, Option<PathBuf>), ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = |k: &str| env.get(k).cloned();
    let mut argv = vec!["pyko", "build"];
    argv.extend_from_slice(args);
    let c = with_config(argv.into_iter().map(OsString::from).collect(), &lookup, cwd)?;
    Ok((c.argv, c.file))
}

fn dir_with(name: &str, text: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(name), text).unwrap();
    d
}

const OUT: &[&str] = &["--tarball", "-"];

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let d = dir_with("pyko.toml", "from = \"file:1\"\nuser = \"fileuser\"\n");
    let cwd = d.path();
    let b = build_args(&[], &[], cwd).unwrap();
    assert_eq!(b.from.as_deref(), Some("file:1"));
    assert_eq!(b.user.as_deref(), Some("fileuser"));
    assert_eq!(b.workdir, None, "no level set it: the default stays");
    let env = [("PYKO_FROM", "env:1")];
    let b = build_args(&[], &env, cwd).unwrap();
    assert_eq!(b.from.as_deref(), Some("env:1"));
    assert_eq!(
        b.user.as_deref(),
        Some("fileuser"),
        "the file still gives what env does not"
    );
    let b = build_args(&["--from", "flag:1"], &env, cwd).unwrap();
    assert_eq!(b.from.as_deref(), Some("flag:1"));
    // An empty variable is no value, as most tools read them.
    let b = build_args(&[], &[("PYKO_FROM", "")], cwd).unwrap();
    assert_eq!(b.from.as_deref(), Some("file:1"));
}

#[test]
fn repeatable_flags_replace_the_lower_levels_list() {
    let d = dir_with("pyko.toml", "port = [\"8501\", 9000]\nenv = [\"A=1\"]\n");
    let cwd = d.path();
    let b = build_args(OUT, &[], cwd).unwrap();
    assert_eq!(b.ports, ["8501", "9000"]);
    let b = build_args(OUT, &[("PYKO_PORT", "1 2/udp")], cwd).unwrap();
    assert_eq!(b.ports, ["1", "2/udp"]);
    assert_eq!(b.env, ["A=1"]);
    let b = build_args(
        &["--port", "3", "--tarball", "-"],
        &[("PYKO_PORT", "1 2")],
        cwd,
    )
    .unwrap();
    assert_eq!(
        b.ports,
        ["3"],
        "the flag's list replaces env's and the file's"
    );
    // One value for a repeatable flag may be written without brackets.
    let d = dir_with("pyko.toml", "port = 8501\n");
    assert_eq!(build_args(OUT, &[], d.path()).unwrap().ports, ["8501"]);
}

#[test]
fn switches_take_booleans_and_false_overrides() {
    let d = dir_with("pyko.toml", "no-cache = true\npre = false\n");
    let cwd = d.path();
    let b = build_args(OUT, &[], cwd).unwrap();
    assert!(b.no_cache);
    assert!(!b.resolve.pre);
    let b = build_args(OUT, &[("PYKO_NO_CACHE", "false"), ("PYKO_PRE", "1")], cwd).unwrap();
    assert!(!b.no_cache, "env's false wins over the file's true");
    assert!(b.resolve.pre);
    let e = build_args(OUT, &[("PYKO_NO_CACHE", "yes")], cwd).unwrap_err();
    assert_eq!(
        e.to_string(),
        "PYKO_NO_CACHE=\"yes\": write true or false (or 1 or 0)"
    );
}

#[test]
fn paths_in_the_file_are_relative_to_its_directory() {
    let d = dir_with(
        "pyko.toml",
        "wheels = \"wheelhouse\"\ntarball = \"out/app.tar\"\nca-cert = [\"/etc/ca.pem\", \"ca.pem\"]\n\
         file = \"Dockerfile\"\ncontext = \".\"\n",
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let app = d.path().to_str().unwrap();
    let b = build_args(&["--app", app], &[], elsewhere.path()).unwrap();
    assert_eq!(b.wheels, Some(d.path().join("wheelhouse")));
    assert_eq!(b.tarball, Some(d.path().join("out/app.tar")));
    assert_eq!(
        b.ca_certs,
        [PathBuf::from("/etc/ca.pem"), d.path().join("ca.pem")]
    );
    assert_eq!(b.file, Some(d.path().join("Dockerfile")));
    assert_eq!(b.context.as_deref(), Some(d.path()));
    // Strings that are not paths stay as written; `-` (stdout) stays too.
    std::fs::write(
        d.path().join("pyko.toml"),
        "from = \"base\"\ntarball = \"-\"\n",
    )
    .unwrap();
    let b = build_args(&["--app", app], &[], elsewhere.path()).unwrap();
    assert_eq!(b.from.as_deref(), Some("base"));
    assert_eq!(b.tarball, Some(PathBuf::from("-")));
    // A variable's relative path is the shell's: left for the current directory.
    let b = build_args(&["--app", app], &[("PYKO_WHEELS", "w")], elsewhere.path()).unwrap();
    assert_eq!(b.wheels, Some(PathBuf::from("w")));
}

#[test]
fn the_file_is_found_in_app_then_context_then_cwd() {
    let app = dir_with("pyko.toml", "user = \"app\"\n");
    let ctx = dir_with("pyko.toml", "user = \"context\"\n");
    let cwd = dir_with("pyko.toml", "user = \"cwd\"\n");
    let (a, c) = (app.path().to_str().unwrap(), ctx.path().to_str().unwrap());
    let user = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = args.to_vec();
        all.extend_from_slice(OUT);
        build_args(&all, env, cwd.path()).unwrap().user.unwrap()
    };
    assert_eq!(user(&[], &[]), "cwd");
    assert_eq!(user(&["-f", "Dockerfile", c], &[]), "context");
    assert_eq!(user(&["--app", a, "-f", "Dockerfile", c], &[]), "app");
    assert_eq!(user(&[], &[("PYKO_APP", a)]), "app");
    let (_, file) = configured(&["--app", a], &[], cwd.path()).unwrap();
    assert_eq!(file, Some(app.path().join("pyko.toml")));
}

#[test]
fn pyproject_tool_pyko_and_pyko_toml_wins() {
    let d = dir_with(
        "pyproject.toml",
        "[project]\nname = \"app\"\n\n[tool.ruff]\nline-length = 100\n\n[tool.pyko]\nuser = \"py\"\nport = [\"1\"]\n",
    );
    let b = build_args(OUT, &[], d.path()).unwrap();
    assert_eq!(
        (b.user.as_deref(), b.ports),
        (Some("py"), vec!["1".to_string()])
    );
    // A pyproject.toml without [tool.pyko] is no config.
    let plain = dir_with("pyproject.toml", "[project]\nname = \"app\"\n");
    let (_, file) = configured(OUT, &[], plain.path()).unwrap();
    assert_eq!(file, None);
    std::fs::write(d.path().join("pyko.toml"), "user = \"own\"\n").unwrap();
    let b = build_args(OUT, &[], d.path()).unwrap();
    assert_eq!((b.user.as_deref(), b.ports.len()), (Some("own"), 0));
}

#[test]
fn outputs_come_as_a_whole_from_one_level() {
    let d = dir_with(
        "pyko.toml",
        "tarball = \"app.tar\"\noci-layout = \"layout\"\n",
    );
    let b = build_args(&["--push", "r/a:1"], &[], d.path()).unwrap();
    assert_eq!((b.tarball, b.oci_layout), (None, None));
    let b = build_args(&[], &[("PYKO_PUSH", "r/a:1 r/a:2")], d.path()).unwrap();
    assert_eq!(b.push, ["r/a:1", "r/a:2"]);
    assert_eq!((b.tarball, b.oci_layout), (None, None));
    let b = build_args(&[], &[], d.path()).unwrap();
    assert!(b.tarball.is_some() && b.oci_layout.is_some());
}

#[test]
fn a_conflicting_lower_level_value_gives_way() {
    let d = dir_with("pyko.toml", "lock = \"pylock.toml\"\ncache-dir = \"c\"\n");
    let b = build_args(
        &[
            "-r",
            "req.txt",
            "--no-cache",
            "--tarball",
            "-",
            "--from",
            "b",
        ],
        &[],
        d.path(),
    )
    .unwrap();
    assert_eq!((b.lock, b.cache_dir), (None, None));
    assert!(b.no_cache);
}

#[test]
fn no_config_skips_the_file_but_not_the_environment() {
    let d = dir_with("pyko.toml", "user = \"file\"\nfrom = \"file\"\n");
    let b = build_args(
        &["--no-config", "--tarball", "-"],
        &[("PYKO_FROM", "env")],
        d.path(),
    )
    .unwrap();
    assert_eq!((b.user, b.from.as_deref()), (None, Some("env")));
    let b = build_args(OUT, &[("PYKO_NO_CONFIG", "true")], d.path()).unwrap();
    assert_eq!(b.user, None);
    let d = dir_with("pyko.toml", "no-config = true\n");
    let e = build_args(OUT, &[], d.path()).unwrap_err();
    assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e}");
}

#[test]
fn other_commands_and_help_are_left_alone() {
    let d = dir_with("pyko.toml", "bogus = 1\n");
    for args in [
        &["pyko", "inspect", "x"][..],
        &["pyko", "build", "--help"],
        &["pyko", "lock", "--help"],
    ] {
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let c = with_config(argv.clone(), &|_| None, d.path()).unwrap();
        assert_eq!(c.argv, argv);
    }
}

#[test]
fn the_positional_context_goes_after_a_double_dash() {
    let d = dir_with("pyko.toml", "file = \"Dockerfile\"\ncontext = \"-odd\"\n");
    let b = build_args(&["-v", "--tarball", "-"], &[], d.path()).unwrap();
    assert_eq!(b.context, Some(d.path().join("-odd")));
}

/// What a user sees for a typo, snapshotted.
#[test]
fn unknown_key_names_file_line_and_closest_key() {
    let d = dir_with(
        "pyko.toml",
        "# the app\nfrom = \"python:3.12-slim\"\n\nprot = [\"8501\"]\n",
    );
    let e = build_args(&[], &[], d.path()).unwrap_err();
    let text = e.to_string().replace(d.path().to_str().unwrap(), "[DIR]");
    insta::assert_snapshot!(text, @"[DIR]/pyko.toml:4: unknown key `prot`; the closest valid key is `port` (keys are `pyko build`'s long flag names, see docs/config.md)");
    let snake = dir_with("pyproject.toml", "[tool.pyko]\n\ncache_repo = \"r/c\"\n");
    let e = build_args(&[], &[], snake.path()).unwrap_err();
    assert!(
        e.to_string().ends_with("pyproject.toml:3: unknown key `cache_repo`; the closest valid key is `cache-repo` (keys are `pyko build`'s long flag names, see docs/config.md)"),
        "{e}"
    );
}

#[test]
fn wrongly_typed_values_name_the_line_and_the_type() {
    for (text, want) in [
        (
            "\nfrom = [\"a\", \"b\"]\n",
            ":2: `from` takes one string, not an array ([\"a\", \"b\"])",
        ),
        (
            "no-cache = \"yes\"\n",
            ":1: `no-cache` takes true or false, not string \"yes\"",
        ),
        (
            "port = [{ a = 1 }]\n",
            ":1: `port` takes a list of strings (the flag is repeatable), not an array",
        ),
        (
            "python = 3.10\n",
            ":1: `python` takes one string, not float 3.1",
        ),
        (
            "[env]\nA = \"1\"\n",
            ":1: `env` takes a list of strings (the flag is repeatable), not a table",
        ),
    ] {
        let d = dir_with("pyko.toml", text);
        let e = build_args(&[], &[], d.path()).unwrap_err().to_string();
        assert!(e.contains(want), "{text:?}: {e}");
        assert!(
            e.starts_with(d.path().join("pyko.toml").to_str().unwrap()),
            "{e}"
        );
    }
    let d = dir_with("pyko.toml", "from = \n");
    let e = build_args(&[], &[], d.path()).unwrap_err().to_string();
    assert!(e.contains("pyko.toml: TOML parse error at line 1"), "{e}");
}

/// A key is a flag's long name: every flag of `pyko build` is one, with
/// no list kept by hand.
#[test]
fn every_build_flag_is_a_key() {
    let mut root = Cli::command();
    root.build();
    let build = root.find_subcommand("build").unwrap();
    let names: Vec<String> = keys(build).into_iter().map(|k| k.name).collect();
    for arg in build.get_arguments().filter(|a| !a.is_global_set()) {
        if let Some(long) = arg.get_long().filter(|l| !["help"].contains(l)) {
            assert!(names.iter().any(|n| n == long), "--{long} is no key");
        }
    }
    assert!(names.iter().any(|n| n == "context"));
}

/// A bad value from the file or a variable is said with where it was set.
#[test]
fn errors_name_where_a_value_came_from() {
    let d = dir_with("pyko.toml", "\nport = [\"http\"]\n");
    let env = |k: &str| (k == "PYKO_USER").then(|| "u".to_string());
    let argv = ["pyko", "build", "--tarball", "-"]
        .map(OsString::from)
        .to_vec();
    let c = with_config(argv, &env, d.path()).unwrap();
    let file = d.path().join("pyko.toml");
    assert_eq!(
        c.origins,
        [
            ("--user".to_string(), "PYKO_USER".to_string()),
            ("--port".to_string(), format!("{}:2", file.display())),
        ]
    );
    let e = FlagError {
        flag: "--port",
        message: "\"http\": not a port".into(),
    };
    assert_eq!(
        c.blame(e).to_string(),
        format!("--port \"http\": not a port (set by {}:2)", file.display())
    );
    let e = FlagError {
        flag: "--tarball -",
        message: "x".into(),
    };
    assert_eq!(
        c.blame(e).to_string(),
        "--tarball - x",
        "from the command line"
    );
    assert_eq!(
        c.note().unwrap(),
        format!(
            "note: besides the command line: --user from PYKO_USER, --port from {}:2",
            file.display()
        )
    );
}
