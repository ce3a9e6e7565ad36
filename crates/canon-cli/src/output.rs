//! Output helpers shared by the subcommands: the text/JSON switch, and the
//! mapping of errors to exit codes (with a quiet exit on a broken pipe).

use std::io::{self, Write};
use std::process::ExitCode;

/// Output format of a subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For a person.
    Text,
    /// A stable JSON contract for scripts.
    Json,
}

/// Exit code for a usage error (as clap uses).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code for an I/O error.
pub(crate) const EXIT_IO: u8 = 1;

/// Writes to stdout in one piece.
pub(crate) fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Writes a JSON value and a newline to stdout.
pub(crate) fn print_json(value: &serde_json::Value) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).expect("a Value always serializes");
    text.push('\n');
    print(&text)
}

/// Turns a subcommand's outcome into the process exit code. An error whose
/// root cause is a broken pipe exits quietly with 0, like other Unix tools
/// when their reader goes away; a usage error exits with 2; any other error
/// is printed and exits with 1.
pub(crate) fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) => {
            if error
                .chain()
                .filter_map(|cause| cause.downcast_ref::<io::Error>())
                .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            let usage = error.chain().any(|cause| cause.downcast_ref::<UsageError>().is_some());
            let _ = writeln!(io::stderr(), "canon: error: {error:#}");
            ExitCode::from(if usage { EXIT_USAGE } else { EXIT_IO })
        }
    }
}

/// An error in how the command was called, beyond what clap checks.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
