//! The dependency layers: a layer of its own for every big wheel, the small
//! ones packed into a few groups, each layer content-addressed by what
//! decides its bytes, so the numpy layer is byte-identical in every image
//! with the same numpy and target, and changing one pin rebuilds (and a push
//! uploads) only the layer that holds it.
//!
//! Grouping is deterministic and stable under change: a wheel whose
//! installed size is at least [`BIG_WHEEL_BYTES`] gets its own layer; every
//! other wheel goes to one of [`SMALL_GROUPS`] groups chosen by a hash of its
//! project name, so adding, removing or re-pinning a small wheel touches one
//! group only. A layer budget keeps the whole image within
//! [`MAX_IMAGE_LAYERS`]: at most [`MAX_DEPS_LAYERS`] deps layers, fewer when
//! the base already has many; the smallest big wheels then join the groups.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use super::cache_repo;
use super::early::EarlyPush;
use super::hashes::wheel_digest;
use super::BuildError;
use crate::at_once;
use crate::cache::Cache;
use crate::layer::writer::{write_layer_watched, LayerOptions, Watch};
use crate::layer::{Entry, Node};
use crate::oci::{BlobSource, Digest, Layer, Reference};
use crate::registry::Client;
use crate::target::venv::Venv;
use crate::target::PythonTarget;
use crate::ui::Reporter;
use crate::wheel;

/// Bumped whenever the bytes pyko writes for the same inputs change, so a
/// cached deps layer from an older pyko is never reused.
const LAYER_FORMAT: &str = "pyko-deps-layer-v2";

/// Installed size from which a wheel gets a layer of its own. Measured on
/// the example app's 39 wheels: eight are 20–171 MB installed (pyarrow,
/// scipy, numpy, pydeck, pandas, streamlit, scikit-learn, pillow), the next
/// is 5.9 MB and 31 are under 2.2 MB; 10 MB sits in that gap. A layer of
/// its own costs a registry round trip or two, worth it for a wheel whose
/// re-upload would take longer than that.
pub const BIG_WHEEL_BYTES: u64 = 10_000_000;

/// How many groups the small wheels are spread over (empty ones are not
/// written). Four keeps a re-pinned small wheel's layer to about a quarter
/// of the small wheels (about 1 MB compressed for the example).
pub const SMALL_GROUPS: usize = 4;

/// The most layers Docker's overlay storage (and so most engines) accepts
/// in one image.
pub const MAX_IMAGE_LAYERS: usize = 127;

/// The documented cap on deps layers, whatever the base: room for the base,
/// the app layer and a venv layer under [`MAX_IMAGE_LAYERS`].
pub const MAX_DEPS_LAYERS: usize = 100;

/// One deps layer, with its history line for the image config.
pub struct DepsLayer {
    pub layer: Layer,
    /// A local file, or the `--cache-repo` repository holding the blob.
    pub source: BlobSource,
    pub history: String,
}

/// `--cache-repo`: the client and repository of the registry cache.
pub type CacheRepo<'a> = Option<(&'a Client, &'a Reference)>;

/// A wheel as the grouping sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sized {
    pub name: String,
    pub installed: u64,
}

/// What goes in which layer: indices into `wheels`, big wheels first (one
/// each, largest first), then the non-empty small groups in group order.
/// `budget` is the most deps layers allowed (at least 1).
pub fn plan_groups(wheels: &[Sized], budget: usize) -> Vec<Vec<usize>> {
    let budget = budget.max(1);
    let mut big: Vec<usize> = (0..wheels.len())
        .filter(|&i| wheels[i].installed >= BIG_WHEEL_BYTES)
        .collect();
    big.sort_by(|&a, &b| {
        wheels[b]
            .installed
            .cmp(&wheels[a].installed)
            .then_with(|| wheels[a].name.cmp(&wheels[b].name))
    });
    let groups = SMALL_GROUPS.min(budget);
    let has_small = big.len() < wheels.len();
    // Big wheels beyond the budget (the smallest of them) join the groups.
    let room = if has_small || big.len() > budget {
        budget.saturating_sub(groups)
    } else {
        budget
    };
    big.truncate(room);
    let mut out: Vec<Vec<usize>> = big.iter().map(|&i| vec![i]).collect();
    let n = groups.max(1);
    let mut small: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, w) in wheels.iter().enumerate() {
        if !big.contains(&i) {
            small[group_of(&w.name, n)].push(i);
        }
    }
    for mut g in small.into_iter().filter(|g| !g.is_empty()) {
        g.sort_by(|&a, &b| wheels[a].name.cmp(&wheels[b].name));
        out.push(g);
    }
    out
}

