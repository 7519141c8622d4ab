//! A Dockerfile front end for the one-stage Python Dockerfile users already
//! have: its instructions become `BuildSpec` defaults (explicit flags win).
//! pyko runs nothing, so the only RUN it honours is `pip install` of pinned
//! requirements, turned into the requirements input; anything else fails
//! with the line and what to do instead.

use std::path::{Path, PathBuf};

use crate::inputs::spec::{self, Command};
use crate::layer::copy::CopyOp;

#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {text}: {message}")]
pub struct DockerfileError {
    pub file: PathBuf,
    pub line: usize,
    pub text: String,
    pub message: String,
}

/// What the Dockerfile says, in `BuildSpec` terms.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Dockerfile {
    pub from: String,
    pub platform: Option<String>,
    pub env: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub ports: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub cmd: Option<Command>,
    pub entrypoint: Option<Command>,
    /// `COPY . <WORKDIR>`: the context becomes the app layer.
    pub copies_context: bool,
    /// Every other `COPY`/`ADD` of local paths, in order; they join the
    /// app layer.
    pub copies: Vec<CopyOp>,
    /// How many of `copies` come before the `COPY . .`.
    pub copies_before_context: usize,
    /// Requirements text made of the RUN pip install lines (`-r` paths
    /// made absolute in the context), when there is any.
    pub requirements: Option<String>,
    pub index_url: Option<String>,
    pub notes: Vec<String>,
}

/// Logical lines (continuations joined, comments dropped) with the number
/// of their first line.
fn logical_lines(text: &str, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        let (start, mut buf) = cur.take().unwrap_or((i + 1, String::new()));
        if let Some(s) = raw.trim_end().strip_suffix(escape) {
            buf.push_str(s);
            buf.push(' ');
            cur = Some((start, buf));
            continue;
        }
        buf.push_str(raw);
        if !buf.trim().is_empty() {
            out.push((start, buf.trim().to_string()));
        }
    }
    if let Some((start, buf)) = cur {
        if !buf.trim().is_empty() {
            out.push((start, buf.trim().to_string()));
        }
    }
    out
}

