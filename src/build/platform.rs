//! One platform's image: the base for that platform, the target detected
//! from its files, the deps layer for the wheels that fit it, the shared
//! app layer, and the config.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use super::{layer_options, materialize, BuildError};
use crate::cache::Cache;
use crate::inputs::spec::{BaseSource, BuildSpec};
use crate::layer::writer::{write_layer, LayerOptions};
use crate::oci::{config, BlobSource, Image, ImageLayer, Layer, Platform};
use crate::registry::Client;
use crate::target::venv::Venv;
use crate::ui::Reporter;
use crate::{base, target, wheel};

/// Bumped whenever the bytes pyko writes for the same inputs change, so a
/// cached deps layer from an older pyko is never reused.
const LAYER_FORMAT: &str = "pyko-deps-layer-v1";

pub(super) fn image(
    spec: &BuildSpec,
    platform: &Platform,
    app_layer: Option<&(Layer, PathBuf)>,
    client: &Client,
    cache: &Cache,
    ui: &Reporter,
) -> Result<Image, BuildError> {
    ui.info(format!("resolving base {} for {platform}", spec.base));
    let base = match &spec.base {
        BaseSource::Registry(r) => base::resolve(client, r, platform, cache)?,
        BaseSource::Disk(d) => base::disk::resolve(d, platform, cache)?,
    };
    ui.debug(format!("base manifest {}", base.manifest_digest));
    let base_blobs = materialize(client, &base.image.layers, cache)?;
    let target = target::detect(&base.image.config, &base_blobs, &spec.target)?;
    let venv = spec
        .venv
        .as_deref()
        .map(|d| Venv::new(d, &target, &base.image.config))
        .transpose()?;
    let target = match &venv {
        Some(v) => v.target(&target),
        None => target,
    };
    ui.info(format!("target: {target}"));

    // Which wheels fit depends on the target, so they are chosen (and
    // downloaded, for lock inputs) per platform.
    let fetched = crate::sources::fetch_wheels(&spec.wheels, &target, cache, client.http(), ui)?;
    let deps = deps_layer(
        &fetched.wheels,
        fetched.requested.clone(),
        &target,
        venv.as_ref(),
        &layer_options(spec),
        cache,
        ui,
    )?;

    let mut image = base.image.clone();
    let mut added = vec![(
        deps.0.clone(),
        // Names the scheme, not a wheel count: a wheel dir shared by several
        // platforms must not change one platform's config digest.
        format!("pyko: pip install into {}", target.scheme.purelib),
    )];
    image.layers.push(ImageLayer {
        layer: deps.0,
        source: BlobSource::File(deps.1),
    });
    if let Some((layer, path)) = app_layer {
        // History names the app dir as `.`, as a Dockerfile's `COPY . .`
        // would: the checkout's path must not change the image digest.
        added.push((layer.clone(), format!("pyko: COPY . {}", spec.workdir)));
        image.layers.push(ImageLayer {
            layer: layer.clone(),
            source: BlobSource::File(path.clone()),
        });
    }
    let mut changes = config_changes(spec);
    if let Some(v) = &venv {
        changes.path_prepend.push(v.bin_dir());
    }
    image.config = config::apply(&base.image.config, &changes, &added)?;
    image.annotations = base_annotations(&spec.base, &base);
    Ok(image)
}

/// The deps layer, from the cache when the wheels, target and options are
/// unchanged (keyed by content, never by paths or mtimes, so CI caches
/// survive fresh checkouts).
fn deps_layer(
    wheels: &[PathBuf],
    requested: Option<Vec<String>>,
    target: &target::PythonTarget,
    venv: Option<&Venv>,
    opts: &LayerOptions,
    cache: &Cache,
    ui: &Reporter,
) -> Result<(Layer, PathBuf), BuildError> {
    let mut key = Sha256::new();
    key.update(LAYER_FORMAT);
    key.update(format!("{target:?}\n{opts:?}\n{venv:?}\n"));
    if let Some(names) = &requested {
        key.update(format!("requested {names:?}\n"));
    }
    for w in wheels {
        let file = fs_err::File::open(w).map_err(BuildError::ReadWheel)?;
        let mut r = crate::oci::HashingReader::new(file);
        std::io::copy(&mut r, &mut std::io::sink()).map_err(BuildError::ReadWheel)?;
        let name = w.file_name().unwrap_or_default().to_string_lossy();
        key.update(format!("{name} {}\n", r.finish().1));
    }
    let key = format!("deps-{}", hex::encode(key.finalize()));
    if let Some(layer) = cache
        .get_key(&key)
        .and_then(|b| serde_json::from_slice::<Layer>(&b).ok())
    {
        if let Some(path) = cache.get(&layer.digest, Some(layer.size)) {
            ui.cache_hit(format!("deps layer {}", layer.digest));
            crate::ui::record(|s| s.layers_cached += 1);
            ui.info(format!(
                "deps layer {} (cached, {} wheels)",
                layer.digest,
                wheels.len()
            ));
            return Ok((layer, path));
        }
    }
    let started = Instant::now();
    let installation = wheel::install(wheels, target, &wheel::InstallOptions { requested })?;
    for w in &installation.warnings {
        ui.info(format!("warning: {w}"));
    }
    let mut entries = installation.entries;
    entries.extend(venv.map(|v| v.entries()).unwrap_or_default());
    let n = entries.len();
    let (layer, path) = write_layer(entries, opts, cache)?;
    ui.info(format!(
        "deps layer {}: {} wheels, {n} entries, {:.1} MB in {:.1}s",
        layer.digest,
        wheels.len(),
        layer.size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ));
    cache.put_key(&key, &serde_json::to_vec(&layer).expect("layer serializes"))?;
    Ok((layer, path))
}

fn config_changes(spec: &BuildSpec) -> config::ConfigChanges {
    config::ConfigChanges {
        exposed_ports: spec.ports.clone(),
        cmd: spec.cmd.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: spec.env.clone(),
        path_prepend: Vec::new(),
        workdir: Some(spec.workdir.clone()),
        user: spec.user.clone(),
        labels: spec.labels.clone(),
        created: config::rfc3339(spec.epoch),
    }
}

/// `base.name` only for a registry base: a path on the build machine is
/// no image reference, and would make the manifest depend on where the
/// checkout lives.
fn base_annotations(from: &BaseSource, base: &base::BaseImage) -> BTreeMap<String, String> {
    let digest = base.index_digest.as_ref().unwrap_or(&base.manifest_digest);
    let mut a = BTreeMap::from([(
        "org.opencontainers.image.base.digest".to_string(),
        digest.to_string(),
    )]);
    if let BaseSource::Registry(r) = from {
        a.insert(
            "org.opencontainers.image.base.name".to_string(),
            r.to_string(),
        );
    }
    a
}