/// A small wheel's group: from its normalized project name only, so it does
/// not move when its version or any other wheel changes.
fn group_of(name: &str, groups: usize) -> usize {
    let h = Sha256::digest(wheel::normalize_name(name).as_bytes());
    (u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % groups as u64) as usize
}

/// What decides one platform's deps layers besides the wheels: every
/// layer's key holds it, so it is computed the same way whether the wheels
/// were downloaded and hashed or named with their hashes by a lock.
pub struct DepsContext<'a> {
    /// The names the user asked for, sorted.
    pub requested: Option<Vec<String>>,
    pub target: &'a PythonTarget,
    pub venv: Option<&'a Venv>,
    pub opts: &'a LayerOptions,
    /// From [`deps_budget`].
    pub budget: usize,
    pub cache: &'a Cache,
    pub cache_repo: CacheRepo<'a>,
    pub ui: &'a Reporter,
    /// Where each layer goes as soon as it is written, when pushing.
    pub early: Option<&'a EarlyPush<'a>>,
}

impl DepsContext<'_> {
    fn context(&self) -> String {
        format!(
            "{LAYER_FORMAT}\n{:?}\n{:?}\n{:?}\n",
            self.target, self.opts, self.venv
        )
    }

    /// The whole set's key, from each wheel's file name and sha256, in file
    /// name order (so neither the fetch order nor the source matters).
    fn set_key(&self, files: &[(String, Digest)]) -> String {
        let mut sorted: Vec<&(String, Digest)> = files.iter().collect();
        sorted.sort();
        let mut set = Sha256::new();
        set.update(self.context());
        set.update(format!(
            "requested {:?}\nbudget {}\n",
            self.requested, self.budget
        ));
        for (name, d) in sorted {
            set.update(format!("{name} {d}\n"));
        }
        format!("deps-set-{}", hex::encode(set.finalize()))
    }

    /// The layers of the wheels named by `files` from an earlier build, in
    /// the local cache or the `--cache-repo`, without the wheels themselves.
    pub fn prebuilt(&self, files: &[(String, Digest)]) -> Option<Vec<DepsLayer>> {
        let key = self.set_key(files);
        let (cache, ui) = (self.cache, self.ui);
        if let Some(layers) = cached_set(cache, &key) {
            ui.cache_hit(format!("deps layers {key}"));
            crate::ui::record(|s| s.layers_cached += layers.len() as u64);
            ui.info(format!(
                "deps layers: {} (cached, {} wheels)",
                layers.len(),
                files.len()
            ));
            return Some(layers);
        }
        let (client, repo) = self.cache_repo?;
        let record = cache_repo::lookup(client, repo, &key, ui)?.layers;
        ui.info(format!(
            "deps layers: {} from --cache-repo {repo} ({} wheels, nothing installed)",
            record.len(),
            files.len()
        ));
        let source = BlobSource::Registry {
            registry: repo.registry.clone(),
            repository: repo.repository.clone(),
        };
        Some(
            record
                .into_iter()
                .map(|(layer, history)| DepsLayer {
                    layer,
                    source: source.clone(),
                    history,
                })
                .collect(),
        )
    }
}

