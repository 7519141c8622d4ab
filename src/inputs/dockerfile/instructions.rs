//! What each instruction does to the `Dockerfile` defaults. Errors are bare
//! messages; `parse` adds the file, line and text.

use std::path::Path;

use super::lexer::{command, leading_flags, pairs, substitute, words};
use super::pip::pip_install;
use super::Dockerfile;
use crate::layer::copy::CopyOp;
use crate::oci::config::parse_port;

/// The state while reading instructions in order.
pub(super) struct Reader<'a> {
    pub df: Dockerfile,
    file: &'a Path,
    context: &'a Path,
    build_args: &'a [(String, String)],
    /// ARG and ENV values so far, for `$VAR` substitution (last one wins).
    vars: Vec<(String, String)>,
    pub from_seen: bool,
    pub pip_lines: Vec<String>,
    /// Where `COPY . .` put the context (the WORKDIR of that moment).
    context_dest: String,
}

impl<'a> Reader<'a> {
    pub fn new(
        df: Dockerfile,
        file: &'a Path,
        context: &'a Path,
        build_args: &'a [(String, String)],
    ) -> Reader<'a> {
        Reader {
            df,
            file,
            context,
            build_args,
            vars: Vec::new(),
            from_seen: false,
            pip_lines: Vec::new(),
            context_dest: String::new(),
        }
    }

    /// Applies the instruction `instr rest` found on logical line `line`
    /// (numbered `number`).
    pub fn instruction(
        &mut self,
        number: usize,
        line: &str,
        instr: &str,
        rest: &str,
    ) -> Result<(), String> {
        match instr.to_ascii_uppercase().as_str() {
            "ARG" => self.arg(rest)?,
            "FROM" => self.from(rest)?,
            _ if !self.from_seen => return Err("instructions before FROM (other than ARG)".into()),
            "ENV" => {
                let p = pairs(&self.sub(rest))?;
                self.vars.extend(p.iter().cloned());
                self.df.env.extend(p);
            }
            "LABEL" => {
                let p = pairs(&self.sub(rest))?;
                self.df.labels.extend(p);
            }
            "EXPOSE" => {
                for p in words(&self.sub(rest))? {
                    self.df
                        .ports
                        .push(parse_port(&p).map_err(|e| e.to_string())?);
                }
            }
            "WORKDIR" => {
                let w = self.sub(rest);
                self.df.workdir = Some(if w.starts_with('/') {
                    w
                } else {
                    format!("{}/{w}", self.workdir().trim_end_matches('/'))
                });
            }
            "USER" => self.df.user = Some(self.sub(rest)),
            "CMD" => self.df.cmd = Some(command(rest)),
            "ENTRYPOINT" => self.df.entrypoint = Some(command(rest)),
            "COPY" | "ADD" => self.copy(number, line, instr, rest)?,
            "RUN" => {
                let to_context = |p: &str| {
                    let app = self
                        .df
                        .copies_context
                        .then_some((self.df.copies_before_context, self.context_dest.as_str()));
                    super::paths::context_file(
                        p,
                        &self.workdir(),
                        &self.df.copies,
                        app,
                        self.context,
                    )
                };
                let (reqs, index) = pip_install(rest, &to_context).map_err(|m| {
                    format!("{m}; pyko runs nothing at build time: bake system packages into the base image (--from), and give Python packages as pinned requirements (--requirements / RUN pip install -r)")
                })?;
                self.pip_lines.extend(reqs);
                if index.is_some() {
                    self.df.index_url = index;
                }
            }
            other => {
                return Err(format!(
                    "{other} is not supported by pyko; remove it or use the matching flag"
                ))
            }
        }
        Ok(())
    }

    fn sub(&self, s: &str) -> String {
        substitute(s, &self.vars)
    }

    fn workdir(&self) -> String {
        self.df.workdir.clone().unwrap_or_else(|| "/".into())
    }

    /// `ARG NAME[=default]…`: a `--build-arg` wins over the default.
    fn arg(&mut self, rest: &str) -> Result<(), String> {
        for w in words(rest)? {
            let (k, d) = w
                .split_once('=')
                .map_or((w.as_str(), None), |(k, v)| (k, Some(v)));
            let v = self
                .build_args
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .or(d.map(str::to_string))
                .unwrap_or_default();
            self.vars.push((k.to_string(), v));
        }
        Ok(())
    }

    fn from(&mut self, rest: &str) -> Result<(), String> {
        if self.from_seen {
            return Err("multi-stage builds are not supported: pyko builds one image on one base; build the wheels in CI and pass them with --wheels".into());
        }
        self.from_seen = true;
        let mut w = words(&self.sub(rest))?;
        if let Some(p) = w.first().and_then(|f| f.strip_prefix("--platform=")) {
            self.df.platform = Some(p.to_string());
            w.remove(0);
        }
        match w.as_slice() {
            [image] => self.df.from = image.clone(),
            [image, as_, _] if as_.eq_ignore_ascii_case("as") => self.df.from = image.clone(),
            _ => return Err("expected FROM [--platform=P] IMAGE [AS NAME]".into()),
        }
        Ok(())
    }

    /// `COPY . <WORKDIR>` makes the context the app layer; every other
    /// COPY/ADD of local paths becomes a `CopyOp`.
    fn copy(&mut self, number: usize, line: &str, instr: &str, rest: &str) -> Result<(), String> {
        let add = instr.eq_ignore_ascii_case("ADD");
        let (flags, rest) = leading_flags(rest);
        let w: Vec<String> = if rest.trim_start().starts_with('[') {
            serde_json::from_str(rest).map_err(|e| format!("JSON form: {e}"))?
        } else {
            words(&self.sub(rest))?
        };
        let mut owner = None;
        let mut mode = None;
        for f in flags {
            let f = self.sub(&f);
            if let Some(v) = f.strip_prefix("--chown=") {
                owner = Some(parse_chown(v)?);
            } else if let Some(v) = f.strip_prefix("--chmod=") {
                mode = Some(
                    u32::from_str_radix(v, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .ok_or_else(|| {
                            format!("--chmod={v}: expected octal permission bits like 0755")
                        })?,
                );
            } else if f == "--link" || f == "--link=true" {
                // Every pyko layer is already independent of the ones below.
            } else if f.starts_with("--from") {
                return Err("--from needs another stage or image: multi-stage builds are not supported; build the files in CI and COPY them from the context".into());
            } else {
                return Err(format!(
                    "{f} is not supported; supported: --chown=UID:GID, --chmod=OCTAL, --link"
                ));
            }
        }
        let Some((dest, sources)) = w.split_last().filter(|(_, s)| !s.is_empty()) else {
            return Err(format!("expected {instr} SRC... DEST"));
        };
        if add {
            if let Some(u) = sources
                .iter()
                .find(|s| s.contains("://") || s.starts_with("git@"))
            {
                return Err(format!("ADD of the URL {u:?} is not supported: pyko fetches nothing but wheels and the base image; download it into the context and COPY it"));
            }
        }
        let wd = self.workdir();
        let dest_is_workdir = |d: &str| {
            let d = d.trim_end_matches('/');
            d == "." || d.is_empty() && wd == "/" || d == wd.trim_end_matches('/')
        };
        let dest_is_dir = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
        if sources.len() > 1 && !dest_is_dir {
            return Err(format!("with more than one source the destination must be a directory ending in `/` (write `{dest}/`)"));
        }
        match sources {
            [src]
                if (src == "." || src == "./")
                    && dest_is_workdir(dest)
                    && owner.is_none()
                    && mode.is_none() =>
            {
                self.df.copies_context = true;
                self.df.copies_before_context = self.df.copies.len();
                self.context_dest = wd.clone();
            }
            _ => self.df.copies.push(CopyOp {
                origin: format!("{}:{number}: {line}", self.file.display()),
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
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse;

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
