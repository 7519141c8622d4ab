//! `-vv`: the HTTP stack's `tracing` events (one line per request and per
//! response, already redacted where they are made) printed to stderr.

use std::sync::Once;

pub(super) fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .try_init();
    });
}