/// The deps layers for `wheels`, each from the cache when its own key (its
/// wheels' sha256 and REQUESTED, and the [`DepsContext`]) is there; the
/// whole set's answer is cached too, so a warm build installs nothing.
pub fn deps_layers(wheels: &[PathBuf], cx: &DepsContext) -> Result<Vec<DepsLayer>, BuildError> {
    let DepsContext {
        target,
        venv,
        opts,
        budget,
        cache,
        cache_repo,
        ui,
        ..
    } = *cx;
    let requested = cx.requested.clone();
    let context = cx.context();
    let mut digests = HashMap::new();
    let mut files = Vec::new();
    let hashed = at_once::map(wheels.iter().collect(), at_once::cores(), |w| {
        wheel_digest(w, cache)
    })?;
    for (w, d) in wheels.iter().zip(hashed) {
        let name = w.file_name().unwrap_or_default().to_string_lossy();
        files.push((name.to_string(), d.clone()));
        digests.insert(w.clone(), (name.into_owned(), d));
    }
    if let Some(layers) = cx.prebuilt(&files) {
        return Ok(layers);
    }
    let set_key = cx.set_key(&files);

    let installation = wheel::install(
        wheels,
        target,
        &wheel::InstallOptions {
            requested: requested.clone(),
        },
    )?;
    for w in &installation.warnings {
        ui.info(format!("warning: {w}"));
    }
    let requested: Option<Vec<String>> =
        requested.map(|names| names.iter().map(|n| wheel::normalize_name(n)).collect());
    let dists = &installation.distributions;
    let sized: Vec<Sized> = dists
        .iter()
        .map(|d| Sized {
            name: wheel::normalize_name(&d.name),
            installed: installation.entries[d.entries.clone()]
                .iter()
                .map(|e| match &e.node {
                    Node::File { size, .. } => *size,
                    _ => 0,
                })
                .sum(),
        })
        .collect();
    let plan = plan_groups(&sized, budget);
    let mut slots: Vec<Option<Entry>> = installation.entries.into_iter().map(Some).collect();
    // (key, entries, what, history) of each layer, written two at a time.
    let mut pending = Vec::new();
    for group in &plan {
        let mut key = Sha256::new();
        key.update(&context);
        let mut names = Vec::new();
        for &i in group {
            let d = &dists[i];
            let (file, digest) = &digests[&d.wheel];
            let is_requested = requested
                .as_ref()
                .is_none_or(|r| r.contains(&sized[i].name));
            key.update(format!("{file} {digest} requested={is_requested}\n"));
            names.push(format!("{}=={}", d.name, d.version));
        }
        let key = format!("deps-layer-{}", hex::encode(key.finalize()));
        let entries: Vec<Entry> = group
            .iter()
            .flat_map(|&i| dists[i].entries.clone())
            .filter_map(|j| slots[j].take())
            .collect();
        let history = format!(
            "pyko: pip install {} into {}",
            names.join(" "),
            target.scheme.purelib
        );
        pending.push((key, entries, names.join(" "), history));
    }
    if let Some(v) = venv {
        let key = format!(
            "deps-layer-{}",
            hex::encode(Sha256::digest(format!("{context}venv")))
        );
        let history = format!("pyko: python -m venv {}", v.bin_dir());
        pending.push((key, v.entries(), "venv".to_string(), history));
    }
    let mut out = at_once::map(
        pending,
        at_once::LAYERS_AT_ONCE,
        |(key, entries, what, history)| {
            let write =
                |watch: Option<&dyn Watch>| layer_for(&key, entries, opts, cache, ui, &what, watch);
            let (layer, path) = match cx.early {
                Some(e) => e.write(&what, write)?,
                None => write(None)?,
            };
            Ok::<_, BuildError>(DepsLayer {
                layer,
                source: BlobSource::File(path),
                history,
            })
        },
    )?;
    let record: Vec<(&Layer, &str)> = out.iter().map(|d| (&d.layer, &*d.history)).collect();
    cache.put_key(
        &set_key,
        &serde_json::to_vec(&record).expect("layers serialize"),
    )?;
    if let Some((client, repo)) = cache_repo {
        let written: Vec<cache_repo::Written> = out
            .iter()
            .filter_map(|d| match &d.source {
                BlobSource::File(p) => Some((&d.layer, &*d.history, p.as_path())),
                BlobSource::Registry { .. } => None,
            })
            .collect();
        let what = format!("{} deps layers", written.len());
        if cache_repo::store(client, repo, &set_key, (&written, None), &what, cache, ui) {
            // The push can now mount them from there (same registry).
            for d in &mut out {
                d.source = BlobSource::Registry {
                    registry: repo.registry.clone(),
                    repository: repo.repository.clone(),
                };
            }
        }
    }
    Ok(out)
}

/// The whole set's layers from an earlier build, when every blob is still
/// in the cache.
fn cached_set(cache: &Cache, key: &str) -> Option<Vec<DepsLayer>> {
    let record: Vec<(Layer, String)> = serde_json::from_slice(&cache.get_key(key)?).ok()?;
    record
        .into_iter()
        .map(|(layer, history)| {
            let path = cache.get(&layer.digest, Some(layer.size))?;
            Some(DepsLayer {
                layer,
                source: BlobSource::File(path),
                history,
            })
        })
        .collect()
}

