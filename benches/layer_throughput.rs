//! Layer-writing throughput: pyko's `write_layer` (tar + parallel gzip +
//! both digests) on a synthetic tree that compresses like installed Python
//! packages, against `tar | gzip -6` with the same two sha256 sums, and
//! `pigz -p2` when it is installed, measured in the same run on the same,
//! page-cached input. Prints seconds, MB/s and how many times faster pyko is.
//!
//!     cargo bench --bench layer_throughput
//!     PYKO_BENCH_MB=2000 cargo bench --bench layer_throughput   (default 500 MB)
//!
//! `cargo test --all-targets` also builds and runs this binary, without
//! `--bench`; it then only says how to run it, so the test suite stays quick.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use pyko::Cache;
use pyko::{write_layer, DiskFile, Entry, LayerOptions, Node};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("layer_throughput: not run in test mode; `cargo bench --bench layer_throughput` runs it");
        return;
    }
    let mb = std::env::var("PYKO_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500usize);
    throughput_vs_tar_gzip(mb);
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Semi-compressible synthetic data: words from a small vocabulary with
/// random numbers mixed in, compressing to roughly 0.3 like installed
/// Python packages do.
fn synth_tree(dir: &Path, total: usize, file_size: usize) {
    let words: Vec<&str> = "def class import return self None True False for in if else elif \
         while try except with as lambda yield async await numpy pandas array value index \
         data frame column row dtype shape"
        .split(' ')
        .collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut written = 0;
    let mut n = 0;
    while written < total {
        let sub = dir.join(format!("pkg{}", n / 100));
        std::fs::create_dir_all(&sub).unwrap();
        let mut buf = String::with_capacity(file_size + 64);
        while buf.len() < file_size {
            let r = rnd();
            if r % 16 == 0 {
                buf.push_str(&format!("{:x} ", r >> 20));
            } else {
                buf.push_str(words[(r >> 8) as usize % words.len()]);
                buf.push(if r % 11 == 0 { '\n' } else { ' ' });
            }
        }
        std::fs::write(sub.join(format!("mod{n}.py")), &buf).unwrap();
        written += buf.len();
        n += 1;
    }
}

fn time_shell(script: &str) -> f64 {
    let t = Instant::now();
    run(Command::new("bash").args(["-c", script]));
    t.elapsed().as_secs_f64()
}

fn throughput_vs_tar_gzip(mb: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("tree");
    synth_tree(&src, mb << 20, 256 << 10);
    let cache = Cache::open(tmp.path().join("cache")).unwrap();
    // Warm the page cache so every contender reads from memory.
    run(Command::new("sh")
        .arg("-c")
        .arg(format!("tar -cf - -C {} . > /dev/null", src.display())));

    let entries = || -> (Vec<Entry>, u64) {
        let mut v = Vec::new();
        let mut total = 0;
        for e in walkdir::WalkDir::new(&src).min_depth(1) {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(&src).unwrap().to_str().unwrap();
            if e.file_type().is_dir() {
                v.push(Entry::dir(rel, 0o755));
            } else {
                let size = e.metadata().unwrap().len();
                total += size;
                v.push(Entry {
                    path: rel.to_string(),
                    mode: 0o644,
                    node: Node::File {
                        size,
                        contents: Box::new(DiskFile(e.path().to_path_buf())),
                    },
                    owner: None,
                });
            }
        }
        (v, total)
    };
    let (e, total) = entries();
    let t = Instant::now();
    let (layer, _) = write_layer(e, &LayerOptions::default(), &cache).unwrap();
    let ours = t.elapsed().as_secs_f64();
    let mbs = |s: f64| total as f64 / 1e6 / s;
    let dir = src.display();
    let gzip = time_shell(&format!(
        "tar -cf - -C {dir} . | tee >(sha256sum >/dev/null) | gzip -6 | sha256sum >/dev/null"
    ));
    println!(
        "input {:.0} MB, pyko ratio {:.3}",
        total as f64 / 1e6,
        layer.size as f64 / total as f64
    );
    println!(
        "pyko write_layer:                     {ours:6.2} s {:7.1} MB/s",
        mbs(ours)
    );
    println!(
        "tar | gzip -6 | sha256sum (x2):      {gzip:6.2} s {:7.1} MB/s  pyko is {:.1}x",
        mbs(gzip),
        gzip / ours
    );
    if Command::new("pigz").arg("--version").output().is_ok() {
        let pigz = time_shell(&format!(
            "tar -cf - -C {dir} . | tee >(sha256sum >/dev/null) | pigz -p2 -6 | sha256sum >/dev/null"
        ));
        println!(
            "tar | pigz -p2 -6 | sha256sum (x2):  {pigz:6.2} s {:7.1} MB/s  pyko is {:.1}x",
            mbs(pigz),
            pigz / ours
        );
    } else {
        println!("pigz not installed: that peer is left out (apt-get install pigz)");
    }
}
