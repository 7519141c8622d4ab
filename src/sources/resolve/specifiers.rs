//! PEP 440 specifiers as PubGrub version sets, and back to PEP 440 text
//! for the explanation. The conversion follows uv's (so both tools admit
//! the same versions) with one difference of means: pep440_rs has no
//! "greatest local version" sentinel, so `==V` ends just before the first
//! version that sorts after every `V+local`.

use std::ops::Bound;

use pep440_rs::{Operator, Prerelease, Version, VersionSpecifier, VersionSpecifiers};
use pubgrub::Ranges;

pub type Range = Ranges<Version>;

pub fn to_range(specifiers: &VersionSpecifiers) -> Range {
    specifiers.iter().fold(Range::full(), |acc, s| {
        acc.intersection(&specifier_to_range(s))
    })
}

/// The least version above `v` and every `v+local` (PEP 440: a specifier
/// without a local label ignores the candidates' local labels).
fn after_locals(v: &Version) -> Version {
    let v = v.clone().without_local();
    if let Some(dev) = v.dev() {
        v.with_dev(Some(dev + 1))
    } else if let Some(post) = v.post() {
        v.with_post(Some(post + 1)).with_dev(Some(0))
    } else {
        v.with_post(Some(0)).with_dev(Some(0))
    }
}

fn equal(v: &Version) -> Range {
    if v.is_local() {
        Range::singleton(v.clone())
    } else {
        Range::from_range_bounds(v.clone()..after_locals(v))
    }
}

/// `==V.*`: from `V.dev0` to the next release at the star's position.
fn star(v: &Version) -> Range {
    let low = v.clone().with_dev(Some(0));
    let high = if let Some(post) = low.post() {
        low.clone().with_post(Some(post + 1))
    } else if let Some(pre) = low.pre() {
        low.clone().with_pre(Some(Prerelease {
            kind: pre.kind,
            number: pre.number + 1,
        }))
    } else {
        let mut release = low.release().to_vec();
        *release.last_mut().expect("a version has a release") += 1;
        low.clone().with_release(release)
    };
    Range::from_range_bounds(low..high)
}

pub fn specifier_to_range(specifier: &VersionSpecifier) -> Range {
    let v = specifier.version();
    match specifier.operator() {
        Operator::Equal => equal(v),
        Operator::ExactEqual => Range::singleton(v.clone()),
        Operator::NotEqual => equal(v).complement(),
        Operator::EqualStar => star(v),
        Operator::NotEqualStar => star(v).complement(),
        Operator::TildeEqual => {
            let release = v.release();
            let upper = match release {
                [rest @ .., last, _] => Version::new(rest.iter().chain([&(last + 1)]))
                    .with_epoch(v.epoch())
                    .with_dev(Some(0)),
                // The parser rejects `~=1`; treat it as `>=1` rather than panic.
                _ => return Range::higher_than(v.clone()),
            };
            Range::from_range_bounds(v.clone()..upper)
        }
        // PEP 440: `<V` excludes V's pre-releases unless V is one.
        Operator::LessThan if v.any_prerelease() => Range::strictly_lower_than(v.clone()),
        Operator::LessThan => Range::strictly_lower_than(v.clone().with_min(Some(0))),
        Operator::LessThanEqual => Range::strictly_lower_than(after_locals(v)),
        // PEP 440: `>V` excludes V's post-releases unless V is one.
        Operator::GreaterThan => {
            if let Some(dev) = v.dev() {
                Range::higher_than(v.clone().with_dev(Some(dev + 1)))
            } else if let Some(post) = v.post() {
                Range::higher_than(v.clone().with_post(Some(post + 1)))
            } else {
                Range::strictly_higher_than(v.clone().with_max(Some(0)))
            }
        }
        Operator::GreaterThanEqual => Range::higher_than(v.clone()),
    }
}

