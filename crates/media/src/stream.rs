//! One call's audio: the send and receive pipelines over one RTP/RTCP port (rtcp-mux).
//!
//! ```text
//!  send:  PCM 20 ms ──► encoder ──► RTP packetiser ─────────────────┬──► Transmit (RTP)
//!         (send_frame)              seq/ts/SSRC from the seed       │
//!                                   DTMF queued? ──► RFC 4733 ──────┘   (audio paused)
//!
//!  recv:  datagram ──► demux ──┬─ RTP audio ──► receiver stats ──► jitter buffer
//!        (handle_datagram)     │               first-RTP / latch      │ get() per tick
//!                              │                                      ▼
//!                              │                          decoder / FEC / PLC ──► PCM 20 ms
//!                              │                                              (play_frame)
//!                              ├─ RTP telephone-event ──► DTMF receiver ──► Event::Dtmf
//!                              ├─ RTCP ──► SR: LSR for our reports; RR blocks: RTT, remote loss
//!                              └─ STUN / DTLS / junk ──► counted and dropped
//!
//!  timers: RTCP report every ~5 s (randomised 0.5-1.5x, RFC 3550 6.2) and the inbound
//!          silence watchdog (no RTP for a while: the one-way-audio alarm), both folded into
//!          poll_timeout().
//! ```
//!
//! Driving it (str0m's loop): feed one input (`send_frame`, `handle_datagram`,
//! `play_frame`, `handle_timeout`), then drain `poll_transmit` and `poll_event`, then sleep
//! until `poll_timeout`. The stream never reads a clock and never touches a socket.
//!
//! Symmetric RTP: the source address of the newest valid audio packet is recorded; when
//! latching is on, transmits go there instead of the address from SDP, which gets audio
//! through NATs that rewrite the peer's port. A second stream (another address *and*
//! another SSRC, e.g. forked early media or injected packets) is ignored while the current
//! one is alive; it takes over only after the current source has been quiet for
//! `SOURCE_HOLD`. The same SSRC from a new address (NAT rebinding) moves at once.
//!
//! Assumptions: 20 ms frames in both directions (longer peer packets are cut to 20 ms),
//! the telephone-event clock equals the audio RTP clock, RTCP shares the RTP port.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tracing::{debug, info};

use crate::codec::g711::{G711, Law};
#[cfg(feature = "opus")]
use crate::codec::opus::{Opus, OpusConfig};
use crate::codec::{Codec, FRAME_MS};
use crate::demux::{DatagramKind, classify};
use crate::dtmf::{DtmfEvent, DtmfReceiver, DtmfSender, UnknownDigit};
use crate::error::CodecError;
use crate::jitter::{JitterBuffer, JitterConfig, JitterPacket, JitterStats, Playout};
use crate::quality::{self, CodecImpairment, QualityEstimate, QualityInputs};
use crate::rtcp::{self, NtpClock, RtcpPacket, SdesChunk, SenderInfo};
use crate::rtp::RtpPacket;
use crate::stats::ReceiverStats;

/// Which codec the call negotiated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CodecChoice {
    /// G.711 mu-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// Opus with the given settings.
    #[cfg(feature = "opus")]
    Opus(OpusConfig),
}

impl CodecChoice {
    fn build(self) -> Result<Box<dyn Codec>, CodecError> {
        Ok(match self {
            CodecChoice::Pcmu => Box::new(G711::new(Law::Ulaw)),
            CodecChoice::Pcma => Box::new(G711::new(Law::Alaw)),
            #[cfg(feature = "opus")]
            CodecChoice::Opus(config) => Box::new(Opus::new(config)?),
        })
    }
}

/// Settings for one call's stream, mostly from the SDP offer/answer.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The audio codec.
    pub codec: CodecChoice,
    /// Its negotiated RTP payload type.
    pub payload_type: u8,
    /// The negotiated telephone-event payload type, if any.
    pub telephone_event_payload_type: Option<u8>,
    /// Where SDP says to send media.
    pub remote: Option<SocketAddr>,
    /// Send to wherever the peer's audio comes from (symmetric RTP).
    pub latch_remote: bool,
    /// Seed for SSRC, initial sequence and timestamp, and RTCP interval jitter.
    pub seed: u64,
    /// Our RTCP CNAME.
    pub cname: String,
    /// Wall-clock time (since the Unix epoch) at the `now` given to [`MediaStream::new`];
    /// anchors the NTP timestamps of our sender reports.
    pub wallclock: Duration,
    /// Jitter buffer settings; `None` uses the defaults for the codec's clock.
    pub jitter: Option<JitterConfig>,
    /// Mean interval between RTCP reports.
    pub rtcp_interval: Duration,
    /// No inbound RTP for this long raises [`StreamEvent::InboundSilence`].
    pub silence_after: Duration,
}

