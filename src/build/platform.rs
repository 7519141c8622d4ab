//! One platform's image: the base for that platform, the target detected
//! from its files, the deps layers for the wheels that fit it, the shared
//! app layer, and the config.

use sha2::{Digest as _, Sha256};

use super::deps::{deps_budget, deps_layers, CacheRepo, DepsContext};
use super::early::EarlyPush;
use super::{cache_repo, layer_options, BuildError};
use crate::cache::Cache;
use crate::inputs::spec::{BaseSource, BuildSpec};
use crate::oci::{config, BlobSource, Image, ImageLayer, Layer, Platform};
use crate::registry::Client;
use crate::target::venv::Venv;
use crate::ui::Reporter;
use crate::{base, target};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub(super) fn image(
    spec: &BuildSpec,
    platform: &Platform,
    app_layer: Option<&(Layer, PathBuf)>,
    client: &Client,
    cache: &Cache,
    ui: &Reporter,
    early: Option<&EarlyPush>,
) -> Result<Image, BuildError> {
    ui.info(format!("resolving base {} for {platform}", spec.base));
    let base = match &spec.base {
        BaseSource::Registry(r) => base::resolve(client, r, platform, cache)?,
        BaseSource::Disk(d) => base::disk::resolve(d, platform, cache)?,
    };
    ui.debug(format!("base manifest {}", base.manifest_digest));
    let shared = spec.cache_repo.as_ref().map(|r| (client, r));
    let target = base_target(&base, &spec.target, shared, client, cache, ui)?;
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
    let pinned = crate::sources::pin_wheels(&spec.wheels, &target, cache, client.http(), ui)?;
    let opts = layer_options(spec);
    let cx = DepsContext {
        requested: pinned.requested.clone(),
        target: &target,
        venv: venv.as_ref(),
        opts: &opts,
        budget: deps_budget(base.image.layers.len(), usize::from(app_layer.is_some())),
        cache,
        cache_repo: spec.cache_repo.as_ref().map(|r| (client, r)),
        ui,
        early,
    };
    // A lock names every wheel with its hash: the layers may be found
    // (locally or in the --cache-repo) before any wheel is downloaded.
    let known = pinned
        .known_files(client.http(), cx.cache_repo.is_some())
        .map(|files| {
            files
                .into_iter()
                .filter_map(|(name, hex)| Some((name, format!("sha256:{hex}").parse().ok()?)))
                .collect::<Vec<_>>()
        });
    let deps = match known.as_deref().and_then(|files| cx.prebuilt(files)) {
        Some(layers) => layers,
        None => {
            let fetched = pinned.fetch(cache, client.http(), ui)?;
            deps_layers(&fetched.wheels, &cx)?
        }
    };

    let mut image = base.image.clone();
    let mut added = Vec::new();
    for d in deps {
        // History names the wheels installed for this platform (never the
        // wheel dir's count: a dir shared by several platforms must not
        // change one platform's config digest).
        added.push((d.layer.clone(), d.history));
        image.layers.push(ImageLayer {
            layer: d.layer,
            source: d.source,
        });
    }
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

/// Bumped when detection could answer differently for the same base.
const TARGET_FORMAT: &str = "pyko-target-v2";

/// The base's target, remembered per base manifest digest (and the flags
/// that override detection): a warm build reads no base layer at all, and a
/// push-only build downloads none (the push HEADs or mounts them instead).
pub(super) fn base_target(
    base: &base::BaseImage,
    overrides: &target::Overrides,
    shared: CacheRepo,
    client: &Client,
    cache: &Cache,
    ui: &Reporter,
) -> Result<target::PythonTarget, BuildError> {
    let stamp = format!("{TARGET_FORMAT}\n{}\n{:?}", base.manifest_digest, overrides);
    let key = format!("target-{}", hex::encode(Sha256::digest(stamp)));
    if let Some(t) = cache
        .get_key(&key)
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        ui.debug(format!("target of {} (cached)", base.manifest_digest));
        return Ok(t);
    }
    if let Some(t) = shared
        .and_then(|(client, repo)| cache_repo::lookup(client, repo, &key, ui))
        .and_then(|entry| serde_json::from_value::<target::PythonTarget>(entry.value?).ok())
    {
        ui.debug(format!("target of {} (--cache-repo)", base.manifest_digest));
        cache.put_key(&key, &serde_json::to_vec(&t).expect("target serializes"))?;
        return Ok(t);
    }
    // From the top down, one layer at a time, only as far as needed: on a
    // fresh cache an official-style base costs its top layer, not all.
    let layers = &base.image.layers;
    let target = target::detect_lazy(
        &base.image.config,
        layers.len(),
        |i| {
            ui.debug(format!(
                "reading base layer {} for the target",
                layers[i].layer.digest
            ));
            client.materialize(&layers[i], cache)
        },
        overrides,
    )??;
    cache.put_key(
        &key,
        &serde_json::to_vec(&target).expect("target serializes"),
    )?;
    if let Some((client, repo)) = shared {
        let value = serde_json::to_value(&target).expect("target serializes");
        let what = format!("the target of {}", base.manifest_digest);
        cache_repo::store(client, repo, &key, (&[], Some(value)), &what, cache, ui);
    }
    Ok(target)
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
