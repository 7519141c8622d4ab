//! What the solver thread and the prefetch threads share: the rules of the
//! resolve, and memoized answers of the [`PackageSource`] (each project's
//! candidates, each wheel's metadata), so a listing or a METADATA is asked
//! for once however many threads want it. A prefetch thread walks ahead of
//! the solver: for every newly seen project it fetches the listing and the
//! metadata of the version the solver will most likely pick, then does the
//! same for that version's dependencies, so a cold resolve costs a few
//! waves of parallel round trips instead of one request after another.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, Requirement, VersionOrUrl};

use super::candidates::{Candidate, Candidates, Rules};
use super::specifiers::{to_range, Range};
use super::{PackageSource, ResolveError, ResolveOptions};
use crate::sources::index::IndexFile;
use crate::sources::metadata::CoreMetadata;
use crate::wheel::{normalize_name, Tags};

/// How many requests run at once ahead of the solver.
pub const PREFETCH_THREADS: usize = 8;

/// The rules of one resolve, fixed before the solver starts.
pub struct Context<'a> {
    pub tags: &'a Tags,
    pub env: MarkerEnvironment,
    /// `X.Y` of the target as `X.Y.0`.
    pub python: Version,
    pub options: ResolveOptions,
    /// Projects whose user requirement names a pre-release (uv's
    /// `if-necessary-or-explicit`).
    pub pre_explicit: HashSet<String>,
    /// Versions user requirements pin with `==`, which may be yanked.
    pub pinned: HashMap<String, Vec<Version>>,
    /// `-c` ranges, applied whenever the project is required.
    pub constraints: HashMap<String, Range>,
}

impl Context<'_> {
    pub fn allows_pre(&self, name: &str) -> bool {
        self.options.pre || self.pre_explicit.contains(name)
    }

    pub fn constrain(&self, name: &str, range: Range) -> Range {
        match self.constraints.get(name) {
            Some(c) => range.intersection(c),
            None => range,
        }
    }

    /// The newest candidate in `range`: stable versions first; a
    /// pre-release only when allowed or when no stable version is in range.
    pub fn pick<'c>(
        &self,
        name: &str,
        candidates: &'c Candidates,
        range: &Range,
    ) -> Option<&'c Candidate> {
        let allow = self.allows_pre(name);
        let mut first_pre = None;
        for c in &candidates.versions {
            if !range.contains(&c.version) {
                continue;
            }
            if allow || !c.version.any_prerelease() {
                return Some(c);
            }
            first_pre.get_or_insert(c);
        }
        first_pre
    }
}

/// The range a requirement asks for, `None` for a URL requirement.
pub fn requirement_range(req: &Requirement) -> Option<Range> {
    match &req.version_or_url {
        None => Some(Range::full()),
        Some(VersionOrUrl::VersionSpecifier(s)) => Some(to_range(s)),
        Some(VersionOrUrl::Url(_)) => None,
    }
}

/// One value per key, computed once; a failed prefetch leaves `None` so
/// the solver asks again and gets the error itself.
struct Memo<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
}

type Slot<T> = Arc<OnceLock<Option<Arc<T>>>>;

impl<T> Memo<T> {
    fn new() -> Memo<T> {
        Memo {
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, key: &str) -> Slot<T> {
        let mut slots = self.slots.lock().expect("memo lock");
        slots.entry(key.to_string()).or_default().clone()
    }

    fn get<E>(&self, key: &str, f: impl Fn() -> Result<T, E>) -> Result<Arc<T>, E> {
        let slot = self.slot(key);
        let mut error = None;
        let got = slot.get_or_init(|| match f() {
            Ok(v) => Some(Arc::new(v)),
            Err(e) => {
                error = Some(e);
                None
            }
        });
        match (got, error) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(e)) => Err(e),
            (None, None) => f().map(Arc::new),
        }
    }

    fn warm<E>(&self, key: &str, f: impl Fn() -> Result<T, E>) -> Option<Arc<T>> {
        self.slot(key)
            .get_or_init(|| f().ok().map(Arc::new))
            .clone()
    }
}

