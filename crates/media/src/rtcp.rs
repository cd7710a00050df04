//! RTCP (RFC 3550 section 6): SR, RR, SDES and BYE in compound packets, NTP time and
//! round-trip time from LSR/DLSR.
//!
//! Parsing is lenient about the order of packets inside a compound (RFC 5506 reduced-size
//! RTCP starts with anything) and keeps unknown packet types as [`RtcpPacket::Other`], but
//! strict about lengths: a length field that points past the datagram is an error.

use std::time::{Duration, Instant};

use crate::error::Malformed;
use crate::rtp::Reader;

/// RTCP packet type numbers (RFC 3550 12.1).
pub mod packet_type {
    /// Sender report.
    pub const SR: u8 = 200;
    /// Receiver report.
    pub const RR: u8 = 201;
    /// Source description.
    pub const SDES: u8 = 202;
    /// Goodbye.
    pub const BYE: u8 = 203;
    /// Application-defined.
    pub const APP: u8 = 204;
}

const SDES_CNAME: u8 = 1;

/// A 64-bit NTP timestamp: seconds since 1900 in the high half, fraction in the low half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct NtpTime(pub u64);

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

impl NtpTime {
    /// Converts a time since the Unix epoch.
    pub fn from_unix(since_epoch: Duration) -> Self {
        let secs = since_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECS);
        let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        Self(secs << 32 | frac)
    }

    /// The middle 32 bits, as carried in LSR (RFC 3550 6.4.1): units of 1/65536 s.
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

/// Maps the monotonic [`Instant`]s the core is driven with onto NTP time.
///
/// The driver reads the wall clock once when the call starts; every later NTP value is that
/// anchor plus monotonic elapsed time, so a wall-clock step during a call cannot corrupt RTT.
#[derive(Debug, Clone, Copy)]
pub struct NtpClock {
    anchor: Instant,
    anchor_since_epoch: Duration,
}

impl NtpClock {
    /// Anchors `now` to the wall-clock time `since_epoch`.
    pub fn new(now: Instant, since_epoch: Duration) -> Self {
        Self {
            anchor: now,
            anchor_since_epoch: since_epoch,
        }
    }

    /// The NTP time of `now`.
    pub fn ntp(&self, now: Instant) -> NtpTime {
        NtpTime::from_unix(self.anchor_since_epoch + now.saturating_duration_since(self.anchor))
    }
}

/// Round-trip time from a report block received at `arrival` (RFC 3550 6.4.1):
/// `A - LSR - DLSR`, all in 1/65536 s. `None` when no SR has been reflected yet (LSR = 0)
/// or the result is implausible (negative, i.e. clocks disagree).
pub fn round_trip_time(arrival: NtpTime, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival.middle32().wrapping_sub(lsr).wrapping_sub(dlsr);
    if rtt > 0x8000_0000 {
        return None;
    }
    Some(Duration::from_micros(u64::from(rtt) * 1_000_000 / 65536))
}

/// A reception report block (RFC 3550 6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed; duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP time, or 0.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// The sender-info part of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Wall-clock time when the report was sent.
    pub ntp: NtpTime,
    /// The same instant in RTP timestamp units.
    pub rtp_timestamp: u32,
    /// Packets sent since the start.
    pub packet_count: u32,
    /// Payload octets sent since the start.
    pub octet_count: u32,
}

/// One SDES item. Only CNAME is interpreted; others are kept by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// Item type (1 = CNAME, 2 = NAME, ...).
    pub kind: u8,
    /// Item text, at most 255 bytes.
    pub text: Vec<u8>,
}

/// An SDES chunk: one source and its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    /// The described source.
    pub ssrc: u32,
    /// Its items.
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    /// A chunk carrying only a CNAME.
    pub fn cname(ssrc: u32, cname: &str) -> Self {
        Self {
            ssrc,
            items: vec![SdesItem {
                kind: SDES_CNAME,
                text: cname.as_bytes().to_vec(),
            }],
        }
    }
}

/// One RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    /// Sender report.
    SenderReport {
        /// The sender.
        ssrc: u32,
        /// What it sent.
        info: SenderInfo,
        /// What it received.
        reports: Vec<ReportBlock>,
    },
    /// Receiver report.
    ReceiverReport {
        /// The reporter.
        ssrc: u32,
        /// What it received.
        reports: Vec<ReportBlock>,
    },
    /// Source description.
    SourceDescription(Vec<SdesChunk>),
    /// Goodbye from one or more sources.
    Bye {
        /// Leaving sources.
        sources: Vec<u32>,
        /// Optional reason text.
        reason: Option<Vec<u8>>,
    },
    /// Any other packet type (APP, RTPFB, PSFB, XR, ...), kept opaque.
    Other {
        /// Packet type.
        packet_type: u8,
        /// The five-bit count/format field.
        count: u8,
        /// Body after the 4-byte header.
        body: Vec<u8>,
    },
}

