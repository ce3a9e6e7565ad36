//! `canon`: explain, lint and call cloud API errors, and run the GPU-cloud
//! emulator.
//!
//! Each subcommand lives in its own module and returns an [`ExitCode`];
//! `main` only parses the arguments and maps a broken pipe to a quiet exit.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The process's allocator: mimalloc rather than glibc's. The emulator
/// allocates and frees many small buffers per request (hyper's, axum's,
/// SQLite's rows, the JSON answer), where glibc's bins and their
/// consolidation cost about a tenth of a request's instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod call;
mod explain;
mod input;
mod lint;
mod output;
mod serve;
mod simulate;

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
    /// Simulate retry strategies in outages: amplification, goodput,
    /// recovery, latency, duplicates and hint adherence.
    Simulate(simulate::SimulateArgs),
    /// Send an HTTP request like curl, retrying by the server's hints; each
    /// attempt goes to stderr, a failure is explained.
    Call(call::CallArgs),
    /// Run the GPU-cloud emulator: a CUDO-shaped API with AIP-193 errors,
    /// SQLite storage, fault injection and a request journal.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(args) => explain::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Call(args) => call::run(&args),
        Command::Serve(args) => serve::run(&args),
    };
    output::finish(result)
}