impl StreamConfig {
    /// Defaults for `codec` on `payload_type`: RFC 4733 events on 101, latching on, RTCP
    /// every 5 s, silence alarm after 3 s.
    pub fn new(codec: CodecChoice, payload_type: u8, seed: u64) -> Self {
        Self {
            codec,
            payload_type,
            telephone_event_payload_type: Some(101),
            remote: None,
            latch_remote: true,
            seed,
            cname: String::from("oktell-panel"),
            wallclock: Duration::ZERO,
            jitter: None,
            rtcp_interval: Duration::from_secs(5),
            silence_after: Duration::from_secs(3),
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it; `None` while neither SDP nor the peer's packets gave an address.
    pub destination: Option<SocketAddr>,
    /// RTP or RTCP.
    pub kind: DatagramKind,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Something the call layer (and the operator's diagnostics) should know.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The first audio packet arrived: audio flows inbound ("RTP established").
    FirstRtpReceived {
        /// Where it came from.
        from: SocketAddr,
        /// Its SSRC.
        ssrc: u32,
    },
    /// The peer's audio now comes from another address (and, with latching, goes there).
    RemoteAddressChanged {
        /// The new source.
        from: SocketAddr,
    },
    /// The peer switched to a new SSRC (e.g. a PBX bridged another leg).
    SourceChanged {
        /// The previous SSRC.
        old: u32,
        /// The new SSRC.
        new: u32,
    },
    /// No inbound RTP for the configured time (or ever, since the call started).
    InboundSilence {
        /// Whether any RTP was ever received: `false` points at NAT or SDP trouble.
        ever_received: bool,
    },
    /// Inbound RTP is back after [`StreamEvent::InboundSilence`].
    InboundResumed,
    /// Packets arrive but have carried digital silence for the configured time: the far
    /// end (or a PBX in the middle) is not bridging audio into the stream.
    InboundContentSilent,
    /// Audible content is back after [`StreamEvent::InboundContentSilent`].
    InboundContentResumed,
    /// The peer pressed a key.
    Dtmf(DtmfEvent),
    /// The peer said RTCP BYE.
    Bye {
        /// The leaving source.
        ssrc: u32,
    },
}

/// How the frame returned by [`MediaStream::play_frame`] was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Decoded from its own packet.
    Normal,
    /// Concealment (missing packet, or stretching the buffer).
    Concealed,
    /// Rebuilt from in-band FEC in the next packet.
    FecRecovered,
    /// Silence while the jitter buffer fills.
    Prefetching,
    /// Silence because nothing arrives.
    Empty,
}

/// One 20 ms frame for the playback device.
#[derive(Debug)]
pub struct PlayedFrame<'a> {
    /// How it was made.
    pub kind: FrameKind,
    /// Exactly one frame of samples at the codec's sample rate.
    pub samples: &'a [i16],
}

/// Frames played, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameCounts {
    /// Decoded normally.
    pub normal: u64,
    /// Concealed.
    pub concealed: u64,
    /// Recovered by FEC.
    pub fec_recovered: u64,
    /// Silence while prefetching.
    pub prefetching: u64,
    /// Silence because empty.
    pub empty: u64,
}