/// Parses a compound RTCP datagram into its packets.
pub fn parse_compound(bytes: &[u8]) -> Result<Vec<RtcpPacket>, Malformed> {
    let mut r = Reader::new("RTCP header", bytes);
    let mut packets = Vec::new();
    while r.remaining() > 0 {
        r.what = "RTCP header";
        let b0 = r.u8()?;
        let packet_type = r.u8()?;
        let words = usize::from(r.u16()?);
        let version = b0 >> 6;
        if version != 2 {
            return Err(Malformed::Version { what: "RTCP", version });
        }
        r.what = "RTCP packet body";
        let mut body = r.take(words * 4)?;
        if b0 & 0x20 != 0 {
            let padding = usize::from(body.last().copied().unwrap_or(0));
            if padding == 0 || padding > body.len() {
                return Err(Malformed::Length {
                    what: "RTCP padding",
                    length: padding,
                });
            }
            body = body.get(..body.len() - padding).unwrap_or_default();
        }
        packets.push(parse_one(packet_type, b0 & 0x1f, body)?);
    }
    if packets.is_empty() {
        return Err(Malformed::Truncated {
            what: "RTCP header",
            need: 4,
            have: 0,
        });
    }
    Ok(packets)
}

fn parse_one(packet_type: u8, count: u8, body: &[u8]) -> Result<RtcpPacket, Malformed> {
    let count_usize = usize::from(count);
    Ok(match packet_type {
        packet_type::SR => {
            let mut r = Reader::new("RTCP SR", body);
            let ssrc = r.u32()?;
            let ntp_hi = r.u32()?;
            let ntp_lo = r.u32()?;
            let info = SenderInfo {
                ntp: NtpTime(u64::from(ntp_hi) << 32 | u64::from(ntp_lo)),
                rtp_timestamp: r.u32()?,
                packet_count: r.u32()?,
                octet_count: r.u32()?,
            };
            let reports = parse_blocks(&mut r, count_usize)?;
            RtcpPacket::SenderReport { ssrc, info, reports }
        }
        packet_type::RR => {
            let mut r = Reader::new("RTCP RR", body);
            let ssrc = r.u32()?;
            let reports = parse_blocks(&mut r, count_usize)?;
            RtcpPacket::ReceiverReport { ssrc, reports }
        }
        packet_type::SDES => RtcpPacket::SourceDescription(parse_sdes(body, count_usize)?),
        packet_type::BYE => {
            let mut r = Reader::new("RTCP BYE", body);
            let mut sources = Vec::with_capacity(count_usize);
            for _ in 0..count_usize {
                sources.push(r.u32()?);
            }
            let reason = if r.remaining() > 0 {
                let len = usize::from(r.u8()?);
                Some(r.take(len)?.to_vec())
            } else {
                None
            };
            RtcpPacket::Bye { sources, reason }
        }
        _ => RtcpPacket::Other {
            packet_type,
            count,
            body: body.to_vec(),
        },
    })
}

fn parse_blocks(r: &mut Reader<'_>, count: usize) -> Result<Vec<ReportBlock>, Malformed> {
    r.what = "RTCP report block";
    let mut blocks = Vec::with_capacity(count);
    for _ in 0..count {
        let ssrc = r.u32()?;
        let lost = r.u32()?;
        // 24-bit two's complement: shift into the top of an i32 and back.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        blocks.push(ReportBlock {
            ssrc,
            fraction_lost: (lost >> 24) as u8,
            cumulative_lost,
            highest_sequence: r.u32()?,
            jitter: r.u32()?,
            last_sr: r.u32()?,
            delay_since_last_sr: r.u32()?,
        });
    }
    Ok(blocks)
}

