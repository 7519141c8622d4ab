//! The binary edge: parse flags, call the library, print, exit with the
//! code of the error's class (documented on `pyko::ExitClass`: 0 ok,
//! 1 other, 2 usage, 3 bad input, 4 registry or network, 5 output).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use pyko::{Cli, Cmd, LoginRequest, Reporter};

fn main() -> ExitCode {
    let cwd = std::env::current_dir().unwrap_or_default();
    let env = |name: &str| std::env::var(name).ok();
    let configured = match pyko::with_config(std::env::args_os().collect(), &env, &cwd) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(pyko::exit_class(&e).code());
        }
    };
    let cli = match Cli::try_parse_from(&configured.argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            if let Some(note) = configured.note().filter(|_| e.use_stderr()) {
                eprintln!("{note}");
            }
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    // Without it a signal leaves half-written outputs beside their
    // destinations; a build is still correct without it, so only warn.
    if let Err(e) = pyko::install_signal_cleanup() {
        eprintln!("warning: cannot catch signals ({e}); an interrupted build may leave temp files");
    }
    let ui = Reporter::new(cli.quiet, cli.verbose);
    if let Some(file) = &configured.file {
        ui.info(format!("config: {}", file.display()));
    }
    let result = run(cli.command, &configured, &ui).and_then(|out| {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(anyhow::Error::from)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away: it has all it wanted.
        Err(e) if is_stdout_gone(&e) => ExitCode::SUCCESS,
        Err(e) if pyko::is_broken_pipe(e.as_ref()) => {
            ExitCode::from(pyko::exit_class(e.as_ref()).code())
        }
        Err(e) => {
            ui.error(&format!("error: {e:#}"));
            if let Some(h) = pyko::hint(e.as_ref()) {
                ui.error(&format!("hint: {h}"));
            }
            ExitCode::from(pyko::exit_class(e.as_ref()).code())
        }
    }
}

/// Runs one command; returns what goes to stdout.
fn run(cmd: Cmd, configured: &pyko::Configured, ui: &Reporter) -> anyhow::Result<String> {
    match cmd {
        Cmd::Build(args) => {
            let epoch = pyko::source_date_epoch()?;
            let (default_cache, note) = pyko::default_cache_dir();
            if let Some(note) = note {
                ui.info(note);
            }
            let report_args = args.report.clone();
            let (spec, notes) = args
                .into_spec(epoch, Some(default_cache))
                .map_err(|e| configured.blame(e))?;
            if report_args.json && spec.outputs.tarball == Some(pyko::TarballDest::Stdout) {
                anyhow::bail!("--json writes its document to stdout, where --tarball - writes the image; write the tarball to a file");
            }
            for n in notes {
                ui.info(format!("note: {n}"));
            }
            let outcome = pyko::build(&spec, ui)?;
            ui.summary(&outcome.report.summary_line());
            let refs: String = outcome.pushed.iter().map(|r| format!("{r}\n")).collect();
            if let Some(path) = &report_args.image_refs {
                std::fs::write(path, &refs)
                    .with_context(|| format!("--image-refs {}: writing", path.display()))?;
            }
            if report_args.json {
                let mut doc = serde_json::to_string_pretty(&outcome.report)?;
                doc.push('\n');
                return Ok(doc);
            }
            Ok(refs)
        }
        Cmd::Inspect(a) => {
            let platform = a
                .platform
                .as_deref()
                .map(pyko::parse_platform)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--platform {e}"))?;
            let (dir, _) = pyko::default_cache_dir();
            let cache = pyko::Cache::open(&dir)?;
            let req = pyko::InspectRequest {
                source: a.source,
                platform,
                insecure: a.insecure,
                ca_certs: a.ca_certs,
            };
            let i = pyko::inspect(&req, &cache)?;
            Ok(if a.json {
                serde_json::to_string_pretty(&i)? + "\n"
            } else {
                pyko::inspect_text(&i)
            })
        }
        Cmd::Completions(a) => {
            let mut out = Vec::new();
            pyko::cli_docs::completions(a.shell, &mut out);
            Ok(String::from_utf8(out)?)
        }
        Cmd::Lock(args) => {
            let (default_cache, note) = pyko::default_cache_dir();
            if let Some(note) = note {
                ui.info(note);
            }
            pyko::lock(&args.into_spec(Some(default_cache))?, ui)?;
            Ok(String::new())
        }
        Cmd::Login(a) => {
            let config = pyko::default_config_path()?;
            let req = LoginRequest {
                registry: a.registry,
                username: a.username,
                password_stdin: a.password_stdin,
                insecure: a.insecure,
                ca_certs: a.ca_certs,
            };
            let registry = pyko::login_from_stdin(req, std::io::stdin().lock(), &config)?;
            ui.info(format!(
                "Login succeeded: credentials for {registry} saved in {}",
                config.display()
            ));
            Ok(String::new())
        }
        Cmd::Logout(a) => {
            let config = pyko::default_config_path()?;
            if pyko::logout(&a.registry, &config)? {
                ui.info(format!(
                    "Removed credentials for {} from {}",
                    a.registry,
                    config.display()
                ));
            } else {
                ui.info(format!("Not logged in to {}", a.registry));
            }
            Ok(String::new())
        }
    }
}

/// Printing the references hit a closed stdout.
fn is_stdout_gone(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
