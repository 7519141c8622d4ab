//! Issue 13, "pure-Python sdists are built into wheels on the build
//! machine": real sdists from the default index (setuptools' legacy
//! backend, flit_core, hatchling; `tests/fixtures/sdists.sh`) served by a
//! local index beside the wheels of their build requirements. Each builds
//! (PEP 517 through pyko's own venv, or `uv build`), is cached by its
//! sha256 (built again when the cached wheel does not fit), imports in the
//! image; a C extension built here is refused for an
//! arm64 target; `--no-build` refuses; a uv.lock listing only an sdist
//! builds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::fixtures::manifest_digest as layout_digest;
use crate::common::fixtures::{self, unpack_oci, Flavour, BASE_TAG};
use crate::common::index::IndexServer;
use crate::common::run::pyko_cmd;

const SDISTS: [(&str, &str); 3] = [
    ("docopt", "0.6.2"),
    ("idna", "3.10"),
    ("annotated-types", "0.7.0"),
];

fn debian() -> String {
    format!(
        "oci-layout:{}:{BASE_TAG}",
        fixtures::base_layout(Flavour::Debian).display()
    )
}

/// The host interpreter the PEP 517 path uses (not uv's fast path).
fn python3() -> PathBuf {
    fixtures::require_tool("python3")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A refusal: exit 3 (bad input), stderr naming each of `needles`, no
/// layout at `out`; returns stderr.
fn refused(o: &Output, out: &Path, needles: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n}: {err}");
    }
    assert!(!out.exists(), "nothing written on failure");
    err
}

/// `pyko build` from `from` with `args`, into a layout at `out`.
fn build(cache: &Path, from: &str, out: &Path, args: &[&str], path: Option<&str>) -> Output {
    let mut cmd = pyko_cmd(cache);
    cmd.args(["build", "--from", from, "--oci-layout"])
        .arg(out)
        .args(["--tag", "app:1"])
        .args(args);
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd.output().expect("run pyko")
}

/// `pyko build --requirements` of `reqs` against `index` through the PEP
/// 517 path, in `dir` (cache `dir/cache`, layout `dir/out`); `extra` adds
/// flags.
fn build_reqs(dir: &Path, from: &str, index: &IndexServer, reqs: &str, extra: &[&str]) -> Output {
    let file = dir.join("requirements.txt");
    std::fs::write(&file, reqs).unwrap();
    let py = python3();
    let mut args = vec![
        "--requirements",
        file.to_str().unwrap(),
        "--index-url",
        &index.url,
        "--build-python",
        py.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let path = path_without_uv();
    build(
        &dir.join("cache"),
        from,
        &dir.join("out"),
        &args,
        Some(&path),
    )
}

/// PATH without any uv, so the PEP 517 path runs even where uv is installed.
fn path_without_uv() -> String {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|d| !d.join("uv").exists())
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn real_sdists_build_cache_import_and_reproduce() {
    let index = IndexServer::start(&fixtures::sdists(), true);
    let dir = tempfile::tempdir().unwrap();
    let reqs = dir.path().join("requirements.txt");
    let text: String = SDISTS.iter().map(|(n, v)| format!("{n}=={v}\n")).collect();
    std::fs::write(&reqs, text).unwrap();
    let py = python3();
    let args = [
        "--requirements",
        reqs.to_str().unwrap(),
        "--index-url",
        &index.url,
        "--build-python",
        py.to_str().unwrap(),
    ];
    let path = path_without_uv();
    let cache = dir.path().join("cache");
    let out1 = dir.path().join("out1");
    let o = build(&cache, &debian(), &out1, &args, Some(&path));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    for (name, version) in SDISTS {
        let sdist = format!("{}-{version}.tar.gz", name.replace('-', "_"));
        assert!(
            err.contains(&format!(
                "building {name}=={version} from {sdist} on the build machine"
            )),
            "{name}: {err}"
        );
    }
    // The build requirements came from the local index, as wheels.
    let got: Vec<String> = index.requests().iter().map(|l| l.path.clone()).collect();
    for wheel in ["setuptools-75.8.0", "flit_core-3.10.1", "hatchling-1.27.0"] {
        assert!(got.iter().any(|p| p.contains(wheel)), "{wheel}: {got:?}");
    }

    let root = unpack_oci(&out1, "app:1");
    let printed = root.chroot_ok(&[
        "python3",
        "-c",
        "import docopt, idna, annotated_types, importlib.metadata as m\n\
         print(docopt.__file__)\n\
         print(idna.encode('bücher.de').decode())\n\
         print(annotated_types.Gt(3))\n\
         print(*[m.version(n) for n in ('docopt', 'idna', 'annotated-types')])",
    ]);
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [
            "/usr/local/lib/python3.11/dist-packages/docopt.py",
            "xn--bcher-kva.de",
            "Gt(gt=3)",
            "0.6.2 3.10 0.7.0",
        ],
        "{printed}"
    );

    // Second build, same cache: nothing is built again.
    let before = index.requests().len();
    let out2 = dir.path().join("out2");
    let o = build(&cache, &debian(), &out2, &args, Some(&path));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("on the build machine"), "{err}");
    assert_eq!(
        err.matches("built earlier from its sdist, cached").count(),
        3,
        "{err}"
    );
    let again: Vec<String> = index.requests()[before..]
        .iter()
        .map(|l| l.path.clone())
        .collect();
    assert!(
        !again.iter().any(|p| p.ends_with(".whl")),
        "no build requirement is fetched again: {again:?}"
    );
    assert_eq!(layout_digest(&out1), layout_digest(&out2));

    // A cached wheel that does not fit the target (what another Python on
    // the build machine makes of a C extension) is built again, not
    // refused: here docopt's record is made to name a cp39 wheel.
    let keys = cache.join("keys");
    let record = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sdist-wheel-")
                && std::fs::read_to_string(p)
                    .unwrap()
                    .contains("docopt-0.6.2-")
        })
        .expect("docopt's sdist record");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    value["filename"] = "docopt-0.6.2-cp39-cp39-manylinux_2_17_x86_64.whl".into();
    std::fs::write(&record, value.to_string()).unwrap();
    let out2b = dir.path().join("out2b");
    let o = build(&cache, &debian(), &out2b, &args, Some(&path));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.matches("on the build machine").count(), 1, "{err}");
    assert!(
        err.contains("building docopt==0.6.2 from docopt-0.6.2.tar.gz"),
        "{err}"
    );
    assert_eq!(layout_digest(&out1), layout_digest(&out2b));

    // A fresh cache builds everything again, to the same image bytes.
    let out3 = dir.path().join("out3");
    let o = build(
        &dir.path().join("cache2"),
        &debian(),
        &out3,
        &args,
        Some(&path),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("building docopt==0.6.2"));
    assert_eq!(layout_digest(&out1), layout_digest(&out3));
}

