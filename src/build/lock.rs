//! `pyko lock`: the target of each platform (from the base, as a build
//! reads it, or from flags alone), one resolution per platform, and the
//! PEP 751 lock written in one piece. Nothing is written when any step
//! fails.

use crate::cache::Cache;
use crate::inputs::spec::{BaseSource, LockSpec};
use crate::oci::Platform;
use crate::registry::{Client, ClientOptions};
use crate::sources::index::{IndexClient, DEFAULT_INDEX_URL};
use crate::sources::lockfile::{self, LockHeader, PlatformLock};
use crate::sources::metadata::MetadataClient;
use crate::sources::sdist::{Builder, WithSdists};
use crate::sources::{index_source, marker_environment, pyproject, resolve_for, LockError};
use crate::target::{Overrides, PythonTarget, Scheme};
use crate::ui::Reporter;
use crate::wheel::Tags;

use super::BuildError;

pub fn lock(spec: &LockSpec, ui: &Reporter) -> Result<(), BuildError> {
    // Local files first: a typo fails before any network access.
    let (reqs, pythons) = pyproject::read_inputs(&spec.requirements, &spec.constraints)?;
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
    let mut urls = vec![spec
        .index_url
        .clone()
        .or(reqs.index_url.clone())
        .unwrap_or_else(|| DEFAULT_INDEX_URL.to_string())];
    urls.extend(spec.extra_index_urls.iter().cloned());
    urls.extend(reqs.extra_index_urls.iter().cloned());
    let index = IndexClient::new(&urls, client.http()).map_err(LockError::from)?;
    let metadata = MetadataClient::new(client.http(), &cache);
    let request = reqs.request(&spec.options);
    let source = index_source(&index, &metadata);
    let builder = Builder {
        policy: &spec.build,
        index_urls: urls.clone(),
        http: client.http(),
        cache: &cache,
        ui,
    };
    let source = WithSdists::new(&source, &builder);

    let multi = spec.platforms.len() > 1;
    let mut locks = Vec::new();
    let mut python = None;
    for p in &spec.platforms {
        let one = || -> Result<(PythonTarget, PlatformLock), BuildError> {
            let target = target_for(spec, p, &client, &cache, ui)?;
            let tags = Tags::for_target(&target)?;
            for (file, requires) in &pythons {
                pyproject::check_python(file, requires, &marker_environment(&tags))?;
            }
            let resolved = resolve_for(&request, &tags, &source, ui)?;
            let lock = PlatformLock {
                machine: tags.machine().to_string(),
                resolved,
            };
            Ok((target, lock))
        };
        let (target, lock) = one().map_err(|e| match multi {
            true => BuildError::Platform {
                platform: p.to_string(),
                source: Box::new(e),
            },
            false => e,
        })?;
        match python {
            None => python = Some((target.major, target.minor)),
            Some(v) if v != (target.major, target.minor) => {
                return Err(LockError::LockFile {
                    file: spec.output.clone(),
                    message: format!(
                        "the base has Python {}.{} for {p} but {}.{} for {}; a lock is for one Python: give --python X.Y",
                        target.major, target.minor, v.0, v.1, spec.platforms[0]
                    ),
                }
                .into())
            }
            Some(_) => {}
        }
        locks.push(lock);
    }
    // What the resolver saw as asked for on any platform: `build --lock`
    // then marks the packages `REQUESTED` that the resolved build marks.
    let mut requested: Vec<String> = locks
        .iter()
        .flat_map(|l| l.resolved.iter().filter(|r| r.requested))
        .map(|r| r.name.clone())
        .collect();
    requested.sort();
    requested.dedup();
    let header = LockHeader {
        python: python.expect("at least one platform"),
        requested,
    };
    let text = lockfile::render(&header, &locks).map_err(|message| LockError::LockFile {
        file: spec.output.clone(),
        message,
    })?;
    lockfile::write_atomic(&spec.output, &text)?;
    ui.info(format!(
        "wrote {} for {}",
        spec.output.display(),
        spec.platforms
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(())
}

/// The base's target for `platform`, read as a build reads it; or, with
/// no base, the one the flags describe (an official python image's
/// layout, which only the tags and markers are taken from).
fn target_for(
    spec: &LockSpec,
    platform: &Platform,
    client: &Client,
    cache: &Cache,
    ui: &Reporter,
) -> Result<PythonTarget, BuildError> {
    let overrides = Overrides {
        python: spec.python,
        site_packages: None,
    };
    let Some(from) = &spec.base else {
        let (major, minor) = spec.python.expect("clap: --python without --from");
        let prefix = "/usr/local".to_string();
        let site = format!("{prefix}/lib/python{major}.{minor}/site-packages");
        return Ok(PythonTarget {
            major,
            minor,
            interpreter: format!("{prefix}/bin/python3"),
            scheme: Scheme {
                purelib: site.clone(),
                platlib: site,
                scripts: format!("{prefix}/bin"),
                data: prefix.clone(),
                headers: format!("{prefix}/include/python{major}.{minor}"),
            },
            platform: platform.clone(),
            libc: spec.libc,
        });
    };
    ui.info(format!("resolving base {from} for {platform}"));
    let base = match from {
        BaseSource::Registry(r) => crate::base::resolve(client, r, platform, cache)?,
        BaseSource::Disk(d) => crate::base::disk::resolve(d, platform, cache)?,
    };
    // Cached per base digest, read top down only as far as needed.
    let target = super::platform::base_target(&base, &overrides, None, client, cache, ui)?;
    ui.info(format!("target: {target}"));
    Ok(target)
}
