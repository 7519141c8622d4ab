//! Console and GUI script launchers and `#!python` shebang rewriting, as
//! pure functions of text so they can be checked against pip's output
//! without building anything.

/// An entry from `[console_scripts]` or `[gui_scripts]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub module: String,
    /// `obj.attr` after the colon; pip refuses entries without one.
    pub attr: String,
}

/// Parses `entry_points.txt` as `importlib.metadata` does and returns the
/// console and GUI scripts (later duplicates win, as in a dict). Errors are
/// `(name, value, reason)`.
#[allow(clippy::type_complexity)]
pub fn parse_entry_points(
    text: &str,
) -> Result<(Vec<EntryPoint>, Vec<EntryPoint>), (String, String, String)> {
    let mut console: Vec<EntryPoint> = Vec::new();
    let mut gui: Vec<EntryPoint> = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        let group = match section.as_str() {
            "console_scripts" => &mut console,
            "gui_scripts" => &mut gui,
            _ => continue,
        };
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        let entry = parse_entry(name, value)
            .map_err(|reason| (name.to_string(), value.to_string(), reason))?;
        group.retain(|e| e.name != entry.name);
        group.push(entry);
    }
    Ok((console, gui))
}

fn parse_entry(name: &str, value: &str) -> Result<EntryPoint, String> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.contains(char::is_whitespace)
    {
        return Err("the script name must be a plain file name".into());
    }
    if name.starts_with(".wh.") {
        return Err("a `.wh.` script name is a whiteout, which container runtimes read as deleting files from the layers below".into());
    }
    // Extras (`[x]`) only mattered to pkg_resources; pip ignores them.
    let target = match value.find('[') {
        Some(i) if value.ends_with(']') => value[..i].trim_end(),
        Some(_) => return Err("unbalanced extras brackets".into()),
        None => value,
    };
    let Some((module, attr)) = target.split_once(':') else {
        return Err(
            "a callable suffix is required (`module:function`), as pip requires; fix the wheel's \
             entry points"
                .into(),
        );
    };
    let (module, attr) = (module.trim(), attr.trim());
    let dotted = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
    };
    if !dotted(module) || !dotted(attr) {
        return Err("module and callable must be dotted Python names".into());
    }
    Ok(EntryPoint {
        name: name.to_string(),
        module: module.to_string(),
        attr: attr.to_string(),
    })
}

/// The scripts pip generates for a wheel's console scripts: `pip` and
/// `easy_install` get their version-suffixed aliases for the target Python,
/// and the wheel's own versioned aliases of them are dropped.
pub fn pip_script_names(console: Vec<EntryPoint>, major: u32, minor: u32) -> Vec<EntryPoint> {
    let is_versioned = |name: &str, prefix: &str, sep: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| {
                if sep.is_empty() {
                    Some(rest)
                } else {
                    rest.strip_prefix(sep)
                }
            })
            .is_some_and(|v| {
                !v.is_empty()
                    && v.split('.').count() <= 2
                    && v.split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            })
    };
    let pip = console.iter().find(|e| e.name == "pip").cloned();
    let easy = console.iter().find(|e| e.name == "easy_install").cloned();
    let mut out = Vec::new();
    let alias = |e: &EntryPoint, name: String| EntryPoint { name, ..e.clone() };
    if let Some(p) = &pip {
        out.push(alias(p, "pip".into()));
        out.push(alias(p, format!("pip{major}")));
        out.push(alias(p, format!("pip{major}.{minor}")));
    }
    if let Some(e) = &easy {
        out.push(alias(e, "easy_install".into()));
        out.push(alias(e, format!("easy_install-{major}.{minor}")));
    }
    for e in console {
        let generated = e.name == "pip" || e.name == "easy_install";
        let dropped = (pip.is_some() && is_versioned(&e.name, "pip", ""))
            || (easy.is_some() && is_versioned(&e.name, "easy_install", "-"));
        if !generated && !dropped {
            out.push(e);
        }
    }
    out
}

/// The shebang distlib writes: plain when it fits Linux's 127-byte limit and
/// has no spaces, else a `/bin/sh` trampoline that `exec`s the interpreter.
pub fn format_shebang(interpreter: &str) -> String {
    if !interpreter.contains(' ') && interpreter.len() + 3 <= 127 {
        format!("#!{interpreter}\n")
    } else {
        let quoted = if interpreter.contains(' ') {
            format!("\"{interpreter}\"")
        } else {
            interpreter.to_string()
        };
        format!("#!/bin/sh\n'''exec' {quoted} \"$0\" \"$@\"\n' '''\n")
    }
}

