//! Real fixtures for the integration tests: base images built from Debian
//! packages (OCI layouts), the real wheels of the example app, and a way to
//! run things inside an unpacked image.
//!
//! Everything heavy is built by the scripts in `tests/fixtures/` and cached
//! under `$PYKO_FIXTURE_CACHE` (default `/var/cache/pyko-fixtures`); the first
//! run on a fresh machine takes a few minutes, later runs take seconds.
//! Missing tools make tests fail loudly ("install X (see .ci/run)"), never skip.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::registry::Registry;

/// PATH inside chroots: good for both official-style (`/usr/local/bin`) and
/// Debian-style (`/usr/bin`) images, and for the host tools run before chroot.
pub const CHROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The test base images (see `tests/fixtures/base-images.sh`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// Debian bookworm minbase + Debian's python3 (`/usr/bin/python3.11`,
    /// pip scheme `/usr/local/lib/python3.11/dist-packages`): one layer, a
    /// single manifest.
    Debian,
    /// Like the official `python:3.11-slim`: CPython in `/usr/local`
    /// (`site-packages`), `PYTHON_VERSION` in Env, two layers, behind an OCI
    /// image index (linux/amd64).
    Slim,
}

impl Flavour {
    pub const ALL: [Flavour; 2] = [Flavour::Debian, Flavour::Slim];

    pub fn name(self) -> &'static str {
        match self {
            Flavour::Debian => "debian",
            Flavour::Slim => "slim",
        }
    }
}

/// The tag every fixture layout carries.
pub const BASE_TAG: &str = "latest";

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$PYKO_FIXTURE_CACHE` or `/var/cache/pyko-fixtures`.
pub fn fixture_cache() -> PathBuf {
    std::env::var_os("PYKO_FIXTURE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/pyko-fixtures"))
}

/// Full path of `name` on PATH, if any.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| CHROOT_PATH.into());
    std::env::split_paths(&path)
        .chain(std::env::split_paths(CHROOT_PATH))
        .map(|d| d.join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Panics unless `name` is on PATH: tests never silently skip.
pub fn require_tool(name: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|| {
        panic!("`{name}` not found on PATH: install {name} (see .ci/run and tests/fixtures/install-deps.sh)")
    })
}

/// Runs a fixture script, returns the last line of its stdout (a path).
/// Panics with the script's stderr on failure.
fn run_script(script: &str, args: &[&str]) -> PathBuf {
    let path = repo_root().join("tests/fixtures").join(script);
    let start = Instant::now();
    let out = Command::new("bash")
        .arg(&path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{stderr}\n{stdout}",
        path.display(),
        out.status
    );
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("{script} printed no path; stderr:\n{stderr}"));
    let dir = PathBuf::from(line.trim());
    assert!(dir.is_dir(), "{script} printed {dir:?}, not a directory");
    if start.elapsed() > Duration::from_secs(5) {
        eprintln!(
            "fixtures: {script} {args:?} took {:.1?} -> {}",
            start.elapsed(),
            dir.display()
        );
    }
    dir
}

/// The OCI image layout of a test base image (tag [`BASE_TAG`]); built once
/// per machine (cached), checked once per test process.
pub fn base_layout(f: Flavour) -> PathBuf {
    static DEBIAN: OnceLock<PathBuf> = OnceLock::new();
    static SLIM: OnceLock<PathBuf> = OnceLock::new();
    let cell = match f {
        Flavour::Debian => &DEBIAN,
        Flavour::Slim => &SLIM,
    };
    cell.get_or_init(|| {
        for t in ["mmdebstrap", "umoci", "skopeo", "jq", "flock", "unshare"] {
            require_tool(t);
        }
        run_script("base-images.sh", &[f.name()])
    })
    .clone()
}

/// `oci:LAYOUT:latest` for skopeo.
pub fn base_oci_ref(f: Flavour) -> String {
    format!("oci:{}:{BASE_TAG}", base_layout(f).display())
}

/// Copies a base image (with its index, for [`Flavour::Slim`]) to
/// `docker://HOST/repo_tag` with skopeo, honouring the registry's TLS and
/// Basic-auth options. Returns `HOST/repo_tag`.
pub fn push_base(reg: &Registry, f: Flavour, repo_tag: &str) -> String {
    require_tool("skopeo");
    let src = base_oci_ref(f);
    let dest = format!("{}/{repo_tag}", reg.host);
    let dest_args: Vec<String> = reg
        .skopeo_args()
        .into_iter()
        .map(|a| a.replacen("--", "--dest-", 1))
        .collect();
    let out = Command::new("skopeo")
        .args(["copy", "--all", "--quiet", "--preserve-digests"])
        .args(&dest_args)
        .arg(&src)
        .arg(format!("docker://{dest}"))
        .stdin(Stdio::null())
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo copy {src} docker://{dest} failed:\n{}\nregistry log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        reg.log()
    );
    dest
}

