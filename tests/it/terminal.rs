//! A build in a real terminal: tmux runs `pyko build` in an 80-column
//! pane; captures taken while it runs must show the live bars, and the
//! final screen must hold only the plain step lines and the summary, with
//! every finished bar cleared (issue 16: copies of bars used to stay).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::fixtures::{base_layout, require_tool, wheels_named, Flavour};
use crate::common::run::pyko_bin;

/// A tmux server of our own (its socket in a temp dir), killed on drop.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new(require_tool("tmux"));
        c.arg("-S").arg(&self.socket).env("TERM", "xterm-256color");
        c
    }

    /// The whole pane, scrollback included, wrapped lines joined.
    fn capture(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-J", "-S", "-", "-t", "pyko"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// A line drawn by a bar, live or left over: a rate, or a bar's prefix.
fn is_bar(line: &str) -> bool {
    let l = line.trim_start();
    line.contains("B/s") || l.starts_with("compress ") || l.starts_with("install ")
}

/// numpy and scipy (a few seconds of compression each, so bars are drawn
/// many times) and a small app.
fn inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let wheels = wheels_named(&dir.join("wheels"), &["numpy-", "scipy-"]);
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("main.py"), "import scipy\n").unwrap();
    (wheels, app)
}

#[test]
fn bars_render_in_80_columns_and_leave_a_clean_screen() {
    let tmp = tempfile::tempdir().unwrap();
    let (wheels, app) = inputs(tmp.path());
    let base = format!("oci-layout:{}", base_layout(Flavour::Slim).display());
    let script = tmp.path().join("run.sh");
    std::fs::write(
        &script,
        format!(
            "unset SOURCE_DATE_EPOCH PIP_INDEX_URL UV_INDEX_URL\n\
             export PYKO_CACHE_DIR='{cache}' PYKO_NO_CONFIG=1\n\
             '{pyko}' build --from '{base}' --wheels '{wheels}' --app '{app}' --tarball '{tar}'\n\
             echo \"EXIT $?\"\n\
             exec sleep 600\n",
            cache = tmp.path().join("cache").display(),
            pyko = pyko_bin().display(),
            wheels = wheels.display(),
            app = app.display(),
            tar = tmp.path().join("app.tar").display(),
        ),
    )
    .unwrap();
    let tmux = Tmux {
        socket: tmp.path().join("tmux.sock"),
    };
    let st = tmux
        .cmd()
        .args([
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "50",
            "-s",
            "pyko",
            "sh",
        ])
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success());

    let start = Instant::now();
    let mut bars_seen = Vec::new();
    let screen = loop {
        let screen = tmux.capture();
        if screen.contains("EXIT ") {
            break screen;
        }
        bars_seen.extend(screen.lines().filter(|l| is_bar(l)).map(str::to_string));
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no end after 300 s:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The bars drew while the build ran, with sizes and a rate, in 80 columns.
    assert!(
        bars_seen
            .iter()
            .any(|l| l.trim_start().starts_with("compress ") && l.contains("MiB/s")),
        "no compression bar seen: {bars_seen:?}"
    );
    assert!(
        bars_seen.iter().all(|l| l.trim_end().chars().count() <= 80),
        "{bars_seen:?}"
    );

    let lines: Vec<&str> = screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.last(), Some(&"EXIT 0"), "{screen}");
    for l in &lines {
        assert!(
            !is_bar(l),
            "a bar left on the final screen: {l:?}\n{screen}"
        );
        assert!(
            l.starts_with("[") || l.starts_with("built sha256:") || *l == "EXIT 0",
            "not a step line: {l:?}\n{screen}"
        );
    }
    let compressed = lines
        .iter()
        .filter(|l| l.contains("] compressed layer of"))
        .count();
    assert!(compressed >= 2, "{screen}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("built sha256:"))
            .count(),
        1,
        "{screen}"
    );
}
