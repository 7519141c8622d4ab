//! Which exit code an error means: the binary's only policy about errors
//! besides printing them. Above every stage, so it may know all their error
//! types while none of them knows it.

use std::error::Error;

use crate::build::BuildError;
use crate::cache::CacheError;
use crate::http::HttpError;
use crate::registry::login::LoginError;
use crate::registry::RegistryError;
use crate::sources::index::IndexError;
use crate::sources::lockfile::LockWriteError;
use crate::sources::resolve::ResolveError;
use crate::sources::LockError;

/// The class of a failure, as the process exit code, so that a script or CI
/// job can tell what to fix and whether trying again may help:
///
/// | code | meaning |
/// |------|---------|
/// | 0 | success |
/// | 1 | anything else (the cache directory, the environment, a bug) |
/// | 2 | usage: unknown flag, missing argument (clap), `login` without `--password-stdin` |
/// | 3 | bad input: a flag's value, a file, wheel, lock, requirements file, Dockerfile, app directory, CA file or disk base that pyko cannot use; fix the input, retrying will not help |
/// | 4 | registry or network: unreachable host, TLS, HTTP errors, authentication, what a registry or index served; may pass on retry or with other credentials |
/// | 5 | output: writing the tarball or OCI layout failed |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitClass {
    Other = 1,
    Usage = 2,
    Input = 3,
    Network = 4,
    Output = 5,
}

impl ExitClass {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Classifies `e` by the first error in its `source()` chain whose type
/// pyko knows. A `#[error(transparent)]` wrapper hides the wrapped error
/// from the chain (its `source()` is the inner one's), so wrappers are
/// looked into by variant.
pub fn exit_class(e: &(dyn Error + 'static)) -> ExitClass {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(class) = known(c) {
            return class;
        }
        cur = c.source();
    }
    ExitClass::Other
}