/// Shell-like words: whitespace-separated, with '…' and "…" quoting and
/// backslash escapes (as Docker's ENV/LABEL/COPY word splitting).
fn words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` from ARG/ENV values.
fn substitute(s: &str, vars: &[(String, String)]) -> String {
    let get = |k: &str| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let mut out = String::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '\\' && i + 1 < b.len() && b[i + 1] == '$' {
            out.push('$');
            i += 2;
            continue;
        }
        if b[i] != '$' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        if i + 1 < b.len() && b[i + 1] == '{' {
            if let Some(end) = b[i..].iter().position(|&c| c == '}') {
                let inner: String = b[i + 2..i + end].iter().collect();
                let value = if let Some((k, d)) = inner.split_once(":-") {
                    get(k).filter(|v| !v.is_empty()).unwrap_or(d.to_string())
                } else if let Some((k, a)) = inner.split_once(":+") {
                    get(k)
                        .filter(|v| !v.is_empty())
                        .map(|_| a.to_string())
                        .unwrap_or_default()
                } else {
                    get(&inner).unwrap_or_default()
                };
                out.push_str(&value);
                i += end + 1;
                continue;
            }
        }
        let name: String = b[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .collect();
        if name.is_empty() {
            out.push('$');
            i += 1;
        } else {
            out.push_str(&get(&name).unwrap_or_default());
            i += 1 + name.len();
        }
    }
    out
}

/// `KEY=VALUE …` pairs, or the legacy `KEY VALUE` form.
fn pairs(rest: &str) -> Result<Vec<(String, String)>, String> {
    let w = words(rest)?;
    if w.first().is_some_and(|f| !f.contains('=')) {
        let (k, v) = rest
            .trim()
            .split_once(char::is_whitespace)
            .ok_or("needs KEY=VALUE")?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    w.iter()
        .map(|p| spec::parse_key_value(p))
        .collect::<Result<_, _>>()
}

/// Docker's rule: a valid JSON array of strings is the exec form,
/// anything else the shell form.
fn command(rest: &str) -> Command {
    match serde_json::from_str::<Vec<String>>(rest.trim()) {
        Ok(v) if rest.trim_start().starts_with('[') => Command::Exec(v),
        _ => Command::Shell(rest.trim().to_string()),
    }
}

pub fn parse(
    file: &Path,
    text: &str,
    context: &Path,
    build_args: &[(String, String)],
) -> Result<Dockerfile, DockerfileError> {
    let mut df = Dockerfile::default();
    let mut escape = '\\';
    // Parser directives: only at the very top, before any instruction.
    for line in text.lines() {
        let Some(d) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = d.split_once('=') else {
            break;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "escape" if v.trim() == "`" => escape = '`',
            "syntax" => df.notes.push(format!(
                "ignoring the `# syntax={}` directive: pyko parses the Dockerfile itself",
                v.trim()
            )),
            _ => {}
        }
    }
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut from_seen = false;
    let mut pip_lines = Vec::new();
    let workdir = |df: &Dockerfile| df.workdir.clone().unwrap_or_else(|| "/".into());
    for (number, line) in logical_lines(text, escape) {
        let err = |message: String| DockerfileError {
            file: file.to_path_buf(),
            line: number,
            text: line.clone(),
            message,
        };
        let (instr, rest) = line
            .split_once(char::is_whitespace)
            .map(|(a, b)| (a, b.trim()))
            .unwrap_or((line.as_str(), ""));
        let sub = |s: &str| substitute(s, &vars);
        match instr.to_ascii_uppercase().as_str() {
            "ARG" => {
                for w in words(rest).map_err(err)? {
                    let (k, d) = w
                        .split_once('=')
                        .map_or((w.as_str(), None), |(k, v)| (k, Some(v)));
                    let v = build_args
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                        .or(d.map(str::to_string))
                        .unwrap_or_default();
                    vars.push((k.to_string(), v));
                }
            }
            "FROM" => {
                if from_seen {
                    return Err(err("multi-stage builds are not supported: pyko builds one image on one base; build the wheels in CI and pass them with --wheels".into()));
                }
                from_seen = true;
                let mut w = words(&sub(rest)).map_err(err)?;
                if let Some(p) = w.first().and_then(|f| f.strip_prefix("--platform=")) {
                    df.platform = Some(p.to_string());
                    w.remove(0);
                }
                match w.as_slice() {
                    [image] => df.from = image.clone(),
                    [image, as_, _] if as_.eq_ignore_ascii_case("as") => df.from = image.clone(),
                    _ => return Err(err("expected FROM [--platform=P] IMAGE [AS NAME]".into())),
                }
            }
            _ if !from_seen => return Err(err("instructions before FROM (other than ARG)".into())),
            "ENV" => {
                let p = pairs(&sub(rest)).map_err(err)?;
                vars.extend(p.iter().cloned());
                df.env.extend(p);
            }
            "LABEL" => df.labels.extend(pairs(&sub(rest)).map_err(err)?),
            "EXPOSE" => {
                for p in words(&sub(rest)).map_err(err)? {
                    df.ports.push(spec::parse_port(&p).map_err(err)?);
                }
            }
            "WORKDIR" => {
                let w = sub(rest);
                df.workdir = Some(if w.starts_with('/') {
                    w
                } else {
                    format!("{}/{w}", workdir(&df).trim_end_matches('/'))
                });
            }
            "USER" => df.user = Some(sub(rest)),
            "CMD" => df.cmd = Some(command(rest)),
            "ENTRYPOINT" => df.entrypoint = Some(command(rest)),
            "COPY" | "ADD" => {
                let add = instr.eq_ignore_ascii_case("ADD");
                let (flags, rest) = copy_flags(rest);
                let w: Vec<String> = if rest.trim_start().starts_with('[') {
                    serde_json::from_str(rest).map_err(|e| err(format!("JSON form: {e}")))?
                } else {
                    words(&sub(rest)).map_err(err)?
                };
                let mut owner = None;
                let mut mode = None;
                for f in flags {
                    let f = sub(&f);
                    if let Some(v) = f.strip_prefix("--chown=") {
                        owner = Some(parse_chown(v).map_err(err)?);
                    } else if let Some(v) = f.strip_prefix("--chmod=") {
                        mode = Some(
                            u32::from_str_radix(v, 8)
                                .ok()
                                .filter(|m| *m <= 0o7777)
                                .ok_or_else(|| {
                                    err(format!(
                                        "--chmod={v}: expected octal permission bits like 0755"
                                    ))
                                })?,
                        );
                    } else if f == "--link" || f == "--link=true" {
                        // Every pyko layer is already independent of the ones below.
                    } else if f.starts_with("--from") {
                        return Err(err("--from needs another stage or image: multi-stage builds are not supported; build the files in CI and COPY them from the context".into()));
                    } else {
                        return Err(err(format!("{f} is not supported; supported: --chown=UID:GID, --chmod=OCTAL, --link")));
                    }
                }
                let Some((dest, sources)) = w.split_last().filter(|(_, s)| !s.is_empty()) else {
                    return Err(err(format!("expected {instr} SRC... DEST")));
                };
                if add {
                    if let Some(u) = sources
                        .iter()
                        .find(|s| s.contains("://") || s.starts_with("git@"))
                    {
                        return Err(err(format!("ADD of the URL {u:?} is not supported: pyko fetches nothing but wheels and the base image; download it into the context and COPY it")));
                    }
                }
                let wd = workdir(&df);
                let dest_is_workdir = |d: &str| {
                    let d = d.trim_end_matches('/');
                    d == "." || d.is_empty() && wd == "/" || d == wd.trim_end_matches('/')
                };
                let dest_is_dir = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
                if sources.len() > 1 && !dest_is_dir {
                    return Err(err(format!("with more than one source the destination must be a directory ending in `/` (write `{dest}/`)")));
                }
                match sources {
                    [src]
                        if (src == "." || src == "./")
                            && dest_is_workdir(dest)
                            && owner.is_none()
                            && mode.is_none() =>
                    {
                        df.copies_context = true;
                        df.copies_before_context = df.copies.len();
                    }
                    _ => df.copies.push(CopyOp {
                        origin: format!("{}:{number}: {line}", file.display()),
                        sources: sources.to_vec(),
                        dest: if dest.starts_with('/') {
                            dest.clone()
                        } else {
                            format!("{}/{dest}", wd.trim_end_matches('/'))
                        },
                        dest_is_dir,
                        owner,
                        mode,
                        add,
                    }),
                }
            }
            "RUN" => {
                let (reqs, index) = pip_install(rest, context).map_err(|m| {
                    err(format!("{m}; pyko runs nothing at build time: bake system packages into the base image (--from), and give Python packages as pinned requirements (--requirements / RUN pip install -r)"))
                })?;
                pip_lines.extend(reqs);
                if index.is_some() {
                    df.index_url = index;
                }
            }
            other => {
                return Err(err(format!(
                    "{other} is not supported by pyko; remove it or use the matching flag"
                )))
            }
        }
    }
    if !from_seen {
        return Err(DockerfileError {
            file: file.to_path_buf(),
            line: 0,
            text: String::new(),
            message: "no FROM".into(),
        });
    }
    if !pip_lines.is_empty() {
        df.requirements = Some(pip_lines.join("\n") + "\n");
    }
    Ok(df)
}

