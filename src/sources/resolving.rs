//! The resolver as the build and `pyko lock` call it: one resolution for
//! one target over the real index, timed and reported, and its answer as
//! the `Pin`s the fetcher downloads (each naming the one wheel chosen, so
//! nothing is chosen twice).

use std::time::Instant;

use crate::sources::index::IndexClient;
use crate::sources::metadata::MetadataClient;
use crate::sources::resolve::{self, IndexSource, PackageSource, Request, Resolved};
use crate::ui::Reporter;
use crate::wheel::Tags;

use super::{Location, LockError, LockedWheel, Pin};

/// The real index as the resolver's source; one per run, so several
/// platforms' resolutions share what it has listed.
pub fn index_source<'a>(index: &'a IndexClient, metadata: &'a MetadataClient) -> IndexSource<'a> {
    IndexSource::new(index, metadata)
}

/// Resolves `request` for the target of `tags`; says on stderr how many
/// packages and how long, as the users asked.
pub fn resolve_for(
    request: &Request,
    tags: &Tags,
    source: &dyn PackageSource,
    ui: &Reporter,
) -> Result<Vec<Resolved>, LockError> {
    let started = Instant::now();
    let mut resolved = resolve::resolve(request, tags, source)?;
    resolved.sort_by(|a, b| a.name.cmp(&b.name));
    ui.info(format!(
        "resolved {} packages for {} in {:.2}s",
        resolved.len(),
        tags.best(),
        started.elapsed().as_secs_f64()
    ));
    Ok(resolved)
}

/// One pin per resolved package, listing only its chosen wheel; `hashes`
/// gives the `--hash`es the user wrote for a name (checked on download).
pub fn pins_of(
    resolved: &[Resolved],
    tags: &Tags,
    hashes: impl Fn(&str) -> Vec<String>,
) -> Vec<Pin> {
    resolved
        .iter()
        .map(|r| Pin {
            name: r.name.clone(),
            version: r.version.clone(),
            hashes: hashes(&r.name),
            origin: format!("resolved for {}", tags.best()),
            wheels: vec![LockedWheel {
                filename: r.wheel.filename.clone(),
                location: match r.wheel.url.to_file_path() {
                    Ok(path) if r.wheel.url.scheme() == "file" => Location::Path(path),
                    _ => Location::Url(r.wheel.url.to_string()),
                },
                sha256: r.wheel.sha256.clone(),
            }],
            sdist_only: false,
            sdist: None,
        })
        .collect()
}
