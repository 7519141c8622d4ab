//! Which locked packages a `uv sync --no-dev` of the lock installs: the
//! target project(s) as uv picks them (the root project, every member of a
//! workspace whose root is no project, or `--package`'s member), then a
//! walk over `dependencies`, the optional dependencies of the extras asked
//! for, and the dependency groups asked for (only the targets' own groups,
//! as uv does), evaluating each edge's marker for the target.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use pep508_rs::{MarkerEnvironment, MarkerTree};

use super::{Dep, File, Package};
use crate::sources::Selection;
use crate::wheel::normalize_name;

/// What the walk found.
pub(super) struct Walk {
    /// Indexes of the packages to install (members and virtual packages
    /// left out), in name order.
    pub install: Vec<usize>,
    /// Direct dependencies of the project(s), normalized: pip marks them
    /// `REQUESTED`.
    pub requested: BTreeSet<String>,
}

/// A package whose code is the app (a workspace member) or that has none
/// to install (`virtual`): its dependencies are installed, never it.
fn not_installed(p: &Package, members: &BTreeSet<String>) -> bool {
    members.contains(&normalize_name(&p.name)) || p.source.contains_key("virtual")
}

fn is_root(p: &Package) -> bool {
    ["editable", "virtual"]
        .iter()
        .any(|k| p.source.get(*k).and_then(|v| v.as_str()) == Some("."))
}

