//! Pushes the image of an OCI image layout to a registry with pyko's push
//! (HEAD, mount, streamed upload, manifest), the blobs read straight from
//! the layout. Used by `benches/push_1g.sh` to measure peak memory.
//!
//! Usage: push_layout LAYOUT_DIR REGISTRY/REPO:TAG

use std::path::PathBuf;

use pyko::Cache;
use pyko::Digest;
use pyko::Layer;
use pyko::{BlobSource, Image, ImageLayer};
use pyko::{Client, ClientOptions};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, layout, dest] = &args[..] else {
        anyhow::bail!("usage: push_layout LAYOUT_DIR REGISTRY/REPO:TAG");
    };
    let layout = PathBuf::from(layout);
    let blob = |d: &str| layout.join("blobs").join(d.replacen(':', "/", 1));
    let json = |p: PathBuf| -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&std::fs::read(&p)?)?)
    };
    let index = json(layout.join("index.json"))?;
    let manifest = json(blob(index["manifests"][0]["digest"].as_str().unwrap_or("")))?;
    let config = json(blob(manifest["config"]["digest"].as_str().unwrap_or("")))?;
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut layers = Vec::new();
    for (l, diff_id) in manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(&diff_ids)
    {
        let digest: Digest = l["digest"].as_str().unwrap_or("").parse()?;
        let diff_id: Digest = diff_id.as_str().unwrap_or("").parse()?;
        layers.push(ImageLayer {
            source: BlobSource::File(blob(digest.as_str())),
            layer: Layer {
                digest,
                diff_id,
                size: l["size"].as_u64().unwrap_or(0),
                media_type: l["mediaType"].as_str().unwrap_or("").to_string(),
            },
        });
    }
    let image = Image {
        config,
        layers,
        annotations: Default::default(),
    };
    let client = Client::new(ClientOptions::default())?;
    let (cache, _guard) = Cache::ephemeral()?;
    let digest = pyko::push(&client, &image, &cache, &dest.parse()?)?;
    println!("{dest}@{digest}");
    Ok(())
}