/// Whether `e` is a write to stdout that failed because the reader went
/// away (`pyko build --tarball - | head`): not worth a message.
pub fn is_broken_pipe(e: &(dyn Error + 'static)) -> bool {
    let mut cur = Some(e);
    let mut in_output = false;
    while let Some(c) = cur {
        in_output |= c.is::<crate::output::OutputError>()
            || matches!(c.downcast_ref(), Some(BuildError::Output(_)));
        // Only under an output error: a registry connection closed under
        // an upload is a network failure, not a closed stdout.
        if in_output
            && c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cur = c.source();
    }
    false
}

fn known(e: &(dyn Error + 'static)) -> Option<ExitClass> {
    use ExitClass::*;
    if let Some(e) = e.downcast_ref::<BuildError>() {
        return Some(build(e));
    }
    if let Some(e) = e.downcast_ref::<crate::inspect::InspectError>() {
        return Some(inspect(e));
    }
    if let Some(e) = e.downcast_ref::<RegistryError>() {
        return Some(registry(e));
    }
    if e.is::<crate::inputs::config::ConfigError>() {
        return Some(Usage);
    }
    if let Some(e) = e.downcast_ref::<LockError>() {
        return Some(lock(e));
    }
    if let Some(e) = e.downcast_ref::<IndexError>() {
        return Some(index(e));
    }
    if let Some(e) = e.downcast_ref::<ResolveError>() {
        return Some(resolve(e));
    }
    if e.is::<LockWriteError>() {
        return Some(Output);
    }
    if let Some(e) = e.downcast_ref::<CacheError>() {
        return Some(cache(e));
    }
    if let Some(e) = e.downcast_ref::<HttpError>() {
        return Some(http(e));
    }
    if let Some(e) = e.downcast_ref::<LoginError>() {
        return Some(login(e));
    }
    if let Some(e) = e.downcast_ref::<crate::base::BaseError>() {
        return Some(base(e));
    }
    if let Some(e) = e.downcast_ref::<crate::base::disk::DiskError>() {
        return Some(disk(e));
    }
    if let Some(e) = e.downcast_ref::<crate::layer::LayerError>() {
        return Some(layer(e));
    }
    if let Some(e) = e.downcast_ref::<crate::output::OutputError>() {
        return Some(output(e));
    }
    if let Some(e) = e.downcast_ref::<crate::target::TargetError>() {
        return Some(target(e));
    }
    let input = e.is::<crate::inputs::cli::FlagError>()
        || e.is::<crate::inputs::dockerfile::DockerfileError>()
        || e.is::<crate::wheel::WheelError>()
        || e.is::<crate::wheel::IncompatibleWheel>()
        || e.is::<crate::sources::HashMismatch>()
        || e.is::<crate::oci::config::ConfigError>()
        || e.is::<crate::inputs::SourceDateEpochError>()
        || e.is::<crate::target::venv::VenvError>();
    input.then_some(Input)
}

fn inspect(e: &crate::inspect::InspectError) -> ExitClass {
    use crate::inspect::InspectError as I;
    match e {
        I::Source(..) | I::Layer { .. } => ExitClass::Input,
        I::Base(b) => base(b),
        I::Disk(d) => disk(d),
        I::Registry(r) => registry(r),
        I::Cache(c) => cache(c),
    }
}

fn build(e: &BuildError) -> ExitClass {
    use ExitClass::*;
    match e {
        BuildError::Cache(c) => cache(c),
        BuildError::Registry(r) => registry(r),
        BuildError::Base(b) => base(b),
        BuildError::BaseDisk(d) => disk(d),
        BuildError::Target(t) => target(t),
        BuildError::Lock(l) => lock(l),
        BuildError::Layer(l) => layer(l),
        BuildError::Output(o) => output(o),
        BuildError::LockWrite(_) => Output,
        BuildError::Platform { source, .. } => build(source),
        BuildError::Wheel(_)
        | BuildError::Config(_)
        | BuildError::NoPlatformFits(_)
        | BuildError::AppDir(_)
        | BuildError::Venv(_)
        | BuildError::ReadWheel { .. } => Input,
    }
}

fn registry(e: &RegistryError) -> ExitClass {
    use ExitClass::*;
    match e {
        RegistryError::Unreachable { .. }
        | RegistryError::Status { .. }
        | RegistryError::Unauthorized { .. }
        | RegistryError::CredentialHelper { .. }
        | RegistryError::Token { .. }
        | RegistryError::DigestMismatch { .. }
        | RegistryError::UnsupportedManifest { .. }
        | RegistryError::TooLarge { .. }
        | RegistryError::Protocol { .. } => Network,
        RegistryError::AuthFile { .. } => Input,
        RegistryError::ReadLocal { .. } => Other,
        RegistryError::Http(h) => http(h),
        RegistryError::Cache(c) => cache(c),
    }
}

fn http(e: &HttpError) -> ExitClass {
    match e {
        HttpError::CaCert { .. } => ExitClass::Input,
        HttpError::Setup(_) => ExitClass::Other,
    }
}

fn index(e: &IndexError) -> ExitClass {
    match e {
        IndexError::BadUrl(_) => ExitClass::Input,
        IndexError::Http { .. } | IndexError::Status { .. } | IndexError::Json { .. } => {
            ExitClass::Network
        }
    }
}

fn lock(e: &LockError) -> ExitClass {
    use ExitClass::*;
    match e {
        LockError::Index(i) => index(i),
        LockError::Cache(c) => cache(c),
        LockError::Download { .. } => Network,
        LockError::Resolve(r) => resolve(r),
        _ => Input,
    }
}

/// No answer for these requirements, or a name no index has: the input.
/// Metadata that could not be fetched or read came from the index.
fn resolve(e: &ResolveError) -> ExitClass {
    match e {
        ResolveError::NoSolution { .. }
        | ResolveError::NotFound { .. }
        | ResolveError::Unsupported { .. } => ExitClass::Input,
        ResolveError::Index(i) => index(i),
        ResolveError::Metadata(_) => ExitClass::Network,
    }
}

/// A blob that failed its digest or broke off while streaming came from
/// the network; the cache directory itself failing is the machine's.
fn cache(e: &CacheError) -> ExitClass {
    match e {
        CacheError::Io { .. } => ExitClass::Other,
        // The fix is a flag (--cache-dir) or a chmod.
        CacheError::Unsafe { .. } => ExitClass::Usage,
        _ => ExitClass::Network,
    }
}

fn base(e: &crate::base::BaseError) -> ExitClass {
    use crate::base::BaseError;
    match e {
        BaseError::Registry(r) => registry(r),
        BaseError::NoSuchPlatform { .. } => ExitClass::Input,
        _ => ExitClass::Network,
    }
}

/// A disk base is a file the user named: what it holds is input.
fn disk(e: &crate::base::disk::DiskError) -> ExitClass {
    use crate::base::disk::DiskError;
    use crate::base::BaseError;
    match e {
        DiskError::Cache(CacheError::Io { .. }) => ExitClass::Other,
        DiskError::Cache(CacheError::Unsafe { .. }) => ExitClass::Usage,
        DiskError::Base(BaseError::Registry(r)) => registry(r),
        _ => ExitClass::Input,
    }
}

fn layer(e: &crate::layer::LayerError) -> ExitClass {
    use crate::layer::LayerError;
    match e {
        LayerError::Write { .. } | LayerError::Pipeline { .. } => ExitClass::Other,
        LayerError::Cache(c) => cache(c),
        _ => ExitClass::Input,
    }
}

fn output(e: &crate::output::OutputError) -> ExitClass {
    use crate::output::OutputError;
    match e {
        OutputError::Tag { .. } => ExitClass::Input,
        _ => ExitClass::Output,
    }
}

fn target(e: &crate::target::TargetError) -> ExitClass {
    match e {
        // Reading a cached base layer: the cache, not the input.
        crate::target::TargetError::Layer { .. } => ExitClass::Other,
        _ => ExitClass::Input,
    }
}

fn login(e: &LoginError) -> ExitClass {
    use ExitClass::*;
    match e {
        LoginError::Registry { source, .. } => registry(source),
        LoginError::NoPasswordStdin => Usage,
        LoginError::Config { .. } | LoginError::EmptyPassword => Input,
        LoginError::NoConfigDir | LoginError::Stdin(_) => Other,
    }
}

#[cfg(test)]
mod tests {
    use super::ExitClass::*;
    use super::*;
    use std::io;
    use std::path::PathBuf;

    fn class(e: impl Error + 'static) -> ExitClass {
        exit_class(&e)
    }

    fn io_err() -> io::Error {
        io::Error::from(io::ErrorKind::NotFound)
    }

    fn unreachable() -> RegistryError {
        RegistryError::Unreachable {
            registry: "r".into(),
            url: "u".into(),
            detail: "d".into(),
            hint: "h".into(),
        }
    }

    #[test]
    fn each_class_from_the_library_errors() {
        let wheel = crate::wheel::WheelError::ReadDir {
            dir: "/nonexistent/wh".into(),
            source: io_err(),
        };
        assert_eq!(class(BuildError::Wheel(wheel)), Input);
        assert_eq!(class(BuildError::AppDir("/x".into())), Input);
        assert_eq!(class(BuildError::from(unreachable())), Network);
        let out = crate::output::OutputError::Io {
            path: "/nonexistent/out.tar".into(),
            source: io_err(),
        };
        assert_eq!(class(BuildError::Output(out)), Output);
        let cache_io = || CacheError::Io {
            path: PathBuf::from("/c"),
            source: io_err(),
        };
        assert_eq!(class(BuildError::Cache(cache_io())), Other);
        assert_eq!(class(io_err()), Other);
        assert_eq!(class(LoginError::NoPasswordStdin), Usage);
        assert_eq!(Usage.code(), 2);
        assert_eq!(Input.code(), 3);
        assert_eq!(Network.code(), 4);
        assert_eq!(Output.code(), 5);
    }

    #[test]
    fn transparent_wrappers_are_looked_into() {
        // BuildError::Lock(LockError::Index(..)): neither inner error is in
        // the source chain, only the reqwest error under them would be.
        let index = IndexError::BadUrl("x".into());
        assert_eq!(class(BuildError::Lock(LockError::Index(index))), Input);
        let status = IndexError::Status {
            url: "u".into(),
            status: 503,
        };
        assert_eq!(class(BuildError::Lock(LockError::Index(status))), Network);
        let download = LockError::Download {
            url: "u".into(),
            message: "m".into(),
        };
        assert_eq!(class(BuildError::Lock(download)), Network);
        let conflict = ResolveError::NoSolution {
            target: "t".into(),
            explanation: "e".into(),
        };
        assert_eq!(class(BuildError::Lock(conflict.into())), Input);
        let typo = ResolveError::NotFound {
            name: "n".into(),
            origin: "o".into(),
            indexes: "i".into(),
        };
        assert_eq!(class(LockError::from(typo)), Input);
        let write = LockWriteError {
            path: "/nonexistent/pylock.toml".into(),
            source: io_err(),
        };
        assert_eq!(class(BuildError::LockWrite(write)), Output);
        let ca = HttpError::CaCert {
            path: "/ca.pem".into(),
            detail: "d".into(),
        };
        assert_eq!(class(BuildError::from(RegistryError::Http(ca))), Input);
        let nested = BuildError::Platform {
            platform: "linux/arm64".into(),
            source: Box::new(unreachable().into()),
        };
        assert_eq!(class(nested), Network);
        let login = LoginError::Registry {
            registry: "r".into(),
            source: Box::new(unreachable()),
        };
        assert_eq!(class(login), Network);
    }

    /// The first known error decides, even under context that is not ours.
    #[test]
    fn outermost_known_error_decides() {
        #[derive(Debug, thiserror::Error)]
        #[error("context")]
        struct Context(#[source] BuildError);
        assert_eq!(class(Context(BuildError::AppDir("/x".into()))), Input);
    }

    #[test]
    fn broken_pipe_only_under_an_output_error() {
        let pipe = || io::Error::from(io::ErrorKind::BrokenPipe);
        let out = crate::output::OutputError::Io {
            path: "<stdout>".into(),
            source: pipe(),
        };
        assert!(is_broken_pipe(&BuildError::Output(out)));
        assert!(!is_broken_pipe(&pipe()));
        let upload = RegistryError::ReadLocal {
            path: "/b".into(),
            digest: crate::oci::digest::Digest::of_bytes(b""),
            source: pipe(),
        };
        assert!(!is_broken_pipe(&upload));
    }
}
