//! A Dockerfile front end for the one-stage Python Dockerfile users already
//! have: its instructions become `BuildSpec` defaults (explicit flags win).
//! pyko runs nothing, so the only RUN it honours is `pip install` of
//! requirements, turned into the requirements input (resolved for the
//! target unless fully pinned); anything else fails with the line and
//! what to do instead.

use std::path::{Path, PathBuf};

use crate::layer::copy::CopyOp;
use crate::oci::config::Command;

mod instructions;
mod lexer;
mod paths;
mod pip;

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

/// `text` is `file`'s contents; `context` makes `-r` paths absolute;
/// `build_args` are the `--build-arg` values for ARG.
pub fn parse(
    file: &Path,
    text: &str,
    context: &Path,
    build_args: &[(String, String)],
) -> Result<Dockerfile, DockerfileError> {
    let (escape, notes) = lexer::directives(text);
    let df = Dockerfile {
        notes,
        ..Dockerfile::default()
    };
    let mut reader = instructions::Reader::new(df, file, context, build_args);
    for (number, line) in lexer::logical_lines(text, escape) {
        let (instr, rest) = lexer::instruction(&line);
        reader
            .instruction(number, &line, instr, rest)
            .map_err(|message| DockerfileError {
                file: file.to_path_buf(),
                line: number,
                text: line.clone(),
                message,
            })?;
    }
    if !reader.from_seen {
        return Err(DockerfileError {
            file: file.to_path_buf(),
            line: 0,
            text: String::new(),
            message: "no FROM".into(),
        });
    }
    let mut df = reader.df;
    if !reader.pip_lines.is_empty() {
        df.requirements = Some(reader.pip_lines.join("\n") + "\n");
    }
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::config::Command;

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
}
