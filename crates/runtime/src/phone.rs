//! `oktell-panel phone`: a headless softphone on the same stack as the panel, as baresip's
//! CLI is for baresip. A support engineer tests an account with it; tests drive calls with
//! real audio through it.
//!
//! Output is one JSON object per line on stdout, always with an `event` field:
//!
//! | event         | fields                                           |
//! |---------------|--------------------------------------------------|
//! | `started`     | `local` (our SIP address)                        |
//! | `registered`  | `expires`                                        |
//! | `unregistered`|                                                  |
//! | `register_failed` | `reason`, `retry_in_ms`                      |
//! | `dialing`     | `call`, `target`                                 |
//! | `incoming`    | `call`, `from`                                   |
//! | `ringing`     | `call`, `status` (180/183)                       |
//! | `established` | `call`, `codec`, `remote` (RTP address)          |
//! | `rtp`         | `call`, `local`, `remote`: the call's RTP addresses |
//! | `audio`       | `call`, `first_rtp_from` (the peer's audio arrives) |
//! | `held`, `resumed` | `call`, `by` (`local` or `remote`)           |
//! | `dtmf`        | `call`, `digit`, `via` (`rtp` or `info`)         |
//! | `transfer`    | `call`, `state` (`accepted`, `progress`, `succeeded`, `failed`), `status` when known |
//! | `referred`    | `call`, `target`, `accepted`, `new_call` (the call placed for the transferor) |
//! | `replaced`    | `call` (the new one, answered), `replaced` (hung up) |
//! | `closed`      | `call`, `cause`, and `status` when rejected      |
//! | `error`       | `message` (and `command` when a command failed)  |
//!
//! Input is one command per line on stdin: `answer`, `reject`, `hangup`, `hold`, `resume`,
//! `dtmf 123` (RFC 4733, or SIP INFO when the peer took no telephone-event), `info-dtmf 123`
//! (SIP INFO always), `dial URI`, `transfer URI` (blind transfer: REFER), `attended A B`
//! (attended transfer of call A to the peer of call B, by the `call` numbers of the events),
//! `quit`. Other commands act on the current call (the newest one). End of input quits
//! unless `--dial` or `--duration` keeps the phone running.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use serde_json::{Value, json};
/// The REFER policy is part of [`PhoneArgs`]; re-exported so callers need not depend on `sip`.
pub use sip::invite::ReferPolicy;
use sip::{
    invite::{CallHandle, EndReason, TransferState},
    msg::Limits,
    register::RegisterEvent,
    sdp::{Codec, Direction, MediaConfig},
    transaction::TimerConfig,
    ua::{DialogEvent, UaConfig, UaEvent},
};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::oktell_link::Tls;
use crate::sip_link::{LinkCommand, LinkConfig, LinkEvent, SUPPORTED_CODECS, Signalling, SipLink, end_cause};

/// Where the account password comes from. Never a command-line value: `ps` would show it.
#[derive(Clone)]
pub enum PasswordSource {
    /// The environment variable of this name.
    Env(String),
    /// Asked on the terminal, without echo.
    Prompt,
    /// Given by a caller in the same process (tests, the panel's keyring).
    Value(String),
    /// No password: for peers that do not challenge.
    None,
}

impl std::fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env(name) => f.debug_tuple("Env").field(name).finish(),
            Self::Prompt => f.write_str("Prompt"),
            Self::Value(_) => f.write_str("Value(..)"),
            Self::None => f.write_str("None"),
        }
    }
}

/// SIP transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