/// One layer from the cache under `key`, or written from `entries`.
fn layer_for(
    key: &str,
    entries: Vec<Entry>,
    opts: &LayerOptions,
    cache: &Cache,
    ui: &Reporter,
    what: &str,
    watch: Option<&dyn Watch>,
) -> Result<(Layer, PathBuf), BuildError> {
    if let Some(layer) = cache
        .get_key(key)
        .and_then(|b| serde_json::from_slice::<Layer>(&b).ok())
    {
        if let Some(path) = cache.get(&layer.digest, Some(layer.size)) {
            ui.info(format!("deps layer {} (cached): {what}", layer.digest));
            return Ok((layer, path));
        }
    }
    let started = Instant::now();
    let n = entries.len();
    let (layer, path) = write_layer_watched(entries, opts, cache, watch)?;
    ui.info(format!(
        "deps layer {}: {n} entries, {:.1} MB in {:.1}s: {what}",
        layer.digest,
        layer.size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ));
    cache.put_key(key, &serde_json::to_vec(&layer).expect("layer serializes"))?;
    Ok((layer, path))
}

/// How many deps layers an image on a base of `base_layers` layers may
/// have, with `others` more layers (the app) on top.
pub fn deps_budget(base_layers: usize, others: usize) -> usize {
    MAX_DEPS_LAYERS
        .min(MAX_IMAGE_LAYERS.saturating_sub(base_layers + others))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(name: &str, mb: u64) -> Sized {
        Sized {
            name: name.into(),
            installed: mb * 1_000_000,
        }
    }

    fn example() -> Vec<Sized> {
        let mut v = vec![
            w("pyarrow", 171),
            w("scipy", 114),
            w("numpy", 57),
            w("pydeck", 47),
            w("pandas", 43),
            w("streamlit", 32),
            w("scikit-learn", 31),
            w("pillow", 20),
            w("altair", 6),
        ];
        for i in 0..30 {
            v.push(w(&format!("small-{i}"), 0));
        }
        v
    }

    #[test]
    fn big_wheels_alone_small_ones_in_stable_groups() {
        let wheels = example();
        let plan = plan_groups(&wheels, 100);
        let names = |g: &Vec<usize>| -> Vec<&str> { g.iter().map(|&i| &*wheels[i].name).collect() };
        let big: Vec<Vec<&str>> = plan[..8].iter().map(names).collect();
        assert_eq!(big[0], ["pyarrow"]);
        assert_eq!(big[7], ["pillow"]);
        assert_eq!(plan.len(), 8 + SMALL_GROUPS, "{plan:?}");
        let grouped: usize = plan[8..].iter().map(Vec::len).sum();
        assert_eq!(grouped, 31);

        // Re-pinning or removing a small wheel leaves the other groups alone.
        let mut fewer = wheels.clone();
        let gone = fewer.iter().position(|s| s.name == "small-7").unwrap();
        fewer.remove(gone);
        let after = plan_groups(&fewer, 100);
        let sets = |p: &[Vec<usize>], ws: &[Sized]| -> Vec<Vec<String>> {
            p.iter()
                .map(|g| g.iter().map(|&i| ws[i].name.clone()).collect())
                .collect()
        };
        let (a, b) = (sets(&plan, &wheels), sets(&after, &fewer));
        let changed = a.iter().filter(|g| !b.contains(g)).count();
        assert_eq!(changed, 1, "{a:?}\n{b:?}");
    }

    #[test]
    fn budget_caps_the_layer_count() {
        let wheels = example();
        for budget in [1, 2, 4, 5, 9, 12, 13] {
            let plan = plan_groups(&wheels, budget);
            assert!(plan.len() <= budget, "budget {budget}: {}", plan.len());
            let all: usize = plan.iter().map(Vec::len).sum();
            assert_eq!(all, wheels.len(), "every wheel placed once");
        }
        // Only big wheels: one each while they fit.
        let only_big = &example()[..3];
        assert_eq!(plan_groups(only_big, 3).len(), 3);
        assert!(plan_groups(only_big, 2).len() <= 2);
        assert_eq!(deps_budget(3, 1), MAX_DEPS_LAYERS);
        assert_eq!(deps_budget(120, 1), 6);
        assert_eq!(deps_budget(200, 1), 1);
    }

    #[test]
    fn groups_do_not_depend_on_input_order() {
        let wheels = example();
        let mut rev = wheels.clone();
        rev.reverse();
        let names = |p: Vec<Vec<usize>>, ws: &[Sized]| -> Vec<Vec<String>> {
            p.into_iter()
                .map(|g| g.into_iter().map(|i| ws[i].name.clone()).collect())
                .collect()
        };
        assert_eq!(
            names(plan_groups(&wheels, 100), &wheels),
            names(plan_groups(&rev, 100), &rev)
        );
    }
}
