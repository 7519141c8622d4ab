//! The binary edge: parse flags, run, print the error chain, exit non-zero.

use std::process::ExitCode;

use clap::Parser;
use pyko::build::build;
use pyko::inputs::cli::{Cli, Cmd};
use pyko::ui::Reporter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let ui = Reporter::new(cli.quiet, cli.verbose);
    match cli.command {
        Cmd::Build(args) => {
            let epoch = pyko::inputs::source_date_epoch()?;
            let (default_cache, note) = pyko::cache::default_dir();
            if let Some(note) = note {
                ui.info(note);
            }
            let (spec, notes) = args.into_spec(epoch, Some(default_cache))?;
            for n in notes {
                ui.info(format!("note: {n}"));
            }
            let outcome = build(&spec, &ui)?;
            for r in outcome.pushed {
                println!("{r}");
            }
        }
        Cmd::Login(args) => login(args, &ui)?,
        Cmd::Logout(args) => {
            let config = pyko::registry::login::default_config_path()?;
            if pyko::registry::login::logout(&args.registry, &config)? {
                ui.info(format!(
                    "Removed credentials for {} from {}",
                    args.registry,
                    config.display()
                ));
            } else {
                ui.info(format!("Not logged in to {}", args.registry));
            }
        }
    }
    Ok(())
}

fn login(args: pyko::inputs::cli::LoginArgs, ui: &Reporter) -> anyhow::Result<()> {
    use std::io::Read;
    if !args.password_stdin {
        anyhow::bail!(
            "pyko login reads the password from stdin: pipe it in and pass --password-stdin"
        );
    }
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.strip_suffix('\n').unwrap_or(&password);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        anyhow::bail!("--password-stdin: stdin held no password");
    }
    let registry = pyko::registry::login::canonical_registry(&args.registry);
    let opts = pyko::registry::ClientOptions {
        insecure_registries: if args.insecure {
            vec![registry.clone()]
        } else {
            vec![]
        },
        ca_certs: args.ca_certs,
        ..Default::default()
    };
    let config = pyko::registry::login::default_config_path()?;
    pyko::registry::login::login(opts, &registry, &args.username, password, &config)?;
    ui.info(format!(
        "Login succeeded: credentials for {registry} saved in {}",
        config.display()
    ));
    Ok(())
}
