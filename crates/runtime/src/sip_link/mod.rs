//! The tokio driver of the SIP user agent and its calls' audio, over UDP.
//!
//! One task owns one [`sip::ua::UserAgent`], the signalling socket and every call's
//! [`media::stream::MediaStream`]. It `select!`s over the signalling socket, the datagrams of
//! the calls' RTP sockets, a bounded command channel, the 20 ms media tick and a sleep until
//! the earliest deadline of the cores; whatever woke it becomes exactly one input, then every
//! output is drained: datagrams to the sockets, events to the owner's channel (which waits
//! rather than drops: call-state events are never lost).
//!
//! Each call has its own RTP socket. The user agent writes its media port into a call's SDP
//! when the call is created (our INVITE, or the peer's arriving), so the link keeps the next
//! socket bound ahead (the spare) and hands it to each new call. A small task per socket
//! reads datagrams and tags them with their call; only the driver sends.
//!
//! Audio for the headless phone comes from WAV files ([`wav`]): the source is the microphone
//! of every call (silence without one) and the sink records what the newest call with audio
//! receives, including the silence of hold. The link speaks PCMU, PCMA and Opus (mono at
//! 48 kHz, 20 ms, in-band FEC); the source file is resampled once per codec rate in use, and
//! the recording is mono at the PCM rate of the first configured codec (8 kHz for G.711,
//! 48 kHz for Opus), calls at another rate resampled to it.
//!
//! With [`DeviceAudio`] ([`SipLink::start_with_devices`]) the call the operator talks on (the
//! newest with audio) has the microphone and headset instead, through the
//! [`crate::audio::call_audio::CallAudio`] pump with microphone processing on; the devices
//! move to the next call when that one ends. A device that cannot be opened or fails leaves
//! the call silent and is reported ([`LinkEvent::DevicesFailed`]), never ends it. Mute works
//! either way, and every call with audio reports its quality estimate once a second.
//! Opening a device runs on the driver task: with cpal that is quick for ALSA but may block
//! up to its open timeout on a wedged sound server.

mod flow;
pub mod wav;

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use media::{
    codec::opus::OpusConfig,
    processing::ProcessingConfig,
    quality::QualityEstimate,
    stream::{CodecChoice, MediaStream, StreamConfig, StreamEvent},
};
use sip::{
    invite::{CallHandle, EndReason},
    msg::Uri,
    sdp::{Codec, Negotiated},
    ua::{DialogEvent, UaConfig, UaError, UaEvent, UserAgent},
};
use tokio::{
    net::UdpSocket,
    sync::mpsc,
    task::JoinHandle,
    time::{Interval, MissedTickBehavior, sleep_until},
};

pub use self::flow::Signalling;
use self::flow::{Flow, FlowEvent};
use self::wav::{WavError, WavFile, WavSink, WavSource};
use crate::audio::AudioBackend;
use crate::audio::call_audio::CallAudio as DevicePump;
use crate::audio::devices::{DeviceEvent, DevicePreferences};

/// The PCM rate of G.711.
const G711_RATE: u32 = 8000;
/// The PCM rate we run Opus at: full band, the rate of its RTP clock, and what baresip uses.
const OPUS_RATE: u32 = 48000;
/// The codecs the link speaks, in the default order of preference: G.711 first because
/// every PBX takes it, so a caller who asks for nothing keeps today's behaviour.
pub const SUPPORTED_CODECS: [Codec; 3] = [Codec::Pcmu, Codec::Pcma, Codec::Opus];
/// How long one key press lasts on the wire (RFC 4733).
const DTMF_DURATION: Duration = Duration::from_millis(120);
/// How long a shutdown waits for the registrar to confirm the unbinding.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
const FRAME: Duration = Duration::from_millis(20);
const MAX_DATAGRAM: usize = 65_535;
/// How often each call's quality estimate is reported.
const QUALITY_EVERY: Duration = Duration::from_secs(1);

/// The operator's microphone and headset as a call's audio, instead of the WAV files.
///
/// One call at a time has the devices: the newest with audio (the one the operator talks
/// on); the others, held or waiting, send silence. A device that cannot be opened never ends
/// a call: the call goes on silent and [`LinkEvent::DevicesFailed`] says why.
#[derive(Debug, Clone)]
pub struct DeviceAudio {
    /// The sound system (cpal for real, the WAV-file backend in tests).
    pub backend: Arc<dyn AudioBackend>,
    /// The operator's choice of microphone and headset (`[audio]` input and output).
    pub preferences: DevicePreferences,
    /// Echo cancellation, noise suppression and gain control on the microphone.
    pub processing: ProcessingConfig,
}

impl DeviceAudio {
    /// The devices with the default microphone processing on.
    pub fn new(backend: Arc<dyn AudioBackend>, preferences: DevicePreferences) -> Self {
        Self {
            backend,
            preferences,
            processing: ProcessingConfig::default(),
        }
    }
}

