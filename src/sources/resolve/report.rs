//! PubGrub's derivation tree as sentences a user can act on: packages with
//! PEP 440 ranges (`numpy>=2`, not `[2, ∞[`), the root as "you require",
//! and, after the explanation, why a package named in it has no usable
//! version at all (no such project, no wheel for the target's tags, …).

use pubgrub::{
    DefaultStringReporter, DerivationTree, Derived, External, Map, ReportFormatter, Reporter, Term,
};

use super::provider::Pkg;
use super::shared::Shared;
use super::specifiers::{display, Range};

type Tree = DerivationTree<Pkg, Range, String>;

/// `name` followed by its range as a specifier.
fn req(p: &Pkg, r: &Range) -> String {
    if *p == Pkg::Root {
        return p.to_string();
    }
    match display(r).as_str() {
        "*" => p.to_string(),
        s if s.contains(" | ") || s.starts_with('(') => format!("{p} {s}"),
        s => format!("{p}{s}"),
    }
}

fn depends(p: &Pkg, sp: &Range, d: &Pkg, sd: &Range) -> String {
    if *p == Pkg::Root {
        format!("you require {}", req(d, sd))
    } else {
        format!("{} depends on {}", req(p, sp), req(d, sd))
    }
}

struct Formatter;

impl ReportFormatter<Pkg, Range, String> for Formatter {
    type Output = String;

    fn format_external(&self, external: &External<Pkg, Range, String>) -> String {
        match external {
            External::NotRoot(p, v) => format!("we are solving the dependencies of {p} {v}"),
            External::NoVersions(p, r) if *r == Range::full() => {
                format!("there is no usable version of {p}")
            }
            External::NoVersions(p, r) => format!("there is no usable version of {}", req(p, r)),
            External::Custom(p, r, why) => format!("{} {why}", req(p, r)),
            External::FromDependencyOf(p, sp, d, sd) => depends(p, sp, d, sd),
        }
    }

    fn format_terms(&self, terms: &Map<Pkg, Term<Range>>) -> String {
        let mut terms: Vec<_> = terms.iter().collect();
        terms.sort_by(|a, b| a.0.cmp(b.0));
        match terms.as_slice() {
            [] => "no set of versions works".into(),
            [(Pkg::Root, Term::Positive(_))] => "your requirements cannot be satisfied".into(),
            [(p, Term::Positive(r))] => format!("{} cannot be used", req(p, r)),
            [(p, Term::Negative(r))] => format!("{} is required", req(p, r)),
            [(p1, Term::Positive(r1)), (p2, Term::Negative(r2))]
            | [(p2, Term::Negative(r2)), (p1, Term::Positive(r1))] => depends(p1, r1, p2, r2),
            slice => {
                let parts: Vec<String> = slice
                    .iter()
                    .map(|(p, t)| match t {
                        Term::Positive(r) => req(p, r),
                        Term::Negative(r) => format!("not {}", req(p, r)),
                    })
                    .collect();
                format!("{} are incompatible", parts.join(", "))
            }
        }
    }

    fn explain_both_external(
        &self,
        e1: &External<Pkg, Range, String>,
        e2: &External<Pkg, Range, String>,
        terms: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "Because {} and {}, {}.",
            self.format_external(e1),
            self.format_external(e2),
            self.format_terms(terms)
        )
    }

    fn explain_both_ref(
        &self,
        id1: usize,
        d1: &Derived<Pkg, Range, String>,
        id2: usize,
        d2: &Derived<Pkg, Range, String>,
        terms: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "Because {} ({id1}) and {} ({id2}), {}.",
            self.format_terms(&d1.terms),
            self.format_terms(&d2.terms),
            self.format_terms(terms)
        )
    }

    fn explain_ref_and_external(
        &self,
        id: usize,
        d: &Derived<Pkg, Range, String>,
        e: &External<Pkg, Range, String>,
        terms: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "Because {} ({id}) and {}, {}.",
            self.format_terms(&d.terms),
            self.format_external(e),
            self.format_terms(terms)
        )
    }

    fn and_explain_external(
        &self,
        e: &External<Pkg, Range, String>,
        terms: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "And because {}, {}.",
            self.format_external(e),
            self.format_terms(terms)
        )
    }

    fn and_explain_ref(
        &self,
        id: usize,
        d: &Derived<Pkg, Range, String>,
        terms: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "And because {} ({id}), {}.",
            self.format_terms(&d.terms),
            self.format_terms(terms)
        )
    }

    fn and_explain_prior_and_external(
        &self,
        prior: &External<Pkg, Range, String>,
        e: &External<Pkg, Range, String>,
        terms: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "And because {} and {}, {}.",
            self.format_external(prior),
            self.format_external(e),
            self.format_terms(terms)
        )
    }
}

/// Every `NoVersions` leaf of the tree, before they are merged away.
fn no_versions(tree: &Tree, out: &mut Vec<(Pkg, Range)>) {
    match tree {
        DerivationTree::External(External::NoVersions(p, r)) => out.push((p.clone(), r.clone())),
        DerivationTree::External(_) => {}
        DerivationTree::Derived(d) => {
            no_versions(&d.cause1, out);
            no_versions(&d.cause2, out);
        }
    }
}

/// The explanation, then one line per package of the tree that has no
/// usable version where the solver looked, saying why.
pub fn explain(tree: Tree, shared: &Shared) -> String {
    let mut empty = Vec::new();
    no_versions(&tree, &mut empty);
    // Merged into a single fact the tree would lose its "because".
    let mut collapsed = tree.clone();
    collapsed.collapse_no_versions();
    let tree = match collapsed {
        DerivationTree::Derived(_) => collapsed,
        DerivationTree::External(_) => tree,
    };
    let mut text = DefaultStringReporter::report_with_formatter(&tree, &Formatter);
    let mut names: Vec<&str> = tree.packages().into_iter().filter_map(Pkg::name).collect();
    names.sort_unstable();
    names.dedup();
    let mut notes = Vec::new();
    for name in names {
        let Some(candidates) = shared.known_candidates(name) else {
            continue;
        };
        if candidates.not_found {
            notes.push(format!(
                "{name}: no index has a project of that name ({})",
                shared.source().describe()
            ));
            continue;
        }
        let looked = empty
            .iter()
            .filter(|(p, _)| p.name() == Some(name))
            .fold(Range::empty(), |acc, (_, r)| acc.union(r));
        if let Some(why) = candidates.why_none(&looked, shared.ctx.tags) {
            notes.push(format!("{name} {why}"));
        }
    }
    if !notes.is_empty() {
        text.push_str("\n\n");
        text.push_str(&notes.join("\n"));
    }
    text
}
