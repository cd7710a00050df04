//! The command line: the desktop panel by default, tools for administrators and tests as subcommands.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
    /// Run the simulated world (Oktell server, Creatio stand-in) standalone; prints its endpoints as one JSON line
    /// and runs until interrupted.
    Sim(SimArgs),
    /// Creatio tools for the administrator configuring a workstation.
    #[command(subcommand)]
    Creatio(CreatioCommand),
    /// Save or forget a password (OS keyring, or the secrets file the configuration chooses).
    #[command(subcommand)]
    Secret(SecretCommand),
}

/// Options of `oktell-panel sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// The address to listen on; keep it on loopback unless other machines must reach it.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// The Oktell WebSocket port (0 picks a free one).
    #[arg(long, default_value_t = 4066)]
    pub oktell_port: u16,
    /// The control interface port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub control_port: u16,
    /// The Creatio stand-in's HTTP port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub creatio_port: u16,
    /// A world file (TOML) instead of the built-in demo world.
    #[arg(long, value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// The built-in world without background activity (no spontaneous calls or colleague changes).
    #[arg(long, conflicts_with = "world")]
    pub quiet: bool,
    /// The seed of the world's random choices, for reproducible runs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `oktell-panel creatio ...`
#[derive(Debug, Subcommand)]
pub enum CreatioCommand {
    /// Verify the Creatio address, login and OData permission, and print what works.
    Check,
    /// Print, as JSON, whom the panel would show for a call from NUMBER.
    Lookup {
        /// The caller's number as the PBX gives it.
        number: String,
    },
}

/// `oktell-panel secret ...`
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Save the password of a system; read from the terminal without echo, or one line from standard input.
    Set {
        /// Whose password.
        system: System,
    },
    /// Forget the password of a system.
    Delete {
        /// Whose password.
        system: System,
    },
}

/// A system the panel logs in to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum System {
    /// The Oktell login of `[oktell]`.
    Oktell,
    /// The SIP account of `[sip]`.
    Sip,
    /// The Creatio user of `[creatio]`.
    Creatio,
}
