//! The pipeline, wired in one place: spec → base → target → layers → image →
//! outputs. Each stage lives in its own module; this file only decides order,
//! what is cached, and what the user is told.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use crate::base::disk as base_disk;
use crate::cache::{Cache, CacheError};
use crate::inputs::spec::{BaseSource, BuildSpec, Command, TarballDest};
use crate::layer::app;
use crate::layer::writer::{write_layer, LayerOptions};
use crate::oci::digest::Digest;
use crate::oci::reference::Reference;
use crate::oci::Layer;
use crate::oci::{config, BlobSource, ImageLayer};
use crate::registry::{Client, ClientOptions};
use crate::ui::Reporter;
use crate::{base, output, target, wheel};

mod multi;

/// Bumped whenever the bytes pyko writes for the same inputs change, so a
/// cached deps layer from an older pyko is never reused.
const LAYER_FORMAT: &str = "pyko-deps-layer-v1";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Registry(Box<crate::registry::RegistryError>),
    #[error(transparent)]
    Base(#[from] base::BaseError),
    #[error(transparent)]
    BaseDisk(#[from] base_disk::DiskError),
    #[error(transparent)]
    Target(#[from] target::TargetError),
    #[error(transparent)]
    Wheel(#[from] wheel::WheelError),
    #[error(transparent)]
    Lock(#[from] crate::sources::LockError),
    #[error(transparent)]
    Layer(#[from] crate::layer::LayerError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Output(#[from] output::OutputError),
    #[error("platform {0}: {1}")]
    Platform(String, Box<BuildError>),
    #[error("--platform all: {0}")]
    NoPlatformFits(String),
    #[error("app directory {0}: not found or not a directory; --app takes the directory to copy into the image")]
    AppDir(PathBuf),
    #[error(transparent)]
    Venv(#[from] crate::target::venv::VenvError),
    #[error("reading wheel {path}: {source}")]
    ReadWheel {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<crate::registry::RegistryError> for BuildError {
    fn from(e: crate::registry::RegistryError) -> Self {
        BuildError::Registry(Box::new(e))
    }
}

/// What a build produced, for the caller to print.
#[derive(Debug)]
pub struct Outcome {
    /// `REF@sha256:…` for every pushed reference.
    pub pushed: Vec<String>,
    pub manifest_digest: Digest,
    /// Whether the deps layer came from the cache (nothing unzipped or compressed).
    pub deps_cached: bool,
}

pub fn build(spec: &BuildSpec, ui: &Reporter) -> Result<Outcome, BuildError> {
    // Read local inputs before touching the network: a typo fails in
    // milliseconds, and an unreadable app file is named before any download.
    let app_entries = match &spec.app {
        Some(dir) if !dir.is_dir() => return Err(BuildError::AppDir(dir.clone())),
        Some(dir) => Some((dir, app::app_entries(dir, &spec.workdir, None)?)),
        None => None,
    };
    let app_entries = match &spec.copies {
        Some(c) if !c.ops.is_empty() => Some((
            &c.context,
            crate::layer::copy::combine(app_entries.map(|(_, e)| e), c)?,
        )),
        _ => app_entries,
    };
    crate::sources::check_input(&spec.wheels)?;

    let (cache, _ephemeral) = match &spec.cache_dir {
        Some(dir) => (Cache::open(dir)?, None),
        None => {
            let (c, guard) = Cache::ephemeral()?;
            (c, Some(guard))
        }
    };
    let client = Client::new(ClientOptions {
        insecure_registries: spec.registry.insecure.clone(),
        ca_certs: spec.registry.ca_certs.clone(),
        ..Default::default()
    })?;

    let layer_opts = LayerOptions {
        mtime: spec.epoch,
        ..Default::default()
    };
    // The app layer is the same for every platform: written once.
    let app_layer = match app_entries {
        Some((app_dir, entries)) => {
            ui.info(format!(
                "app layer: {} entries from {}",
                entries.len(),
                app_dir.display()
            ));
            let (layer, path) = write_layer(entries, &layer_opts, &cache)?;
            ui.debug(format!("app layer {} ({} bytes)", layer.digest, layer.size));
            Some((layer, path))
        }
        None => None,
    };
    if spec.platforms.len() > 1 || spec.all_platforms {
        return crate::build::multi::build_index(spec, ui, &client, &cache, app_layer.as_ref());
    }
    let (image, deps_cached) = platform_image(
        spec,
        &spec.platform,
        app_layer.as_ref(),
        &client,
        &cache,
        ui,
    )?;
    let manifest = image.manifest_blob();
    ui.info(format!("image {}", manifest.digest));

    let mut pushed = Vec::new();
    // File outputs need every byte; a push keeps base layers where they are
    // (so it can mount them), hence a separate copy with local sources.
    if spec.outputs.tarball.is_some() || spec.outputs.oci_layout.is_some() {
        let mut local = image.clone();
        let paths = materialize(&client, &local.layers, &cache)?;
        for (l, p) in local.layers.iter_mut().zip(paths) {
            l.source = BlobSource::File(p);
        }
        if let Some(dir) = &spec.outputs.oci_layout {
            let name = spec.outputs.tags.first().cloned();
            output::layout::write_layout(dir, &[(local.clone(), name)])?;
            ui.info(format!("wrote OCI layout {}", dir.display()));
        }
        if let Some(dest) = &spec.outputs.tarball {
            let path = match dest {
                TarballDest::File(p) => p.clone(),
                TarballDest::Stdout => PathBuf::from("-"),
            };
            output::tarball::write_tarball(&path, &local, &spec.outputs.tags)?;
            ui.info(format!("wrote tarball {}", path.display()));
        }
    }
    let mut pushed_to: Vec<&Reference> = Vec::new();
    for dest in &spec.outputs.push {
        let digest =
            output::push::push(&client, &mount_from(&image, dest, &pushed_to), &cache, dest)?;
        pushed_to.push(dest);
        ui.info(format!(
            "pushed {}",
            Reference {
                digest: None,
                ..dest.clone()
            }
        ));
        // `repo@digest` without the tag: the one form every tool (docker,
        // skopeo, crane, kubectl) accepts, and immune to the tag moving.
        pushed.push(format!("{}@{digest}", dest.name()));
    }
    Ok(Outcome {
        pushed,
        manifest_digest: manifest.digest,
        deps_cached,
    })
}

/// One platform's image: base for that platform, target detected from it,
/// the deps layer for its wheels, the shared app layer, the config.
pub(crate) fn platform_image(
    spec: &BuildSpec,
    platform: &crate::oci::Platform,
    app_layer: Option<&(Layer, PathBuf)>,
    client: &Client,
    cache: &Cache,
    ui: &Reporter,
) -> Result<(crate::oci::Image, bool), BuildError> {
    ui.info(format!("resolving base {} for {platform}", spec.base));
    let base = match &spec.base {
        BaseSource::Registry(r) => base::resolve(client, r, platform, cache)?,
        BaseSource::Disk(d) => base_disk::resolve(d, platform, cache)?,
    };
    ui.debug(format!("base manifest {}", base.manifest_digest));
    let base_blobs = materialize(client, &base.image.layers, cache)?;
    let target = target::detect(&base.image.config, &base_blobs, &spec.target)?;
    let venv = spec
        .venv
        .as_deref()
        .map(|d| crate::target::venv::Venv::new(d, &target, &base.image.config))
        .transpose()?;
    let target = match &venv {
        Some(v) => v.target(&target),
        None => target,
    };
    ui.info(format!("target: {target}"));

    let layer_opts = LayerOptions {
        mtime: spec.epoch,
        ..Default::default()
    };
    // Which wheels fit depends on the target, so they are chosen (and
    // downloaded, for lock inputs) per platform.
    let fetched = crate::sources::fetch_wheels(&spec.wheels, &target, cache, ui)?;
    let wheels = &fetched.wheels;
    let (deps, deps_cached) = deps_layer(
        wheels,
        fetched.requested.clone(),
        &target,
        venv.as_ref(),
        &layer_opts,
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
    Ok((image, deps_cached))
}

/// For the second and later `--push` to one registry: local layers are
/// offered for mounting from a repository pushed already, so each blob
/// crosses the wire once whatever the number of tags and repositories. A
/// refused mount falls back to uploading from the cache, where they are.
pub(crate) fn mount_from(
    image: &crate::oci::Image,
    dest: &Reference,
    done: &[&Reference],
) -> crate::oci::Image {
    let mut image = image.clone();
    if let Some(prev) = done.iter().find(|p| p.registry == dest.registry) {
        for l in &mut image.layers {
            if matches!(l.source, BlobSource::File(_)) {
                l.source = BlobSource::Registry {
                    registry: prev.registry.clone(),
                    repository: prev.repository.clone(),
                };
            }
        }
    }
    image
}

/// Downloads (or finds in the cache) every layer that is still in a registry.
fn materialize(
    client: &Client,
    layers: &[ImageLayer],
    cache: &Cache,
) -> Result<Vec<PathBuf>, BuildError> {
    std::thread::scope(|s| {
        let handles: Vec<_> = layers
            .iter()
            .map(|l| s.spawn(move || client.materialize(l, cache)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .expect("download thread panicked")
                    .map_err(BuildError::from)
            })
            .collect()
    })
}

/// The deps layer, from the cache when the wheels, target and options are
/// unchanged (keyed by content, never by paths or mtimes, so CI caches
/// survive fresh checkouts).
fn deps_layer(
    wheels: &[PathBuf],
    requested: Option<Vec<String>>,
    target: &target::PythonTarget,
    venv: Option<&crate::target::venv::Venv>,
    opts: &LayerOptions,
    cache: &Cache,
    ui: &Reporter,
) -> Result<((Layer, PathBuf), bool), BuildError> {
    let mut key = Sha256::new();
    key.update(LAYER_FORMAT);
    key.update(format!("{target:?}\n{opts:?}\n{venv:?}\n"));
    if let Some(names) = &requested {
        key.update(format!("requested {names:?}\n"));
    }
    for w in wheels {
        let file = std::fs::File::open(w).map_err(|source| BuildError::ReadWheel {
            path: w.clone(),
            source,
        })?;
        let mut r = crate::oci::digest::HashingReader::new(file);
        std::io::copy(&mut r, &mut std::io::sink()).map_err(|source| BuildError::ReadWheel {
            path: w.clone(),
            source,
        })?;
        let name = w.file_name().unwrap_or_default().to_string_lossy();
        key.update(format!("{name} {}\n", r.finish().1));
    }
    let key = format!("deps-{}", hex::encode(key.finalize()));
    if let Some(layer) = cache
        .get_key(&key)
        .and_then(|b| serde_json::from_slice::<Layer>(&b).ok())
    {
        if let Some(path) = cache.get(&layer.digest, Some(layer.size)) {
            ui.info(format!(
                "deps layer {} (cached, {} wheels)",
                layer.digest,
                wheels.len()
            ));
            return Ok(((layer, path), true));
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
    Ok(((layer, path), false))
}

fn config_changes(spec: &BuildSpec) -> config::ConfigChanges {
    let cmd = |c: &Command| match c {
        Command::Exec(v) => config::Command::Exec(v.clone()),
        Command::Shell(s) => config::Command::Shell(s.clone()),
    };
    config::ConfigChanges {
        exposed_ports: spec.ports.clone(),
        cmd: spec.cmd.as_ref().map(cmd),
        entrypoint: spec.entrypoint.as_ref().map(cmd),
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
