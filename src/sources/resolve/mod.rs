//! Top-level requirements → one version per package, decided for the
//! *target* (its Python version, wheel tags and marker environment), with
//! PubGrub as uv does, so a conflict is explained as sentences rather than
//! as the last thing tried. The index and the metadata come through
//! [`PackageSource`], so the algorithm is tested without a network and the
//! build uses the real index (`IndexSource`).

use pep440_rs::Version;
use pep508_rs::Requirement;

use crate::sources::index::{IndexClient, IndexError, IndexFile};
use crate::sources::metadata::{CoreMetadata, MetadataClient, MetadataError};
use crate::wheel::Tags;

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
}

/// The real index and metadata client.
pub struct IndexSource<'a> {
    pub index: &'a IndexClient,
    pub metadata: &'a MetadataClient,
}

impl PackageSource for IndexSource<'_> {
    fn files(&self, project: &str) -> Result<Vec<IndexFile>, IndexError> {
        self.index.files(project)
    }
    fn metadata(&self, file: &IndexFile) -> Result<CoreMetadata, MetadataError> {
        self.metadata.get(file)
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
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

/// Resolves `request` for the target described by `tags`.
pub fn resolve(
    request: &Request,
    tags: &Tags,
    source: &dyn PackageSource,
) -> Result<Vec<Resolved>, ResolveError> {
    let _ = (request, tags, source);
    todo!("TODO(resolver): PubGrub")
}
