//! Only the work `pyko build` does for the deps layer, for `benches/install.sh`:
//! detect the target from a base image in an OCI layout, install the wheels
//! (unzip, verify every file against RECORD, write launchers and RECORD) and
//! write the layer (tar, parallel gzip, sha256 of both) into a blob cache.
//! No registry, no config or manifest. Prints the seconds each step took.
//!
//! `cargo run --release --example deps_layer -- BASE_LAYOUT WHEEL_DIR CACHE_DIR`

use std::path::{Path, PathBuf};
use std::time::Instant;

use pyko::Cache;
use pyko::{find_wheels, install_wheels as install, InstallOptions};
use pyko::{write_layer, LayerOptions};

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [layout, wheels, cache] = args.as_slice() else {
        anyhow::bail!("usage: deps_layer BASE_LAYOUT WHEEL_DIR CACHE_DIR");
    };
    let blob = |d: &str| layout.join("blobs").join(d.replacen(':', "/", 1));
    // Follow index.json (and an image index) to the linux/amd64 manifest.
    let mut doc = json(&layout.join("index.json"));
    while let Some(list) = doc["manifests"].as_array() {
        let m = list
            .iter()
            .find(|m| m["platform"]["architecture"].as_str().unwrap_or("amd64") == "amd64")
            .expect("an amd64 manifest");
        doc = json(&blob(m["digest"].as_str().unwrap()));
    }
    let config = json(&blob(doc["config"]["digest"].as_str().unwrap()));
    let layers: Vec<PathBuf> = doc["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| blob(l["digest"].as_str().unwrap()))
        .collect();

    let t = Instant::now();
    let target = pyko::detect_target(&config, &layers, &Default::default())?;
    let detect_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let wheels = find_wheels(wheels)?;
    let inst = install(&wheels, &target, &InstallOptions { requested: None })?;
    let n = inst.entries.len();
    let (layer, path) = write_layer(inst.entries, &LayerOptions::default(), &Cache::open(cache)?)?;
    let install_s = t.elapsed().as_secs_f64();
    println!("target_detect_s={detect_s:.2}");
    println!("install_and_layer_s={install_s:.2}");
    println!(
        "wheels={} entries={n} layer_bytes={}",
        wheels.len(),
        layer.size
    );
    println!("digest={} diff_id={}", layer.digest, layer.diff_id);
    println!("blob={}", path.display());
    Ok(())
}
