//! The pipeline, wired in one place: spec → base → target → layers → image →
//! outputs. Each stage lives in its own module; this folder only decides
//! order, what is cached, and what the user is told.
//!
//! One path for one platform or many: every platform asked for gets its
//! image (`platform.rs`), the images form one `ImageSet` (an index when
//! several platforms were asked for), and every output writes that set
//! (`publish.rs`). Nothing is emulated: each target is read from its
//! platform's base files.

use std::path::PathBuf;

use crate::cache::{Cache, CacheError};
use crate::inputs::spec::BuildSpec;
use crate::layer::app;
use crate::layer::dockerignore::DockerIgnore;
use crate::layer::writer::{write_layer, LayerOptions};
use crate::oci::{config, ImageLayer, ImageSet, Layer};
use crate::registry::{Client, ClientOptions};
use crate::ui::Reporter;
use crate::{base, output, target, wheel};

mod cache_repo;
mod deps;
mod early;
mod hashes;
mod lock;
mod platform;
mod platforms;
mod publish;
mod report;

pub use report::{Report, SCHEMA as REPORT_SCHEMA};

pub use lock::lock;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Registry(Box<crate::registry::RegistryError>),
    #[error(transparent)]
    Base(#[from] base::BaseError),
    #[error(transparent)]
    BaseDisk(#[from] base::disk::DiskError),
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
    #[error("platform {platform}")]
    Platform {
        platform: String,
        source: Box<BuildError>,
    },
    #[error("--platform all: {0}")]
    NoPlatformFits(String),
    #[error("app directory {0}: not found or not a directory; --app takes the directory to copy into the image")]
    AppDir(PathBuf),
    #[error(transparent)]
    Venv(#[from] crate::target::venv::VenvError),
    #[error(transparent)]
    LockWrite(#[from] crate::sources::lockfile::LockWriteError),
    /// The message of the `fs_err` cause names the wheel's path.
    #[error("reading wheel")]
    ReadWheel(#[source] std::io::Error),
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
    /// Everything `--json` and the summary line say.
    pub report: Report,
}

pub fn build(spec: &BuildSpec, ui: &Reporter) -> Result<Outcome, BuildError> {
    // Read local inputs before touching the network: a typo fails in
    // milliseconds, and an unreadable app file is named before any download.
    let app_entries = app_entries(spec)?;
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

    // The app layer is the same for every platform: written once.
    let app_layer = match app_entries {
        Some((app_dir, entries)) => {
            ui.info(format!(
                "app layer: {} entries from {}",
                entries.len(),
                app_dir.display()
            ));
            let (layer, path) = write_layer(entries, &layer_options(spec), &cache)?;
            ui.debug(format!("app layer {} ({} bytes)", layer.digest, layer.size));
            Some((layer, path))
        }
        None => None,
    };
    let (set, early) = std::thread::scope(|s| {
        let early = early::start(s, spec, &client, &cache, ui);
        if let (Some(e), Some((layer, path))) = (&early, &app_layer) {
            e.offer(layer, path);
        }
        let set = image_set(
            spec,
            app_layer.as_ref(),
            &client,
            &cache,
            ui,
            early.as_ref(),
        );
        let early = early.map(early::EarlyPush::finish).transpose();
        (set, early)
    });
    // A failed build says why before a failed early upload does.
    let set = set?;
    let early = early?.unwrap_or_default();
    let pushed = publish::publish(spec, &set, &early, &client, &cache, ui)?;
    let report = report::report(&set, &pushed, spec.report_contents, ui);
    Ok(Outcome { pushed, report })
}

/// The app directory and `COPY` instructions, walked into layer entries.
fn app_entries(
    spec: &BuildSpec,
) -> Result<Option<(&PathBuf, Vec<crate::layer::Entry>)>, BuildError> {
    let app_entries = match &spec.app {
        Some(dir) if !dir.is_dir() => return Err(BuildError::AppDir(dir.clone())),
        Some(dir) => {
            let ignore = match &spec.app_ignore {
                Some(file) => DockerIgnore::load_file(file.clone())?,
                None => DockerIgnore::load(dir)?,
            };
            Some((
                dir,
                app::app_entries_ignoring(dir, &spec.workdir, None, &ignore)?,
            ))
        }
        None => None,
    };
    Ok(match &spec.copies {
        Some(c) if !c.ops.is_empty() => Some((
            &c.context,
            crate::layer::copy::combine(app_entries.map(|(_, e)| e), c)?,
        )),
        _ => app_entries,
    })
}

/// One image per platform asked for, in that order. A single `--platform`
/// is the same loop over one; only its top manifest differs: the image's
/// own, where several platforms (or `all`) get an index over them.
fn image_set(
    spec: &BuildSpec,
    app_layer: Option<&(Layer, PathBuf)>,
    client: &Client,
    cache: &Cache,
    ui: &Reporter,
    early: Option<&early::EarlyPush>,
) -> Result<ImageSet, BuildError> {
    let multi = spec.platforms.len() > 1 || spec.all_platforms;
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    for p in &platforms::wanted(spec, client, cache, ui)? {
        let image = match platform::image(spec, p, app_layer, client, cache, ui, early) {
            Ok(image) => image,
            Err(e) if spec.all_platforms && platforms::wheels_missing(&e) => {
                let why = crate::error::chain(&e);
                // Said even with --quiet: an image silently lacking a
                // platform would only show up when a node fails to pull.
                ui.warn(format!("note: --platform all: skipping {p}: {why}"));
                skipped.push(format!("{p}: {why}"));
                continue;
            }
            Err(e) if multi => {
                return Err(BuildError::Platform {
                    platform: p.to_string(),
                    source: Box::new(e),
                })
            }
            Err(e) => return Err(e),
        };
        if multi {
            ui.info(format!("image {} for {p}", image.manifest_blob().digest));
        }
        images.push(image);
    }
    if !multi {
        let image = images.pop().expect("one platform: built, or failed above");
        ui.info(format!("image {}", image.manifest_blob().digest));
        return Ok(ImageSet::single(image));
    }
    let set = ImageSet::index(images).ok_or_else(|| {
        BuildError::NoPlatformFits(format!(
            "the wheels fit none of the base's platforms; add wheels built for one of them:\n{}",
            skipped.join("\n")
        ))
    })?;
    ui.info(format!(
        "index {} ({} platforms)",
        set.top().digest,
        set.images().len()
    ));
    Ok(set)
}

fn layer_options(spec: &BuildSpec) -> LayerOptions {
    LayerOptions {
        mtime: spec.epoch,
        compression: spec.compression,
    }
}

/// Downloads (or finds in the cache) every layer that is still in a
/// registry, all at once.
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
