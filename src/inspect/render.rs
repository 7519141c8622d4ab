//! The text form of an inspection, for a person at a terminal.

use std::fmt::Write;

use super::{Holds, Inspection};
use crate::ui::size;

pub fn text(i: &Inspection) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "{}", i.source);
    let _ = writeln!(
        w,
        "  platform   {} (of {})",
        i.platform,
        i.platforms.join(", ")
    );
    let _ = writeln!(w, "  manifest   {}", i.manifest_digest);
    if let Some(d) = &i.index_digest {
        let _ = writeln!(w, "  index      {d}");
    }
    if let Some(b) = &i.base {
        let name = b.name.as_deref().unwrap_or("(from disk)");
        let _ = writeln!(w, "  base       {name} {}", b.digest);
    }
    let c = &i.config;
    let join = |v: &Option<Vec<String>>| v.as_ref().map_or("-".into(), |v| format!("{v:?}"));
    let _ = writeln!(w, "config");
    let _ = writeln!(w, "  Entrypoint {}", join(&c.entrypoint));
    let _ = writeln!(w, "  Cmd        {}", join(&c.cmd));
    let _ = writeln!(w, "  WorkingDir {}", c.workdir.as_deref().unwrap_or("-"));
    let _ = writeln!(w, "  User       {}", c.user.as_deref().unwrap_or("-"));
    let _ = writeln!(
        w,
        "  Ports      {}",
        if c.exposed_ports.is_empty() {
            "-".into()
        } else {
            c.exposed_ports.join(" ")
        }
    );
    for e in &c.env {
        let _ = writeln!(w, "  Env        {e}");
    }
    for (k, v) in &c.labels {
        let _ = writeln!(w, "  Label      {k}={}", v.as_str().unwrap_or_default());
    }
    let _ = writeln!(w, "layers ({}, {})", i.layers.len(), size(i.total_size));
    for l in &i.layers {
        let short = l.digest.get(..19).unwrap_or(&l.digest);
        let _ = writeln!(w, "  {short} {:>10}  {}", size(l.size), l.media_type);
        if let Some(by) = &l.created_by {
            let by: String = by.chars().take(70).collect();
            let _ = writeln!(w, "      {by}");
        }
        match &l.holds {
            Some(Holds::Wheels { packages, files }) => {
                let _ = writeln!(w, "      {} distributions, {files} files:", packages.len());
                for p in packages {
                    let _ = writeln!(w, "        {p}");
                }
            }
            Some(Holds::App { files, top }) => {
                let _ = writeln!(w, "      app: {files} files: {}", top.join(" "));
            }
            None => {}
        }
    }
    o
}