/// Everything the link needs to start.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// The account. `local` and `media` address and port are overwritten with the bound ones.
    pub ua: UaConfig,
    /// Where the signalling socket binds (port 0: any free port).
    pub signalling_bind: SocketAddr,
    /// Where the calls' RTP sockets bind: the first call's on this port (0: any free port),
    /// later ones on any free port of the same address.
    pub rtp_bind: SocketAddr,
    /// REGISTER at start (and unregister at shutdown).
    pub register: bool,
    /// Played as the microphone, looping; silence when `None`.
    pub play: Option<PathBuf>,
    /// Records what the peer sends, mono at the PCM rate of the preferred codec
    /// ([`pcm_rate`] of the first in `ua.media.codecs`).
    pub record: Option<PathBuf>,
    /// UDP from `signalling_bind`, or a connection to `ua.proxy`.
    pub signalling: Signalling,
}

/// What the owner asks of the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCommand {
    /// Places a call; [`LinkEvent::Dialing`] names its handle.
    Call {
        target: String,
    },
    Answer(CallHandle),
    Reject(CallHandle),
    Hangup(CallHandle),
    Hold(CallHandle),
    Resume(CallHandle),
    /// Sends the digits as RFC 4733 telephone events, or as SIP INFO when the peer took no
    /// telephone-event.
    Dtmf {
        call: CallHandle,
        digits: String,
    },
    /// Sends the digits as SIP INFO (`application/dtmf-relay`) whatever the session offers.
    InfoDtmf {
        call: CallHandle,
        digits: String,
    },
    /// Blind transfer: asks the peer of `call` to call `target` (REFER).
    Transfer {
        call: CallHandle,
        target: String,
    },
    /// Attended transfer: asks the peer of `call` to call the peer of `to`, replacing `to`.
    AttendedTransfer {
        call: CallHandle,
        to: CallHandle,
    },
    /// Mutes or unmutes our side of a call: comfort noise or silence goes out, the call and
    /// its RTP go on.
    Mute {
        call: CallHandle,
        muted: bool,
    },
    /// Ends every call, unregisters and stops the task.
    Shutdown,
}

/// What the link reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// A call we placed has its handle.
    Dialing {
        call: CallHandle,
        target: String,
    },
    Sip(UaEvent),
    /// Transfer, replacement and INFO DTMF news of a call.
    Dialog(DialogEvent),
    /// A call's audio started: our RTP address and where we send.
    AudioStarted {
        call: CallHandle,
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// The audio of a call.
    Media {
        call: CallHandle,
        event: StreamEvent,
    },
    /// A command did not fit the state of the user agent.
    CommandFailed {
        command: &'static str,
        error: UaError,
    },
    /// Something the owner should see but that does not stop the link (an audio file, a socket).
    Warning(String),
    /// The call's audio quality so far, once a second while it has audio.
    Quality {
        call: CallHandle,
        estimate: QualityEstimate,
    },
    /// The devices route differently than chosen (a preferred one is missing or went away).
    Device {
        call: CallHandle,
        event: DeviceEvent,
    },
    /// The microphone or headset could not be opened or failed: the call goes on silent.
    DevicesFailed {
        call: CallHandle,
        error: String,
    },
}

