//! The binary edge: parse flags, call the library, print, exit with the
//! code of the error's class (documented on `pyko::ExitClass`: 0 ok,
//! 1 other, 2 usage, 3 bad input, 4 registry or network, 5 output).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use pyko::{Cli, Cmd, LoginRequest, Reporter};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = Reporter::new(cli.quiet, cli.verbose);
    let result = run(cli.command, &ui).and_then(|refs| {
        let mut out = std::io::stdout().lock();
        refs.iter()
            .try_for_each(|r| writeln!(out, "{r}"))
            .and_then(|()| out.flush())
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
            eprintln!("error: {e:#}");
            ExitCode::from(pyko::exit_class(e.as_ref()).code())
        }
    }
}

/// Runs one command; returns what goes to stdout (pushed references).
fn run(cmd: Cmd, ui: &Reporter) -> anyhow::Result<Vec<String>> {
    match cmd {
        Cmd::Build(args) => {
            let epoch = pyko::source_date_epoch()?;
            let (default_cache, note) = pyko::default_cache_dir();
            if let Some(note) = note {
                ui.info(note);
            }
            let (spec, notes) = args.into_spec(epoch, Some(default_cache))?;
            for n in notes {
                ui.info(format!("note: {n}"));
            }
            Ok(pyko::build(&spec, ui)?.pushed)
        }
        Cmd::Lock(args) => {
            let (default_cache, note) = pyko::default_cache_dir();
            if let Some(note) = note {
                ui.info(note);
            }
            pyko::lock(&args.into_spec(Some(default_cache))?, ui)?;
            Ok(vec![])
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
            Ok(vec![])
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
            Ok(vec![])
        }
    }
}

/// Printing the references hit a closed stdout.
fn is_stdout_gone(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