/// Leading `--flag[=value]` words of COPY/ADD, and the rest of the line.
fn copy_flags(rest: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = rest.trim_start();
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        flags.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    (flags, rest)
}

/// `--chown=UID[:GID]`, numeric only: names would need the base's
/// /etc/passwd and /etc/group, which pyko does not read.
fn parse_chown(v: &str) -> Result<(u64, u64), String> {
    let (u, g) = v.split_once(':').unwrap_or((v, v));
    match (u.parse(), g.parse()) {
        (Ok(u), Ok(g)) => Ok((u, g)),
        _ => Err(format!(
            "--chown={v}: only numeric UID[:GID] is supported (pyko does not read user names from the base image); write e.g. --chown=1000:1000"
        )),
    }
}

/// `pip install …` / `pip3 install …` / `python[3] -m pip install …` →
/// requirements lines and an index URL.
fn pip_install(run: &str, context: &Path) -> Result<(Vec<String>, Option<String>), String> {
    let w = words(run)?;
    let args = match w.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["pip" | "pip3", "install", ..] => w[2..].to_vec(),
        [py, "-m", "pip", "install", ..] if py.starts_with("python") => w[4..].to_vec(),
        _ => return Err("only `RUN pip install …` can be honoured".into()),
    };
    let mut lines = Vec::new();
    let mut index = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (opt, inline) = match a.split_once('=') {
            Some((o, v)) if a.starts_with("--") => (o.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or(format!("{opt} needs a value"))
        };
        match opt.as_str() {
            "-r" | "--requirement" => {
                let v = value()?;
                lines.push(format!("-r {}", context.join(v).display()))
            }
            "-i" | "--index-url" => index = Some(value()?),
            "--extra-index-url" => lines.push(format!("--extra-index-url {}", value()?)),
            "--no-cache-dir"
            | "--upgrade"
            | "-U"
            | "-q"
            | "--quiet"
            | "--disable-pip-version-check"
            | "--no-warn-script-location"
            | "--root-user-action"
            | "--no-compile" => {
                if opt == "--root-user-action" && inline.is_none() {
                    it.next();
                }
            }
            o if o.starts_with('-') => return Err(format!("pip option {o} cannot be honoured")),
            _ => lines.push(a),
        }
    }
    if lines.is_empty() {
        return Err("pip install without requirements".into());
    }
    Ok((lines, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_dockerfile() {
        let text = "# syntax=docker/dockerfile:1\nARG BASE=python:3.11-slim\nFROM ${BASE}\nEXPOSE 8501\nWORKDIR /app\nCOPY . .\n# comment\nRUN pip install --no-cache-dir \\\n    -r requirements.txt\nCMD streamlit run app.py\n";
        let df = parse(
            Path::new("Dockerfile"),
            text,
            Path::new("/ctx"),
            &[("BASE".into(), "reg:5000/py:3.11".into())],
        )
        .unwrap();
        assert_eq!(df.from, "reg:5000/py:3.11");
        assert_eq!(df.ports, ["8501/tcp"]);
        assert_eq!(df.workdir.as_deref(), Some("/app"));
        assert!(df.copies_context);
        assert_eq!(df.cmd, Some(Command::Shell("streamlit run app.py".into())));
        assert_eq!(
            df.requirements.as_deref(),
            Some("-r /ctx/requirements.txt\n")
        );
        assert_eq!(df.notes.len(), 1);
    }

    #[test]
    fn forms_and_errors() {
        let text = "FROM --platform=linux/arm64 python:3.12 AS app\nENV A=1 B=\"two words\"\nENV C $A-x\nLABEL org.opencontainers.image.source=\"https://example.invalid/x\"\nUSER 1000:1000\nWORKDIR /srv\nWORKDIR app\nENTRYPOINT [\"python\", \"-m\", \"app\"]\nCMD [\"--port\", \"80\"]\nRUN python3 -m pip install -U streamlit==1.0 --index-url http://127.0.0.1:1/simple/\n";
        let df = parse(Path::new("D"), text, Path::new("/c"), &[]).unwrap();
        assert_eq!(df.platform.as_deref(), Some("linux/arm64"));
        assert_eq!(
            df.env,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "1-x".into())
            ]
        );
        assert_eq!(df.workdir.as_deref(), Some("/srv/app"));
        assert_eq!(
            df.entrypoint,
            Some(Command::Exec(vec![
                "python".into(),
                "-m".into(),
                "app".into()
            ]))
        );
        assert_eq!(df.requirements.as_deref(), Some("streamlit==1.0\n"));
        assert_eq!(df.index_url.as_deref(), Some("http://127.0.0.1:1/simple/"));
        for (bad, what) in [
            (
                "FROM a\nRUN apt-get install -y gcc\n",
                "D:2: RUN apt-get install -y gcc",
            ),
            ("FROM a\nRUN pip install -e .\n", "-e cannot be honoured"),
            ("FROM a\nFROM b\n", "multi-stage"),
            ("FROM a\nCOPY --chown=app . .\n", "only numeric UID[:GID]"),
            ("FROM a\nCOPY --chmod=9 a b\n", "--chmod=9"),
            ("FROM a\nCOPY --from=build /x /y\n", "multi-stage"),
            (
                "FROM a\nADD https://example.invalid/x.tgz /x/\n",
                "ADD of the URL",
            ),
            (
                "FROM a\nCOPY a b c\n",
                "D:2: COPY a b c: with more than one source",
            ),
            ("FROM a\nCOPY onlyone\n", "expected COPY SRC... DEST"),
            ("FROM a\nHEALTHCHECK CMD true\n", "HEALTHCHECK"),
        ] {
            let e = parse(Path::new("D"), bad, Path::new("/c"), &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains(what), "{bad:?}: {e}");
        }
    }

    #[test]
    fn copies_of_local_paths() {
        let text = "FROM a\nWORKDIR /app\nCOPY requirements.txt ./\nCOPY . .\nCOPY --chown=1000 --chmod=0640 config.ini /etc/app/\nADD [\"a b.txt\", \"c.txt\", \"data/\"]\nCOPY --link src/ src\nCOPY --chown=1:2 . .\n";
        let df = parse(Path::new("D"), text, Path::new("/c"), &[]).unwrap();
        assert!(df.copies_context);
        assert_eq!(df.copies_before_context, 1);
        let got: Vec<_> = df
            .copies
            .iter()
            .map(|c| {
                (
                    c.sources.join(","),
                    c.dest.as_str(),
                    c.dest_is_dir,
                    c.owner,
                    c.mode,
                    c.add,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "requirements.txt".into(),
                    "/app/./",
                    true,
                    None,
                    None,
                    false
                ),
                (
                    "config.ini".into(),
                    "/etc/app/",
                    true,
                    Some((1000, 1000)),
                    Some(0o640),
                    false
                ),
                ("a b.txt,c.txt".into(), "/app/data/", true, None, None, true),
                ("src/".into(), "/app/src", false, None, None, false),
                (".".into(), "/app/.", true, Some((1, 2)), None, false),
            ]
        );
        assert_eq!(df.copies[0].origin, "D:3: COPY requirements.txt ./");
    }
}
