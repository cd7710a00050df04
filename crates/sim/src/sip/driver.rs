//! The I/O of the SIP face: the SIP socket, a pool of bound RTP sockets, and one tokio task per
//! established leg that plays the far end's audio through a [`MediaStream`] and counts what
//! the phone sends.
//!
//! The core task owns this value next to the [`crate::Sim`]: datagrams from the SIP socket go
//! to the core, the core's [`SipOutput`]s come here. RTP never passes through the core; a
//! stream task reports its counters through atomics that the control API reads.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use media::stream::{CodecChoice, MediaStream, StreamConfig};
use serde_json::{Value, json};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::audio::{AudioSource, Player};
use super::face::{LegId, MediaCommand, SipOutput};
use crate::Sim;
use ::sip::sdp::Codec;

/// RTP sockets kept bound ahead, so that a leg can put its port in an SDP offer at once.
const POOL: usize = 4;
/// Final counters of this many ended legs stay visible in the control API.
const HISTORY: usize = 64;
/// The largest datagram read on any socket.
const MAX_DATAGRAM: usize = 65_535;

/// What one leg's stream counted.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    packets_received: AtomicU64,
    packets_sent: AtomicU64,
    /// `f32::to_bits` of the level of the last inbound frame, in dBov.
    inbound_level_dbov: AtomicU32,
}

impl Counters {
    fn to_json(&self) -> Value {
        json!({
            "packets_received": self.packets_received.load(Ordering::Relaxed),
            "packets_sent": self.packets_sent.load(Ordering::Relaxed),
            "inbound_level_dbov": f32::from_bits(self.inbound_level_dbov.load(Ordering::Relaxed)),
        })
    }
}

enum Control {
    Source(AudioSource),
}

struct Stream {
    controls: mpsc::Sender<Control>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

/// The SIP socket, the RTP pool and the running streams.
pub(crate) struct SipDriver {
    socket: UdpSocket,
    ip: IpAddr,
    pool: HashMap<u16, std::net::UdpSocket>,
    streams: BTreeMap<LegId, Stream>,
    ended: VecDeque<(LegId, Arc<Counters>)>,
    seed: u64,
}

impl std::fmt::Debug for SipDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipDriver")
            .field("ip", &self.ip)
            .field("streams", &self.streams.len())
            .finish_non_exhaustive()
    }
}

impl SipDriver {
    pub(crate) fn new(socket: UdpSocket, seed: u64) -> std::io::Result<Self> {
        let ip = socket.local_addr()?.ip();
        Ok(SipDriver {
            socket,
            ip,
            pool: HashMap::new(),
            streams: BTreeMap::new(),
            ended: VecDeque::new(),
            seed,
        })
    }

    pub(crate) async fn recv(&self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
        self.socket.recv_from(buf).await
    }

    /// Binds RTP sockets until the face has [`POOL`] ports to offer.
    pub(crate) fn refill(&mut self, sim: &mut Sim) {
        for _ in 0..sim.sip_media_ports_wanted(POOL) {
            let bound = std::net::UdpSocket::bind(SocketAddr::new(self.ip, 0))
                .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
                .and_then(|socket| socket.local_addr().map(|addr| (addr.port(), socket)));
            match bound {
                Ok((port, socket)) => {
                    self.pool.insert(port, socket);
                    sim.add_sip_media_port(port);
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot bind an RTP socket");
                    return;
                }
            }
        }
    }

    /// Carries out one output of the face.
    pub(crate) fn apply(&mut self, output: SipOutput) {
        match output {
            SipOutput::Datagram { to, bytes } => {
                if let Err(error) = self.socket.try_send_to(&bytes, to) {
                    tracing::warn!(%error, %to, "SIP datagram not sent");
                }
            }
            SipOutput::Media(MediaCommand::Start {
                leg,
                port,
                remote,
                codec,
                payload_type,
                telephone_event,
                source,
            }) => self.start(leg, port, remote, codec, payload_type, telephone_event, source),
            SipOutput::Media(MediaCommand::Source { leg, source }) => {
                if let Some(stream) = self.streams.get(&leg)
                    && stream.controls.try_send(Control::Source(source)).is_err()
                {
                    tracing::warn!(leg = leg.0, "stream did not take its new source");
                }
            }
            SipOutput::Media(MediaCommand::Stop { leg, port }) => {
                self.pool.remove(&port);
                if let Some(stream) = self.streams.remove(&leg) {
                    // Dropping the sender ends the task after its RTCP BYE.
                    drop(stream.controls);
                    drop(stream.task);
                    self.ended.push_back((leg, stream.counters));
                    while self.ended.len() > HISTORY {
                        self.ended.pop_front();
                    }
                }
            }
        }
    }

