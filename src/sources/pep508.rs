//! PEP 508 parsing of untrusted text, in one place.

use std::str::FromStr;

use pep508_rs::Requirement;

/// A PEP 508 requirement from untrusted text. pep508_rs 0.9 panics on an
/// extra name ending in `-`, `_` or `.` (its parser accepts what its
/// `ExtraName` refuses), so such names are refused here first.
pub(crate) fn parse_requirement(spec: &str) -> Result<Requirement, String> {
    if let Some(open) = spec.find('[') {
        if !spec[..open].contains(|c| "@;<>=!~(".contains(c)) {
            let inner = &spec[open + 1..];
            let inner = &inner[..inner.find(']').unwrap_or(inner.len())];
            if let Some(bad) = inner
                .split(|c: char| c == ',' || c.is_whitespace())
                .find(|e| e.ends_with(['-', '_', '.']))
            {
                return Err(format!(
                    "extra name {bad:?} must end with a letter or digit"
                ));
            }
        }
    }
    Requirement::from_str(spec).map_err(|e| e.to_string())
}
