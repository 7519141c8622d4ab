//! Small pushable images of random layers, and what the registry's access
//! log says about how they were pushed.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use pyko::HashingWriter;
use pyko::{media_types::OCI_LAYER_TAR_GZIP as MEDIA_TYPE_TAR_GZIP, Layer};
use pyko::{BlobSource, Image, ImageLayer};

use super::registry::Registry;

/// A gzip tar with one file of `size` random bytes, written to `dir`;
/// returns the layer and its file.
pub fn random_layer(dir: &Path, name: &str, size: usize) -> ImageLayer {
    let mut data = vec![0u8; size];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut data))
        .unwrap();
    let path = dir.join(format!("{name}.tar.gz"));
    let file = HashingWriter::new(std::fs::File::create(&path).unwrap());
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(HashingWriter::new(gz));
    let mut h = tar::Header::new_gnu();
    h.set_size(size as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, name, &data[..]).unwrap();
    let (gz, diff_id, _) = tar.into_inner().unwrap().finish();
    let (mut file, digest, size) = gz.finish().unwrap().finish();
    file.flush().unwrap();
    ImageLayer {
        layer: Layer {
            digest,
            diff_id,
            size,
            media_type: MEDIA_TYPE_TAR_GZIP.into(),
        },
        source: BlobSource::File(path),
    }
}

pub fn test_image(dir: &Path, arch: &str, sizes: &[usize]) -> Image {
    let layers: Vec<ImageLayer> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| random_layer(dir, &format!("{arch}-layer{i}"), *s))
        .collect();
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.layer.diff_id.as_str()).collect();
    let config = serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["python3"], "x-unknown": {"kept": true}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    Image {
        config,
        layers,
        annotations: Default::default(),
    }
}

pub fn skopeo_raw(reg: &Registry, reference: &str) -> Vec<u8> {
    let out = Command::new("skopeo")
        .arg("inspect")
        .arg("--raw")
        .args(reg.skopeo_args())
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Access-log lines for `method` requests whose path starts with `path`.
pub fn count_requests(reg: &Registry, method: &str, path: &str) -> usize {
    let needle = format!("\"{method} {path}");
    reg.log().lines().filter(|l| l.contains(&needle)).count()
}