/// `skopeo inspect --raw` of `docker://reference` on `reg`, parsed.
pub fn inspect_raw(reg: &Registry, reference: &str) -> serde_json::Value {
    let out = Command::new("skopeo")
        .arg("inspect")
        .arg("--raw")
        .args(reg.skopeo_args())
        .arg(format!("docker://{reference}"))
        .stdin(Stdio::null())
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect --raw docker://{reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("manifest is JSON")
}

/// The real wheels (cp311, manylinux x86_64) of `examples/diabetes/requirements.txt`.
/// `tests/fixtures/sdists.sh`: real sdists (setuptools legacy, flit_core,
/// hatchling, a C extension) and their build requirements as wheels.
pub fn sdists() -> Vec<PathBuf> {
    static D: OnceLock<PathBuf> = OnceLock::new();
    let dir = D.get_or_init(|| run_script("sdists.sh", &[])).join("files");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

pub fn wheelhouse() -> PathBuf {
    static W: OnceLock<PathBuf> = OnceLock::new();
    W.get_or_init(|| run_script("wheels.sh", &[])).clone()
}

/// A wheel directory at `dest` holding the wheels of [`wheelhouse`] whose
/// names start with one of `prefixes` (e.g. `"numpy-"`).
pub fn wheels_named(dest: &Path, prefixes: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dest).unwrap();
    for w in std::fs::read_dir(wheelhouse()).unwrap() {
        let w = w.unwrap().path();
        let name = w.file_name().unwrap().to_string_lossy().to_string();
        if prefixes.iter().any(|p| name.starts_with(p)) {
            std::fs::copy(&w, dest.join(&name)).unwrap();
        }
    }
    dest.to_path_buf()
}

/// The wheelhouse's wheel whose file name starts with `prefix`
/// (`"idna-3.20-"`).
pub fn wheel(prefix: &str) -> PathBuf {
    std::fs::read_dir(wheelhouse())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* in the wheelhouse"))
}

/// `examples/diabetes`: a Streamlit app with a fully pinned requirements.txt.
pub fn example_app() -> PathBuf {
    repo_root().join("examples/diabetes")
}

/// A command that a [`Rootfs`] runs: killed (SIGKILL) and reaped on drop,
/// so a failing test leaves no server behind. Derefs to [`Child`].
pub struct ChrootChild(pub Child);

impl Deref for ChrootChild {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for ChrootChild {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ChrootChild {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// An image's root filesystem unpacked with umoci into a temporary bundle
/// directory (removed on drop).
///
/// Commands run in it through `unshare --mount` (a private mount namespace):
/// `/proc` is mounted and `/dev` bind-mounted only inside that namespace, so
/// the mounts vanish with the process whatever happens to the test. `Drop`
/// still checks `/proc/self/mountinfo` and unmounts (lazily as a fallback)
/// anything left under the rootfs before deleting it, and keeps the
/// directory rather than delete through a mount.
pub struct Rootfs {
    /// `None` only during drop, when it must not be deleted.
    bundle: Option<tempfile::TempDir>,
    rootfs: PathBuf,
}

/// The digest of the first manifest of an OCI layout pyko wrote: what two
/// builds compare to say they made the same image.
pub fn manifest_digest(layout: &Path) -> String {
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    idx["manifests"][0]["digest"].as_str().unwrap().to_string()
}

/// Unpacks `LAYOUT:TAG` (`umoci raw unpack`: the root filesystem only,
/// without umoci's mtree bookkeeping, about twice as fast) into a temporary
/// directory.
pub fn unpack_oci(layout_dir: &Path, tag: &str) -> Rootfs {
    require_tool("umoci");
    let tmp = tempfile::Builder::new()
        .prefix("pyko-rootfs-")
        .tempdir()
        .unwrap();
    let bdir = tmp.path().join("bundle");
    let image = format!("{}:{tag}", layout_dir.display());
    std::fs::create_dir_all(&bdir).unwrap();
    let mut cmd = Command::new("umoci");
    cmd.args(["raw", "unpack", "--image", &image])
        .arg(bdir.join("rootfs"));
    let start = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().expect("run umoci");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if start.elapsed() > Duration::from_secs(5) {
        eprintln!("fixtures: {cmd:?} took {:.1?}", start.elapsed());
    }
    Rootfs {
        rootfs: bdir.join("rootfs"),
        bundle: Some(tmp),
    }
}

/// Shell run on the host inside the new mount namespace; `$0` = rootfs,
/// `$1` = working directory inside, then argv.
const LAUNCHER: &str = r#"set -e
r=$0; w=$1; shift
mkdir -p "$r/proc" "$r/dev"
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
exec unshare --root="$r" --wd="$w" -- "$@""#;

impl Rootfs {
    /// The unpacked root filesystem.
    pub fn path(&self) -> &Path {
        &self.rootfs
    }