struct Queue {
    jobs: VecDeque<(String, Range)>,
    closed: bool,
}

pub struct Shared<'a> {
    pub ctx: Context<'a>,
    source: &'a dyn PackageSource,
    candidates: Memo<Candidates>,
    metadata: Memo<CoreMetadata>,
    queue: Mutex<Queue>,
    ready: Condvar,
    seen: Mutex<HashSet<String>>,
}

impl<'a> Shared<'a> {
    pub fn new(ctx: Context<'a>, source: &'a dyn PackageSource) -> Shared<'a> {
        Shared {
            ctx,
            source,
            candidates: Memo::new(),
            metadata: Memo::new(),
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            seen: Mutex::new(HashSet::new()),
        }
    }

    pub fn source(&self) -> &dyn PackageSource {
        self.source
    }

    fn make_candidates(&self, name: &str) -> Result<Candidates, ResolveError> {
        let files = self.source.files(name)?;
        let pinned = self.ctx.pinned.get(name);
        let yanked_ok = |v: &Version| pinned.is_some_and(|p| p.contains(v));
        let rules = Rules {
            tags: self.ctx.tags,
            python: &self.ctx.python,
            exclude_newer: self.ctx.options.exclude_newer,
            yanked_ok: &yanked_ok,
            sdists: self.ctx.options.build_sdists,
        };
        Ok(Candidates::new(&files, &rules))
    }

    pub fn candidates(&self, name: &str) -> Result<Arc<Candidates>, ResolveError> {
        self.candidates.get(name, || self.make_candidates(name))
    }

    /// Already known candidates, without asking the source.
    pub fn known_candidates(&self, name: &str) -> Option<Arc<Candidates>> {
        let slot = self.candidates.slot(name);
        slot.get().cloned().flatten()
    }

    pub fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, ResolveError> {
        self.metadata.get(file.url.as_str(), || {
            self.source.metadata(file).map_err(ResolveError::from)
        })
    }

    /// Queues `name` for prefetching unless it was seen before.
    pub fn discover(&self, name: &str, range: &Range) {
        if !self
            .seen
            .lock()
            .expect("seen lock")
            .insert(name.to_string())
        {
            return;
        }
        let mut q = self.queue.lock().expect("queue lock");
        if !q.closed {
            q.jobs.push_back((name.to_string(), range.clone()));
            self.ready.notify_one();
        }
    }

    /// Stops the prefetch threads; queued work is dropped.
    pub fn close(&self) {
        let mut q = self.queue.lock().expect("queue lock");
        q.closed = true;
        q.jobs.clear();
        self.ready.notify_all();
    }

    /// A prefetch thread's loop.
    pub fn work(&self) {
        loop {
            let (name, range) = {
                let mut q = self.queue.lock().expect("queue lock");
                loop {
                    if q.closed {
                        return;
                    }
                    if let Some(job) = q.jobs.pop_front() {
                        break job;
                    }
                    q = self.ready.wait(q).expect("queue lock");
                }
            };
            self.prefetch(&name, &range);
        }
    }

    fn prefetch(&self, name: &str, range: &Range) {
        let Some(candidates) = self.candidates.warm(name, || self.make_candidates(name)) else {
            return;
        };
        let range = self.ctx.constrain(name, range.clone());
        let Some(best) = self.ctx.pick(name, &candidates, &range) else {
            return;
        };
        let file = best.wheel();
        let Some(metadata) = self
            .metadata
            .warm(file.url.as_str(), || self.source.metadata(file))
        else {
            return;
        };
        for req in &metadata.requires_dist {
            if !req.marker.evaluate(&self.ctx.env, &[]) {
                continue;
            }
            if let Some(range) = requirement_range(req) {
                self.discover(&normalize_name(req.name.as_ref()), &range);
            }
        }
    }
}
