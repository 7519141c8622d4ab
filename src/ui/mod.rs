//! What the user is told while a build runs. Everything goes to stderr so
//! stdout stays machine-readable (pushed references, or `--json`).
//!
//! Two renderings of the same events: on a terminal, live bars (indicatif)
//! for the byte streams above plain step lines; anywhere else (CI logs,
//! pipes, files) only the plain lines, timestamped, with sizes and times
//! and no control characters. The stages report byte streams through
//! [`progress::bytes`], which reaches the one [`Reporter`] of the process
//! without every stage having to carry it.

pub mod progress;
mod stats;
mod trace;

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressDrawTarget};

pub use progress::Kind;
pub use stats::{Stats, Step};

/// How much is said: `-q`, nothing, `-v`, `-vv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet,
    Normal,
    Verbose,
    /// `-vv`: also every HTTP request and response, credentials redacted.
    Trace,
}

pub struct Reporter {
    sink: Arc<Sink>,
}

/// The state every progress handle shares with the reporter.
pub(crate) struct Sink {
    level: Level,
    start: Instant,
    /// Present on a terminal, unless quiet or tracing (trace lines and
    /// bars would fight over the same lines).
    multi: Option<MultiProgress>,
    stats: Mutex<Stats>,
}

/// The reporter of this process, for stages that only stream bytes.
static CURRENT: RwLock<Option<Arc<Sink>>> = RwLock::new(None);

impl Reporter {
    /// `verbose` counts `-v`s. Bars only when stderr is a terminal that
    /// can draw them (`TERM=dumb` cannot).
    pub fn new(quiet: bool, verbose: u8) -> Reporter {
        let level = match (quiet, verbose) {
            (true, _) => Level::Quiet,
            (false, 0) => Level::Normal,
            (false, 1) => Level::Verbose,
            (false, _) => Level::Trace,
        };
        let tty =
            std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Reporter::with(
            level,
            tty && matches!(level, Level::Normal | Level::Verbose),
        )
    }

    /// A reporter with bars forced on or off, whatever stderr is.
    pub fn with(level: Level, bars: bool) -> Reporter {
        let multi =
            bars.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
        if level == Level::Trace {
            trace::init();
        }
        let sink = Arc::new(Sink {
            level,
            start: Instant::now(),
            multi,
            stats: Mutex::new(Stats::default()),
        });
        *CURRENT.write().expect("reporter slot") = Some(sink.clone());
        Reporter { sink }
    }

    pub fn level(&self) -> Level {
        self.sink.level
    }

    pub fn info(&self, msg: impl AsRef<str>) {
        self.sink.line(Level::Normal, msg.as_ref());
    }

    /// Said even with `--quiet`: what the user must know although the
    /// build goes on (e.g. a platform left out of the image). Kept for
    /// `--json`'s `warnings`.
    pub fn warn(&self, msg: impl AsRef<str>) {
        let msg = msg.as_ref();
        self.sink.stats().warnings.push(msg.to_string());
        self.sink.print(msg);
    }

    pub fn debug(&self, msg: impl AsRef<str>) {
        self.sink.line(Level::Verbose, msg.as_ref());
    }

    /// Something found in the cache instead of made or fetched again.
    pub fn cache_hit(&self, what: impl Into<String>) {
        self.sink.stats().cache_hits.push(what.into());
    }

    /// What happened so far: bytes moved, layers built and reused, steps.
    pub fn stats(&self) -> Stats {
        self.sink.stats().clone()
    }

    pub fn elapsed(&self) -> Duration {
        self.sink.start.elapsed()
    }

    /// An error, said even with `--quiet`, after every bar is gone.
    pub fn error(&self, line: &str) {
        if let Some(m) = &self.sink.multi {
            let _ = m.clear();
        }
        eprintln!("{line}");
    }

    /// The final line, said unless quiet, after every bar is gone.
    pub fn summary(&self, line: &str) {
        if let Some(m) = &self.sink.multi {
            let _ = m.clear();
        }
        if self.sink.level > Level::Quiet {
            eprintln!("{line}");
        }
    }
}

/// Counts an event of the stages that have no reporter at hand.
pub fn record(f: impl FnOnce(&mut Stats)) {
    if let Some(sink) = current() {
        f(&mut sink.stats());
    }
}

fn current() -> Option<Arc<Sink>> {
    CURRENT.read().ok().and_then(|s| s.clone())
}

impl Sink {
    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        // A panic elsewhere must not also lose the summary.
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn line(&self, at: Level, msg: &str) {
        if self.level >= at {
            self.print(&format!(
                "[{:>6.2}s] {msg}",
                self.start.elapsed().as_secs_f64()
            ));
        }
    }

    /// One line above the bars, which are redrawn below it.
    fn print(&self, line: &str) {
        match &self.multi {
            Some(m) => m.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

/// `12.3 MB`: decimal units, as registries and `docker images` show sizes.
pub fn size(bytes: u64) -> String {
    indicatif::DecimalBytes(bytes).to_string()
}
