//! `canon`: explain, lint and call cloud API errors, and run the GPU-cloud
//! emulator.
//!
//! Each subcommand lives in its own module and returns an [`ExitCode`];
//! `main` only parses the arguments and maps a broken pipe to a quiet exit.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod explain;
mod input;
mod lint;
mod output;

/// The structured error model of cloud APIs, from the command line.
#[derive(Debug, Parser)]
#[command(name = "canon", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain an error response body: what happened, whether and when to
    /// retry, and what to do.
    Explain(explain::ExplainArgs),
    /// Check an error response against AIP-193 and the provider envelopes;
    /// exits 1 when there is an error.
    Lint(lint::LintArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(args) => explain::run(&args),
        Command::Lint(args) => lint::run(&args),
    };
    output::finish(result)
}