/// A snapshot of the stream's health for the UI, the log and the quality estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStats {
    /// RTP packets sent (audio and DTMF).
    pub packets_sent: u64,
    /// RTP payload octets sent.
    pub octets_sent: u64,
    /// Audio RTP packets received from the current source.
    pub packets_received: u64,
    /// Inbound loss so far (RFC 3550 A.3), 0.0 to 1.0.
    pub loss_ratio: f64,
    /// Inbound interarrival jitter (RFC 3550 A.8).
    pub jitter: Duration,
    /// The loss the peer reports about our audio, 0.0 to 1.0.
    pub remote_loss_ratio: Option<f64>,
    /// The jitter the peer reports about our audio.
    pub remote_jitter: Option<Duration>,
    /// Round-trip time from the peer's reports on our sender reports.
    pub rtt: Option<Duration>,
    /// Jitter buffer levels and counters.
    pub jitter_buffer: JitterStats,
    /// Frames played by kind.
    pub frames: FrameCounts,
    /// Datagrams that could not be parsed.
    pub malformed: u64,
    /// Datagrams that were not ours (STUN, DTLS, unknown payload types, junk).
    pub ignored: u64,
    /// When the first audio packet arrived.
    pub first_rtp_at: Option<Instant>,
    /// When the newest audio packet arrived.
    pub last_rtp_at: Option<Instant>,
    /// The address audio currently comes from.
    pub remote_source: Option<SocketAddr>,
    /// The current remote SSRC.
    pub remote_ssrc: Option<u32>,
    /// Level of the last played frame in dBov (-96 for digital silence).
    pub inbound_level_dbov: f32,
    /// How long decoded inbound audio has been digital silence (zero while it is not).
    pub inbound_silent_content: Duration,
    /// The E-model estimate.
    pub quality: QualityEstimate,
}

/// Mouth-to-ear delay outside the network and jitter buffer that the E-model should count:
/// one frame of packetisation, codec look-ahead and device buffers (capture and playback,
/// about 20 ms each with cpal configured for 20 ms blocks). An estimate, not a measurement.
const FIXED_PATH_DELAY: Duration = Duration::from_millis(65);

/// Decoded audio at or below this level counts as digital silence. An unbridged PBX leg
/// sends zeros or the G.711 idle codes (A-law 0xD5 decodes to +8, -72 dBov); a live headset
/// microphone's noise floor sits around -60 to -50 dBov. A remote noise gate can reach it
/// too, which is why this is reported as evidence, not as a fault.
const DIGITAL_SILENCE_DBOV: f32 = -70.0;

/// How long the current remote source must be quiet before another address with another
/// SSRC may take over the stream.
const SOURCE_HOLD: Duration = Duration::from_secs(1);

/// The one-call media engine.
#[derive(Debug)]
pub struct MediaStream {
    config: StreamConfig,
    codec: Box<dyn Codec>,
    rng: SmallRng,
    ntp: NtpClock,
    started_at: Instant,

    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    first_packet_sent: bool,
    /// When the last frame was sent and its timestamp: maps wall time to media time in SRs.
    last_frame: Option<(Instant, u32)>,
    packets_sent: u64,
    octets_sent: u64,
    sent_since_report: bool,
    payload: Vec<u8>,
    dtmf_out: DtmfSender,

    receiver: Option<ReceiverStats>,
    /// The SSRC the peer switched away from, and when: its stragglers are dropped.
    retired_ssrc: Option<(u32, Instant)>,
    jitter: JitterBuffer,
    dtmf_in: DtmfReceiver,
    pcm: Vec<i16>,
    frames: FrameCounts,
    remote_source: Option<SocketAddr>,
    first_rtp_at: Option<Instant>,
    last_rtp_at: Option<Instant>,
    silence_reported: bool,
    malformed: u64,
    ignored: u64,
    rtt: Option<Duration>,
    remote_loss_ratio: Option<f64>,
    remote_jitter: Option<Duration>,
    inbound_level_dbov: f32,
    /// Consecutive decoded frames of digital silence, and whether that was reported.
    silent_frames: u32,
    silent_content_reported: bool,

    next_report: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<StreamEvent>,
}

