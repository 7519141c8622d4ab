//! Top-level requirements → one version per package, decided for the
//! *target* (its Python version, wheel tags and marker environment), with
//! PubGrub as uv does, so a conflict is explained as sentences rather than
//! as the last thing tried. The index and the metadata come through
//! [`PackageSource`], so the algorithm is tested without a network and the
//! build uses the real index (`IndexSource`).

mod candidates;
mod provider;
mod report;
mod shared;
mod source;
mod specifiers;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::str::FromStr;

use pep440_rs::{Operator, Version};
use pep508_rs::Requirement;
use pubgrub::{DependencyConstraints, PubGrubError};

use crate::sources::index::{IndexError, IndexFile};
use crate::sources::metadata::{CoreMetadata, MetadataError};
use crate::wheel::{normalize_name, Tags};

use provider::{add_requirement, Pkg, Provider};
use shared::{requirement_range, Context, Shared, PREFETCH_THREADS};
pub use source::{IndexSource, WithLocalWheels};

/// Where candidate files and their metadata come from.
pub trait PackageSource: Sync {
    /// Every file of `project` (normalized name) on every index; an empty
    /// list when no index has the project.
    fn files(&self, project: &str) -> Result<Vec<IndexFile>, IndexError>;
    /// The metadata of one wheel of `files(project)`.
    fn metadata(&self, file: &IndexFile) -> Result<CoreMetadata, MetadataError>;
    /// Files whose metadata will probably be asked for next; a source may
    /// fetch them in parallel ahead of time. Never fails.
    fn prefetch(&self, files: &[IndexFile]) {
        let _ = files;
    }
    /// The indexes, for "no index has a project of that name (…)".
    fn describe(&self) -> String {
        "the package index".into()
    }
}

/// A requirement the user wrote, with where they wrote it.
#[derive(Clone, Debug)]
pub struct UserRequirement {
    pub requirement: Requirement,
    /// `file:line`, for messages.
    pub origin: String,
}

#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// `--pre`: pre-releases allowed everywhere (otherwise only for a
    /// package whose specifier names one, as pip does).
    pub pre: bool,
    /// `--exclude-newer`: files uploaded after this (Unix seconds) do not
    /// exist.
    pub exclude_newer: Option<i64>,
    /// A version with only an sdist counts (its wheel is built on the
    /// build machine); off for build requirements and under `--no-build`.
    pub build_sdists: bool,
}

/// What to resolve.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Top-level requirements; their markers are evaluated by the resolver
    /// against the target.
    pub requirements: Vec<UserRequirement>,
    /// `-c` files: bound versions, never add packages.
    pub constraints: Vec<UserRequirement>,
    pub options: ResolveOptions,
}

/// One package of the answer.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Normalized name.
    pub name: String,
    pub version: Version,
    /// The wheel that fits the target best.
    pub wheel: IndexFile,
    /// Every file the index lists for this version (a lock lists them all).
    pub files: Vec<IndexFile>,
    /// A top-level requirement names it (pip writes `REQUESTED`).
    pub requested: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// PubGrub's derivation tree, as sentences.
    #[error("no set of versions satisfies the requirements for {target}:\n{explanation}")]
    NoSolution { target: String, explanation: String },
    #[error(
        "{origin}: {name}: no index has a project of that name ({indexes}); check the spelling"
    )]
    NotFound {
        name: String,
        origin: String,
        indexes: String,
    },
    /// A requirement the resolver cannot handle (a direct URL).
    #[error("{origin}: {message}")]
    Unsupported { origin: String, message: String },
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

