//! pyko's deps layers against what the image's own pip writes for the same
//! real wheels (the example app's 39), on both test base images, and the
//! built image actually working: every top-level module imports and every
//! console script answers `--help`. The deps layers are those `pyko build`
//! writes (a layer per big wheel, the small ones grouped), merged in order
//! as a container runtime stacks them.
//!
//! pip is the pip the Slim image ships (22.3.1, from its `ensurepip`
//! bundle); the Debian image has no pip, so the same pip wheel is copied in
//! and run from the zip (`python3 pip.whl/pip install …`). pip 22.3.1
//! predates `EXTERNALLY-MANAGED`, so no `--break-system-packages` is needed.
//! pip runs as `sys.executable` = the interpreter pyko targets
//! (`/usr/local/bin/python` on Slim, `/usr/bin/python3` on Debian), so
//! launcher shebangs are comparable byte for byte.
//!
//! The pip-installed tree is slow to make (a minute or more), so its
//! description (path → kind, mode, size, sha256) is cached under the fixture
//! cache, keyed by the base manifest, the wheels and [`PIP_TREE_FORMAT`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::fixtures::{self, Flavour};
use flate2::read::MultiGzDecoder;
use pyko::InstallOptions;
use pyko::PythonTarget;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The pip the comparison runs (the Slim image's bundled one).
const PIP_WHEEL: &str = "pip-22.3.1-py3-none-any.whl";

/// Bump when the way the pip tree is made or described changes (cache key).
const PIP_TREE_FORMAT: &str = "pip-tree-v2 pip 22.3.1 PYTHONDONTWRITEBYTECODE";

/// Known, accepted differences between pip's tree and pyko's, by file name
/// inside a `.dist-info` directory. Only these are compared loosely.
///
/// - `RECORD`: pip writes rows in its own order (the wheel's RECORD order
///   with installed-file rows in between); pyko sorts nothing away either
///   but is free to order them, so the rows are compared as a set.
const RECORD_AS_SET: &str = "RECORD";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Kind {
    File { size: u64, sha256: String },
    Symlink { target: String },
    Dir,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Node {
    kind: Kind,
    mode: u32,
}

/// Image path (no leading `/`) → node.
type Tree = BTreeMap<String, Node>;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ------------------------------------------------------------ base layout

struct Base {
    config: serde_json::Value,
    layers: Vec<PathBuf>,
    manifest_digest: String,
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout.join("blobs").join(digest.replacen(':', "/", 1))
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The linux/amd64 manifest of the layout's only tag, its config and layer
/// blob paths (what `pyko build` would have pulled).
fn read_base(layout: &Path) -> Base {
    let index = read_json(&layout.join("index.json"));
    let mut desc = index["manifests"][0].clone();
    loop {
        let digest = desc["digest"].as_str().unwrap().to_string();
        let doc = read_json(&blob(layout, &digest));
        if let Some(list) = doc["manifests"].as_array() {
            desc = list
                .iter()
                .find(|m| {
                    m["platform"]["architecture"] == "amd64" && m["platform"]["os"] == "linux"
                })
                .unwrap_or_else(|| panic!("{}: no linux/amd64 manifest", layout.display()))
                .clone();
            continue;
        }
        let config = read_json(&blob(layout, doc["config"]["digest"].as_str().unwrap()));
        let layers = doc["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| blob(layout, l["digest"].as_str().unwrap()))
            .collect();
        return Base {
            config,
            layers,
            manifest_digest: digest,
        };
    }
}

/// Directory modes in the base image (for the parents pyko's layer repeats).
fn base_dirs(layers: &[PathBuf]) -> BTreeMap<String, u32> {
    let mut dirs = BTreeMap::new();
    for l in layers {
        let f = fs::File::open(l).unwrap();
        let mut ar = tar::Archive::new(MultiGzDecoder::new(f));
        for e in ar.entries().unwrap() {
            let e = e.unwrap();
            if e.header().entry_type() == tar::EntryType::Directory {
                let p = clean(&e.path().unwrap().to_string_lossy());
                dirs.insert(p, e.header().mode().unwrap() & 0o7777);
            }
        }
    }
    dirs
}

fn clean(p: &str) -> String {
    p.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

// ------------------------------------------------------------ pyko's side

struct PykoLayer {
    target: PythonTarget,
    /// The deps layer blobs `pyko build` wrote, bottom to top.
    blobs: Vec<PathBuf>,
    tree: Tree,
    /// `(name, version)` of every installed distribution.
    dists: Vec<(String, String)>,
    _cache: tempfile::TempDir,
}

fn wheels() -> Vec<PathBuf> {
    pyko::find_wheels(&fixtures::wheelhouse()).expect("wheelhouse")
}

/// The deps layer pyko writes for `f`, built once per test process.
fn pyko_layer(f: Flavour) -> &'static PykoLayer {
    static DEBIAN: OnceLock<PykoLayer> = OnceLock::new();
    static SLIM: OnceLock<PykoLayer> = OnceLock::new();
    let cell = match f {
        Flavour::Debian => &DEBIAN,
        Flavour::Slim => &SLIM,
    };
    cell.get_or_init(|| {
        let base = read_base(&fixtures::base_layout(f));
        let target = pyko::detect_target(&base.config, &base.layers, &Default::default())
            .expect("detect target");
        let inst = pyko::install_wheels(&wheels(), &target, &InstallOptions { requested: None })
            .expect("install");
        assert!(inst.warnings.is_empty(), "{:?}", inst.warnings);
        let dists = inst
            .distributions
            .iter()
            .map(|d| (d.name.clone(), d.version.clone()))
            .collect();
        let dir = tempfile::Builder::new()
            .prefix("pyko-parity-")
            .tempdir()
            .unwrap();
        let blobs = built_deps_layers(f, dir.path());
        assert!(blobs.len() > 1, "per-wheel layers: {blobs:?}");
        let mut tree = Tree::new();
        for b in &blobs {
            for (path, node) in read_layer(b) {
                if let Some(old) = tree.insert(path.clone(), node.clone()) {
                    assert!(
                        old.kind == Kind::Dir && old == node,
                        "/{path} in two deps layers: {old:?} then {node:?}"
                    );
                }
            }
        }
        PykoLayer {
            target,
            blobs,
            tree,
            dists,
            _cache: dir,
        }
    })
}

/// `pyko build` of the wheelhouse (no app) onto the base of `f`, as an OCI
/// layout in `dir`; returns the blobs of the layers it added.
fn built_deps_layers(f: Flavour, dir: &Path) -> Vec<PathBuf> {
    let base_layout = fixtures::base_layout(f);
    let layout = dir.join("layout");
    let out = crate::common::run::pyko_cmd(&dir.join("cache"))
        .arg("build")
        .arg("--from")
        .arg(format!(
            "oci-layout:{}:{}",
            base_layout.display(),
            fixtures::BASE_TAG
        ))
        .arg("--wheels")
        .arg(fixtures::wheelhouse())
        .arg("--oci-layout")
        .arg(&layout)
        .output()
        .expect("run pyko");
    assert!(
        out.status.success(),
        "pyko build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = read_base(&base_layout).layers.len();
    let mut layers = read_base(&layout).layers;
    layers.drain(..base);
    layers
}

fn read_layer(blob: &Path) -> Tree {
    let mut tree = Tree::new();
    let mut ar = tar::Archive::new(MultiGzDecoder::new(fs::File::open(blob).unwrap()));
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = clean(&e.path().unwrap().to_string_lossy());
        let h = e.header().clone();
        assert_eq!(
            (h.uid().unwrap(), h.gid().unwrap()),
            (0, 0),
            "{path}: owner"
        );
        let mode = h.mode().unwrap() & 0o7777;
        let kind = match h.entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink {
                target: e
                    .link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            },
            tar::EntryType::Regular => {
                let mut bytes = Vec::new();
                e.read_to_end(&mut bytes).unwrap();
                Kind::File {
                    size: bytes.len() as u64,
                    sha256: record_aware_hash(&path, &bytes),
                }
            }
            other => panic!("{path}: unexpected tar entry type {other:?}"),
        };
        assert!(
            tree.insert(path.clone(), Node { kind, mode }).is_none(),
            "{path} twice in the layer"
        );
    }
    tree
}

/// sha256 of a file, except RECORD whose rows are hashed as a sorted set
/// (see [`RECORD_AS_SET`]).
fn record_aware_hash(path: &str, bytes: &[u8]) -> String {
    let is_record = path.rsplit('/').next() == Some(RECORD_AS_SET)
        && path
            .rsplit('/')
            .nth(1)
            .is_some_and(|d| d.ends_with(".dist-info"));
    if !is_record {
        return sha256_hex(bytes);
    }
    let text = String::from_utf8_lossy(bytes);
    let mut rows: Vec<&str> = text.lines().collect();
    rows.sort_unstable();
    format!("rows:{}", sha256_hex(rows.join("\n").as_bytes()))
}

// ------------------------------------------------------------- pip's side

/// The pip wheel, cached under the fixture cache (from the host's pip
/// cache or the package index, through the host's pip).
fn pip_wheel() -> PathBuf {
    let dir = fixtures::fixture_cache().join("pip-wheel");
    let whl = dir.join(PIP_WHEEL);
    if !whl.is_file() {
        fs::create_dir_all(&dir).unwrap();
        let out = std::process::Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args(["--disable-pip-version-check", "-q", "-d"])
            .arg(&dir)
            .arg("pip==22.3.1")
            .output()
            .expect("run python3 -m pip (install python3-pip, see .ci/run)");
        assert!(
            out.status.success() && whl.is_file(),
            "pip download pip==22.3.1 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    whl
}

/// The files pip adds to `f`'s base image, from the cache or by running it.
fn pip_tree(f: Flavour) -> Tree {
    let layout = fixtures::base_layout(f);
    let base = read_base(&layout);
    let mut key = Sha256::new();
    key.update(base.manifest_digest.as_bytes());
    key.update(PIP_TREE_FORMAT.as_bytes());
    for w in wheels() {
        let m = fs::metadata(&w).unwrap();
        key.update(format!(
            "{} {}\n",
            w.file_name().unwrap().to_string_lossy(),
            m.len()
        ));
    }
    let key = &hex::encode(key.finalize())[..16];
    let cached = fixtures::fixture_cache().join(format!("pip-tree-{}-{key}.json", f.name()));
    if let Ok(bytes) = fs::read(&cached) {
        if let Ok(tree) = serde_json::from_slice(&bytes) {
            return tree;
        }
    }
    let started = std::time::Instant::now();
    let rootfs = fixtures::unpack_oci(&layout, fixtures::BASE_TAG);
    let root = rootfs.path();
    let before = snapshot(root);
    let tmp = root.join("tmp/pyko-parity");
    fs::create_dir_all(tmp.join("wheels")).unwrap();
    for w in wheels() {
        fs::copy(&w, tmp.join("wheels").join(w.file_name().unwrap())).unwrap();
    }
    fs::copy(
        fixtures::example_app().join("requirements.txt"),
        tmp.join("requirements.txt"),
    )
    .unwrap();
    let pip: Vec<String> = match f {
        Flavour::Slim => vec!["/usr/local/bin/python".into(), "-m".into(), "pip".into()],
        Flavour::Debian => {
            fs::copy(pip_wheel(), tmp.join(PIP_WHEEL)).unwrap();
            vec![
                "/usr/bin/python3".into(),
                format!("/tmp/pyko-parity/{PIP_WHEEL}/pip"),
            ]
        }
    };
    let script = format!(
        "umask 022; export PYTHONDONTWRITEBYTECODE=1; exec {} install --no-deps --no-compile --no-index --no-cache-dir \
         --disable-pip-version-check --find-links /tmp/pyko-parity/wheels \
         -r /tmp/pyko-parity/requirements.txt",
        pip.join(" ")
    );
    rootfs.chroot_ok(&["/bin/sh", "-c", &script]);
    fs::remove_dir_all(&tmp).unwrap();
    let after = snapshot(root);
    let mut tree = Tree::new();
    for (path, meta) in &after {
        if before.get(path) == Some(meta) {
            continue;
        }
        let full = root.join(path);
        let md = fs::symlink_metadata(&full).unwrap();
        let kind = if md.file_type().is_symlink() {
            Kind::Symlink {
                target: fs::read_link(&full).unwrap().to_string_lossy().into_owned(),
            }
        } else if md.is_dir() {
            Kind::Dir
        } else {
            let bytes = fs::read(&full).unwrap();
            Kind::File {
                size: bytes.len() as u64,
                sha256: record_aware_hash(path, &bytes),
            }
        };
        tree.insert(
            path.clone(),
            Node {
                kind,
                mode: md.permissions().mode() & 0o7777,
            },
        );
    }
    let removed: Vec<_> = before.keys().filter(|p| !after.contains_key(*p)).collect();
    assert!(removed.is_empty(), "pip removed files: {removed:?}");
    fs::write(&cached, serde_json::to_vec(&tree).unwrap()).unwrap();
    eprintln!(
        "pip_parity: pip tree for {} made in {:.1?} ({} paths), cached in {}",
        f.name(),
        started.elapsed(),
        tree.len(),
        cached.display()
    );
    tree
}

/// Every path of the rootfs (but the kernel mounts and /tmp) with what
/// tells a change: type, mode, size, mtime.
fn snapshot(root: &Path) -> BTreeMap<String, (u32, u64, i64, i64)> {
    let mut out = BTreeMap::new();
    let skip = ["proc", "dev", "sys", "tmp"].map(|d| root.join(d));
    for e in walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !skip.iter().any(|s| e.path() == s))
    {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.insert(rel, (m.mode(), m.size(), m.mtime(), m.mtime_nsec()));
    }
    out
}

// --------------------------------------------------------------- compare

fn compare(f: Flavour) {
    let pyko = pyko_layer(f);
    let pip = pip_tree(f);
    let base = base_dirs(&read_base(&fixtures::base_layout(f)).layers);
    let mut diffs = Vec::new();
    for (path, node) in &pip {
        match pyko.tree.get(path) {
            None if node.kind == Kind::Dir && base.contains_key(path) => {
                // An existing directory pip touched (its mtime changed).
            }
            None => diffs.push(format!("only pip:  /{path} {node:?}")),
            Some(p) if p != node => diffs.push(format!(
                "differs:   /{path}\n    pip  {node:?}\n    pyko {p:?}"
            )),
            Some(_) => {}
        }
    }
    for (path, node) in &pyko.tree {
        if pip.contains_key(path) {
            continue;
        }
        match (&node.kind, base.get(path)) {
            // A parent pyko's layer repeats: it must not change the image.
            (Kind::Dir, Some(mode)) if *mode == node.mode => {}
            (Kind::Dir, Some(mode)) => diffs.push(format!(
                "pyko's layer changes the mode of /{path}: base {mode:o}, layer {:o}",
                node.mode
            )),
            _ => diffs.push(format!("only pyko: /{path} {node:?}")),
        }
    }
    let files = pip
        .values()
        .filter(|n| !matches!(n.kind, Kind::Dir))
        .count();
    assert!(
        files > 5_000,
        "pip installed only {files} files; the comparison would prove nothing"
    );
    assert!(
        diffs.is_empty(),
        "{} of {} pip paths differ from pyko's deps layer for {} (target {}); first 20:\n{}",
        diffs.len(),
        pip.len(),
        f.name(),
        pyko.target,
        diffs
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn deps_layer_matches_pip_on_slim() {
    compare(Flavour::Slim);
}

#[test]
fn deps_layer_matches_pip_on_debian() {
    compare(Flavour::Debian);
}

// ------------------------------------------------------ the built image

/// Extracts a layer tar.gz over a rootfs as a container runtime would (no
/// whiteouts in a deps layer; existing directories are kept).
fn apply_layer(root: &Path, blob: &Path) {
    let mut ar = tar::Archive::new(MultiGzDecoder::new(fs::File::open(blob).unwrap()));
    ar.set_preserve_permissions(true);
    ar.set_overwrite(true);
    ar.set_unpack_xattrs(false);
    ar.unpack(root)
        .unwrap_or_else(|e| panic!("apply {} to {}: {e}", blob.display(), root.display()));
}

/// Run inside the image: imports every top-level module of every
/// distribution in argv[2:] found in site-packages argv[1], runs every
/// console script with `--help` (falling back to `--version`), and prints
/// a JSON report. Modules are imported in subprocesses per distribution so
/// one crash cannot hide the others.
const CHECK_PY: &str = r#"
import configparser, json, os, subprocess, sys
site, scripts_dir, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
# Top-level names that are not meant to be imported, with the reason.
SKIP_SUFFIX = {
    ".libs": "auditwheel's directory of vendored shared libraries (no __init__), not a module",
}
report = {"imported": [], "failed": {}, "skipped": {}, "scripts": {}, "dists": []}
for d in sorted(os.listdir(site)):
    if not d.endswith(".dist-info"):
        continue
    name = d[: -len(".dist-info")].rsplit("-", 1)[0].lower().replace("_", "-")
    if name not in wanted:
        continue
    report["dists"].append(name)
    p = os.path.join(site, d)
    tops = set()
    if os.path.exists(os.path.join(p, "top_level.txt")):
        tops = {l.strip() for l in open(os.path.join(p, "top_level.txt")) if l.strip()}
    if not tops:
        for row in open(os.path.join(p, "RECORD")):
            path = row.rsplit(",", 2)[0]
            first = path.split("/")[0]
            if first.endswith((".dist-info", ".data")) or first.startswith(".."):
                continue
            if "/" in path:
                tops.add(first)
            elif path.endswith(".py"):
                tops.add(path[:-3])
            elif path.endswith(".so"):
                tops.add(path.split(".")[0])
    for t in sorted(tops):
        t = t.replace("/", ".")
        why = [r for s, r in SKIP_SUFFIX.items() if t.endswith(s)]
        if why:
            report["skipped"][t] = why[0]
            continue
        r = subprocess.run([sys.executable, "-c", "import " + t], capture_output=True, text=True)
        if r.returncode == 0:
            report["imported"].append(t)
        else:
            report["failed"][t] = r.stderr.strip().splitlines()[-1:] 
    ep = os.path.join(p, "entry_points.txt")
    if os.path.exists(ep):
        cp = configparser.ConfigParser(delimiters=("=",))
        cp.optionxform = str
        cp.read(ep)
        if cp.has_section("console_scripts"):
            for script in cp["console_scripts"]:
                exe = os.path.join(scripts_dir, script)
                res = []
                for flag in ("--help", "--version"):
                    try:
                        r = subprocess.run([exe, flag], capture_output=True, text=True, timeout=120)
                        res.append((flag, r.returncode, (r.stdout + r.stderr).strip()[-300:]))
                        if r.returncode == 0:
                            break
                    except Exception as e:
                        res.append((flag, -1, repr(e)))
                report["scripts"][script] = res
print(json.dumps(report))
"#;

/// Runs [`CHECK_PY`] in `rootfs` with `python` for the distributions given.
fn check_image(
    rootfs: &fixtures::Rootfs,
    python: &str,
    target: &PythonTarget,
    dists: &[(String, String)],
) {
    fs::write(rootfs.path().join("tmp/pyko-check.py"), CHECK_PY).unwrap();
    let mut argv = vec![
        python,
        "/tmp/pyko-check.py",
        &target.scheme.purelib,
        &target.scheme.scripts,
    ];
    let names: Vec<String> = dists.iter().map(|(n, _)| pyko::normalize_name(n)).collect();
    argv.extend(names.iter().map(String::as_str));
    let out = rootfs.chroot_ok(&argv);
    let report: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let found: BTreeSet<String> = report["dists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let missing: Vec<_> = names.iter().filter(|n| !found.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "no .dist-info in the image for {missing:?}"
    );
    assert!(
        report["failed"].as_object().unwrap().is_empty(),
        "modules failed to import: {:#}",
        report["failed"]
    );
    let imported = report["imported"].as_array().unwrap();
    for must in [
        "numpy",
        "pandas",
        "sklearn",
        "streamlit",
        "scipy",
        "pyarrow",
    ] {
        assert!(
            imported.iter().any(|m| m == must),
            "{must} not among the imported modules: {imported:?}"
        );
    }
    let scripts = report["scripts"].as_object().unwrap();
    assert!(scripts.contains_key("streamlit"), "{scripts:?}");
    let broken: Vec<_> = scripts
        .iter()
        .filter(|(_, runs)| {
            !runs
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r[1].as_i64() == Some(0))
        })
        .collect();
    assert!(
        broken.is_empty(),
        "console scripts failing --help and --version: {broken:#?}"
    );
    eprintln!(
        "checked {} distributions: {} modules imported, {} skipped ({}), {} console scripts ran: {:?}",
        found.len(),
        imported.len(),
        report["skipped"].as_object().unwrap().len(),
        report["skipped"],
        scripts.len(),
        scripts.keys().collect::<Vec<_>>()
    );
}

fn built_image_works(f: Flavour) {
    let pyko = pyko_layer(f);
    let rootfs = fixtures::unpack_oci(&fixtures::base_layout(f), fixtures::BASE_TAG);
    for b in &pyko.blobs {
        apply_layer(rootfs.path(), b);
    }
    check_image(&rootfs, &pyko.target.interpreter, &pyko.target, &pyko.dists);
}

#[test]
fn built_image_imports_everything_and_runs_scripts_on_slim() {
    built_image_works(Flavour::Slim);
}

#[test]
fn built_image_imports_everything_and_runs_scripts_on_debian() {
    built_image_works(Flavour::Debian);
}

// ------------------------------------------------------------- --venv

/// `pyko build --venv /opt/venv` end to end: base from a real registry,
/// output as an OCI layout that umoci (an independent reader) unpacks with
/// all layers applied; then the environment is used as an image would be.
#[test]
fn venv_flag_installs_into_a_working_virtual_environment() {
    let reg = crate::common::registry::Registry::start();
    let base_ref = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let out = crate::common::run::pyko_cmd(&dir.path().join("cache"))
        .args(["build", "--from", &base_ref, "--wheels"])
        .arg(fixtures::wheelhouse())
        .args([
            "--venv",
            "/opt/venv",
            "--cmd",
            "streamlit hello",
            "--oci-layout",
        ])
        .arg(&layout)
        .args(["--tag", "venv"])
        .output()
        .expect("run pyko");
    assert!(
        out.status.success(),
        "pyko build --venv failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = read_base(&layout);
    let env: Vec<&str> = base.config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let path = env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap();
    assert!(path.starts_with("/opt/venv/bin:/usr/local/bin:"), "{path}");

    let index = read_json(&layout.join("index.json"));
    let tag = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .unwrap_or(fixtures::BASE_TAG)
        .to_string();
    let rootfs = fixtures::unpack_oci(&layout, &tag);
    let root = rootfs.path();
    let cfg = fs::read_to_string(root.join("opt/venv/pyvenv.cfg")).unwrap();
    assert!(cfg.contains("home = /usr/local/bin\n"), "{cfg}");
    assert!(
        cfg.contains("include-system-site-packages = false\n"),
        "{cfg}"
    );
    assert!(cfg.contains("version = 3.11"), "{cfg}");
    let launcher = fs::read_to_string(root.join("opt/venv/bin/streamlit")).unwrap();
    assert!(
        launcher.starts_with("#!/opt/venv/bin/python\n"),
        "{launcher}"
    );
    assert!(root
        .join("opt/venv/lib/python3.11/site-packages/numpy/__init__.py")
        .is_file());
    assert!(!root
        .join("usr/local/lib/python3.11/site-packages/numpy")
        .exists());

    let py = "import sys, numpy, pandas; print(sys.prefix); print(numpy.__file__)";
    let out = rootfs.chroot_ok(&["/opt/venv/bin/python", "-c", py]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "/opt/venv", "{out}");
    assert!(
        lines[1].starts_with("/opt/venv/lib/python3.11/site-packages/numpy/"),
        "{out}"
    );
    // python3 and python3.11 are the same environment.
    for exe in ["python3", "python3.11"] {
        let out = rootfs.chroot_ok(&[
            &format!("/opt/venv/bin/{exe}"),
            "-c",
            "import sys; print(sys.prefix)",
        ]);
        assert_eq!(out.trim(), "/opt/venv");
    }
    // The base interpreter stays clean.
    let out = rootfs.chroot(&["/usr/local/bin/python", "-c", "import numpy"]);
    assert!(
        !out.status.success(),
        "numpy leaked into the base interpreter"
    );
    // The console script, found on the image's PATH as a container would.
    let out = rootfs
        .command("/", &["streamlit", "--version"], &[("PATH", path)])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Streamlit"),
        "streamlit --version: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