impl MediaStream {
    /// Builds the stream at `now`.
    pub fn new(now: Instant, config: StreamConfig) -> Result<Self, CodecError> {
        let codec = config.codec.build()?;
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let jitter_config = config.jitter.unwrap_or_else(|| JitterConfig {
            frame_units: codec.frame_timestamp_units(),
            ..JitterConfig::for_clock_rate(codec.rtp_clock_rate())
        });
        let first_report = now + randomised(config.rtcp_interval, &mut rng);
        Ok(Self {
            ntp: NtpClock::new(now, config.wallclock),
            started_at: now,
            ssrc: rng.random(),
            sequence: rng.random(),
            timestamp: rng.random(),
            first_packet_sent: false,
            last_frame: None,
            packets_sent: 0,
            octets_sent: 0,
            sent_since_report: false,
            payload: Vec::with_capacity(1500),
            dtmf_out: DtmfSender::new(codec.rtp_clock_rate(), codec.frame_timestamp_units()),
            receiver: None,
            retired_ssrc: None,
            jitter: JitterBuffer::new(jitter_config),
            dtmf_in: DtmfReceiver::new(codec.rtp_clock_rate()),
            pcm: Vec::with_capacity(codec.frame_samples() * 2),
            frames: FrameCounts::default(),
            remote_source: None,
            first_rtp_at: None,
            last_rtp_at: None,
            silence_reported: false,
            malformed: 0,
            ignored: 0,
            rtt: None,
            remote_loss_ratio: None,
            remote_jitter: None,
            inbound_level_dbov: -96.0,
            silent_frames: 0,
            silent_content_reported: false,
            next_report: first_report,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            rng,
            codec,
            config,
        })
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// PCM samples per frame expected by [`Self::send_frame`] and returned by
    /// [`Self::play_frame`].
    pub fn frame_samples(&self) -> usize {
        self.codec.frame_samples()
    }

    /// The PCM sample rate of the codec.
    pub fn sample_rate(&self) -> u32 {
        self.codec.sample_rate()
    }

    /// Where media is sent: the latched source if latching, else the SDP address.
    pub fn destination(&self) -> Option<SocketAddr> {
        if self.config.latch_remote {
            self.remote_source.or(self.config.remote)
        } else {
            self.config.remote
        }
    }

    /// Sends one captured frame (or, while a DTMF event is on, its telephone-event packet).
    pub fn send_frame(&mut self, now: Instant, pcm: &[i16]) -> Result<(), CodecError> {
        let timestamp = self.timestamp;
        self.last_frame = Some((now, timestamp));
        self.timestamp = self.timestamp.wrapping_add(self.codec.frame_timestamp_units());
        let dtmf = match self.config.telephone_event_payload_type {
            Some(pt) => self.dtmf_out.poll(timestamp).map(|p| (pt, p)),
            None => None,
        };
        let packet = match dtmf {
            Some((pt, dtmf)) => {
                let mut p = RtpPacket::new(
                    pt,
                    self.sequence,
                    dtmf.timestamp,
                    self.ssrc,
                    dtmf.event.to_bytes().to_vec(),
                );
                p.marker = dtmf.marker;
                p
            }
            None => {
                self.codec.encode(pcm, &mut self.payload)?;
                let mut p = RtpPacket::new(
                    self.config.payload_type,
                    self.sequence,
                    timestamp,
                    self.ssrc,
                    self.payload.clone(),
                );
                p.marker = !self.first_packet_sent;
                p
            }
        };
        self.first_packet_sent = true;
        self.sequence = self.sequence.wrapping_add(1);
        self.packets_sent += 1;
        self.octets_sent += packet.payload.len() as u64;
        self.sent_since_report = true;
        self.transmits.push_back(Transmit {
            destination: self.destination(),
            kind: DatagramKind::Rtp,
            bytes: packet.to_bytes(),
        });
        Ok(())
    }

    /// Queues a DTMF digit; it goes out over the next frame ticks instead of audio.
    pub fn send_dtmf(&mut self, digit: char, duration: Duration) -> Result<(), UnknownDigit> {
        self.dtmf_out.send(digit, duration)
    }

    /// Handles a datagram that arrived on the media port.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        match classify(bytes) {
            DatagramKind::Rtp => match RtpPacket::parse(bytes) {
                Ok(packet) => self.handle_rtp(now, from, packet),
                Err(e) => {
                    self.malformed += 1;
                    debug!(%from, error = %e, "malformed RTP dropped");
                }
            },
            DatagramKind::Rtcp => match rtcp::parse_compound(bytes) {
                Ok(packets) => self.handle_rtcp(now, packets),
                Err(e) => {
                    self.malformed += 1;
                    debug!(%from, error = %e, "malformed RTCP dropped");
                }
            },
            DatagramKind::Stun | DatagramKind::Dtls | DatagramKind::Unknown => self.ignored += 1,
        }
    }

    fn handle_rtp(&mut self, now: Instant, from: SocketAddr, packet: RtpPacket) {
        let is_audio = packet.payload_type == self.config.payload_type;
        let is_dtmf = self.config.telephone_event_payload_type == Some(packet.payload_type);
        if !is_audio && !is_dtmf {
            self.ignored += 1;
            return;
        }
        if self.is_retired_source(now, packet.ssrc) || self.is_competing_source(now, from, packet.ssrc) {
            self.ignored += 1;
            return;
        }
        self.note_source(now, from, packet.ssrc);
        if is_dtmf {
            if self.dtmf_in.on_packet(packet.timestamp, &packet.payload).is_err() {
                self.malformed += 1;
            }
            while let Some(ev) = self.dtmf_in.poll_event() {
                self.events.push_back(StreamEvent::Dtmf(ev));
            }
            return;
        }
        match &mut self.receiver {
            Some(r) if r.ssrc() == packet.ssrc => r.on_rtp(now, packet.sequence, packet.timestamp),
            previous => {
                if let Some(old) = previous.as_ref().map(ReceiverStats::ssrc) {
                    info!(old, new = packet.ssrc, "remote SSRC changed");
                    self.retired_ssrc = Some((old, now));
                    self.events
                        .push_back(StreamEvent::SourceChanged { old, new: packet.ssrc });
                }
                let mut stats = ReceiverStats::new(packet.ssrc, self.codec.rtp_clock_rate(), packet.sequence, now);
                stats.on_rtp(now, packet.sequence, packet.timestamp);
                *previous = Some(stats);
            }
        }
        let quiet = self.codec.is_quiet(&packet.payload);
        self.jitter.put(
            now,
            JitterPacket {
                sequence: packet.sequence,
                timestamp: packet.timestamp,
                ssrc: packet.ssrc,
                payload: packet.payload,
                quiet,
            },
        );
    }

    /// Whether this packet is a straggler from the SSRC the peer just switched away from.
    fn is_retired_source(&self, now: Instant, ssrc: u32) -> bool {
        self.retired_ssrc
            .is_some_and(|(old, since)| old == ssrc && now.saturating_duration_since(since) < SOURCE_HOLD)
    }

    /// Whether this packet belongs to another stream than the live one.
    fn is_competing_source(&self, now: Instant, from: SocketAddr, ssrc: u32) -> bool {
        let (Some(current), Some(last)) = (self.remote_source, self.last_rtp_at) else {
            return false;
        };
        let known_ssrc = self.receiver.as_ref().is_none_or(|r| r.ssrc() == ssrc);
        from != current && !known_ssrc && now.saturating_duration_since(last) < SOURCE_HOLD
    }

    /// First-RTP, latching and silence bookkeeping for any valid packet of the peer's.
    fn note_source(&mut self, now: Instant, from: SocketAddr, ssrc: u32) {
        if self.first_rtp_at.is_none() {
            self.first_rtp_at = Some(now);
            info!(%from, ssrc, "first RTP received");
            self.events.push_back(StreamEvent::FirstRtpReceived { from, ssrc });
        } else if self.remote_source != Some(from) {
            info!(%from, "RTP source address changed");
            self.events.push_back(StreamEvent::RemoteAddressChanged { from });
        }
        self.remote_source = Some(from);
        self.last_rtp_at = Some(now);
        if self.silence_reported {
            self.silence_reported = false;
            self.events.push_back(StreamEvent::InboundResumed);
        }
    }

    fn handle_rtcp(&mut self, now: Instant, packets: Vec<RtcpPacket>) {
        for packet in packets {
            match packet {
                RtcpPacket::SenderReport { ssrc, info, reports } => {
                    if let Some(r) = self.receiver.as_mut().filter(|r| r.ssrc() == ssrc) {
                        r.on_sender_report(now, info.ntp);
                    }
                    self.handle_report_blocks(now, &reports);
                }
                RtcpPacket::ReceiverReport { reports, .. } => self.handle_report_blocks(now, &reports),
                RtcpPacket::Bye { sources, .. } => {
                    for ssrc in sources {
                        self.events.push_back(StreamEvent::Bye { ssrc });
                    }
                }
                RtcpPacket::SourceDescription(_) | RtcpPacket::Other { .. } => {}
            }
        }
    }

    fn handle_report_blocks(&mut self, now: Instant, blocks: &[rtcp::ReportBlock]) {
        for block in blocks.iter().filter(|b| b.ssrc == self.ssrc) {
            self.remote_loss_ratio = Some(f64::from(block.fraction_lost) / 256.0);
            self.codec
                .set_expected_loss(((u32::from(block.fraction_lost) * 100).div_ceil(256)) as u8);
            self.remote_jitter = Some(Duration::from_secs_f64(
                f64::from(block.jitter) / f64::from(self.codec.rtp_clock_rate()),
            ));
            if let Some(rtt) = rtcp::round_trip_time(self.ntp.ntp(now), block.last_sr, block.delay_since_last_sr) {
                self.rtt = Some(rtt);
            }
        }
    }

    /// Produces the frame for the playout tick at `now`: always exactly one frame.
    pub fn play_frame(&mut self, now: Instant) -> PlayedFrame<'_> {
        let frame = self.codec.frame_samples();
        self.pcm.clear();
        let kind = match self.jitter.get(now) {
            Playout::Normal(payload) => {
                if self.codec.decode(&payload, &mut self.pcm).is_ok() {
                    FrameKind::Normal
                } else {
                    self.malformed += 1;
                    self.pcm.clear();
                    self.codec.conceal(&mut self.pcm);
                    FrameKind::Concealed
                }
            }
            Playout::Missing { next: Some(next) } if self.codec.recover_from_next(&next, &mut self.pcm) => {
                FrameKind::FecRecovered
            }
            Playout::Missing { .. } | Playout::Stretch => {
                self.codec.conceal(&mut self.pcm);
                FrameKind::Concealed
            }
            Playout::Prefetching => FrameKind::Prefetching,
            Playout::Empty => FrameKind::Empty,
        };
        self.pcm.resize(frame, 0);
        match kind {
            FrameKind::Normal => self.frames.normal += 1,
            FrameKind::Concealed => self.frames.concealed += 1,
            FrameKind::FecRecovered => self.frames.fec_recovered += 1,
            FrameKind::Prefetching => self.frames.prefetching += 1,
            FrameKind::Empty => self.frames.empty += 1,
        }
        self.inbound_level_dbov = level_dbov(&self.pcm);
        if kind == FrameKind::Normal {
            self.note_content_level();
        }
        PlayedFrame {
            kind,
            samples: &self.pcm,
        }
    }

    /// Tracks decoded frames that are digital silence: RTP flowing with nothing in it is
    /// the other face of one-way audio.
    fn note_content_level(&mut self) {
        if self.inbound_level_dbov > DIGITAL_SILENCE_DBOV {
            self.silent_frames = 0;
            if self.silent_content_reported {
                self.silent_content_reported = false;
                self.events.push_back(StreamEvent::InboundContentResumed);
            }
            return;
        }
        self.silent_frames = self.silent_frames.saturating_add(1);
        if !self.silent_content_reported && self.silent_content() >= self.config.silence_after {
            self.silent_content_reported = true;
            info!("inbound RTP carries only digital silence");
            self.events.push_back(StreamEvent::InboundContentSilent);
        }
    }

    fn silent_content(&self) -> Duration {
        Duration::from_millis(u64::from(FRAME_MS)) * self.silent_frames
    }

    /// The next transmit, until `None`.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event, until `None`.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Instant {
        match self.silence_deadline() {
            Some(silence) if !self.silence_reported => self.next_report.min(silence),
            _ => self.next_report,
        }
    }

    /// `None` when the configured silence time is too large to represent: never raised.
    fn silence_deadline(&self) -> Option<Instant> {
        self.last_rtp_at
            .unwrap_or(self.started_at)
            .checked_add(self.config.silence_after)
    }

    /// Runs the timers that are due at `now`: RTCP reports and the silence watchdog.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.silence_reported && self.silence_deadline().is_some_and(|deadline| now >= deadline) {
            self.silence_reported = true;
            let ever_received = self.first_rtp_at.is_some();
            info!(ever_received, "no inbound RTP");
            self.events.push_back(StreamEvent::InboundSilence { ever_received });
        }
        if now >= self.next_report {
            let report = self.report(now, None);
            self.transmits.push_back(report);
            self.next_report = now + self.report_interval();
        }
    }

    /// Our media timestamp at `now`, extrapolated from the last frame sent (RFC 3550 6.4.1:
    /// the SR's RTP timestamp is the same instant as its NTP timestamp).
    fn media_timestamp_at(&self, now: Instant) -> u32 {
        match self.last_frame {
            Some((at, ts)) => {
                let elapsed = now.saturating_duration_since(at).as_secs_f64();
                let units = (elapsed * f64::from(self.codec.rtp_clock_rate())) as u64;
                ts.wrapping_add(units as u32)
            }
            None => self.timestamp,
        }
    }

    fn report_interval(&mut self) -> Duration {
        randomised(self.config.rtcp_interval, &mut self.rng)
    }

    /// Says goodbye: queues a final report with RTCP BYE.
    pub fn close(&mut self, now: Instant) {
        let bye = self.report(
            now,
            Some(RtcpPacket::Bye {
                sources: vec![self.ssrc],
                reason: None,
            }),
        );
        self.transmits.push_back(bye);
    }

    fn report(&mut self, now: Instant, tail: Option<RtcpPacket>) -> Transmit {
        let reports: Vec<_> = self
            .receiver
            .as_mut()
            .map(|r| r.report_block(now))
            .into_iter()
            .collect();
        let first = if self.sent_since_report {
            RtcpPacket::SenderReport {
                ssrc: self.ssrc,
                info: SenderInfo {
                    ntp: self.ntp.ntp(now),
                    rtp_timestamp: self.media_timestamp_at(now),
                    packet_count: self.packets_sent as u32,
                    octet_count: self.octets_sent as u32,
                },
                reports,
            }
        } else {
            RtcpPacket::ReceiverReport {
                ssrc: self.ssrc,
                reports,
            }
        };
        self.sent_since_report = false;
        let mut packets = vec![
            first,
            RtcpPacket::SourceDescription(vec![SdesChunk::cname(self.ssrc, &self.config.cname)]),
        ];
        packets.extend(tail);
        Transmit {
            destination: self.destination(),
            kind: DatagramKind::Rtcp,
            bytes: rtcp::build_compound(&packets),
        }
    }

    /// A snapshot of the stream's health.
    pub fn stats(&self) -> StreamStats {
        let jb = self.jitter.stats();
        let (packets_received, loss_ratio, jitter) = match &self.receiver {
            Some(r) => (r.received(), r.loss_ratio(), r.jitter()),
            None => (0, 0.0, Duration::ZERO),
        };
        let expected = match &self.receiver {
            Some(r) => r.expected(),
            None => 0,
        };
        // What the listener misses: network loss plus packets that came too late to play.
        let effective_loss = if expected == 0 {
            0.0
        } else {
            (loss_ratio + jb.late as f64 / expected as f64).min(1.0)
        };
        let one_way_delay = self.rtt.unwrap_or_default() / 2 + jb.current_delay + FIXED_PATH_DELAY;
        let quality = quality::estimate(&QualityInputs {
            codec: CodecImpairment::for_codec(self.codec.name()),
            loss_ratio: effective_loss,
            burst_ratio: self.receiver.as_ref().map_or(1.0, ReceiverStats::burst_ratio),
            one_way_delay,
        });
        StreamStats {
            packets_sent: self.packets_sent,
            octets_sent: self.octets_sent,
            packets_received,
            loss_ratio,
            jitter,
            remote_loss_ratio: self.remote_loss_ratio,
            remote_jitter: self.remote_jitter,
            rtt: self.rtt,
            jitter_buffer: jb,
            frames: self.frames,
            malformed: self.malformed,
            ignored: self.ignored,
            first_rtp_at: self.first_rtp_at,
            last_rtp_at: self.last_rtp_at,
            remote_source: self.remote_source,
            remote_ssrc: self.receiver.as_ref().map(ReceiverStats::ssrc),
            inbound_level_dbov: self.inbound_level_dbov,
            inbound_silent_content: self.silent_content(),
            quality,
        }
    }
}

/// RFC 3550 6.2: spread reports over 0.5 to 1.5 times the interval so that calls started
/// together do not report in lockstep. The interval is kept between 1 s and 1 min.
fn randomised(interval: Duration, rng: &mut SmallRng) -> Duration {
    let interval = interval.clamp(Duration::from_secs(1), Duration::from_secs(60));
    interval.mul_f64(rng.random_range(0.5..1.5))
}

/// RMS level in dB relative to full scale; -96 for digital silence.
fn level_dbov(pcm: &[i16]) -> f32 {
    if pcm.is_empty() {
        return -96.0;
    }
    let mean_square = pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64;
    if mean_square < 1.0 {
        return -96.0;
    }
    (10.0 * (mean_square / (32768.0f64 * 32768.0)).log10()) as f32
}
