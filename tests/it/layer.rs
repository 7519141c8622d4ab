//! Layers written by pyko, read back by other tar/gzip implementations.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use pyko::cache::Cache;
use pyko::layer::{write_layer, DiskFile, Entry, LayerOptions, Node};

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn long_entries() -> (Vec<Entry>, String, String) {
    let long = format!("opt/{}/{}.py", "a".repeat(140), "b".repeat(120));
    let target = format!("../{}", "c".repeat(150));
    let mut big = Vec::new();
    for i in 0u32..3_000_000 {
        big.extend_from_slice(format!("{i} ").as_bytes());
    }
    let entries = vec![
        Entry::file(long.clone(), 0o640, b"x = 1\n".to_vec()),
        Entry::file("opt/big.txt", 0o644, big),
        Entry {
            path: "opt/link".into(),
            mode: 0o777,
            node: Node::Symlink {
                target: target.clone(),
            },
            owner: None,
        },
        Entry::file("usr/local/bin/run", 0o4755, b"#!/bin/sh\n".to_vec()),
    ];
    (entries, long, target)
}

/// GNU tar (through gzip, which reads all members) sees the full long names,
/// the symlink target, modes including setuid, and 0/0 ownership.
#[test]
fn gnu_tar_and_python_read_long_names_and_members() {
    let (cache, _g) = Cache::ephemeral().unwrap();
    let (entries, long, target) = long_entries();
    let opts = LayerOptions {
        mtime: 1_700_000_000,
        level: 6,
    };
    let (layer, blob) = write_layer(entries, &opts, &cache).unwrap();
    run(Command::new("gzip").arg("-t").arg(&blob));
    let sum = run(Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -dc {} | sha256sum", blob.display())));
    assert_eq!(format!("sha256:{}", &sum[..64]), layer.diff_id.as_str());

    let listing = run(Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvzf"])
        .arg(&blob));
    let lines: Vec<&str> = listing.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-rw-r----- 0/0") && l.ends_with(&long)),
        "{listing}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("lrwxrwxrwx 0/0")
                && l.ends_with(&format!("opt/link -> {target}"))),
        "{listing}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-rwsr-xr-x 0/0") && l.ends_with("usr/local/bin/run")),
        "{listing}"
    );
    assert!(
        lines.iter().all(|l| l.contains("2023-11-14 22:13:20")),
        "{listing}"
    );
    let dirs: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with('d'))
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert!(dirs.len() >= 5, "parents added: {listing}");

    // Python's tarfile reads PAX too and checks nothing leaked.
    let script = r#"
import gzip, sys, tarfile
with tarfile.open(fileobj=gzip.open(sys.argv[1]), mode="r|") as t:
    for m in t:
        assert m.uname == "" and m.gname == "", m.name
        assert m.uid == 0 and m.gid == 0, m.name
        assert not m.pax_headers or set(m.pax_headers) <= {"path", "linkpath"}, m.pax_headers
        print(m.name)
"#;
    let names = run(Command::new("python3").args(["-c", script]).arg(&blob));
    assert!(names.lines().any(|l| l == long), "{names}");
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

/// `cargo test --release --test layer -- --ignored --nocapture throughput`
#[test]
#[ignore = "benchmark: ~500 MB of synthetic data, run with --release --nocapture"]
fn throughput_vs_tar_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("tree");
    let mb = std::env::var("PYKO_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500usize);
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
        println!("pigz not installed: skipped");
    }
}