/// A range as PEP 440 text for messages: `>=1.2, <2`, `==1.4`, `!=1.5`,
/// alternatives joined by ` | `; `*` for every version.
pub fn display(range: &Range) -> String {
    if range.is_empty() {
        return "(no version)".into();
    }
    if *range == Range::full() {
        return "*".into();
    }
    // A full range with holes reads better as `!=` of the holes.
    let holes = range.complement();
    let hole_points: Option<Vec<String>> = holes.iter().map(as_point).collect();
    if let Some(points) = hole_points {
        if !points.is_empty() {
            return points
                .iter()
                .map(|p| format!("!={p}"))
                .collect::<Vec<_>>()
                .join(", ");
        }
    }
    range
        .iter()
        .map(|seg| match as_point(seg) {
            Some(p) => format!("=={p}"),
            None => segment(seg),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `Some(V)` when the segment is exactly `==V`.
fn as_point((lo, hi): (&Bound<Version>, &Bound<Version>)) -> Option<String> {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) if a == b => Some(a.to_string()),
        (Bound::Included(a), Bound::Excluded(b)) if !a.is_local() && *b == after_locals(a) => {
            Some(a.to_string())
        }
        _ => None,
    }
}

fn segment((lo, hi): (&Bound<Version>, &Bound<Version>)) -> String {
    let lower = match lo {
        Bound::Unbounded => None,
        Bound::Included(a) => Some(format!(">={a}")),
        Bound::Excluded(a) if a.max().is_some() => Some(format!(">{}", a.clone().with_max(None))),
        Bound::Excluded(a) => Some(format!(">{a}")),
    };
    let upper = match hi {
        Bound::Unbounded => None,
        Bound::Included(b) => Some(format!("<={b}")),
        Bound::Excluded(b) if b.min().is_some() => Some(format!("<{}", b.clone().with_min(None))),
        Bound::Excluded(b) if is_after_locals(b) => Some(format!("<={}", before_post0(b))),
        Bound::Excluded(b) => Some(format!("<{b}")),
    };
    match (lower, upper) {
        (Some(l), Some(u)) => format!("{l}, {u}"),
        (Some(l), None) => l,
        (None, Some(u)) => u,
        (None, None) => "*".into(),
    }
}

/// Whether `b` is `after_locals` of a final or pre-release version.
fn is_after_locals(b: &Version) -> bool {
    b.post() == Some(0) && b.dev() == Some(0)
}

fn before_post0(b: &Version) -> Version {
    b.clone().with_dev(None).with_post(None)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn r(spec: &str) -> Range {
        to_range(&VersionSpecifiers::from_str(spec).unwrap())
    }

    fn admits(spec: &str, version: &str) -> bool {
        r(spec).contains(&Version::from_str(version).unwrap())
    }

    /// Every operator, checked against what `packaging` (pip) answers.
    #[test]
    fn operators_admit_what_pep_440_says() {
        let cases: &[(&str, &str, bool)] = &[
            ("==1.2", "1.2", true),
            ("==1.2", "1.2.0", true),
            ("==1.2", "1.2+cpu", true),
            ("==1.2", "1.2.post1", false),
            ("==1.2", "1.2.1", false),
            ("==1.2+cpu", "1.2+cpu", true),
            ("==1.2+cpu", "1.2+cu121", false),
            ("==1.2+cpu", "1.2", false),
            ("==1.2.*", "1.2.9", true),
            ("==1.2.*", "1.2.0.dev1", true),
            ("==1.2.*", "1.3", false),
            ("==1.2.*", "1.2rc1", true),
            ("!=1.2", "1.2", false),
            ("!=1.2", "1.2+local", false),
            ("!=1.2", "1.2.1", true),
            ("!=1.2.*", "1.2.5", false),
            ("!=1.2.*", "1.3", true),
            ("<2", "1.9", true),
            ("<2", "2.0a1", false),
            ("<2", "2.0.dev1", false),
            ("<2.0rc1", "2.0b1", true),
            ("<=2", "2.0", true),
            ("<=2", "2.0+local", true),
            ("<=2", "2.0.post1", false),
            (">2", "2.0.post1", false),
            (">2", "2.0+local", false),
            (">2", "2.0.1", true),
            (">2.0.post1", "2.0.post2", true),
            (">2.0.post1", "2.0.post1", false),
            (">=2", "2.0", true),
            (">=2", "2.0rc1", false),
            ("~=2.2", "2.9", true),
            ("~=2.2", "3.0", false),
            ("~=2.2", "3.0.dev0", false),
            ("~=2.2.1", "2.2.5", true),
            ("~=2.2.1", "2.3", false),
            ("===1.0", "1.0", true),
            ("===1.0", "1.1", false),
            (">=1.0, <2, !=1.5", "1.5", false),
            (">=1.0, <2, !=1.5", "1.6", true),
            ("", "0.0.1", true),
        ];
        for (spec, version, expected) in cases {
            assert_eq!(
                admits(spec, version),
                *expected,
                "{spec:?} admits {version}?"
            );
        }
    }

    #[test]
    fn ranges_read_back_as_specifiers() {
        assert_eq!(display(&r(">=1.0, <2")), ">=1.0, <2");
        assert_eq!(display(&r("==1.4")), "==1.4");
        assert_eq!(display(&r("!=1.5")), "!=1.5");
        assert_eq!(display(&r("<=3")), "<=3");
        assert_eq!(display(&r(">3")), ">3");
        assert_eq!(display(&r("")), "*");
        assert_eq!(display(&r("<1").union(&r(">=2"))), "<1 | >=2");
        assert_eq!(display(&r("==1").intersection(&r("==2"))), "(no version)");
    }
}
