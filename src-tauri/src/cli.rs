//! The command line: the desktop panel by default, tools for administrators and tests as subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Oktell Panel: the operator's softphone and call-control panel for Oktell PBX and Creatio CRM.
#[derive(Debug, Parser)]
#[command(name = "oktell-panel", version, about, long_about = None)]
pub struct Cli {
    /// The configuration file (default: the platform config folder, e.g. ~/.config/oktell-panel/config.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Run against the embedded demo world even when servers are configured.
    #[arg(long)]
    pub demo: bool,

    /// A tel:, sip: or callto: link to dial (what the desktop passes when such a link is clicked).
    #[arg(value_name = "LINK")]
    pub link: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration file and print where the panel keeps its files.
    Check,
}
