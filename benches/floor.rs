//! The hard floor for one layer (issue 15, column (e) of `benches/cold.sh`):
//! a tar already in memory, deflated at pyko's level in pyko's 4 MiB chunks
//! on every core with libdeflate, plus the sha256 of the tar (diff_id) and
//! of the compressed stream (digest). No file system, no tar writing, no
//! wheel inflating: nothing a builder could do is faster than this.
//!
//!     PYKO_FLOOR_TAR=layer.tar cargo bench --bench floor
//!
//! Prints `seconds compressed_bytes` on one line for the script to read.
//! Without `--bench` (under `cargo test --all-targets`) it only says how to run it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};

const CHUNK: usize = 4 << 20;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("floor: not run in test mode; PYKO_FLOOR_TAR=FILE cargo bench --bench floor");
        return;
    }
    let path = std::env::var("PYKO_FLOOR_TAR").expect("PYKO_FLOOR_TAR=path of a tar");
    let level: i32 = std::env::var("PYKO_FLOOR_LEVEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let tar = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (secs, size) = floor(&tar, level);
    println!("{secs:.3} {size}");
}

fn floor(tar: &[u8], level: i32) -> (f64, usize) {
    let start = Instant::now();
    let chunks: Vec<&[u8]> = tar.chunks(CHUNK).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let mut members: Vec<Vec<u8>> = vec![Vec::new(); chunks.len()];
    let diff_id = std::thread::scope(|s| {
        let hashing = s.spawn(|| Sha256::digest(tar));
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let lvl = libdeflater::CompressionLvl::new(level).expect("level 0-12");
                    let mut c = libdeflater::Compressor::new(lvl);
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(chunk) = chunks.get(i) else { break };
                        let mut out = vec![0; c.gzip_compress_bound(chunk.len())];
                        let n = c.gzip_compress(chunk, &mut out).expect("bound");
                        out.truncate(n);
                        done.push((i, out));
                    }
                    done
                })
            })
            .collect();
        for w in workers {
            for (i, m) in w.join().expect("worker") {
                members[i] = m;
            }
        }
        hashing.join().expect("hasher")
    });
    let mut digest = Sha256::new();
    let mut size = 0;
    for m in &members {
        digest.update(m);
        size += m.len();
    }
    let digest = digest.finalize();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "floor: diff_id sha256:{} digest sha256:{} ({cores} cores)",
        hex::encode(diff_id),
        hex::encode(digest)
    );
    (secs, size)
}
