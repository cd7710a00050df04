//! RTP packets (RFC 3550 section 5) and sequence-number unwrapping.
//!
//! Parsing is a full recognition step: the header, CSRC list, header extension and padding
//! are checked against the datagram length before anything is handed on, so later stages
//! never index into raw bytes.

use crate::error::Malformed;

const FIXED_HEADER: usize = 12;

/// An RTP header extension (RFC 3550 5.3.1): a profile-defined 16-bit id and 32-bit words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderExtension {
    /// The profile-specific identifier (e.g. 0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// The extension body; its length is a multiple of four when built by us.
    pub data: Vec<u8>,
}

/// One RTP packet with its payload, padding removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    /// Marker bit: start of a talk-spurt for audio, first packet of a DTMF event.
    pub marker: bool,
    /// Payload type (0..=127).
    pub payload_type: u8,
    /// Sequence number, wraps at 2^16.
    pub sequence: u16,
    /// Media timestamp in codec clock units.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources (at most 15).
    pub csrc: Vec<u32>,
    /// Header extension, if the X bit was set.
    pub extension: Option<HeaderExtension>,
    /// The payload, without padding.
    pub payload: Vec<u8>,
}

impl RtpPacket {
    /// A packet with no CSRC and no extension.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32, payload: Vec<u8>) -> Self {
        Self {
            marker: false,
            payload_type: payload_type & 0x7f,
            sequence,
            timestamp,
            ssrc,
            csrc: Vec::new(),
            extension: None,
            payload,
        }
    }

    /// Parses one RTP packet, rejecting anything whose fields point outside the datagram.
    pub fn parse(bytes: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new("RTP header", bytes);
        let b0 = r.u8()?;
        let b1 = r.u8()?;
        let version = b0 >> 6;
        if version != 2 {
            return Err(Malformed::Version { what: "RTP", version });
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = usize::from(b0 & 0x0f);
        let sequence = r.u16()?;
        let timestamp = r.u32()?;
        let ssrc = r.u32()?;
        r.what = "RTP CSRC list";
        let mut csrc = Vec::with_capacity(csrc_count);
        for _ in 0..csrc_count {
            csrc.push(r.u32()?);
        }
        let extension = if has_extension {
            r.what = "RTP header extension";
            let profile = r.u16()?;
            let words = usize::from(r.u16()?);
            let data = r.take(words * 4)?.to_vec();
            Some(HeaderExtension { profile, data })
        } else {
            None
        };
        let rest = r.rest();
        let payload = if has_padding {
            let padding = usize::from(rest.last().copied().unwrap_or(0));
            if padding == 0 || padding > rest.len() {
                return Err(Malformed::Padding {
                    padding,
                    available: rest.len(),
                });
            }
            rest.get(..rest.len() - padding).unwrap_or_default()
        } else {
            rest
        };
        Ok(Self {
            marker: b1 & 0x80 != 0,
            payload_type: b1 & 0x7f,
            sequence,
            timestamp,
            ssrc,
            csrc,
            extension,
            payload: payload.to_vec(),
        })
    }

    /// Serialises the packet without padding.
    ///
    /// At most 15 CSRCs are written (the field is four bits); an extension body is padded
    /// with zeros to a whole number of 32-bit words.
    pub fn to_bytes(&self) -> Vec<u8> {
        let csrc = self.csrc.get(..self.csrc.len().min(15)).unwrap_or_default();
        let mut out = Vec::with_capacity(FIXED_HEADER + csrc.len() * 4 + self.payload.len() + 8);
        let mut b0 = 0x80 | csrc.len() as u8;
        if self.extension.is_some() {
            b0 |= 0x10;
        }
        out.push(b0);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7f));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for c in csrc {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let Some(ext) = &self.extension {
            let words = ext.data.len().div_ceil(4).min(usize::from(u16::MAX));
            out.extend_from_slice(&ext.profile.to_be_bytes());
            out.extend_from_slice(&(words as u16).to_be_bytes());
            let body = ext.data.get(..words * 4).unwrap_or(&ext.data);
            out.extend_from_slice(body);
            out.resize(out.len() + (words * 4 - body.len()), 0);
        }
        out.extend_from_slice(&self.payload);
        out
    }
}

