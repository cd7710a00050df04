//! Classifies a datagram arriving on the media port before any state machine sees it.
//!
//! RFC 7983 sorts by the first byte (STUN 0..=3, DTLS 20..=63, RTP/RTCP 128..=191); RFC 5761
//! separates RTP from RTCP on a shared port by the second byte: RTCP packet types 192..=223
//! would be RTP payload types 64..=95 with the marker bit set, a range RTP must not use.

/// What kind of datagram arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramKind {
    /// An RTP packet.
    Rtp,
    /// An RTCP (compound) packet.
    Rtcp,
    /// A STUN message (ICE connectivity check or keepalive).
    Stun,
    /// A DTLS record.
    Dtls,
    /// Anything else: to be dropped and counted.
    Unknown,
}

/// Classifies `datagram` by its first two bytes.
pub fn classify(datagram: &[u8]) -> DatagramKind {
    let Some(&first) = datagram.first() else {
        return DatagramKind::Unknown;
    };
    match first {
        0..=3 if datagram.len() >= 20 => DatagramKind::Stun,
        20..=63 => DatagramKind::Dtls,
        128..=191 => match datagram.get(1) {
            Some(192..=223) if datagram.len() >= 4 => DatagramKind::Rtcp,
            Some(_) if datagram.len() >= 12 => DatagramKind::Rtp,
            _ => DatagramKind::Unknown,
        },
        _ => DatagramKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{RtcpPacket, build_compound};
    use crate::rtp::RtpPacket;

    #[test]
    fn rtp_and_rtcp_share_a_port() {
        let mut rtp = RtpPacket::new(0, 1, 2, 3, vec![0; 160]);
        assert_eq!(classify(&rtp.to_bytes()), DatagramKind::Rtp);
        rtp.marker = true;
        rtp.payload_type = 101;
        assert_eq!(classify(&rtp.to_bytes()), DatagramKind::Rtp);
        let rr = build_compound(&[RtcpPacket::ReceiverReport {
            ssrc: 1,
            reports: vec![],
        }]);
        assert_eq!(classify(&rr), DatagramKind::Rtcp);
        let app = build_compound(&[RtcpPacket::Other {
            packet_type: 223,
            count: 0,
            body: vec![],
        }]);
        assert_eq!(classify(&app), DatagramKind::Rtcp);
    }

    #[test]
    fn stun_dtls_and_junk_are_told_apart() {
        let mut stun = vec![0u8; 20];
        stun[0] = 0x00;
        stun[1] = 0x01;
        assert_eq!(classify(&stun), DatagramKind::Stun);
        assert_eq!(classify(&[22, 254, 253, 0]), DatagramKind::Dtls);
        assert_eq!(classify(&[]), DatagramKind::Unknown);
        assert_eq!(classify(&[0x80]), DatagramKind::Unknown);
        assert_eq!(classify(&[0x80, 0, 0]), DatagramKind::Unknown);
        assert_eq!(classify(b"hello world, not media"), DatagramKind::Unknown);
    }
}