/// Why the link could not start or had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    #[error("cannot bind {what} socket on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("SIP account settings: {0}")]
    Config(#[from] UaError),
    #[error(transparent)]
    Audio(#[from] WavError),
    #[error("signalling socket failed: {0}")]
    Socket(std::io::Error),
}

/// The handle of a running link: commands in, events out.
#[derive(Debug)]
pub struct SipLink {
    commands: mpsc::Sender<LinkCommand>,
    events: mpsc::Receiver<LinkEvent>,
    task: JoinHandle<Result<(), LinkError>>,
    local: SocketAddr,
}

impl SipLink {
    /// Binds the sockets, opens the audio files and starts the task.
    pub async fn start(config: LinkConfig) -> Result<Self, LinkError> {
        Self::start_with_devices(config, None).await
    }

    /// [`SipLink::start`], with the operator's devices as the calls' audio when `devices` is
    /// given (the WAV files of `config` then serve only calls that do not have the devices).
    pub async fn start_with_devices(mut config: LinkConfig, devices: Option<DeviceAudio>) -> Result<Self, LinkError> {
        let addr = config.signalling_bind;
        let failed = |what: &'static str, addr: SocketAddr| move |source| LinkError::Bind { what, addr, source };
        let proxy = config.ua.proxy;
        let transport = config.signalling.transport();
        // Via, Contact and SDP need an address the peer can reach, never 0.0.0.0. A connection's own address is
        // known once it is up; until then nothing is sent.
        let (signalling, local) = match &config.signalling {
            Signalling::Udp => {
                let socket = UdpSocket::bind(addr).await.map_err(failed("signalling", addr))?;
                let bound = socket.local_addr().map_err(failed("signalling", addr))?;
                (SignallingIo::Udp(socket), advertised(bound, proxy).await?)
            }
            stream => {
                let flow = Flow::start(proxy, stream.clone(), config.ua.limits);
                let local = advertised(SocketAddr::new(addr.ip(), 0), proxy).await?;
                (SignallingIo::Flow(flow), local)
            }
        };
        let spare = RtpSocket::bind(config.rtp_bind).map_err(failed("RTP", config.rtp_bind))?;
        let rtp_ip = advertised(spare.bound, proxy).await?.ip();
        config.ua.local = local;
        config.ua.media.port = spare.bound.port();
        config.ua.media.address = rtp_ip.to_string();
        let codecs = &mut config.ua.media.codecs;
        codecs.retain(|c| SUPPORTED_CODECS.contains(c));
        if codecs.is_empty() {
            codecs.extend([Codec::Pcmu, Codec::Pcma]);
        }
        let preferred_rate = codecs.first().map_or(G711_RATE, |c| pcm_rate(*c));
        let ua = UserAgent::with_transport(config.ua.clone(), transport)?;
        let microphone = config.play.as_deref().map(WavFile::open).transpose()?;
        // Resampled now for the preferred codec, so a file that cannot be is refused at start.
        let sources = microphone
            .as_ref()
            .map(|file| file.source(preferred_rate))
            .transpose()?
            .map(|source| (preferred_rate, source))
            .into_iter()
            .collect();
        let sink = config
            .record
            .as_deref()
            .map(|path| WavSink::create(path, preferred_rate))
            .transpose()?;
        let (commands, command_rx) = mpsc::channel(32);
        let (event_tx, events) = mpsc::channel(256);
        let (rtp_in_tx, rtp_in) = mpsc::channel(256);
        // Burst: a late tick is made up at once, so the RTP clock keeps pace with real time.
        let mut tick = tokio::time::interval(FRAME);
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let driver = Driver {
            tick,
            ua,
            signalling,
            proxy,
            rtp_ip,
            spare: Some(spare),
            calls: BTreeMap::new(),
            rtp_in_tx,
            rtp_in,
            recorded: None,
            commands: command_rx,
            events: event_tx,
            pending: Vec::new(),
            microphone,
            sources,
            mic_frames: BTreeMap::new(),
            sink,
            seed: config.ua.seed,
            register: config.register,
            live: Live::new(devices),
        };
        tracing::info!(%local, %rtp_ip, "SIP link started");
        let task = tokio::spawn(driver.run());
        Ok(Self {
            commands,
            events,
            task,
            local,
        })
    }

    /// Our signalling address (Via, Contact).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// A sender for commands; several owners may hold one.
    pub fn commands(&self) -> mpsc::Sender<LinkCommand> {
        self.commands.clone()
    }

    /// The next event; `None` once the task has stopped.
    pub async fn next_event(&mut self) -> Option<LinkEvent> {
        self.events.recv().await
    }

    /// Asks the task to shut down and waits for it, draining events meanwhile.
    pub async fn shutdown(mut self) -> Result<(), LinkError> {
        // A closed channel means the task already stopped; its result is what counts.
        let _ = self.commands.send(LinkCommand::Shutdown).await;
        while self.events.recv().await.is_some() {}
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(LinkError::Socket(std::io::Error::other(join))),
        }
    }
}

/// The address to advertise for a socket bound to `bound`: itself, or for a wildcard bind the
/// interface address the OS routes `proxy` through (a connected UDP socket sends nothing).
async fn advertised(bound: SocketAddr, proxy: SocketAddr) -> Result<SocketAddr, LinkError> {
    if !bound.ip().is_unspecified() {
        return Ok(bound);
    }
    let failed = |source| LinkError::Bind {
        what: "route probe",
        addr: bound,
        source,
    };
    let probe = UdpSocket::bind(SocketAddr::new(bound.ip(), 0)).await.map_err(failed)?;
    probe.connect(proxy).await.map_err(failed)?;
    let ip = probe.local_addr().map_err(failed)?.ip();
    Ok(SocketAddr::new(ip, bound.port()))
}

/// A bound RTP socket (`bound` is what the OS gave, wildcard or not).
#[derive(Debug)]
struct RtpSocket {
    socket: Arc<UdpSocket>,
    bound: SocketAddr,
}

impl RtpSocket {
    /// Synchronous (a std bind handed to tokio) so that a new call's successor socket is
    /// ready before the next input reaches the user agent.
    fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let socket = std::net::UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        let bound = socket.local_addr()?;
        Ok(Self {
            socket: Arc::new(UdpSocket::from_std(socket)?),
            bound,
        })
    }
}

/// One call's RTP socket and, once the session is agreed, its stream.
#[derive(Debug)]
struct CallMedia {
    rtp: RtpSocket,
    reader: JoinHandle<()>,
    audio: Option<CallAudio>,
}

impl Drop for CallMedia {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[derive(Debug)]
struct CallAudio {
    stream: MediaStream,
    negotiated: Negotiated,
}

impl CallAudio {
    fn sends(&self) -> bool {
        self.negotiated.direction.sends()
    }
}

/// A datagram from a call's RTP socket.
#[derive(Debug)]
struct RtpIn {
    call: CallHandle,
    from: SocketAddr,
    bytes: Vec<u8>,
}

/// Reads one call's RTP socket until the call ends (its task is aborted then).
async fn read_rtp(call: CallHandle, socket: Arc<UdpSocket>, to_driver: mpsc::Sender<RtpIn>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((len, from)) => {
                let bytes = buf.get(..len).unwrap_or_default().to_vec();
                if to_driver.send(RtpIn { call, from, bytes }).await.is_err() {
                    return;
                }
            }
            // ICMP port unreachable from a peer that is gone: one error per datagram.
            Err(error) => tracing::debug!(%error, ?call, "RTP receive error"),
        }
    }
}