/// A bounds-checked big-endian reader; every read reports what was being parsed.
pub(crate) struct Reader<'a> {
    pub(crate) what: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Self { what, bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.bytes.len() {
            return Err(Malformed::Truncated {
                what: self.what,
                need: n,
                have: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Malformed> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }
}

/// Extends 16-bit sequence numbers to 64 bits across wraps (RFC 3550 A.1).
///
/// Each number is placed in the 2^16 cycle that puts it closest to the highest number seen
/// so far, so late and reordered packets get the right extended value too.
#[derive(Debug, Clone, Default)]
pub struct SequenceUnwrapper {
    highest: Option<u64>,
}

impl SequenceUnwrapper {
    /// A fresh unwrapper; the first number seen starts cycle 1 so that early late packets
    /// from before it still have a non-negative extended value.
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended value of `seq`.
    pub fn unwrap(&mut self, seq: u16) -> u64 {
        let ext = match self.highest {
            None => (1 << 16) | u64::from(seq),
            Some(highest) => {
                let delta = seq.wrapping_sub(highest as u16) as i16;
                highest.saturating_add_signed(i64::from(delta))
            }
        };
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        ext
    }

    /// The highest extended sequence number seen.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Forgets the history, e.g. after an SSRC change.
    pub fn reset(&mut self) {
        self.highest = None;
    }
}

/// Extends 32-bit RTP timestamps to 64 bits across wraps, like [`SequenceUnwrapper`].
#[derive(Debug, Clone, Default)]
pub struct TimestampUnwrapper {
    highest: Option<u64>,
}

impl TimestampUnwrapper {
    /// A fresh unwrapper.
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended value of `ts`.
    pub fn unwrap(&mut self, ts: u32) -> u64 {
        let ext = match self.highest {
            None => (1 << 32) | u64::from(ts),
            Some(highest) => {
                let delta = ts.wrapping_sub(highest as u32) as i32;
                highest.saturating_add_signed(i64::from(delta))
            }
        };
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        ext
    }

    /// Forgets the history.
    pub fn reset(&mut self) {
        self.highest = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_a_plain_packet() {
        let mut p = RtpPacket::new(8, 65535, 0xdead_beef, 0x1234_5678, vec![1, 2, 3]);
        p.marker = true;
        let bytes = p.to_bytes();
        assert_eq!(bytes.len(), 15);
        assert_eq!(bytes[0], 0x80);
        assert_eq!(bytes[1], 0x88);
        assert_eq!(RtpPacket::parse(&bytes).unwrap(), p);
    }

    #[test]
    fn csrc_and_extension_round_trip() {
        let mut p = RtpPacket::new(0, 1, 2, 3, vec![9; 160]);
        p.csrc = vec![10, 11];
        p.extension = Some(HeaderExtension {
            profile: 0xbede,
            data: vec![1, 2, 3, 4, 5, 6, 7, 8],
        });
        let bytes = p.to_bytes();
        assert_eq!(bytes.len(), 12 + 8 + 4 + 8 + 160);
        assert_eq!(RtpPacket::parse(&bytes).unwrap(), p);
    }

    #[test]
    fn padding_is_stripped() {
        let mut bytes = RtpPacket::new(0, 1, 2, 3, vec![7, 7]).to_bytes();
        bytes[0] |= 0x20;
        bytes.extend_from_slice(&[0, 0, 3]);
        assert_eq!(RtpPacket::parse(&bytes).unwrap().payload, vec![7, 7]);
    }

    #[test]
    fn padding_longer_than_packet_is_rejected() {
        let mut bytes = RtpPacket::new(0, 1, 2, 3, vec![7]).to_bytes();
        bytes[0] |= 0x20;
        bytes.push(9);
        assert!(matches!(RtpPacket::parse(&bytes), Err(Malformed::Padding { .. })));
        let mut zero = RtpPacket::new(0, 1, 2, 3, vec![]).to_bytes();
        zero[0] |= 0x20;
        zero.push(0);
        assert!(matches!(RtpPacket::parse(&zero), Err(Malformed::Padding { .. })));
    }

    #[test]
    fn truncated_csrc_and_extension_are_rejected() {
        let mut bytes = RtpPacket::new(0, 1, 2, 3, vec![]).to_bytes();
        bytes[0] |= 0x03;
        bytes.extend_from_slice(&[0; 8]);
        assert!(matches!(
            RtpPacket::parse(&bytes),
            Err(Malformed::Truncated {
                what: "RTP CSRC list",
                ..
            })
        ));
        let mut ext = RtpPacket::new(0, 1, 2, 3, vec![]).to_bytes();
        ext[0] |= 0x10;
        ext.extend_from_slice(&[0xbe, 0xde, 0, 2, 1, 2, 3, 4]);
        assert!(matches!(RtpPacket::parse(&ext), Err(Malformed::Truncated { .. })));
    }

    #[test]
    fn wrong_version_and_short_header_are_rejected() {
        assert!(matches!(
            RtpPacket::parse(&[0x40; 12]),
            Err(Malformed::Version { version: 1, .. })
        ));
        assert!(matches!(
            RtpPacket::parse(&[0x80; 11]),
            Err(Malformed::Truncated { .. })
        ));
        assert!(RtpPacket::parse(&[]).is_err());
    }

    #[test]
    fn every_prefix_of_a_packet_parses_or_errors_without_panic() {
        let mut p = RtpPacket::new(0, 1, 2, 3, vec![5; 20]);
        p.csrc = vec![1, 2, 3];
        p.extension = Some(HeaderExtension {
            profile: 1,
            data: vec![0; 12],
        });
        let bytes = p.to_bytes();
        for n in 0..bytes.len() {
            let _ = RtpPacket::parse(&bytes[..n]);
        }
        for flip in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[flip / 8] ^= 1 << (flip % 8);
            let _ = RtpPacket::parse(&b);
        }
    }

    #[test]
    fn sequence_unwrapping_crosses_the_wrap_both_ways() {
        let mut u = SequenceUnwrapper::new();
        let a = u.unwrap(65534);
        assert_eq!(u.unwrap(65535), a + 1);
        assert_eq!(u.unwrap(0), a + 2);
        assert_eq!(u.unwrap(1), a + 3);
        assert_eq!(u.unwrap(65535), a + 1, "a late packet from before the wrap");
        assert_eq!(u.highest(), Some(a + 3));
    }

    #[test]
    fn a_packet_late_before_the_first_one_still_unwraps_below_it() {
        let mut u = SequenceUnwrapper::new();
        let first = u.unwrap(0);
        assert_eq!(u.unwrap(65535), first - 1);
    }

    #[test]
    fn timestamp_unwrapping_crosses_the_wrap() {
        let mut u = TimestampUnwrapper::new();
        let a = u.unwrap(u32::MAX - 100);
        assert_eq!(u.unwrap(59), a + 160);
    }
}
