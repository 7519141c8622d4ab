//! The binary edge: parse flags, run, print the error chain, exit non-zero.

use std::process::ExitCode;

use clap::Parser;
use pyko::build::{build, Reporter};
use pyko::cli::{Cli, Cmd};

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
            let epoch = source_date_epoch()?;
            let (default_cache, note) = pyko::cache::default_dir();
            if let Some(note) = note {
                ui.info(note);
            }
            let spec = args.into_spec(epoch, Some(default_cache))?;
            let outcome = build(&spec, &ui)?;
            for r in outcome.pushed {
                println!("{r}");
            }
        }
    }
    Ok(())
}

fn source_date_epoch() -> anyhow::Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "SOURCE_DATE_EPOCH={v:?} is not a whole number of seconds; unset it or fix it"
            )
        }),
        _ => Ok(0),
    }
}
