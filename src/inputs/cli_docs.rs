//! The reference documentation generated from the clap definitions, so
//! docs/cli.md and the man page cannot drift from the flags: a test
//! regenerates both and fails when the committed files differ.

use clap::CommandFactory;

use super::cli::Cli;

/// `0.1.0 (git 1a2b3c4d5e6f)`, the revision from build.rs when built from
/// a git checkout.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("PYKO_VERSION_SUFFIX"));

/// The clap command tree, for completions.
pub fn command() -> clap::Command {
    Cli::command()
}

/// docs/cli.md: every command with its `--help` text, in order.
pub fn markdown() -> String {
    let mut root = Cli::command().version(env!("CARGO_PKG_VERSION"));
    root.build();
    let mut out = String::from(
        "# pyko command-line reference\n\n\
         Generated from the clap definitions by `PYKO_UPDATE_DOCS=1 cargo test --test it docs`;\n\
         do not edit by hand. The same text is `pyko <command> --help`.\n",
    );
    section(&mut root, "pyko", &mut out);
    out
}

fn section(cmd: &mut clap::Command, path: &str, out: &mut String) {
    let help = cmd.render_long_help().to_string();
    out.push_str(&format!(
        "\n## `{path}`\n\n```text\n{}\n```\n",
        help.trim_end()
    ));
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        let sub = cmd.find_subcommand_mut(&name).expect("listed above");
        section(sub, &format!("{path} {name}"), out);
    }
}

/// docs/pyko.1: the man page, one section per subcommand.
pub fn man_page() -> Vec<u8> {
    let mut root = Cli::command().version(env!("CARGO_PKG_VERSION"));
    root.build();
    let mut out = Vec::new();
    clap_mangen::Man::new(root.clone())
        .render(&mut out)
        .expect("writing to a Vec");
    // One page: each subcommand's options as a section of their own.
    for sub in root.get_subcommands().filter(|c| c.get_name() != "help") {
        let title = format!(".SH \"PYKO {}\"\n", sub.get_name().to_uppercase());
        out.extend_from_slice(title.as_bytes());
        let man = clap_mangen::Man::new(sub.clone().bin_name(format!("pyko {}", sub.get_name())));
        man.render_synopsis_section(&mut out)
            .expect("writing to a Vec");
        man.render_options_section(&mut out)
            .expect("writing to a Vec");
        // `build`'s note on where config comes from (its after_help).
        if sub.get_after_help().is_some() {
            man.render_extra_section(&mut out)
                .expect("writing to a Vec");
        }
    }
    out
}

/// `pyko completions SHELL`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut command(), "pyko", out);
}