#[derive(Debug)]
struct Driver {
    /// The 20 ms media clock; restarted when audio starts after a pause.
    tick: Interval,
    ua: UserAgent,
    signalling: SignallingIo,
    /// The proxy: where a connection's messages come from.
    proxy: SocketAddr,
    /// The address in our SDP.
    rtp_ip: IpAddr,
    /// The socket the next call gets; its port is the user agent's media port.
    spare: Option<RtpSocket>,
    calls: BTreeMap<CallHandle, CallMedia>,
    rtp_in_tx: mpsc::Sender<RtpIn>,
    rtp_in: mpsc::Receiver<RtpIn>,
    /// The call whose received audio goes to the recording: the newest with audio.
    recorded: Option<CallHandle>,
    commands: mpsc::Receiver<LinkCommand>,
    events: mpsc::Sender<LinkEvent>,
    /// Events raised while handling the user agent's events, sent right after them.
    pending: Vec<LinkEvent>,
    /// The file played as every call's microphone.
    microphone: Option<WavFile>,
    /// That file at each codec rate a call has needed, resampled once.
    sources: BTreeMap<u32, WavSource>,
    /// This tick's microphone frame at each rate in use: calls at one rate hear the same.
    mic_frames: BTreeMap<u32, Vec<i16>>,
    sink: Option<WavSink>,
    seed: u64,
    register: bool,
    live: Live,
}

/// The device side of the calls' audio, mute and quality reports.
#[derive(Debug)]
struct Live {
    devices: Option<DeviceAudio>,
    /// The call the devices serve, its codec rate, and its pump (`None`: the devices failed
    /// and the call is silent).
    pump: Option<(CallHandle, u32, Option<DevicePump>)>,
    muted: BTreeSet<CallHandle>,
    /// When the next quality estimates are due.
    next_quality: Option<Instant>,
}

impl Live {
    fn new(devices: Option<DeviceAudio>) -> Self {
        Self {
            devices,
            pump: None,
            muted: BTreeSet::new(),
            next_quality: None,
        }
    }

    /// The pump of `call`, if the devices serve it and work.
    fn pump_of(&mut self, call: CallHandle) -> Option<&mut DevicePump> {
        match &mut self.pump {
            Some((owner, _, Some(pump))) if *owner == call => Some(pump),
            _ => None,
        }
    }
}

/// The signalling socket or connection.
#[derive(Debug)]
enum SignallingIo {
    Udp(UdpSocket),
    Flow(Flow),
}

impl SignallingIo {
    /// The next thing the signalling brings; a flow whose task ended waits forever (the link is stopping).
    async fn receive(&mut self, buf: &mut [u8]) -> SignallingIn {
        match self {
            SignallingIo::Udp(socket) => match socket.recv_from(buf).await {
                Ok((len, from)) => SignallingIn::Datagram { len, from },
                Err(error) => SignallingIn::Error(error),
            },
            SignallingIo::Flow(flow) => match flow.events.recv().await {
                Some(event) => SignallingIn::Flow(event),
                None => std::future::pending().await,
            },
        }
    }

    async fn send(&self, bytes: Vec<u8>, destination: SocketAddr) {
        match self {
            SignallingIo::Udp(socket) => {
                if let Err(error) = socket.send_to(&bytes, destination).await {
                    tracing::warn!(%error, %destination, "SIP send failed");
                }
            }
            // One flow to the proxy: every request goes there, every response back the way its request came.
            SignallingIo::Flow(flow) => flow.send(bytes),
        }
    }

    /// Where messages on the connection come from, for the user agent (its proxy).
    fn is_flow(&self) -> bool {
        matches!(self, SignallingIo::Flow(_))
    }
}

/// What the signalling brought.
enum SignallingIn {
    Datagram { len: usize, from: SocketAddr },
    Error(std::io::Error),
    Flow(FlowEvent),
}

/// What woke the task.
enum Wake {
    Signalling(SignallingIn),
    Rtp(Option<RtpIn>),
    Command(Option<LinkCommand>),
    Tick,
    Timeout,
}

