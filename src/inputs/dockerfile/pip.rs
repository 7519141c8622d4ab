//! The one RUN pyko honours: `pip install` of requirements (files, names,
//! ranges, extras; pinned or not), translated into requirements lines for
//! the wheel input instead of being run: what pip would resolve, pyko
//! resolves for the image's target.

use std::path::PathBuf;

use super::lexer::words;

/// `pip install …` / `pip3 install …` / `python[3] -m pip install …` →
/// requirements lines (`-r`/`-c` paths in the image mapped by `to_context`
/// to absolute paths in the build context) and an index URL.
pub(super) fn pip_install(
    run: &str,
    to_context: &dyn Fn(&str) -> Result<PathBuf, String>,
) -> Result<(Vec<String>, Option<String>), String> {
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
                // Absolute, because the requirements parser resolves an
                // include against the including file's (the Dockerfile's)
                // directory, not the working directory.
                lines.push(format!("-r {}", to_context(&value()?)?.display()))
            }
            "-c" | "--constraint" => lines.push(format!("-c {}", to_context(&value()?)?.display())),
            "--pre" => lines.push("--pre".into()),
            "-i" | "--index-url" => index = Some(value()?),
            "--extra-index-url" => lines.push(format!("--extra-index-url {}", value()?)),
            // Options that change how pip runs, not what gets installed.
            "--no-cache-dir"
            | "--upgrade"
            | "-U"
            | "-q"
            | "--quiet"
            | "--disable-pip-version-check"
            | "--no-warn-script-location"
            | "--root-user-action"
            | "--no-compile"
            | "--prefer-binary" => {
                if opt == "--root-user-action" && inline.is_none() {
                    it.next();
                }
            }
            o if o.starts_with('-') => return Err(format!("pip option {o} cannot be honoured")),
            _ => lines.push(a),
        }
    }
    if lines
        .iter()
        .all(|l| l.starts_with("-c ") || l.starts_with("--"))
    {
        return Err("pip install without requirements".into());
    }
    Ok((lines, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_forms() {
        let ctx = |p: &str| Ok(PathBuf::from("/c").join(p));
        assert_eq!(
            pip_install(
                "pip install --no-cache-dir -r req.txt --root-user-action ignore a==1 -i http://i/",
                &ctx
            )
            .unwrap(),
            (
                vec!["-r /c/req.txt".to_string(), "a==1".to_string()],
                Some("http://i/".to_string())
            )
        );
        assert_eq!(
            pip_install(
                "pip install --pre streamlit 'flask[async]>=2,<4' -c c.txt --extra-index-url=http://x/",
                &ctx
            )
            .unwrap()
            .0,
            [
                "--pre",
                "streamlit",
                "flask[async]>=2,<4",
                "-c /c/c.txt",
                "--extra-index-url http://x/"
            ]
        );
        assert!(pip_install("pip install", &ctx).is_err());
        assert!(pip_install("pip install --pre -c c.txt", &ctx).is_err());
        assert!(pip_install("pip install -e .", &ctx)
            .unwrap_err()
            .contains("-e"));
        assert!(pip_install("apt-get install gcc", &ctx).is_err());
        let refuse = |p: &str| Err(format!("{p}: no"));
        assert_eq!(
            pip_install("pip install -r /etc/passwd", &refuse).unwrap_err(),
            "/etc/passwd: no"
        );
    }
}