fn parse_sdes(body: &[u8], count: usize) -> Result<Vec<SdesChunk>, Malformed> {
    let mut r = Reader::new("RTCP SDES", body);
    let mut chunks = Vec::with_capacity(count);
    for _ in 0..count {
        let start = r.remaining();
        let ssrc = r.u32()?;
        let mut items = Vec::new();
        loop {
            let kind = r.u8()?;
            if kind == 0 {
                break;
            }
            let len = usize::from(r.u8()?);
            items.push(SdesItem {
                kind,
                text: r.take(len)?.to_vec(),
            });
        }
        // Each chunk ends on a 32-bit boundary: skip the rest of the null padding.
        let used = start - r.remaining();
        let pad = (4 - used % 4) % 4;
        r.take(pad.min(r.remaining()))?;
        chunks.push(SdesChunk { ssrc, items });
    }
    Ok(chunks)
}

impl RtcpPacket {
    /// Appends this packet to `out` (no padding).
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        match self {
            RtcpPacket::SenderReport { ssrc, info, reports } => {
                let reports = reports.get(..reports.len().min(31)).unwrap_or_default();
                header(out, reports.len() as u8, packet_type::SR);
                out.extend_from_slice(&ssrc.to_be_bytes());
                out.extend_from_slice(&info.ntp.0.to_be_bytes());
                out.extend_from_slice(&info.rtp_timestamp.to_be_bytes());
                out.extend_from_slice(&info.packet_count.to_be_bytes());
                out.extend_from_slice(&info.octet_count.to_be_bytes());
                write_blocks(out, reports);
            }
            RtcpPacket::ReceiverReport { ssrc, reports } => {
                let reports = reports.get(..reports.len().min(31)).unwrap_or_default();
                header(out, reports.len() as u8, packet_type::RR);
                out.extend_from_slice(&ssrc.to_be_bytes());
                write_blocks(out, reports);
            }
            RtcpPacket::SourceDescription(chunks) => {
                let chunks = chunks.get(..chunks.len().min(31)).unwrap_or_default();
                header(out, chunks.len() as u8, packet_type::SDES);
                for chunk in chunks {
                    let chunk_start = out.len();
                    out.extend_from_slice(&chunk.ssrc.to_be_bytes());
                    for item in &chunk.items {
                        let text = item.text.get(..item.text.len().min(255)).unwrap_or_default();
                        out.push(item.kind);
                        out.push(text.len() as u8);
                        out.extend_from_slice(text);
                    }
                    // A terminating null item, then nulls up to the next 32-bit boundary.
                    out.push(0);
                    while !(out.len() - chunk_start).is_multiple_of(4) {
                        out.push(0);
                    }
                }
            }
            RtcpPacket::Bye { sources, reason } => {
                let sources = sources.get(..sources.len().min(31)).unwrap_or_default();
                header(out, sources.len() as u8, packet_type::BYE);
                for s in sources {
                    out.extend_from_slice(&s.to_be_bytes());
                }
                if let Some(reason) = reason {
                    let reason = reason.get(..reason.len().min(255)).unwrap_or_default();
                    out.push(reason.len() as u8);
                    out.extend_from_slice(reason);
                }
                while !(out.len() - start).is_multiple_of(4) {
                    out.push(0);
                }
            }
            RtcpPacket::Other {
                packet_type,
                count,
                body,
            } => {
                header(out, *count, *packet_type);
                out.extend_from_slice(body);
                while !(out.len() - start).is_multiple_of(4) {
                    out.push(0);
                }
            }
        }
        let words = ((out.len() - start) / 4).saturating_sub(1) as u16;
        if let Some(len) = out.get_mut(start + 2..start + 4) {
            len.copy_from_slice(&words.to_be_bytes());
        }
    }
}

fn header(out: &mut Vec<u8>, count: u8, packet_type: u8) {
    out.extend_from_slice(&[0x80 | (count & 0x1f), packet_type, 0, 0]);
}

fn write_blocks(out: &mut Vec<u8>, blocks: &[ReportBlock]) {
    for b in blocks {
        out.extend_from_slice(&b.ssrc.to_be_bytes());
        let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
        out.extend_from_slice(&(u32::from(b.fraction_lost) << 24 | lost).to_be_bytes());
        out.extend_from_slice(&b.highest_sequence.to_be_bytes());
        out.extend_from_slice(&b.jitter.to_be_bytes());
        out.extend_from_slice(&b.last_sr.to_be_bytes());
        out.extend_from_slice(&b.delay_since_last_sr.to_be_bytes());
    }
}