    /// Per-leg RTP counters, live and recently ended.
    pub(crate) fn stats(&self) -> BTreeMap<LegId, Value> {
        self.ended
            .iter()
            .map(|(leg, c)| (*leg, c))
            .chain(self.streams.iter().map(|(leg, s)| (*leg, &s.counters)))
            .map(|(leg, c)| (leg, c.to_json()))
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        leg: LegId,
        port: u16,
        remote: SocketAddr,
        codec: Codec,
        payload_type: u8,
        telephone_event: Option<u8>,
        source: AudioSource,
    ) {
        let Some(socket) = self.pool.remove(&port) else {
            tracing::warn!(leg = leg.0, port, "no pooled RTP socket for the leg");
            return;
        };
        let choice = match codec {
            Codec::Pcmu => CodecChoice::Pcmu,
            Codec::Pcma => CodecChoice::Pcma,
            Codec::Opus => {
                tracing::warn!(leg = leg.0, "the simulator offers only G.711; no audio");
                return;
            }
        };
        let socket = match UdpSocket::from_std(socket) {
            Ok(socket) => socket,
            Err(error) => {
                tracing::warn!(%error, "cannot register the RTP socket with tokio");
                return;
            }
        };
        let wallclock = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let config = StreamConfig {
            telephone_event_payload_type: telephone_event,
            remote: Some(remote),
            cname: "oktell-sim".to_owned(),
            wallclock,
            ..StreamConfig::new(choice, payload_type, self.seed ^ leg.0)
        };
        let stream = match MediaStream::new(Instant::now(), config) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot build the leg's media stream");
                return;
            }
        };
        let counters = Arc::new(Counters::default());
        let (controls, receiver) = mpsc::channel(8);
        tracing::info!(leg = leg.0, port, %remote, ?codec, "far end audio starts");
        let task = tokio::spawn(run_stream(
            socket,
            stream,
            Player::new(source),
            receiver,
            Arc::clone(&counters),
        ));
        self.streams.insert(
            leg,
            Stream {
                controls,
                counters,
                task,
            },
        );
    }

    /// Ends every stream (the simulator is stopping).
    pub(crate) fn shutdown(&mut self) {
        for (_, stream) in std::mem::take(&mut self.streams) {
            stream.task.abort();
        }
    }
}

/// One leg's far end: a frame of the current clip every 20 ms, everything the phone sends
/// counted and played out (so the jitter buffer reports what it heard).
async fn run_stream(
    socket: UdpSocket,
    mut stream: MediaStream,
    mut player: Player,
    mut controls: mpsc::Receiver<Control>,
    counters: Arc<Counters>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let rtcp_at = tokio::time::Instant::from_std(stream.poll_timeout());
        tokio::select! {
            _ = tick.tick() => {
                let now = Instant::now();
                if let Err(error) = stream.send_frame(now, player.next_frame()) {
                    tracing::warn!(%error, "cannot encode the far end's audio");
                }
                // Played out only so the jitter buffer drains and measures the inbound level.
                let _ = stream.play_frame(now);
            }
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, from)) => {
                    if let Some(bytes) = buf.get(..len) {
                        stream.handle_datagram(Instant::now(), from, bytes);
                    }
                }
                Err(error) => tracing::debug!(%error, "RTP receive failed"),
            },
            control = controls.recv() => match control {
                Some(Control::Source(source)) => player.set_source(source),
                None => {
                    stream.close(Instant::now());
                    flush(&socket, &mut stream).await;
                    break;
                }
            },
            () = tokio::time::sleep_until(rtcp_at) => stream.handle_timeout(Instant::now()),
        }
        flush(&socket, &mut stream).await;
        while stream.poll_event().is_some() {}
        let stats = stream.stats();
        counters
            .packets_received
            .store(stats.packets_received, Ordering::Relaxed);
        counters.packets_sent.store(stats.packets_sent, Ordering::Relaxed);
        counters
            .inbound_level_dbov
            .store(stats.inbound_level_dbov.to_bits(), Ordering::Relaxed);
    }
}

async fn flush(socket: &UdpSocket, stream: &mut MediaStream) {
    while let Some(transmit) = stream.poll_transmit() {
        let Some(destination) = transmit.destination else {
            continue;
        };
        if let Err(error) = socket.send_to(&transmit.bytes, destination).await {
            tracing::debug!(%error, %destination, "RTP not sent");
        }
    }
}