    /// A `Command` running `argv` inside the rootfs with working directory
    /// `workdir` and a clean environment: `PATH` ([`CHROOT_PATH`]),
    /// `HOME=/root`, `LANG=C.UTF-8`, then `env` (which may override them).
    pub fn command(&self, workdir: &str, argv: &[&str], env: &[(&str, &str)]) -> Command {
        assert!(!argv.is_empty(), "empty argv");
        let mut c = Command::new(require_tool("unshare"));
        require_tool("mount");
        c.args(["--mount", "--propagation", "private", "--"])
            .arg(require_tool("sh"))
            .arg("-c")
            .arg(LAUNCHER)
            .arg(&self.rootfs)
            .arg(workdir)
            .args(argv)
            .env_clear()
            .env("PATH", CHROOT_PATH)
            .env("HOME", "/root")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// Runs `argv` inside (cwd `/`) and waits for it.
    pub fn chroot(&self, argv: &[&str]) -> Output {
        self.command("/", argv, &[])
            .output()
            .unwrap_or_else(|e| panic!("run {argv:?} in {}: {e}", self.rootfs.display()))
    }

    /// Like [`Rootfs::chroot`], panicking with stderr unless it succeeds;
    /// returns stdout.
    pub fn chroot_ok(&self, argv: &[&str]) -> String {
        let out = self.chroot(argv);
        assert!(
            out.status.success(),
            "{argv:?} in {} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.rootfs.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a long-running command inside (cwd `/`, stdout/stderr
    /// inherited); the returned child is killed on drop.
    pub fn spawn_in_chroot(&self, argv: &[&str], env: &[(&str, &str)]) -> ChrootChild {
        self.spawn_in_chroot_at("/", argv, env)
    }

    /// [`Rootfs::spawn_in_chroot`] with a working directory (e.g. `/app`).
    pub fn spawn_in_chroot_at(
        &self,
        workdir: &str,
        argv: &[&str],
        env: &[(&str, &str)],
    ) -> ChrootChild {
        let child = self
            .command(workdir, argv, env)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {argv:?} in {}: {e}", self.rootfs.display()));
        ChrootChild(child)
    }

    /// Mount points under this rootfs in our mount namespace (normally none).
    fn leftover_mounts(&self) -> Vec<PathBuf> {
        let root = self.rootfs.to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(unescape_mountinfo)
            .filter(|m| m == &root || m.starts_with(&format!("{root}/")))
            .map(PathBuf::from)
            .collect()
    }
}

fn unescape_mountinfo(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        let mut mounts = self.leftover_mounts();
        if mounts.is_empty() {
            return; // TempDir removes the bundle
        }
        // Deepest first.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.as_os_str().len()));
        for m in &mounts {
            let ok = Command::new("umount")
                .arg("-R")
                .arg(m)
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                let _ = Command::new("umount").arg("-l").arg(m).status();
            }
        }
        if !self.leftover_mounts().is_empty() {
            // Never delete through a mount (that would delete host files).
            if let Some(t) = self.bundle.take() {
                let kept = t.keep();
                eprintln!(
                    "fixtures: mounts still under {}; leaving it in place",
                    kept.display()
                );
            }
        }
    }
}

/// Polls `url` (`http://HOST:PORT/path`) with a plain HTTP/1.0 GET until it
/// answers 200 or `timeout` passes. Returns the body, or the last error.
pub fn wait_http(url: &str, timeout: Duration) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let start = Instant::now();
    let mut last;
    loop {
        match http_get(hostport, path) {
            Ok((200, body)) => return Ok(body),
            Ok((code, body)) => last = format!("HTTP {code}: {}", body.trim()),
            Err(e) => last = e,
        }
        if start.elapsed() >= timeout {
            return Err(format!("{url}: not ready after {timeout:?}: {last}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One plain HTTP/1.0 GET; returns (status, body).
pub fn http_get(hostport: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(hostport).map_err(|e| format!("connect {hostport}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.set_write_timeout(Some(Duration::from_secs(10))).ok();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {hostport}\r\nUser-Agent: pyko-tests\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad response: {}", head.lines().next().unwrap_or("")))?;
    Ok((code, body.to_string()))
}

/// The layer digests a manifest lists, in order.
pub fn layer_digests(manifest: &serde_json::Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .expect("a manifest's layers")
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// `pyko build -v` of the example app on `base`, pushed to `dest`, with
/// `cache` as its cache: the build most push tests start from. The output
/// is returned whatever the exit, for the test to judge.
pub fn push_example(base: &str, dest: &str, cache: &Path) -> std::process::Output {
    crate::common::run::pyko(
        &[
            "build",
            "-v",
            "--from",
            base,
            "--wheels",
            wheelhouse().to_str().unwrap(),
            "--app",
            example_app().to_str().unwrap(),
            "--push",
            dest,
        ],
        cache,
    )
}
