//! What every stage's errors share: how a cause chain becomes one line.
//! Convention: a cause is either part of an error's message or its
//! `source()`, never both, so the binary edge prints each cause once.

/// The whole `source()` chain of an error on one line: reqwest's own message
/// ("error sending request") hides the useful part (refused, bad cert).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
