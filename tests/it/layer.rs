//! Layers written by pyko, read back by other tar/gzip implementations.

use std::process::Command;

use pyko::Cache;
use pyko::{write_layer, Compression, Entry, LayerOptions, Node};

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
        compression: Compression::Gzip { level: 6 },
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

/// `--compression zstd`: the reference zstd tool reads every frame (one per
/// 4 MiB chunk) back to the very tar the gzip layer holds, and the blob is
/// the same from one write to the next.
#[test]
fn zstd_layers_hold_the_same_tar_and_the_zstd_tool_reads_them() {
    let (cache, _g) = Cache::ephemeral().unwrap();
    let opts = |compression| LayerOptions {
        mtime: 1_700_000_000,
        compression,
    };
    let (gz, _) = write_layer(long_entries().0, &opts(Compression::default()), &cache).unwrap();
    let zstd = Compression::Zstd { level: 3 };
    let (zs, blob) = write_layer(long_entries().0, &opts(zstd), &cache).unwrap();
    assert_eq!(zs.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
    assert_eq!(zs.diff_id, gz.diff_id, "same tar inside");
    assert_ne!(zs.digest, gz.digest);
    assert!(zs.size < gz.size, "zstd {} vs gzip {}", zs.size, gz.size);
    let (again, _) = write_layer(long_entries().0, &opts(zstd), &cache).unwrap();
    assert_eq!(again, zs);
    run(Command::new("zstd").arg("-t").arg(&blob));
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(format!("zstd -dc {} | sha256sum", blob.display())));
    assert_eq!(format!("sha256:{}", &out[..64]), zs.diff_id.as_str());
    // A frame per 4 MiB of tar: the big file alone spans several.
    let tar_len = run(Command::new("bash")
        .arg("-c")
        .arg(format!("zstd -dc {} | wc -c", blob.display())));
    let chunks = tar_len.trim().parse::<usize>().unwrap().div_ceil(4 << 20);
    assert!(chunks > 1);
    let frames = run(Command::new("zstd").args(["-lv"]).arg(&blob));
    assert!(
        frames.contains(&format!("# Zstandard Frames: {chunks}\n")),
        "{chunks} chunks: {frames}"
    );
    // An out-of-range level is refused, naming it, before anything is written.
    let err = write_layer(
        long_entries().0,
        &opts(Compression::Zstd { level: 22 }),
        &cache,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("zstd:22") && err.contains("1–19"), "{err}");
}
