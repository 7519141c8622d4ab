//! The resolver's flags, the same on `build` and `lock` so that a lock
//! and a resolved build of the same inputs agree.

use std::path::PathBuf;

use clap::Args;

use super::FlagError;
use crate::sources::resolve::ResolveOptions;
use crate::sources::sdist::BuildPolicy;

#[derive(Args, Debug, Default)]
pub struct ResolveFlags {
    /// Constraints file (pip's -c): bounds versions, never adds packages
    /// (repeatable).
    #[arg(short = 'c', long = "constraint", value_name = "FILE")]
    pub constraints: Vec<PathBuf>,
    /// Allow pre-releases everywhere (otherwise only where a specifier
    /// names one, as pip does).
    #[arg(long)]
    pub pre: bool,
    /// Ignore files uploaded after this time (the index's PEP 700
    /// upload-time), for a resolution that does not move: 2025-06-01
    /// (midnight UTC) or 2025-06-01T12:00:00Z.
    #[arg(long, value_name = "DATE")]
    pub exclude_newer: Option<String>,
    /// Never build an sdist: a package whose version has no wheel for the
    /// target is refused (as uv's --no-build). Otherwise it is built into
    /// a wheel on this machine, never in the image, and cached by its hash.
    #[arg(long)]
    pub no_build: bool,
    /// The interpreter that builds sdists (PEP 517 in an isolated venv).
    /// Default: `uv build` when uv is on PATH, else python3 on PATH.
    #[arg(long, value_name = "PATH")]
    pub build_python: Option<PathBuf>,
}

impl ResolveFlags {
    pub fn build_policy(&self) -> BuildPolicy {
        BuildPolicy {
            forbid: self.no_build,
            python: self.build_python.clone(),
        }
    }

    pub fn options(&self) -> Result<ResolveOptions, FlagError> {
        let exclude_newer = self
            .exclude_newer
            .as_deref()
            .map(|v| {
                parse_time(v).ok_or_else(|| FlagError {
                    flag: "--exclude-newer",
                    message: format!(
                        "{v:?} is not a date or time; write 2025-06-01 or 2025-06-01T12:00:00Z"
                    ),
                })
            })
            .transpose()?;
        Ok(ResolveOptions {
            pre: self.pre,
            exclude_newer,
            build_sdists: !self.no_build,
        })
    }
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time with an offset, as Unix
/// seconds. toml's datetime is the RFC 3339 parser.
fn parse_time(v: &str) -> Option<i64> {
    let t: toml::value::Datetime = v.trim().parse().ok()?;
    let d = t.date?;
    let days = days_from_civil(i64::from(d.year), i64::from(d.month), i64::from(d.day));
    let (secs, offset) = match (t.time, t.offset) {
        (None, None) => (0, 0),
        (Some(time), Some(offset)) => {
            let secs = i64::from(time.hour) * 3600
                + i64::from(time.minute) * 60
                + i64::from(time.second.unwrap_or(0));
            let offset = match offset {
                toml::value::Offset::Z => 0,
                toml::value::Offset::Custom { minutes } => i64::from(minutes) * 60,
            };
            (secs, offset)
        }
        // A local time without an offset means a different instant on
        // every machine.
        _ => return None,
    };
    Some(days * 86_400 + secs - offset)
}

/// Howard Hinnant's days_from_civil: days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_newer_forms() {
        assert_eq!(parse_time("1970-01-01"), Some(0));
        assert_eq!(parse_time("2025-06-01"), Some(1_748_736_000));
        assert_eq!(parse_time("2025-06-01T12:00:00Z"), Some(1_748_779_200));
        assert_eq!(parse_time("2025-06-01T14:00:00+02:00"), Some(1_748_779_200));
        assert_eq!(parse_time("2024-02-29T00:00:01Z"), Some(1_709_164_801));
        assert_eq!(parse_time("2025-06-01T12:00:00"), None);
        assert_eq!(parse_time("yesterday"), None);
        let flags = ResolveFlags {
            exclude_newer: Some("06/01/2025".into()),
            ..Default::default()
        };
        let e = flags.options().unwrap_err().to_string();
        assert!(e.starts_with("--exclude-newer \"06/01/2025\""), "{e}");
    }
}
