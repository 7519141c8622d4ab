//! The PubGrub `DependencyProvider`: which version of a package to try
//! next (the newest candidate for the target, pre-releases as uv's
//! default), in which order packages are decided (uv's priorities where
//! they are cheap: pins, then packages that caused conflicts, then the
//! order of discovery, so direct requirements come first), and a version's
//! dependencies from its wheel's METADATA with markers evaluated for the
//! target. `pkg[extra]` is a virtual package that depends on `pkg` at the
//! same version plus what the extra adds, as uv models it.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::{ExtraName, Requirement};
use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics,
};

use super::shared::{requirement_range, Shared};
use super::specifiers::Range;
use super::ResolveError;
use crate::wheel::normalize_name;

/// A node of the dependency graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pkg {
    /// The user's requirements.
    Root,
    /// A project, by normalized name.
    Name(String),
    /// `name[extra]`.
    Extra(String, String),
}

impl Pkg {
    pub fn name(&self) -> Option<&str> {
        match self {
            Pkg::Root => None,
            Pkg::Name(n) | Pkg::Extra(n, _) => Some(n),
        }
    }
}

impl fmt::Display for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pkg::Root => f.write_str("your requirements"),
            Pkg::Name(n) => f.write_str(n),
            Pkg::Extra(n, e) => write!(f, "{n}[{e}]"),
        }
    }
}

/// Higher is decided first. Mirrors uv's `PubGrubPriority` order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Unspecified(Reverse<usize>),
    ConflictLate(Reverse<usize>),
    ConflictEarly(Reverse<usize>),
    Singleton(Reverse<usize>),
    Root,
}

/// uv's threshold for deciding a repeatedly conflicting package earlier.
const CONFLICT_THRESHOLD: u32 = 5;

/// Adds `req`, evaluated by the caller, to `deps` (ranges of one package
/// from several requirements intersect).
pub fn add_requirement(
    shared: &Shared,
    deps: &mut DependencyConstraints<Pkg, Range>,
    req: &Requirement,
    skip_self: Option<&str>,
) -> Result<(), String> {
    let name = normalize_name(req.name.as_ref());
    let Some(range) = requirement_range(req) else {
        return Err(format!(
            "{name} is required by URL, which the resolver does not support"
        ));
    };
    let range = shared.ctx.constrain(&name, range);
    shared.discover(&name, &range);
    let mut add = |pkg: Pkg| {
        let r = match deps.get(&pkg) {
            Some(existing) => existing.intersection(&range),
            None => range.clone(),
        };
        deps.insert(pkg, r);
    };
    if skip_self != Some(name.as_str()) {
        add(Pkg::Name(name.clone()));
    }
    for extra in &req.extras {
        add(Pkg::Extra(name.clone(), extra.to_string()));
    }
    Ok(())
}

pub struct Provider<'s, 'a> {
    shared: &'s Shared<'a>,
    root: DependencyConstraints<Pkg, Range>,
    /// Discovery order by project name (extras share their project's).
    order: RefCell<HashMap<String, usize>>,
}

impl<'s, 'a> Provider<'s, 'a> {
    pub fn new(shared: &'s Shared<'a>, root: DependencyConstraints<Pkg, Range>) -> Self {
        Provider {
            shared,
            root,
            order: RefCell::new(HashMap::new()),
        }
    }

    fn dependencies(
        &self,
        name: &str,
        extra: Option<&str>,
        version: &Version,
    ) -> Result<Dependencies<Pkg, Range, String>, ResolveError> {
        let candidates = self.shared.candidates(name)?;
        let Some(candidate) = candidates.get(version) else {
            return Ok(Dependencies::Unavailable(
                "is not a candidate for the target".into(),
            ));
        };
        let metadata = self.shared.metadata(candidate.wheel())?;
        if let Some(rp) = &metadata.requires_python {
            if !rp.contains(&self.shared.ctx.python) {
                return Ok(Dependencies::Unavailable(format!(
                    "requires Python {rp} (its METADATA), and the target has {}",
                    self.shared.ctx.tags.python_version()
                )));
            }
        }
        let env = &self.shared.ctx.env;
        let mut deps = DependencyConstraints::default();
        let extras: Vec<ExtraName> = match extra {
            Some(e) => match ExtraName::from_str(e) {
                Ok(e) => vec![e],
                Err(_) => vec![],
            },
            None => vec![],
        };
        if extra.is_some() {
            deps.insert(
                Pkg::Name(name.to_string()),
                Range::singleton(version.clone()),
            );
        }
        for req in &metadata.requires_dist {
            let applies = if extra.is_some() {
                // What the extra adds; the base package brings the rest.
                req.marker.evaluate(env, &extras) && !req.marker.evaluate(env, &[])
            } else {
                req.marker.evaluate(env, &[])
            };
            if !applies {
                continue;
            }
            let skip_self = extra.is_none().then_some(name);
            if let Err(why) = add_requirement(self.shared, &mut deps, req, skip_self) {
                return Ok(Dependencies::Unavailable(why));
            }
        }
        Ok(Dependencies::Available(deps))
    }
}

impl DependencyProvider for Provider<'_, '_> {
    type P = Pkg;
    type V = Version;
    type VS = Range;
    type M = String;
    type Priority = (Priority, Reverse<u8>);
    type Err = ResolveError;

    fn prioritize(
        &self,
        package: &Pkg,
        range: &Range,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let Some(name) = package.name() else {
            return (Priority::Root, Reverse(0));
        };
        let mut order = self.order.borrow_mut();
        let next = order.len();
        let index = Reverse(*order.entry(name.to_string()).or_insert(next));
        let priority = if range.as_singleton().is_some() {
            Priority::Singleton(index)
        } else if stats.conflict_count() >= 2 * CONFLICT_THRESHOLD {
            Priority::ConflictEarly(index)
        } else if stats.conflict_count() >= CONFLICT_THRESHOLD {
            Priority::ConflictLate(index)
        } else {
            Priority::Unspecified(index)
        };
        // A project before its extras.
        let kind = Reverse(matches!(package, Pkg::Extra(..)) as u8);
        (priority, kind)
    }

    fn choose_version(
        &self,
        package: &Pkg,
        range: &Range,
    ) -> Result<Option<Version>, ResolveError> {
        let Some(name) = package.name() else {
            return Ok(Some(Version::new([0])));
        };
        let candidates = self.shared.candidates(name)?;
        let picked = self.shared.ctx.pick(name, &candidates, range);
        if let Some(c) = picked {
            // The next version of this package is likely wanted soon.
            let after = Range::strictly_lower_than(c.version.clone()).intersection(range);
            if let Some(next) = self.shared.ctx.pick(name, &candidates, &after) {
                self.shared
                    .source()
                    .prefetch(std::slice::from_ref(next.wheel()));
            }
        }
        Ok(picked.map(|c| c.version.clone()))
    }

    fn get_dependencies(
        &self,
        package: &Pkg,
        version: &Version,
    ) -> Result<Dependencies<Pkg, Range, String>, ResolveError> {
        match package {
            Pkg::Root => Ok(Dependencies::Available(self.root.clone())),
            Pkg::Name(name) => self.dependencies(name, None, version),
            Pkg::Extra(name, extra) => self.dependencies(name, Some(extra), version),
        }
    }
}
