//! What the user is told while a build runs. Progress goes to stderr so
//! stdout stays machine-readable (only pushed references go there).

use std::time::Instant;

pub struct Reporter {
    pub quiet: bool,
    pub verbose: bool,
    start: Instant,
}

impl Reporter {
    pub fn new(quiet: bool, verbose: bool) -> Reporter {
        Reporter {
            quiet,
            verbose,
            start: Instant::now(),
        }
    }

    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!(
                "[{:>6.2}s] {}",
                self.start.elapsed().as_secs_f64(),
                msg.as_ref()
            );
        }
    }

    /// Said even with `--quiet`: what the user must know although the
    /// build goes on (e.g. a platform left out of the image).
    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!("{}", msg.as_ref());
    }

    pub fn debug(&self, msg: impl AsRef<str>) {
        if self.verbose {
            self.info(msg);
        }
    }
}
