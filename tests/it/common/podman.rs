//! A rootful podman with its own storage under a test's temp dir, set up as
//! TESTING.md says works here (vfs, cgroupfs, file events; `run` through
//! runc with explicit ulimits).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::image::run;

pub struct Podman {
    root: PathBuf,
}

impl Podman {
    pub fn new(dir: &Path) -> Podman {
        Podman {
            root: dir.to_path_buf(),
        }
    }

    /// Runs `podman ARGS…`, asserting success; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(self.root.join("root"))
            .arg("--runroot")
            .arg(self.root.join("runroot"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .args(args);
        run(&mut c)
    }

    /// `podman run --rm IMAGE ARGV…`, without network; returns stdout.
    pub fn run_image(&self, image: &str, argv: &[&str]) -> String {
        let mut args = vec![
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1000:1000",
            image,
        ];
        args.extend_from_slice(argv);
        self.run(&args)
    }
}