impl Driver {
    async fn run(mut self) -> Result<(), LinkError> {
        if self.register && !self.signalling.is_flow() {
            self.ua.register(Instant::now());
        }
        let mut signalling_buf = vec![0u8; MAX_DATAGRAM];
        let mut stopping: Option<Instant> = None;
        let result = loop {
            if let Err(error) = self.flush().await {
                break Err(error);
            }
            if let Some(since) = stopping
                && (self.finished_stopping() || since.elapsed() >= SHUTDOWN_GRACE)
            {
                break Ok(());
            }
            let deadline = self
                .deadline()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let deadline = match stopping {
                Some(since) => deadline.min(since + SHUTDOWN_GRACE),
                None => deadline,
            };
            let wake = tokio::select! {
                r = self.signalling.receive(&mut signalling_buf) => Wake::Signalling(r),
                r = self.rtp_in.recv() => Wake::Rtp(r),
                c = self.commands.recv(), if stopping.is_none() => Wake::Command(c),
                _ = self.tick.tick(), if self.has_audio() => Wake::Tick,
                () = sleep_until(deadline.into()) => Wake::Timeout,
            };
            let now = Instant::now();
            match wake {
                Wake::Signalling(SignallingIn::Datagram { len, from }) => {
                    if let Some(bytes) = signalling_buf.get(..len) {
                        tracing::trace!(%from, message = %String::from_utf8_lossy(bytes), "SIP in");
                        self.ua.handle_datagram(now, from, bytes);
                    }
                }
                // ICMP errors from a peer that is gone surface here; the transactions time out.
                Wake::Signalling(SignallingIn::Error(error)) => tracing::debug!(%error, "SIP receive error"),
                Wake::Signalling(SignallingIn::Flow(event)) => self.on_flow(now, event).await,
                Wake::Rtp(Some(datagram)) => {
                    if let Some(audio) = self.calls.get_mut(&datagram.call).and_then(|m| m.audio.as_mut()) {
                        audio.stream.handle_datagram(now, datagram.from, &datagram.bytes);
                    }
                }
                // The driver holds a sender itself: never closed while it runs.
                Wake::Rtp(None) => {}
                Wake::Command(Some(LinkCommand::Shutdown) | None) => {
                    stopping = Some(now);
                    self.begin_shutdown(now);
                }
                Wake::Command(Some(command)) => self.on_command(now, command).await,
                Wake::Tick => self.on_tick(now).await,
                Wake::Timeout => {
                    self.ua.handle_timeout(now);
                    for audio in self.calls.values_mut().filter_map(|m| m.audio.as_mut()) {
                        if audio.stream.poll_timeout() <= now {
                            audio.stream.handle_timeout(now);
                        }
                    }
                }
            }
        };
        let calls: Vec<CallHandle> = self.calls.keys().copied().collect();
        for call in calls {
            self.close_media(call);
        }
        if let Some(sink) = self.sink.take() {
            sink.finish()?;
        }
        result
    }