/// The `phone` command's options (the CLI maps its flags one to one).
#[derive(Debug, Clone)]
pub struct PhoneArgs {
    /// SIP user (`1001`).
    pub user: String,
    /// SIP domain of the account (`pbx.example.com`, or the registrar's IP).
    pub domain: String,
    /// Where every request goes: the registrar or outbound proxy (`host:port`, IP literal).
    pub proxy: SocketAddr,
    pub display_name: Option<String>,
    pub password: PasswordSource,
    pub transport: Transport,
    /// Local signalling address (port 0: any free port; 0.0.0.0: advertise the interface that
    /// routes to the proxy).
    pub bind: SocketAddr,
    /// Local RTP address, same rules; its IP is the one advertised in SDP.
    pub rtp_bind: SocketAddr,
    /// REGISTER at start (off for direct calls to a peer).
    pub register: bool,
    /// Requested registration lifetime in seconds.
    pub register_expires: u32,
    /// Place a call at start; the phone exits when it ends.
    pub dial: Option<String>,
    /// Answer incoming calls at once.
    pub auto_answer: bool,
    /// Sent as the microphone (16-bit WAV, any rate, looping).
    pub play: Option<PathBuf>,
    /// What the peer sends, as mono WAV at the PCM rate of the first codec (8 kHz for G.711,
    /// 48 kHz for Opus).
    pub record: Option<PathBuf>,
    /// Codecs offered and accepted, in order of preference (see [`parse_codecs`]).
    pub codecs: Vec<Codec>,
    /// Hang up, unregister and exit after this long.
    pub duration: Option<Duration>,
    /// Whether a peer's REFER (transfer request) is followed.
    pub refer_policy: ReferPolicy,
    /// Over TLS, trust this PEM certificate authority besides the system's.
    pub ca_file: Option<PathBuf>,
}

impl PhoneArgs {
    /// An account with the defaults: UDP on any free port of every interface (advertising the
    /// one that routes to the proxy), registering for 300 s.
    pub fn new(user: impl Into<String>, domain: impl Into<String>, proxy: SocketAddr) -> Self {
        let any = SocketAddr::from(([0, 0, 0, 0], 0));
        Self {
            user: user.into(),
            domain: domain.into(),
            proxy,
            display_name: None,
            password: PasswordSource::None,
            transport: Transport::Udp,
            bind: any,
            rtp_bind: any,
            register: true,
            register_expires: 300,
            dial: None,
            auto_answer: false,
            play: None,
            record: None,
            codecs: SUPPORTED_CODECS.to_vec(),
            duration: None,
            refer_policy: ReferPolicy::Accept,
            ca_file: None,
        }
    }
}

/// Reads a `--codec` value: names separated by commas (`opus,pcmu`), case-insensitive, in
/// order of preference; values of a repeated flag are joined with commas by the caller.
/// Duplicates are dropped, unknown names refused.
pub fn parse_codecs(list: &str) -> Result<Vec<Codec>, String> {
    let mut codecs = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let codec = match name.to_ascii_lowercase().as_str() {
            "pcmu" | "g711u" => Codec::Pcmu,
            "pcma" | "g711a" => Codec::Pcma,
            "opus" => Codec::Opus,
            _ => return Err(format!("unknown codec {name:?}: use pcmu, pcma or opus")),
        };
        if !codecs.contains(&codec) {
            codecs.push(codec);
        }
    }
    if codecs.is_empty() {
        return Err(String::from("no codec given: use pcmu, pcma or opus"));
    }
    Ok(codecs)
}

/// Exit codes: 0 success, 1 could not start (configuration, sockets, files), 2 the `--dial`
/// call never got established.
const EXIT_STARTUP: u8 = 1;
const EXIT_CALL_FAILED: u8 = 2;

/// Runs the phone on the process's stdin and stdout.
pub async fn run(args: PhoneArgs) -> ExitCode {
    run_with(args, stdin_lines(), tokio::io::stdout()).await
}

