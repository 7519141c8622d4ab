//! A handle per byte stream (a download, an upload, a layer compressed,
//! wheels installed). On a terminal it is a live bar among the others; it
//! always ends as one plain line with the size and time, and counts into
//! the summary. A stream that stops early (an error, a retry) leaves no
//! line: the error says what happened.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{current, size, Level, Sink, Step};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Download,
    Upload,
    Compress,
    /// Counted in wheels, not bytes.
    Install,
}

impl Kind {
    fn verb(self) -> &'static str {
        match self {
            Kind::Download => "download",
            Kind::Upload => "upload",
            Kind::Compress => "compress",
            Kind::Install => "install",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Kind::Download => "downloaded",
            Kind::Upload => "uploaded",
            Kind::Compress => "compressed",
            Kind::Install => "installed",
        }
    }
}

/// Streams smaller than this report their line only with `-v`: a config
/// blob or a small wheel is not a step worth a line of a CI log.
const SMALL: u64 = 1 << 20;

/// Cheap to clone; the line is said when the last clone goes.
#[derive(Clone)]
pub struct Progress(Arc<Inner>);

struct Inner {
    kind: Kind,
    /// Renamed once when what was unnamed at the start learns its name.
    what: std::sync::Mutex<String>,
    total: Option<u64>,
    done: AtomicU64,
    finished: AtomicBool,
    started: Instant,
    bar: Option<ProgressBar>,
    sink: Option<Arc<Sink>>,
}

/// Starts a stream of `total` bytes (wheels, for [`Kind::Install`]), if
/// known. Without a reporter (library use, unit tests) it only counts.
pub fn bytes(kind: Kind, what: impl Into<String>, total: Option<u64>) -> Progress {
    let what = what.into();
    let sink = current();
    let bar = sink.as_ref().and_then(|s| s.multi.as_ref()).map(|multi| {
        // Hidden until the MultiProgress owns it: a bar made with its own
        // stderr target draws itself once on the first set_message, outside
        // the lines the MultiProgress clears, and that copy stays on screen.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        bar.set_style(style(kind, total.is_some()));
        bar.set_prefix(kind.verb());
        bar.set_message(what.clone());
        let bar = multi.add(bar);
        bar.enable_steady_tick(Duration::from_millis(150));
        bar
    });
    Progress(Arc::new(Inner {
        kind,
        what: std::sync::Mutex::new(what),
        total,
        done: AtomicU64::new(0),
        finished: AtomicBool::new(false),
        started: Instant::now(),
        bar,
        sink,
    }))
}

/// At most 80 columns: the message takes what the fixed fields leave.
fn style(kind: Kind, sized: bool) -> ProgressStyle {
    let counts = if kind == Kind::Install {
        "{pos:>4}/{len:<4}"
    } else if sized {
        "{bytes:>9}/{total_bytes:<9}"
    } else {
        "{bytes:>9}"
    };
    // Installs count wheels: a byte rate would call 40 wheels a second "40 B/s".
    let rate = if kind == Kind::Install {
        "{wheel_rate:>11}"
    } else {
        "{bytes_per_sec:>11}"
    };
    let template = if sized {
        format!("{{prefix:>8}} {{wide_msg}} {{bar:16}} {counts} {rate} {{eta:>3}}")
    } else {
        format!("{{prefix:>8}} {{spinner}} {{wide_msg}} {counts} {rate}")
    };
    ProgressStyle::with_template(&template)
        .expect("template is valid")
        .with_key(
            "wheel_rate",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} whl/s", s.per_sec());
            },
        )
        .progress_chars("=> ")
}

impl Progress {
    pub fn inc(&self, n: u64) {
        let done = self.0.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(bar) = &self.0.bar {
            bar.set_position(done);
        }
        if self.0.total.is_some_and(|t| done >= t) {
            self.0.finished.store(true, Ordering::Relaxed);
        }
    }

    /// Names the stream anew (a blob uploaded before its digest was known).
    pub fn rename(&self, what: impl Into<String>) {
        let what = what.into();
        if let Some(bar) = &self.0.bar {
            bar.set_message(what.clone());
        }
        *self.0.what.lock().unwrap_or_else(|e| e.into_inner()) = what;
    }

    /// Takes back a [`Progress::finish`] (or a reader's end): the stream
    /// did not count after all, so it leaves no line.
    pub fn abandon(&self) {
        self.0.finished.store(false, Ordering::Relaxed);
    }

    /// Marks the stream complete (a stream of unknown length ends here).
    pub fn finish(&self) {
        self.0.finished.store(true, Ordering::Relaxed);
    }

    /// Counts what `r` yields, from zero: a retried stream starts again.
    pub fn reader<R: Read>(&self, r: R) -> ProgressIo<R> {
        self.reader_at(r, 0)
    }

    /// Counts what `r` yields on top of the `from` bytes sent before it: a
    /// blob sent in several requests counts whole, and a retried request
    /// counts again from where it starts.
    pub fn reader_at<R: Read>(&self, r: R, from: u64) -> ProgressIo<R> {
        self.0.done.store(from, Ordering::Relaxed);
        self.0.finished.store(false, Ordering::Relaxed);
        ProgressIo {
            inner: r,
            progress: self.clone(),
        }
    }

    /// Counts what goes through `w`; [`Progress::finish`] says it ended.
    pub fn writer<W: Write>(&self, w: W) -> ProgressIo<W> {
        ProgressIo {
            inner: w,
            progress: self.clone(),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Some(m) = self.sink.as_ref().and_then(|s| s.multi.as_ref()) {
                m.remove(&bar);
            }
        }
        let Some(sink) = &self.sink else { return };
        if !self.finished.load(Ordering::Relaxed) {
            return;
        }
        let done = *self.done.get_mut();
        let seconds = self.started.elapsed().as_secs_f64();
        let amount = match self.kind {
            Kind::Install => format!("{done} wheels"),
            _ => size(done),
        };
        let at = if self.kind != Kind::Install && done < SMALL {
            Level::Verbose
        } else {
            Level::Normal
        };
        sink.line(
            at,
            &format!(
                "{} {}: {amount} in {seconds:.1}s",
                self.kind.past(),
                self.what.get_mut().unwrap_or_else(|e| e.into_inner())
            ),
        );
        let mut stats = sink.stats();
        match self.kind {
            Kind::Download => stats.bytes_downloaded += done,
            Kind::Upload => {
                stats.bytes_uploaded += done;
                stats.blobs_uploaded += 1;
            }
            Kind::Compress => stats.layers_built += 1,
            Kind::Install => {}
        }
        stats.steps.push(Step {
            kind: self.kind.verb(),
            what: self
                .what
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            bytes: done,
            seconds,
        });
    }
}

/// A reader or writer that moves its [`Progress`] along.
pub struct ProgressIo<T> {
    inner: T,
    progress: Progress,
}

impl<R: Read> Read for ProgressIo<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.progress.finish();
        }
        self.progress.inc(n as u64);
        Ok(n)
    }
}

impl<W: Write> Write for ProgressIo<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a reporter a handle still counts, and says nothing.
    #[test]
    fn counts_through_a_reader() {
        let p = bytes(Kind::Download, "x", Some(5));
        let mut out = Vec::new();
        p.reader(&b"hello"[..]).read_to_end(&mut out).unwrap();
        assert_eq!(p.0.done.load(Ordering::Relaxed), 5);
        assert!(p.0.finished.load(Ordering::Relaxed));
    }
}
