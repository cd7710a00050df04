//! The headless subcommands: thin glue from the command line to `runtime` and `sim`, printing for a terminal.

pub mod creatio;
pub mod phone;
pub mod secret;
pub mod sim;

use std::process::ExitCode;

/// A tokio runtime for one subcommand, or the exit status that says it could not start.
fn tokio_runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| fail(format!("cannot start: {err}")))
}

/// Prints a failure for the terminal and returns the exit status of a usage or environment error.
fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("oktell-panel: {message}");
    ExitCode::from(2)
}