/// The launcher pip (via distlib's `ScriptMaker`) writes; GUI scripts are
/// the same text on Linux.
pub fn script_launcher(entry: &EntryPoint, interpreter: &str) -> String {
    let import_name = entry.attr.split('.').next().unwrap_or(&entry.attr);
    format!(
        "{shebang}# -*- coding: utf-8 -*-\n\
         import re\n\
         import sys\n\
         from {module} import {import_name}\n\
         if __name__ == '__main__':\n    \
         sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    \
         sys.exit({func}())\n",
        shebang = format_shebang(interpreter),
        module = entry.module,
        func = entry.attr,
    )
}

/// pip's `fix_script`: a first line starting with `#!python` (which covers
/// `#!pythonw` and any arguments) becomes `#!<interpreter>`, verbatim and
/// without a trampoline, exactly as pip does.
pub fn fix_script_shebang(script: &[u8], interpreter: &str) -> Option<Vec<u8>> {
    if !script.starts_with(b"#!python") {
        return None;
    }
    let rest = match script.iter().position(|&b| b == b'\n') {
        Some(i) => &script[i + 1..],
        None => &[],
    };
    let mut out = format!("#!{interpreter}\n").into_bytes();
    out.extend_from_slice(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, module: &str, attr: &str) -> EntryPoint {
        EntryPoint {
            name: name.into(),
            module: module.into(),
            attr: attr.into(),
        }
    }

    #[test]
    fn launcher_text_is_pips() {
        assert_eq!(
            script_launcher(
                &ep("streamlit", "streamlit.web.cli", "main"),
                "/usr/local/bin/python3"
            ),
            "#!/usr/local/bin/python3\n\
             # -*- coding: utf-8 -*-\n\
             import re\n\
             import sys\n\
             from streamlit.web.cli import main\n\
             if __name__ == '__main__':\n    \
             sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    \
             sys.exit(main())\n"
        );
        let text = script_launcher(&ep("x", "pkg", "K.L.run"), "/p");
        assert!(text.contains("from pkg import K\n"));
        assert!(text.contains("sys.exit(K.L.run())\n"));
    }

    #[test]
    fn long_or_spaced_interpreters_get_a_trampoline() {
        assert_eq!(format_shebang("/usr/bin/python3"), "#!/usr/bin/python3\n");
        let long = format!("/{}", "x".repeat(124));
        assert_eq!(
            format_shebang(&long[..124]),
            format!("#!{}\n", &long[..124])
        );
        assert_eq!(
            format_shebang(&long),
            format!("#!/bin/sh\n'''exec' {long} \"$0\" \"$@\"\n' '''\n")
        );
        assert_eq!(
            format_shebang("/opt/my python/bin/python"),
            "#!/bin/sh\n'''exec' \"/opt/my python/bin/python\" \"$0\" \"$@\"\n' '''\n"
        );
    }

    #[test]
    fn parses_entry_points() {
        let (console, gui) = parse_entry_points(
            "# c\n[console_scripts]\na = m.n:f\nb = m : K.g [extra1, extra2]\n\n[gui_scripts]\ng=m:f\n[other]\nx = y\n",
        )
        .unwrap();
        assert_eq!(console, [ep("a", "m.n", "f"), ep("b", "m", "K.g")]);
        assert_eq!(gui, [ep("g", "m", "f")]);
        assert!(parse_entry_points("[console_scripts]\na = mod\n").is_err());
        assert!(parse_entry_points("[console_scripts]\n../a = m:f\n").is_err());
    }

    #[test]
    fn pip_gets_versioned_aliases() {
        let names: Vec<String> = pip_script_names(
            vec![
                ep("pip", "pip._internal.cli.main", "main"),
                ep("pip3", "pip._internal.cli.main", "main"),
                ep("pip3.8", "pip._internal.cli.main", "main"),
                ep("pipx", "x", "main"),
            ],
            3,
            11,
        )
        .into_iter()
        .map(|e| e.name)
        .collect();
        assert_eq!(names, ["pip", "pip3", "pip3.11", "pipx"]);
    }

    #[test]
    fn fixes_python_shebangs_only() {
        assert_eq!(
            fix_script_shebang(b"#!pythonw -u\nprint(1)\n", "/usr/bin/python3").unwrap(),
            b"#!/usr/bin/python3\nprint(1)\n"
        );
        assert!(fix_script_shebang(b"#!/bin/sh\necho\n", "/p").is_none());
    }
}