/// Resolves `request` for the target described by `tags`: one version
/// per package, sorted by name.
pub fn resolve(
    request: &Request,
    tags: &Tags,
    source: &dyn PackageSource,
) -> Result<Vec<Resolved>, ResolveError> {
    let ctx = context(request, tags)?;
    let shared = Shared::new(ctx, source);
    let mut root = DependencyConstraints::default();
    let mut direct = Vec::new();
    for user in &request.requirements {
        let req = &user.requirement;
        if !req.marker.evaluate(&shared.ctx.env, &[]) {
            continue;
        }
        add_requirement(&shared, &mut root, req, None).map_err(|message| {
            ResolveError::Unsupported {
                origin: user.origin.clone(),
                message,
            }
        })?;
        direct.push((normalize_name(req.name.as_ref()), user.origin.clone()));
    }
    let outcome = std::thread::scope(|scope| {
        for _ in 0..PREFETCH_THREADS {
            scope.spawn(|| shared.work());
        }
        let outcome = solve(&shared, root, &direct);
        shared.close();
        outcome
    });
    let solution = match outcome {
        Ok(solution) => solution,
        Err(Failure::NoSolution(tree)) => {
            return Err(ResolveError::NoSolution {
                target: target_name(tags),
                explanation: report::explain(*tree, &shared),
            })
        }
        Err(Failure::Error(e)) => return Err(e),
    };
    let requested: HashSet<&str> = direct.iter().map(|(n, _)| n.as_str()).collect();
    let mut resolved = Vec::new();
    for (pkg, version) in solution {
        let Pkg::Name(name) = pkg else { continue };
        let candidates = shared.candidates(&name)?;
        let candidate = candidates
            .get(&version)
            .expect("the solver picks only candidates");
        resolved.push(Resolved {
            requested: requested.contains(name.as_str()),
            wheel: candidate.wheel().clone(),
            files: candidate.files.clone(),
            name,
            version,
        });
    }
    resolved.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(resolved)
}

/// How solving ended, without the provider's lifetimes.
enum Failure {
    NoSolution(Box<pubgrub::DerivationTree<Pkg, specifiers::Range, String>>),
    Error(ResolveError),
}

fn solve(
    shared: &Shared,
    root: DependencyConstraints<Pkg, specifiers::Range>,
    direct: &[(String, String)],
) -> Result<pubgrub::Map<Pkg, Version>, Failure> {
    // A misspelt top-level name fails before any solving, naming its line.
    for (name, origin) in direct {
        let candidates = shared.candidates(name).map_err(Failure::Error)?;
        if candidates.not_found {
            return Err(Failure::Error(ResolveError::NotFound {
                name: name.clone(),
                origin: origin.clone(),
                indexes: shared.source().describe(),
            }));
        }
    }
    let provider = Provider::new(shared, root);
    pubgrub::resolve(&provider, Pkg::Root, Version::new([0])).map_err(|e| match e {
        PubGrubError::NoSolution(tree) => Failure::NoSolution(Box::new(tree)),
        PubGrubError::ErrorRetrievingDependencies { source, .. }
        | PubGrubError::ErrorChoosingVersion { source, .. }
        | PubGrubError::ErrorInShouldCancel(source) => Failure::Error(source),
    })
}

/// The target as messages name it.
fn target_name(tags: &Tags) -> String {
    format!(
        "Python {} on {} ({})",
        tags.python_version(),
        tags.machine(),
        tags.best()
    )
}

/// The rules fixed by the user's requirements and constraints.
fn context<'a>(request: &Request, tags: &'a Tags) -> Result<Context<'a>, ResolveError> {
    let env = crate::sources::marker_environment(tags);
    let python = Version::from_str(&tags.python_version()).expect("X.Y is a version");
    let mut ctx = Context {
        tags,
        env,
        python,
        options: request.options.clone(),
        pre_explicit: Default::default(),
        pinned: Default::default(),
        constraints: Default::default(),
    };
    let all = request.requirements.iter().map(|r| (r, false));
    for (user, is_constraint) in all.chain(request.constraints.iter().map(|r| (r, true))) {
        let req: &Requirement = &user.requirement;
        if !req.marker.evaluate(&ctx.env, &[]) {
            continue;
        }
        let name = normalize_name(req.name.as_ref());
        let Some(range) = requirement_range(req) else {
            return Err(ResolveError::Unsupported {
                origin: user.origin.clone(),
                message: format!("{name} is given by URL, which the resolver does not support"),
            });
        };
        if let Some(pep508_rs::VersionOrUrl::VersionSpecifier(specs)) = &req.version_or_url {
            for spec in specs.iter() {
                if spec.version().any_prerelease() {
                    ctx.pre_explicit.insert(name.clone());
                }
                if matches!(spec.operator(), Operator::Equal | Operator::ExactEqual) {
                    ctx.pinned
                        .entry(name.clone())
                        .or_default()
                        .push(spec.version().clone());
                }
            }
        }
        if is_constraint {
            let merged = match ctx.constraints.get(&name) {
                Some(r) => r.intersection(&range),
                None => range,
            };
            ctx.constraints.insert(name, merged);
        }
    }
    Ok(ctx)
}