/// Stdin through a detached thread. `tokio::io::stdin` reads on the blocking pool, and a
/// runtime waits for its blocking reads when it shuts down: a phone that ends by `--duration`
/// on an interactive terminal would hang until Enter. A plain thread dies with the process.
fn stdin_lines() -> tokio::io::BufReader<tokio::io::DuplexStream> {
    let (mut writer, reader) = tokio::io::duplex(4096);
    let (lines, mut received) = tokio::sync::mpsc::channel::<String>(16);
    let spawned = std::thread::Builder::new()
        .name(String::from("phone-stdin"))
        .spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(mut line) = line else { break };
                line.push('\n');
                if lines.blocking_send(line).is_err() {
                    break;
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot read stdin: commands are off");
    }
    // Dropping `writer` at the end of stdin is the EOF the phone sees.
    tokio::spawn(async move {
        while let Some(line) = received.recv().await {
            if writer.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    tokio::io::BufReader::new(reader)
}

/// Runs the phone with commands from `input` and JSON events to `output`.
pub async fn run_with<R, W>(args: PhoneArgs, input: R, output: W) -> ExitCode
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut out = Output { writer: output };
    let link = match start(&args).await {
        Ok(link) => link,
        Err(message) => {
            out.event("error", json!({ "message": message })).await;
            return ExitCode::from(EXIT_STARTUP);
        }
    };
    let mut phone = Phone {
        args,
        out,
        current: None,
        calls: Vec::new(),
        dialed: None,
        dialed_established: false,
        held_local: false,
        held_remote: false,
    };
    phone.drive(link, input).await
}

async fn start(args: &PhoneArgs) -> Result<SipLink, String> {
    let signalling = match args.transport {
        Transport::Udp => Signalling::Udp,
        Transport::Tcp => Signalling::Tcp,
        Transport::Tls => Signalling::Tls {
            trust: Tls::new(args.ca_file.as_deref()).map_err(|e| e.to_string())?,
            server_name: args.domain.clone(),
        },
    };
    let password = match &args.password {
        PasswordSource::Env(name) => {
            std::env::var(name).map_err(|_| format!("environment variable {name} holds no password"))?
        }
        PasswordSource::Prompt => {
            let prompt = format!("Password for {}@{}: ", args.user, args.domain);
            tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("cannot read the password: {e}"))?
        }
        PasswordSource::Value(value) => value.clone(),
        PasswordSource::None => String::new(),
    };
    let ua = UaConfig {
        local: args.bind,
        proxy: args.proxy,
        domain: args.domain.clone(),
        user: args.user.clone(),
        display_name: args.display_name.clone(),
        password,
        register_expires: args.register_expires,
        media: MediaConfig {
            address: args.rtp_bind.ip().to_string(),
            port: args.rtp_bind.port(),
            codecs: args.codecs.clone(),
            telephone_event: true,
            ptime: 20,
        },
        timers: TimerConfig::default(),
        limits: Limits::default(),
        user_agent: format!("oktell-panel-phone/{}", env!("CARGO_PKG_VERSION")),
        seed: rand::random(),
        refer_policy: args.refer_policy,
        session_timer: Default::default(),
    };
    let config = LinkConfig {
        ua,
        signalling_bind: args.bind,
        rtp_bind: args.rtp_bind,
        register: args.register,
        play: args.play.clone(),
        record: args.record.clone(),
        signalling,
    };
    SipLink::start(config).await.map_err(|e| e.to_string())
}

struct Output<W> {
    writer: W,
}

impl<W: AsyncWrite + Unpin> Output<W> {
    async fn event(&mut self, name: &str, fields: Value) {
        let mut object = match fields {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        object.insert(String::from("event"), Value::from(name));
        let mut line = Value::Object(object).to_string();
        line.push('\n');
        let written = self.writer.write_all(line.as_bytes()).await;
        if written.is_err() || self.writer.flush().await.is_err() {
            tracing::debug!("stdout closed");
        }
    }
}

struct Phone<W> {
    args: PhoneArgs,
    out: Output<W>,
    /// The call commands act on.
    current: Option<CallHandle>,
    /// Every call not yet closed, oldest first (`attended` names them by number).
    calls: Vec<CallHandle>,
    /// The `--dial` call, whose end ends the run.
    dialed: Option<CallHandle>,
    dialed_established: bool,
    held_local: bool,
    held_remote: bool,
}

/// Why the main loop stopped.
enum Stop {
    Quit,
    DialedCallEnded,
}

impl<W: AsyncWrite + Unpin> Phone<W> {
    async fn drive<R: AsyncBufRead + Unpin>(&mut self, mut link: SipLink, input: R) -> ExitCode {
        self.out
            .event("started", json!({ "local": link.local_addr().to_string() }))
            .await;
        let commands = link.commands();
        if let Some(target) = self.args.dial.clone() {
            let _ = commands.send(LinkCommand::Call { target }).await;
        }
        let keep_running = self.args.dial.is_some() || self.args.duration.is_some();
        let deadline = self.args.duration.map(|d| tokio::time::Instant::now() + d);
        let mut lines = input.lines();
        let mut input_open = true;
        let stop = loop {
            tokio::select! {
                line = lines.next_line(), if input_open => match line {
                    Ok(Some(line)) => {
                        if self.on_line(&commands, line.trim()).await {
                            break Stop::Quit;
                        }
                    }
                    Ok(None) | Err(_) => {
                        input_open = false;
                        if !keep_running {
                            break Stop::Quit;
                        }
                    }
                },
                event = link.next_event() => match event {
                    Some(event) => {
                        if self.on_event(&commands, event).await {
                            break Stop::DialedCallEnded;
                        }
                    }
                    None => break Stop::Quit,
                },
                () = sleep_until_opt(deadline) => break Stop::Quit,
            }
        };
        // Hang up, unregister, and keep reporting while the link winds down.
        let _ = commands.send(LinkCommand::Shutdown).await;
        while let Some(event) = link.next_event().await {
            self.on_event(&commands, event).await;
        }
        if let Err(error) = link.shutdown().await {
            self.out.event("error", json!({ "message": error.to_string() })).await;
        }
        match stop {
            Stop::DialedCallEnded if !self.dialed_established => ExitCode::from(EXIT_CALL_FAILED),
            _ if self.args.dial.is_some() && !self.dialed_established => ExitCode::from(EXIT_CALL_FAILED),
            _ => ExitCode::SUCCESS,
        }
    }

    /// Handles one stdin line; `true` means quit.
    async fn on_line(&mut self, commands: &tokio::sync::mpsc::Sender<LinkCommand>, line: &str) -> bool {
        let (verb, argument) = match line.split_once(char::is_whitespace) {
            Some((verb, rest)) => (verb, rest.trim()),
            None => (line, ""),
        };
        let on_call = |make: fn(CallHandle) -> LinkCommand| self.current.map(make);
        let command = match verb {
            "" => return false,
            "quit" | "exit" => return true,
            "answer" => on_call(LinkCommand::Answer),
            "reject" => on_call(LinkCommand::Reject),
            "hangup" => on_call(LinkCommand::Hangup),
            "hold" => on_call(LinkCommand::Hold),
            "resume" => on_call(LinkCommand::Resume),
            "dtmf" if !argument.is_empty() => self.current.map(|call| LinkCommand::Dtmf {
                call,
                digits: argument.to_owned(),
            }),
            "dial" if !argument.is_empty() => Some(LinkCommand::Call {
                target: argument.to_owned(),
            }),
            "info-dtmf" if !argument.is_empty() => self.current.map(|call| LinkCommand::InfoDtmf {
                call,
                digits: argument.to_owned(),
            }),
            "transfer" if !argument.is_empty() => self.current.map(|call| LinkCommand::Transfer {
                call,
                target: argument.to_owned(),
            }),
            "attended" => {
                let mut numbers = argument.split_whitespace().map(|n| self.call_numbered(n));
                match (numbers.next(), numbers.next(), numbers.next()) {
                    (Some(Some(call)), Some(Some(to)), None) => Some(LinkCommand::AttendedTransfer { call, to }),
                    _ => {
                        self.error(verb, "usage: attended CALL TO (numbers of two calls in progress)")
                            .await;
                        return false;
                    }
                }
            }
            _ => {
                self.error(verb, "unknown command or missing argument").await;
                return false;
            }
        };
        match command {
            Some(command) => {
                if commands.send(command).await.is_err() {
                    return true;
                }
            }
            None => self.error(verb, "no call").await,
        }
        false
    }

    /// A call in progress by the number its events carry.
    fn call_numbered(&self, number: &str) -> Option<CallHandle> {
        let id: u64 = number.parse().ok()?;
        self.calls.iter().copied().find(|c| c.id() == id)
    }

    /// A new call becomes the current one.
    fn track(&mut self, call: CallHandle) {
        self.current = Some(call);
        if !self.calls.contains(&call) {
            self.calls.push(call);
        }
    }

    async fn error(&mut self, command: &str, message: &str) {
        self.out
            .event("error", json!({ "command": command, "message": message }))
            .await;
    }

    /// Reports one link event; `true` when the `--dial` call ended.
    async fn on_event(&mut self, commands: &tokio::sync::mpsc::Sender<LinkCommand>, event: LinkEvent) -> bool {
        match event {
            LinkEvent::Dialing { call, target } => {
                self.track(call);
                if self.args.dial.as_deref() == Some(target.as_str()) && self.dialed.is_none() {
                    self.dialed = Some(call);
                }
                self.out
                    .event("dialing", json!({ "call": call.id(), "target": target }))
                    .await;
            }
            LinkEvent::CommandFailed { command, error } => {
                self.error(command, &error.to_string()).await;
            }
            LinkEvent::AudioStarted { call, local, remote } => {
                self.out
                    .event(
                        "rtp",
                        json!({ "call": call.id(), "local": local.to_string(), "remote": remote.to_string() }),
                    )
                    .await;
            }
            LinkEvent::Warning(message) => self.out.event("error", json!({ "message": message })).await,
            LinkEvent::Media { call, event } => match event {
                media::stream::StreamEvent::FirstRtpReceived { from, .. } => {
                    self.out
                        .event(
                            "audio",
                            json!({ "call": call.id(), "first_rtp_from": from.to_string() }),
                        )
                        .await;
                }
                media::stream::StreamEvent::Dtmf(dtmf) => {
                    self.out
                        .event(
                            "dtmf",
                            json!({ "call": call.id(), "digit": dtmf.digit.to_string(), "via": "rtp" }),
                        )
                        .await;
                }
                other => tracing::debug!(?other, "media event"),
            },
            LinkEvent::Sip(event) => return self.on_sip(commands, event).await,
            LinkEvent::Dialog(event) => self.on_dialog(event).await,
            // The phone plays WAV files, never devices; quality is for the panel's view.
            event @ (LinkEvent::Quality { .. } | LinkEvent::Device { .. } | LinkEvent::DevicesFailed { .. }) => {
                tracing::debug!(?event, "link report");
            }
        }
        false
    }

    async fn on_dialog(&mut self, event: DialogEvent) {
        match event {
            DialogEvent::Transfer { call, state } => {
                let (name, status) = match state {
                    TransferState::Accepted => ("accepted", None),
                    TransferState::Progress { status } => ("progress", Some(status)),
                    TransferState::Succeeded => ("succeeded", None),
                    TransferState::Failed { status } => ("failed", status),
                };
                let mut fields = json!({ "call": call.id(), "state": name });
                if let Some(status) = status {
                    fields["status"] = json!(status);
                }
                self.out.event("transfer", fields).await;
            }
            DialogEvent::Referred {
                call,
                target,
                referred_by,
                new_call,
            } => {
                if let Some(new_call) = new_call {
                    self.track(new_call);
                    // The `--dial` call lives on as the call to the transfer target.
                    if self.dialed == Some(call) {
                        self.dialed = Some(new_call);
                    }
                }
                let mut fields = json!({
                    "call": call.id(),
                    "target": target.to_string(),
                    "accepted": new_call.is_some(),
                    "new_call": new_call.map(CallHandle::id),
                });
                if let Some(by) = referred_by {
                    fields["referred_by"] = json!(by.to_string());
                }
                self.out.event("referred", fields).await;
            }
            DialogEvent::Replaced { call, replaced, .. } => {
                self.track(call);
                if self.dialed == Some(replaced) {
                    self.dialed = Some(call);
                }
                self.out
                    .event("replaced", json!({ "call": call.id(), "replaced": replaced.id() }))
                    .await;
            }
            DialogEvent::Dtmf { call, digit, .. } => {
                self.out
                    .event(
                        "dtmf",
                        json!({ "call": call.id(), "digit": digit.to_string(), "via": "info" }),
                    )
                    .await;
            }
        }
    }

    async fn on_sip(&mut self, commands: &tokio::sync::mpsc::Sender<LinkCommand>, event: UaEvent) -> bool {
        match event {
            UaEvent::Registration(RegisterEvent::Registered { expires }) => {
                self.out.event("registered", json!({ "expires": expires })).await;
            }
            UaEvent::Registration(RegisterEvent::Unregistered) => {
                self.out.event("unregistered", json!({})).await;
            }
            UaEvent::Registration(RegisterEvent::Failed { reason, retry_in }) => {
                let retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
                self.out
                    .event(
                        "register_failed",
                        json!({ "reason": reason.to_string(), "retry_in_ms": retry_in_ms }),
                    )
                    .await;
            }
            UaEvent::IncomingCall { call, from, .. } => {
                self.track(call);
                self.out
                    .event("incoming", json!({ "call": call.id(), "from": from.to_string() }))
                    .await;
                if self.args.auto_answer {
                    let _ = commands.send(LinkCommand::Answer(call)).await;
                }
            }
            UaEvent::Progress { call, status, .. } => {
                self.out
                    .event("ringing", json!({ "call": call.id(), "status": status }))
                    .await;
            }
            UaEvent::Established { call, media } => {
                if self.dialed == Some(call) {
                    self.dialed_established = true;
                }
                self.held_local = false;
                self.held_remote = false;
                self.out
                    .event(
                        "established",
                        json!({
                            "call": call.id(),
                            "codec": format!("{:?}", media.codec).to_uppercase(),
                            "remote": format!("{}:{}", media.remote_address, media.remote_port),
                        }),
                    )
                    .await;
            }
            UaEvent::MediaUpdated { call, media } => {
                let held_remote = media.held_by_remote;
                let held_local = !held_remote && matches!(media.direction, Direction::SendOnly | Direction::Inactive)
                    || held_remote && media.direction == Direction::Inactive;
                for (by, before, after) in [
                    ("local", self.held_local, held_local),
                    ("remote", self.held_remote, held_remote),
                ] {
                    if before != after {
                        let name = if after { "held" } else { "resumed" };
                        self.out.event(name, json!({ "call": call.id(), "by": by })).await;
                    }
                }
                self.held_local = held_local;
                self.held_remote = held_remote;
            }
            UaEvent::ModifyFailed { call, status } => {
                self.out
                    .event(
                        "error",
                        json!({ "call": call.id(), "message": format!("re-INVITE refused with {status}") }),
                    )
                    .await;
            }
            UaEvent::Ended { call, reason } => {
                let mut fields = json!({ "call": call.id(), "cause": end_cause(&reason) });
                if let EndReason::Rejected { status, reason } = &reason {
                    fields["status"] = json!(status);
                    fields["reason"] = json!(reason);
                }
                self.out.event("closed", fields).await;
                self.calls.retain(|c| *c != call);
                if self.current == Some(call) {
                    self.current = self.calls.last().copied();
                }
                return self.dialed == Some(call);
            }
        }
        false
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