pub(super) fn walk(
    lock: &File,
    selection: &Selection,
    env: &MarkerEnvironment,
) -> Result<Walk, String> {
    let mut members: BTreeSet<String> = lock
        .manifest
        .members
        .iter()
        .map(|m| normalize_name(m))
        .collect();
    members.extend(
        lock.package
            .iter()
            .filter(|p| is_root(p))
            .map(|p| normalize_name(&p.name)),
    );
    if members.is_empty() {
        return Err(
            "no workspace member (a package with source virtual or editable \".\", or [manifest] members) to start from".into(),
        );
    }
    let member_list = || members.iter().cloned().collect::<Vec<_>>().join(", ");
    let find_member = |name: &str| {
        lock.package
            .iter()
            .position(|p| normalize_name(&p.name) == name)
            .ok_or_else(|| format!("workspace member {name} has no [[package]] entry"))
    };
    // The project(s) uv would install, and whether the root is no project
    // (then its own [manifest] dependency-groups count too).
    let root = lock.package.iter().position(is_root);
    let (targets, workspace_root) = match (&selection.package, root) {
        (Some(name), _) => {
            let name = normalize_name(name);
            if !members.contains(&name) {
                return Err(format!(
                    "--package {name} is not a member of this workspace (members: {})",
                    member_list()
                ));
            }
            (vec![find_member(&name)?], false)
        }
        (None, Some(root)) => (vec![root], false),
        (None, None) => (
            members
                .iter()
                .map(|m| find_member(m))
                .collect::<Result<Vec<_>, _>>()?,
            true,
        ),
    };
    let target_names = || {
        targets
            .iter()
            .map(|&i| lock.package[i].name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    let mut edges: Vec<Dep> = Vec::new();
    for extra in &selection.extras {
        let mut found = false;
        for &t in &targets {
            if let Some(deps) = lock.package[t].optional.get(extra) {
                found = true;
                edges.extend(deps.iter().cloned());
            }
        }
        if !found {
            let known: BTreeSet<&String> = targets
                .iter()
                .flat_map(|&t| lock.package[t].optional.keys())
                .collect();
            return Err(format!(
                "--extra {extra}: {} has no such optional dependencies (it has: {})",
                target_names(),
                join_or_none(known)
            ));
        }
    }
    let manifest_groups = || {
        workspace_root
            .then_some(&lock.manifest.dependency_groups)
            .into_iter()
            .flatten()
    };
    let mut groups: BTreeSet<&String> = selection.groups.iter().collect();
    if selection.all_groups {
        groups.extend(targets.iter().flat_map(|&t| lock.package[t].dev.keys()));
        groups.extend(manifest_groups().map(|(g, _)| g));
    }
    for group in groups {
        let mut found = false;
        for &t in &targets {
            if let Some(deps) = lock.package[t].dev.get(group) {
                found = true;
                edges.extend(deps.iter().cloned());
            }
        }
        for (_, reqs) in manifest_groups().filter(|(g, _)| *g == group) {
            found = true;
            edges.extend(reqs.iter().map(|r| Dep {
                name: r.name.clone(),
                version: None,
                source: None,
                marker: r.marker.clone(),
                extra: r.extras.clone(),
            }));
        }
        if !found {
            let known: BTreeSet<&String> = targets
                .iter()
                .flat_map(|&t| lock.package[t].dev.keys())
                .chain(manifest_groups().map(|(g, _)| g))
                .collect();
            return Err(format!(
                "--group {group}: {} has no such dependency group (it has: {})",
                target_names(),
                join_or_none(known)
            ));
        }
    }

    let applies = |d: &Dep| -> Result<bool, String> {
        match &d.marker {
            None => Ok(true),
            Some(m) => {
                let tree: MarkerTree = m
                    .parse()
                    .map_err(|e| format!("dependency {}: marker {m:?}: {e}", d.name))?;
                Ok(tree.evaluate(env, &[]))
            }
        }
    };
    let mut reached: BTreeSet<usize> = BTreeSet::new();
    let mut requested = BTreeSet::new();
    let mut queue = VecDeque::new();
    for &t in &targets {
        reached.insert(t);
        edges.extend(lock.package[t].dependencies.iter().cloned());
    }
    for d in edges {
        if applies(&d)? {
            requested.insert(normalize_name(&d.name));
            queue.push_back(d);
        }
    }
    let mut extras_seen = BTreeSet::new();
    while let Some(d) = queue.pop_front() {
        let idx = find(lock, &d)?;
        let p = &lock.package[idx];
        let first = reached.insert(idx);
        let mut follow = Vec::new();
        if first {
            follow.extend(p.dependencies.iter().cloned());
        }
        for x in &d.extra {
            if extras_seen.insert((idx, x.clone())) {
                follow.extend(p.optional.get(x).cloned().unwrap_or_default());
            }
        }
        let member = members.contains(&normalize_name(&p.name));
        for f in follow {
            if applies(&f)? {
                // A member is part of the project: what it names directly
                // is as requested as what the root names.
                if member {
                    requested.insert(normalize_name(&f.name));
                }
                queue.push_back(f);
            }
        }
    }
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for &idx in &reached {
        let p = &lock.package[idx];
        if not_installed(p, &members) {
            continue;
        }
        if let Some(other) = by_name.insert(normalize_name(&p.name), idx) {
            return Err(format!(
                "two versions of {} apply to this target ({} and {}): the lock's markers overlap",
                p.name,
                lock.package[other].version.as_deref().unwrap_or("?"),
                p.version.as_deref().unwrap_or("?")
            ));
        }
    }
    requested.retain(|n| !members.contains(n));
    Ok(Walk {
        install: by_name.into_values().collect(),
        requested,
    })
}

/// The package a dependency edge names: by name, and by version and
/// source when the lock gives them (it does when a name has several
/// entries, one per fork of the resolution).
fn find(lock: &File, d: &Dep) -> Result<usize, String> {
    let name = normalize_name(&d.name);
    lock.package
        .iter()
        .position(|p| {
            normalize_name(&p.name) == name
                && d.version
                    .as_ref()
                    .is_none_or(|v| p.version.as_ref() == Some(v))
                && d.source.as_ref().is_none_or(|s| *s == p.source)
        })
        .ok_or_else(|| format!("dependency {} is not in the lock", d.name))
}

fn join_or_none(names: BTreeSet<&String>) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.into_iter().cloned().collect::<Vec<_>>().join(", ")
    }
}