    /// News of the connection to the proxy.
    async fn on_flow(&mut self, now: Instant, event: FlowEvent) {
        match event {
            FlowEvent::Message(bytes) => {
                let from = self.proxy;
                tracing::trace!(%from, message = %String::from_utf8_lossy(&bytes), "SIP in");
                self.ua.handle_datagram(now, from, &bytes);
            }
            FlowEvent::Connected(local) => {
                self.ua.handle_connected(local);
                if self.register {
                    self.ua.register(now);
                }
            }
            FlowEvent::Lost(reason) => {
                emit(&self.events, LinkEvent::Warning(format!("SIP connection: {reason}"))).await;
                self.ua.handle_transport_lost(now);
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let media = self
            .calls
            .values()
            .filter_map(|m| m.audio.as_ref())
            .map(|a| a.stream.poll_timeout());
        media.chain(self.ua.poll_timeout()).min()
    }

    fn has_audio(&self) -> bool {
        self.calls.values().any(|m| m.audio.is_some())
    }

    /// Gives the spare socket to a call the user agent just created, and binds the next one.
    fn assign_rtp(&mut self, call: CallHandle) {
        let Some(rtp) = self.spare.take() else {
            tracing::warn!(?call, "no RTP socket for this call: it will have no audio");
            return;
        };
        let reader = tokio::spawn(read_rtp(call, Arc::clone(&rtp.socket), self.rtp_in_tx.clone()));
        let next = SocketAddr::new(rtp.bound.ip(), 0);
        self.calls.insert(
            call,
            CallMedia {
                rtp,
                reader,
                audio: None,
            },
        );
        match RtpSocket::bind(next) {
            Ok(spare) => {
                self.ua.set_media_port(spare.bound.port());
                self.spare = Some(spare);
            }
            Err(error) => {
                let warning = format!("cannot bind an RTP socket on {next}: {error}");
                tracing::warn!(%warning);
                self.pending.push(LinkEvent::Warning(warning));
            }
        }
    }

    /// Ends a call's audio: RTCP BYE (best effort, not waited for), socket closed.
    fn close_media(&mut self, call: CallHandle) {
        let Some(mut media) = self.calls.remove(&call) else {
            return;
        };
        if let Some(audio) = media.audio.as_mut() {
            audio.stream.close(Instant::now());
            while let Some(transmit) = audio.stream.poll_transmit() {
                if let Some(destination) = transmit.destination {
                    let _ = media.rtp.socket.try_send_to(&transmit.bytes, destination);
                }
            }
        }
        if self.recorded == Some(call) {
            self.recorded = None;
        }
    }

    fn begin_shutdown(&mut self, now: Instant) {
        let calls: Vec<CallHandle> = self.ua.calls().collect();
        for call in calls {
            // CANCEL, 603 or BYE, whatever the call's state allows.
            if let Err(error) = self.ua.hangup(now, call) {
                tracing::debug!(%error, ?call, "call left at shutdown");
            }
        }
        if self.register {
            self.ua.unregister(now);
        }
    }

    /// Shutdown is over once every call is gone and the binding is removed.
    fn finished_stopping(&self) -> bool {
        self.ua.calls().next().is_none() && (!self.register || !self.ua.is_registered()) && self.ua.is_idle()
    }

    async fn on_command(&mut self, now: Instant, command: LinkCommand) {
        let (name, result) = match command {
            LinkCommand::Call { target } => {
                let result = Uri::parse(&target)
                    .map_err(|_| UaError::InvalidTarget)
                    .and_then(|uri| self.ua.call(now, &uri));
                match result {
                    Ok(call) => {
                        self.assign_rtp(call);
                        emit(&self.events, LinkEvent::Dialing { call, target }).await;
                        ("call", Ok(()))
                    }
                    Err(error) => ("call", Err(error)),
                }
            }
            LinkCommand::Answer(call) => ("answer", self.ua.answer(now, call)),
            LinkCommand::Reject(call) => ("reject", self.ua.reject(now, call, 486, "Busy Here")),
            LinkCommand::Hangup(call) => ("hangup", self.ua.hangup(now, call)),
            LinkCommand::Hold(call) => ("hold", self.ua.hold(now, call)),
            LinkCommand::Resume(call) => ("resume", self.ua.resume(now, call)),
            LinkCommand::Dtmf { call, digits } => ("dtmf", self.send_dtmf(now, call, &digits)),
            LinkCommand::InfoDtmf { call, digits } => {
                ("info-dtmf", self.ua.send_info_dtmf(now, call, &digits, DTMF_DURATION))
            }
            LinkCommand::Transfer { call, target } => (
                "transfer",
                Uri::parse(&target)
                    .map_err(|_| UaError::InvalidTarget)
                    .and_then(|uri| self.ua.transfer(now, call, &uri)),
            ),
            LinkCommand::AttendedTransfer { call, to } => ("attended", self.ua.transfer_attended(now, call, to)),
            LinkCommand::Mute { call, muted } => ("mute", self.set_muted(call, muted)),
            LinkCommand::Shutdown => ("shutdown", Ok(())),
        };
        if let Err(error) = result {
            emit(&self.events, LinkEvent::CommandFailed { command: name, error }).await;
        }
    }

    fn set_muted(&mut self, call: CallHandle, muted: bool) -> Result<(), UaError> {
        if !self.calls.contains_key(&call) {
            return Err(UaError::InvalidState { action: "mute" });
        }
        if muted {
            self.live.muted.insert(call);
        } else {
            self.live.muted.remove(&call);
        }
        if let Some(pump) = self.live.pump_of(call) {
            pump.set_muted(muted);
        }
        Ok(())
    }

    /// Gives the devices to the call the operator talks on (the newest with audio), closing
    /// them for the call that had them. A failure to open leaves that call silent and is
    /// reported, never an error that ends it.
    fn route_devices(&mut self) {
        let Some(devices) = &self.live.devices else {
            return;
        };
        let newest = || {
            self.calls
                .iter()
                .rev()
                .find(|(_, media)| media.audio.is_some())
                .map(|(call, _)| *call)
        };
        let target = self
            .recorded
            .or_else(newest)
            .and_then(|call| Some((call, self.calls.get(&call)?.audio.as_ref()?.stream.sample_rate())));
        if self.live.pump.as_ref().map(|(call, rate, _)| (*call, *rate)) == target {
            return;
        }
        // Closed before the next opens: a sound card may take one stream at a time.
        self.live.pump = None;
        let Some((call, rate)) = target else {
            return;
        };
        let mut events = Vec::new();
        let pump = match DevicePump::open(Arc::clone(&devices.backend), &devices.preferences, rate, &mut events) {
            Ok(mut pump) => {
                if let Err(error) = pump.set_processing(devices.processing) {
                    tracing::warn!(%error, "microphone processing settings refused; it stays off");
                }
                pump.set_muted(self.live.muted.contains(&call));
                Some(pump)
            }
            Err(error) => {
                tracing::warn!(%error, ?call, "cannot open the audio devices: the call goes on silent");
                self.pending.push(LinkEvent::DevicesFailed {
                    call,
                    error: error.to_string(),
                });
                None
            }
        };
        self.pending
            .extend(events.into_iter().map(|event| LinkEvent::Device { call, event }));
        self.live.pump = Some((call, rate, pump));
    }

    fn send_dtmf(&mut self, now: Instant, call: CallHandle, digits: &str) -> Result<(), UaError> {
        let audio = match self.calls.get_mut(&call).and_then(|m| m.audio.as_mut()) {
            Some(audio) if audio.sends() => audio,
            _ => return Err(UaError::InvalidState { action: "send DTMF on" }),
        };
        if audio.negotiated.telephone_event.is_none() {
            // The peer took no RFC 4733 events: SIP INFO is the way left.
            return self.ua.send_info_dtmf(now, call, digits, DTMF_DURATION);
        }
        for digit in digits.chars() {
            audio
                .stream
                .send_dtmf(digit, DTMF_DURATION)
                .map_err(|_| UaError::InvalidState {
                    action: "send that DTMF digit on",
                })?;
        }
        Ok(())
    }

    /// The 20 ms media clock: for every call with audio, one frame out (the file, silence, or
    /// nothing while it does not send) and one frame played (into the recording for the
    /// recorded call).
    async fn on_tick(&mut self, now: Instant) {
        self.mic_frames.clear();
        for audio in self.calls.values().filter_map(|m| m.audio.as_ref()) {
            let rate = audio.stream.sample_rate();
            let frame = self
                .mic_frames
                .entry(rate)
                .or_insert_with(|| vec![0; audio.stream.frame_samples()]);
            if let Some(source) = self.sources.get_mut(&rate) {
                source.fill(frame);
            }
        }
        let mut warnings = Vec::new();
        let mut reports = Vec::new();
        for (call, media) in &mut self.calls {
            let Some(audio) = media.audio.as_mut() else {
                continue;
            };
            if let Some(pump) = self.live.pump_of(*call) {
                let mut events = Vec::new();
                let pumped = pump.pump(now, &mut audio.stream, &mut events);
                reports.extend(events.into_iter().map(|event| LinkEvent::Device { call: *call, event }));
                if let Err(error) = pumped {
                    tracing::warn!(%error, ?call, "the audio devices failed: the call goes on silent");
                    reports.push(LinkEvent::DevicesFailed {
                        call: *call,
                        error: error.to_string(),
                    });
                    if let Some((_, _, pump)) = &mut self.live.pump {
                        *pump = None;
                    }
                }
                continue;
            }
            let rate = audio.stream.sample_rate();
            if audio.sends()
                && let Some(frame) = self.mic_frames.get(&rate)
            {
                // Muted without the devices: silence instead of the file.
                let silence;
                let frame = if self.live.muted.contains(call) {
                    silence = vec![0; frame.len()];
                    &silence
                } else {
                    frame
                };
                if let Err(error) = audio.stream.send_frame(now, frame) {
                    warnings.push(format!("encoding audio: {error}"));
                }
            }
            let played = audio.stream.play_frame(now);
            if self.recorded == Some(*call)
                && let Some(sink) = self.sink.as_mut()
                && let Err(error) = sink.write_at(played.samples, rate)
            {
                warnings.push(error.to_string());
                self.sink = None;
            }
        }
        if self.live.next_quality.is_none_or(|due| now >= due) {
            self.live.next_quality = Some(now + QUALITY_EVERY);
            reports.extend(self.calls.iter().filter_map(|(call, media)| {
                let estimate = media.audio.as_ref()?.stream.stats().quality;
                Some(LinkEvent::Quality { call: *call, estimate })
            }));
        }
        for warning in warnings {
            emit(&self.events, LinkEvent::Warning(warning)).await;
        }
        for report in reports {
            emit(&self.events, report).await;
        }
    }

    /// Drains the cores: datagrams to the sockets, events to the owner.
    async fn flush(&mut self) -> Result<(), LinkError> {
        while let Some(transmit) = self.ua.poll_transmit() {
            tracing::trace!(to = %transmit.destination, message = %String::from_utf8_lossy(&transmit.bytes), "SIP out");
            self.signalling.send(transmit.bytes, transmit.destination).await;
        }
        // Dialog events first: a transfer's outcome is reported before the `Ended` it causes.
        while let Some(event) = self.ua.poll_dialog_event() {
            // Calls the user agent placed (for a REFER) or answered (Replaces) by itself
            // advertised the spare RTP socket's port: it is theirs now.
            if let DialogEvent::Referred {
                new_call: Some(call), ..
            }
            | DialogEvent::Replaced { call, .. } = &event
            {
                self.assign_rtp(*call);
            }
            emit(&self.events, LinkEvent::Dialog(event)).await;
            for event in std::mem::take(&mut self.pending) {
                emit(&self.events, event).await;
            }
        }
        while let Some(event) = self.ua.poll_event() {
            self.on_ua_event(&event);
            emit(&self.events, LinkEvent::Sip(event)).await;
            for event in std::mem::take(&mut self.pending) {
                emit(&self.events, event).await;
            }
        }
        let mut events = Vec::new();
        for (call, media) in &mut self.calls {
            let Some(audio) = media.audio.as_mut() else {
                continue;
            };
            while let Some(transmit) = audio.stream.poll_transmit() {
                if let Some(destination) = transmit.destination
                    && let Err(error) = media.rtp.socket.send_to(&transmit.bytes, destination).await
                {
                    tracing::debug!(%error, %destination, "RTP send failed");
                }
            }
            let call = *call;
            events
                .extend(std::iter::from_fn(|| audio.stream.poll_event()).map(|event| LinkEvent::Media { call, event }));
        }
        for event in events {
            emit(&self.events, event).await;
        }
        Ok(())
    }

    /// Gives new calls their socket; starts, updates and stops audio as sessions change.
    fn on_ua_event(&mut self, event: &UaEvent) {
        let now = Instant::now();
        match event {
            UaEvent::IncomingCall { call, .. } => self.assign_rtp(*call),
            UaEvent::Established { call, media } | UaEvent::MediaUpdated { call, media } => {
                let Some(current) = self.calls.get_mut(call) else {
                    tracing::warn!(?call, "a call without an RTP socket: no audio");
                    return;
                };
                if let Some(audio) = current.audio.as_mut()
                    && same_stream(&audio.negotiated, media)
                {
                    audio.negotiated = media.clone();
                    return;
                }
                let local = SocketAddr::new(self.rtp_ip, current.rtp.bound.port());
                match self.start_audio(now, *call, media) {
                    Ok((audio, remote)) => {
                        if !self.has_audio() {
                            // Otherwise the ticks missed while idle would burst out at once.
                            self.tick.reset_immediately();
                        }
                        if let Some(current) = self.calls.get_mut(call) {
                            current.audio = Some(audio);
                            self.recorded = Some(*call);
                            self.pending.push(LinkEvent::AudioStarted {
                                call: *call,
                                local,
                                remote,
                            });
                            self.route_devices();
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, ?call, "cannot start audio");
                        self.pending.push(LinkEvent::Warning(format!("no audio: {error}")));
                    }
                }
            }
            UaEvent::Ended { call, .. } => {
                self.close_media(*call);
                self.live.muted.remove(call);
                self.route_devices();
            }
            _ => {}
        }
    }

    /// Resamples the microphone file for a codec rate no call has used yet.
    fn prepare_microphone(&mut self, rate: u32) -> Result<(), String> {
        if let Some(file) = &self.microphone
            && !self.sources.contains_key(&rate)
        {
            let source = file.source(rate).map_err(|e| e.to_string())?;
            self.sources.insert(rate, source);
        }
        Ok(())
    }

    fn start_audio(
        &mut self,
        now: Instant,
        call: CallHandle,
        media: &Negotiated,
    ) -> Result<(CallAudio, SocketAddr), String> {
        let codec = match media.codec {
            Codec::Pcmu => CodecChoice::Pcmu,
            Codec::Pcma => CodecChoice::Pcma,
            // Mono whatever the peer's stereo flags: a mono decoder downmixes a stereo
            // stream, and a mono stream is valid for opus/48000/2 (RFC 7587 7).
            Codec::Opus => CodecChoice::Opus(OpusConfig {
                sample_rate: OPUS_RATE,
                ..OpusConfig::default()
            }),
        };
        let remote = format!("{}:{}", media.remote_address, media.remote_port)
            .parse::<SocketAddr>()
            .or_else(|_| format!("[{}]:{}", media.remote_address, media.remote_port).parse())
            .map_err(|_| format!("SDP address {} is not an IP literal", media.remote_address))?;
        let mut config = StreamConfig::new(codec, media.payload_type, self.seed ^ call.id().rotate_left(17));
        config.telephone_event_payload_type = media.telephone_event;
        config.remote = Some(remote);
        config.wallclock = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let stream = MediaStream::new(now, config).map_err(|e| e.to_string())?;
        self.prepare_microphone(stream.sample_rate())?;
        tracing::info!(?call, %remote, codec = ?media.codec, "audio started");
        Ok((
            CallAudio {
                stream,
                negotiated: media.clone(),
            },
            remote,
        ))
    }
}

/// The PCM rate the link runs `codec` at: the rate of its WAV frames.
pub fn pcm_rate(codec: Codec) -> u32 {
    match codec {
        Codec::Pcmu | Codec::Pcma => G711_RATE,
        Codec::Opus => OPUS_RATE,
    }
}

/// Hands an event to the owner, waiting for room: call-state events are never dropped.
async fn emit(events: &mpsc::Sender<LinkEvent>, event: LinkEvent) {
    if events.send(event).await.is_err() {
        tracing::debug!("link events dropped: nobody listens");
    }
}

/// Whether a new session description keeps the same RTP stream (only the direction changed).
fn same_stream(old: &Negotiated, new: &Negotiated) -> bool {
    old.codec == new.codec
        && old.payload_type == new.payload_type
        && old.telephone_event == new.telephone_event
        && (new.remote_address == "0.0.0.0"
            || (old.remote_address == new.remote_address && old.remote_port == new.remote_port))
}

/// Why a call ended, as a stable word for logs and JSON.
pub fn end_cause(reason: &EndReason) -> &'static str {
    match reason {
        EndReason::Local => "local_hangup",
        EndReason::RemoteHangup => "remote_hangup",
        EndReason::CancelledByRemote => "cancelled",
        EndReason::Rejected { .. } => "rejected",
        EndReason::Timeout => "timeout",
        EndReason::TransportError => "transport_error",
        EndReason::MediaNotAcceptable => "media_not_acceptable",
        EndReason::AuthenticationFailed => "authentication_failed",
        EndReason::Transferred => "transferred",
        EndReason::Replaced => "replaced",
        EndReason::SessionExpired => "session_expired",
    }
}
