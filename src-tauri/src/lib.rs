//! Oktell Panel's desktop shell and command line.
//!
//! This crate is deliberately thin: it parses the command line, starts logging, and wires the Tauri windows, tray
//! and commands to the I/O layer in `crates/runtime`, which drives the protocol cores in `crates/*`. Anything that
//! is worth a unit test lives in those crates.

mod app;
mod bridge;
mod cli;
mod commands;
mod demo;
mod desktop;
mod settings;
mod startup;
mod tools;
mod tray;
mod view;
mod windows;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::startup::Startup;

/// Runs the program as the command line asks and returns its exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(command) => run_tool(command, &cli),
        None => run_desktop(&cli),
    }
}

/// The headless subcommands log to stderr only: they are run from a terminal or a test.
fn run_tool(command: &Command, cli: &Cli) -> ExitCode {
    let _log = match runtime::logging::init(None) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("oktell-panel: {err}");
            return ExitCode::from(2);
        }
    };
    let config = cli.config.as_deref();
    match command {
        Command::Check => startup::check(config),
        Command::Sim(args) => tools::sim::run(args),
        Command::Phone(args) => tools::phone::run(args),
        Command::Creatio(command) => tools::creatio::run(command, config),
        Command::Secret(command) => tools::secret::run(command, config),
    }
}

fn run_desktop(cli: &Cli) -> ExitCode {
    if let Err(err) = startup::with_webkit_environment() {
        eprintln!("oktell-panel: cannot restart with WebKit's memory-saving settings ({err}); running without them");
    }
    let startup = match Startup::prepare(cli) {
        Ok(startup) => startup,
        Err(message) => {
            eprintln!("oktell-panel: {message}");
            return ExitCode::from(2);
        }
    };
    let _log = match runtime::logging::init(startup.log_dir.as_deref()) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("oktell-panel: {err}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        demo = startup.demo,
        config = %startup.config_file.display(),
        "starting"
    );
    match app::run(startup) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(%err, "the desktop shell failed");
            eprintln!("oktell-panel: the window could not be opened: {err}");
            ExitCode::FAILURE
        }
    }
}