/// Serialises packets into one compound datagram.
pub fn build_compound(packets: &[RtcpPacket]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    for p in packets {
        p.write(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> ReportBlock {
        ReportBlock {
            ssrc: 0x0102_0304,
            fraction_lost: 25,
            cumulative_lost: -3,
            highest_sequence: 0x0001_0005,
            jitter: 42,
            last_sr: 0xaabb_ccdd,
            delay_since_last_sr: 65536,
        }
    }

    #[test]
    fn compound_sr_sdes_bye_round_trips() {
        let packets = vec![
            RtcpPacket::SenderReport {
                ssrc: 7,
                info: SenderInfo {
                    ntp: NtpTime(0x1122_3344_5566_7788),
                    rtp_timestamp: 9,
                    packet_count: 10,
                    octet_count: 1600,
                },
                reports: vec![block()],
            },
            RtcpPacket::SourceDescription(vec![SdesChunk::cname(7, "op@panel"), SdesChunk::cname(8, "abcd")]),
            RtcpPacket::Bye {
                sources: vec![7],
                reason: Some(b"hangup".to_vec()),
            },
        ];
        let bytes = build_compound(&packets);
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(parse_compound(&bytes).unwrap(), packets);
    }

    #[test]
    fn receiver_report_wire_layout_matches_rfc3550() {
        let bytes = build_compound(&[RtcpPacket::ReceiverReport {
            ssrc: 1,
            reports: vec![block()],
        }]);
        assert_eq!(bytes.len(), 32);
        assert_eq!(&bytes[..4], &[0x81, 201, 0, 7]);
        assert_eq!(&bytes[12..16], &[25, 0xff, 0xff, 0xfd]);
    }

    #[test]
    fn length_past_the_datagram_is_rejected() {
        let mut bytes = build_compound(&[RtcpPacket::ReceiverReport {
            ssrc: 1,
            reports: vec![],
        }]);
        bytes[3] = 5;
        assert!(matches!(parse_compound(&bytes), Err(Malformed::Truncated { .. })));
        assert!(parse_compound(&[]).is_err());
    }

    #[test]
    fn report_count_larger_than_body_is_rejected() {
        let mut bytes = build_compound(&[RtcpPacket::ReceiverReport {
            ssrc: 1,
            reports: vec![],
        }]);
        bytes[0] |= 2;
        assert!(parse_compound(&bytes).is_err());
    }

    #[test]
    fn unknown_types_are_kept_opaque() {
        let p = RtcpPacket::Other {
            packet_type: 205,
            count: 1,
            body: vec![0, 0, 0, 1, 0, 0, 0, 2],
        };
        let rr = RtcpPacket::ReceiverReport {
            ssrc: 1,
            reports: vec![],
        };
        let bytes = build_compound(&[rr.clone(), p.clone()]);
        assert_eq!(parse_compound(&bytes).unwrap(), vec![rr, p]);
    }

    #[test]
    fn mutated_compounds_never_panic() {
        let bytes = build_compound(&[
            RtcpPacket::SenderReport {
                ssrc: 7,
                info: SenderInfo::default(),
                reports: vec![block(), block()],
            },
            RtcpPacket::SourceDescription(vec![SdesChunk::cname(7, "x@y")]),
            RtcpPacket::Bye {
                sources: vec![7],
                reason: None,
            },
        ]);
        for n in 0..bytes.len() {
            let _ = parse_compound(&bytes[..n]);
        }
        for flip in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[flip / 8] ^= 1 << (flip % 8);
            let _ = parse_compound(&b);
        }
    }

    #[test]
    fn ntp_from_unix_epoch_and_middle_bits() {
        let t = NtpTime::from_unix(Duration::from_millis(1500));
        assert_eq!(t.0 >> 32, NTP_UNIX_OFFSET_SECS + 1);
        assert_eq!(t.0 as u32, 0x8000_0000);
        assert_eq!(t.middle32(), ((NTP_UNIX_OFFSET_SECS + 1) as u32) << 16 | 0x8000);
    }

    #[test]
    fn round_trip_time_from_lsr_and_dlsr() {
        // Example from RFC 3550 6.4.1 in spirit: SR sent at T, held 5 s, answered RTT 250 ms.
        let start = Instant::now();
        let clock = NtpClock::new(start, Duration::from_secs(1_700_000_000));
        let sr_sent = clock.ntp(start);
        let arrival = clock.ntp(start + Duration::from_millis(5250));
        let dlsr = 5 * 65536;
        let rtt = round_trip_time(arrival, sr_sent.middle32(), dlsr).unwrap();
        assert!((rtt.as_millis() as i64 - 250).abs() <= 1, "{rtt:?}");
        assert_eq!(round_trip_time(arrival, 0, 0), None);
        assert_eq!(round_trip_time(sr_sent, arrival.middle32(), 0), None);
    }
}
