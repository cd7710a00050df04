//! The command line: the desktop panel by default, tools for administrators and tests as subcommands.

use std::net::{IpAddr, SocketAddr};
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
    /// A headless softphone on the same SIP stack: test an account, make and take calls with WAV audio, one
    /// JSON event per line on stdout, commands on stdin (answer, reject, hangup, hold, resume, dtmf DIGITS,
    /// dial URI, quit).
    Phone(Box<PhoneArgs>),
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

/// Options of `oktell-panel phone`.
#[derive(Debug, clap::Args)]
pub struct PhoneArgs {
    /// The account's address of record, e.g. sip:101@pbx.local.
    #[arg(long, value_name = "URI")]
    pub account: String,
    /// The registrar or outbound proxy as IP:PORT (default: the account's host when it is an IP, port 5060).
    #[arg(long, value_name = "IP:PORT")]
    pub proxy: Option<SocketAddr>,
    /// The display name sent in From.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Read the password from this environment variable (default: ask on the terminal).
    #[arg(long, value_name = "VAR", conflicts_with = "no_password")]
    pub password_env: Option<String>,
    /// The peer does not challenge; send no credentials.
    #[arg(long)]
    pub no_password: bool,
    /// The SIP transport: a TCP or TLS connection goes to the proxy, with CRLF keepalives and reconnection.
    #[arg(long, value_enum, default_value = "udp")]
    pub transport: PhoneTransport,
    /// Over TLS, also trust this PEM certificate authority (a PBX with a private CA). The certificate must name the
    /// account's domain.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Local signalling address (port 0 = any; 0.0.0.0 advertises the interface that routes to the proxy).
    #[arg(long, default_value = "0.0.0.0:0")]
    pub bind: SocketAddr,
    /// Local RTP address; its IP is the one advertised in SDP.
    #[arg(long, default_value = "0.0.0.0:0")]
    pub rtp_bind: SocketAddr,
    /// Do not REGISTER (direct calls to a peer).
    #[arg(long)]
    pub no_register: bool,
    /// The requested registration lifetime in seconds.
    #[arg(long, default_value_t = 300)]
    pub expires: u32,
    /// Call this URI (or number) at start; the phone exits when the call ends.
    #[arg(long, value_name = "URI")]
    pub dial: Option<String>,
    /// Answer incoming calls at once.
    #[arg(long)]
    pub auto_answer: bool,
    /// Send this WAV file as the microphone (16-bit, any rate; it loops).
    #[arg(long, value_name = "FILE")]
    pub play: Option<PathBuf>,
    /// Write what the other side sends to this WAV file (mono, at the rate of the first codec: 8 kHz for G.711,
    /// 48 kHz for Opus).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// The codecs to offer and accept, in order of preference: pcmu, pcma, opus (default: pcmu,pcma,opus).
    #[arg(long = "codec", value_name = "CODECS", value_delimiter = ',')]
    pub codec: Vec<String>,
    /// What to do when the other side asks us to transfer the call (REFER).
    #[arg(long, value_enum, default_value = "accept")]
    pub refer_policy: ReferPolicyArg,
    /// Hang up, unregister and exit after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
}

/// Whether `phone` follows a transfer the other side asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReferPolicyArg {
    /// Call the transfer target and report the progress back (as desk phones do).
    Accept,
    /// Refuse with 603 Decline.
    Reject,
}

/// The SIP transports of `phone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhoneTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS.
    Tls,
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