#[test]
fn no_build_refuses_every_sdist() {
    let index = IndexServer::start(&fixtures::sdists(), true);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = build_reqs(
        dir.path(),
        &debian(),
        &index,
        "docopt==0.6.2\n",
        &["--no-build"],
    );
    refused(
        &o,
        &out,
        &[
            "docopt==0.6.2",
            "docopt-0.6.2.tar.gz",
            "--no-build forbids building it",
        ],
    );
    assert!(
        !index.requests().iter().any(|l| l.path.ends_with(".tar.gz")),
        "--no-build downloads no sdist"
    );
}

#[test]
fn a_c_extension_built_here_is_refused_for_arm64() {
    let (arm64_layout, _) = crate::lock_arm64::arm64_fixture();
    let index = IndexServer::start(&fixtures::sdists(), true);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = build_reqs(
        dir.path(),
        &format!("oci-layout:{}:latest", arm64_layout.display()),
        &index,
        "cext-demo==1.0\n",
        &["--platform", "linux/arm64"],
    );
    refused(
        &o,
        &out,
        &[
            "cext-demo==1.0",
            "cext_demo-1.0-cp311-cp311-linux_x86_64.whl",
            "built for the build machine, not the image",
            "aarch64",
        ],
    );
}

/// A uv.lock written by real uv, whose docopt entry lists only the sdist:
/// built (here through `uv build`, uv being on PATH), hash checked against
/// the lock, and installed.
#[test]
fn a_uv_lock_with_only_an_sdist_builds_with_uv() {
    let uv = crate::lock::uv();
    let index = IndexServer::start(&fixtures::sdists(), true);
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("proj");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join("pyproject.toml"),
        "[project]\nname = \"demo\"\nversion = \"0.1.0\"\nrequires-python = \"==3.11.*\"\n\
         dependencies = [\"docopt==0.6.2\"]\n\n[tool.uv]\npackage = false\n",
    )
    .unwrap();
    let o = Command::new(&uv)
        .args(["lock", "--default-index", &index.url])
        .current_dir(&project)
        .env("UV_CACHE_DIR", dir.path().join("uv-cache"))
        .env("UV_NO_CONFIG", "1")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env_remove("UV_INDEX_URL")
        .output()
        .unwrap();
    assert!(o.status.success(), "uv lock: {}", stderr(&o));
    let lock = project.join("uv.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains("docopt-0.6.2.tar.gz"), "{text}");

    let path = format!(
        "{}:{}",
        uv.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = dir.path().join("out");
    let o = build(
        &dir.path().join("cache"),
        &debian(),
        &out,
        &["--lock", lock.to_str().unwrap()],
        Some(&path),
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("building docopt==0.6.2 from docopt-0.6.2.tar.gz on the build machine"),
        "{err}"
    );
    let root = unpack_oci(&out, "app:1");
    let printed = root.chroot_ok(&["python3", "-c", "import docopt; print(docopt.__version__)"]);
    assert_eq!(printed.trim(), "0.6.2");
}

/// Requirements that are not pins: the resolver counts the sdist-only
/// versions (docopt's PKG-INFO is Metadata-Version 1.1, so its wheel is
/// built for its metadata; annotated-types' 2.3 PKG-INFO is read as is),
/// and `pyko lock` writes them as `sdist` entries that a build then builds.
#[test]
fn the_resolver_counts_sdist_only_versions() {
    let index = IndexServer::start(&fixtures::sdists(), true);
    let dir = tempfile::tempdir().unwrap();
    let reqs = dir.path().join("requirements.txt");
    std::fs::write(&reqs, "docopt>=0.6\nannotated-types\n").unwrap();
    let py = python3();
    let cache = dir.path().join("cache");
    let lock = dir.path().join("pylock.toml");
    let o = pyko_cmd(&cache)
        .env("PATH", path_without_uv())
        .args(["lock", "-r", reqs.to_str().unwrap(), "--python", "3.11"])
        .args(["--index-url", &index.url, "-o", lock.to_str().unwrap()])
        .args(["--build-python", py.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    // Only docopt needed a build for its metadata.
    assert!(err.contains("building docopt==0.6.2"), "{err}");
    assert!(!err.contains("building annotated-types"), "{err}");
    let text = std::fs::read_to_string(&lock).unwrap();
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    let packages = parsed["packages"].as_array().unwrap();
    let names: Vec<(&str, &str)> = packages
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["sdist"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("annotated-types", "annotated_types-0.7.0.tar.gz"),
            ("docopt", "docopt-0.6.2.tar.gz")
        ],
        "{text}"
    );

    // The lock builds; docopt's wheel is the one built while resolving.
    let out = dir.path().join("out");
    let o = build(
        &cache,
        &debian(),
        &out,
        &[
            "--lock",
            lock.to_str().unwrap(),
            "--build-python",
            py.to_str().unwrap(),
        ],
        Some(&path_without_uv()),
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("building docopt"), "{err}");
    assert!(err.contains("building annotated-types==0.7.0"), "{err}");
    let root = unpack_oci(&out, "app:1");
    let printed = root.chroot_ok(&[
        "python3",
        "-c",
        "import docopt, annotated_types; print(docopt.__version__, annotated_types.Le(2))",
    ]);
    assert_eq!(printed.trim(), "0.6.2 Le(le=2)");
}

/// `name-1.0.tar.gz` with `files` under `name-1.0/`, written in `dir`.
fn make_sdist(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(format!("{name}-1.0.tar.gz"));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    for (file, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{name}-1.0/{file}"), text.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

/// A backend that fails: exit 3, naming the package, the sdist and the
/// backend's own last words; nothing written, nothing cached.
#[test]
fn a_failing_build_names_the_package_and_quotes_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let broken = make_sdist(
        dir.path(),
        "broken",
        &[
            ("PKG-INFO", "Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n"),
            (
                "setup.py",
                "import sys\nprint('compiling nothing', file=sys.stderr)\nraise SystemExit('this sdist refuses to build: marker-42')\n",
            ),
        ],
    );
    let mut files = fixtures::sdists();
    files.push(broken);
    let index = IndexServer::start(&files, true);
    let out = dir.path().join("out");
    let o = build_reqs(dir.path(), &debian(), &index, "broken==1.0\n", &[]);
    refused(
        &o,
        &out,
        &[
            "broken==1.0",
            "building a wheel from the sdist broken-1.0.tar.gz",
            "the build backend setuptools.build_meta:__legacy__",
            "marker-42",
        ],
    );
}

/// A pylock.toml whose sdist hash is not the file's: refused before
/// anything is built.
#[test]
fn a_locked_sdist_with_the_wrong_hash_is_refused() {
    let index = IndexServer::start(&fixtures::sdists(), true);
    let dir = tempfile::tempdir().unwrap();
    let url = index.url.replace("/simple/", "/files/docopt-0.6.2.tar.gz");
    let lock = dir.path().join("pylock.toml");
    std::fs::write(
        &lock,
        format!(
            "lock-version = \"1.0\"\ncreated-by = \"hand\"\n\n[[packages]]\nname = \"docopt\"\nversion = \"0.6.2\"\nsdist = {{ url = \"{url}\", hashes = {{ sha256 = \"{}\" }} }}\n",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = build(
        &dir.path().join("cache"),
        &debian(),
        &out,
        &["--lock", lock.to_str().unwrap()],
        Some(&path_without_uv()),
    );
    let err = refused(&o, &out, &["docopt==0.6.2", "hash mismatch"]);
    assert!(
        err.contains(&format!("expected sha256:{}", "ab".repeat(32))),
        "{err}"
    );
    assert!(!err.contains("building docopt"), "{err}");
}
