//! DTMF as RFC 4733 telephone events.
//!
//! Sending: one event keeps the RTP timestamp of its first packet; the first packet carries
//! the marker bit; every 20 ms tick sends an update with the duration so far; the final
//! duration goes out three times with the E bit, so a single lost packet cannot lose the
//! end. Receiving: updates of the same event (same timestamp) are merged, repeated end
//! packets are ignored, and a digit is reported once with its duration. If the end packets
//! of an event are all lost, the digit is reported when the next event starts.

use std::collections::VecDeque;
use std::time::Duration;

use thiserror::Error;

use crate::error::Malformed;

/// A digit we cannot send.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a DTMF digit: {0:?}")]
pub struct UnknownDigit(pub char);

/// The RFC 4733 event code of a DTMF digit (0-9, *, #, A-D).
pub fn event_code(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

/// The digit of an RFC 4733 event code; `None` for non-DTMF events (flash, tones).
pub fn digit(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0' + code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + code - 12)),
        _ => None,
    }
}

/// One telephone-event payload (RFC 4733 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code.
    pub event: u8,
    /// The E bit: this is (a repeat of) the final packet.
    pub end: bool,
    /// Power level in -dBm0 (0 to 63).
    pub volume: u8,
    /// Duration so far in RTP timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses a 4-byte payload.
    pub fn parse(payload: &[u8]) -> Result<Self, Malformed> {
        let &[event, flags, d0, d1] = payload else {
            return Err(Malformed::TelephoneEvent(payload.len()));
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4-byte payload.
    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        [self.event, u8::from(self.end) << 7 | (self.volume & 0x3f), d0, d1]
    }
}

/// A telephone-event packet to send: RTP marker, timestamp and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// Set on the first packet of an event.
    pub marker: bool,
    /// The event's start timestamp.
    pub timestamp: u32,
    /// The payload.
    pub event: TelephoneEvent,
}

/// How many times the final packet is sent (RFC 4733 2.5.1.4).
const END_REPEATS: u8 = 3;
/// Default power level: -10 dBm0.
const VOLUME: u8 = 10;

#[derive(Debug, Clone)]
struct Sending {
    event: u8,
    start: Option<u32>,
    elapsed: u32,
    total: u32,
    ends_sent: u8,
}

/// Produces telephone-event packets, one per frame tick.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    clock_rate: u32,
    frame_units: u32,
    queue: VecDeque<Sending>,
}

impl DtmfSender {
    /// A sender for a telephone-event clock of `clock_rate` with one packet per `frame_units`.
    pub fn new(clock_rate: u32, frame_units: u32) -> Self {
        Self {
            clock_rate,
            frame_units: frame_units.max(1),
            queue: VecDeque::new(),
        }
    }

    /// Queues `digit` to last `duration`; the duration is capped at what 16 bits can carry
    /// (8 s at 8 kHz) and is at least one frame.
    pub fn send(&mut self, digit: char, duration: Duration) -> Result<(), UnknownDigit> {
        let event = event_code(digit).ok_or(UnknownDigit(digit))?;
        let units = (duration.as_secs_f64() * f64::from(self.clock_rate)).round() as u64;
        let total = units.clamp(u64::from(self.frame_units), u64::from(u16::MAX)) as u32;
        self.queue.push_back(Sending {
            event,
            start: None,
            elapsed: 0,
            total,
            ends_sent: 0,
        });
        Ok(())
    }

    /// Whether an event is in progress or queued (audio is suppressed meanwhile).
    pub fn is_active(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The packet for the tick whose media timestamp is `now_timestamp`, if any.
    pub fn poll(&mut self, now_timestamp: u32) -> Option<DtmfPacket> {
        let sending = self.queue.front_mut()?;
        let first = sending.start.is_none();
        let start = *sending.start.get_or_insert(now_timestamp);
        if sending.elapsed < sending.total {
            sending.elapsed = (sending.elapsed + self.frame_units).min(sending.total);
        }
        let end = sending.elapsed >= sending.total;
        let packet = DtmfPacket {
            marker: first,
            timestamp: start,
            event: TelephoneEvent {
                event: sending.event,
                end,
                volume: VOLUME,
                duration: sending.elapsed as u16,
            },
        };
        if end {
            sending.ends_sent += 1;
            if sending.ends_sent >= END_REPEATS {
                self.queue.pop_front();
            }
        }
        Some(packet)
    }
}

/// A digit received from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// The digit.
    pub digit: char,
    /// How long it was pressed.
    pub duration: Duration,
    /// Whether its end was seen (false when all end packets were lost).
    pub ended: bool,
}

#[derive(Debug, Clone)]
struct Receiving {
    timestamp: u32,
    event: u8,
    duration: u16,
    reported: bool,
}

/// Turns telephone-event packets into digits.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    clock_rate: u32,
    current: Option<Receiving>,
    events: VecDeque<DtmfEvent>,
}

impl DtmfReceiver {
    /// A receiver for a telephone-event clock of `clock_rate`.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate: clock_rate.max(1),
            current: None,
            events: VecDeque::new(),
        }
    }

    /// Handles one telephone-event packet.
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Result<(), Malformed> {
        let ev = TelephoneEvent::parse(payload)?;
        if let Some(cur) = &mut self.current {
            if cur.timestamp == timestamp {
                if !cur.reported {
                    cur.duration = cur.duration.max(ev.duration);
                    if ev.end {
                        cur.reported = true;
                        let cur = cur.clone();
                        self.report(&cur, true);
                    }
                }
                return Ok(());
            }
            if (timestamp.wrapping_sub(cur.timestamp) as i32) < 0 {
                // A straggler from an earlier event.
                return Ok(());
            }
            if !cur.reported {
                let cur = cur.clone();
                self.report(&cur, false);
            }
        }
        let cur = Receiving {
            timestamp,
            event: ev.event,
            duration: ev.duration,
            reported: ev.end,
        };
        if ev.end {
            self.report(&cur, true);
        }
        self.current = Some(cur);
        Ok(())
    }

    fn report(&mut self, r: &Receiving, ended: bool) {
        if let Some(digit) = digit(r.event) {
            let duration = Duration::from_secs_f64(f64::from(r.duration) / f64::from(self.clock_rate));
            self.events.push_back(DtmfEvent { digit, duration, ended });
        }
    }

    /// The next received digit.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_codes_round_trip() {
        for d in "0123456789*#ABCD".chars() {
            assert_eq!(digit(event_code(d).unwrap()), Some(d));
        }
        assert_eq!(event_code('a'), Some(12));
        assert_eq!(event_code('x'), None);
        assert_eq!(digit(16), None);
    }

    #[test]
    fn payload_wire_format() {
        let ev = TelephoneEvent {
            event: 5,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(ev.to_bytes(), [5, 0x8a, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&ev.to_bytes()).unwrap(), ev);
        assert!(TelephoneEvent::parse(&[1, 2, 3]).is_err());
    }

    #[test]
    fn sender_marks_first_grows_duration_and_repeats_end_three_times() {
        let mut tx = DtmfSender::new(8000, 160);
        tx.send('7', Duration::from_millis(100)).unwrap();
        assert_eq!(tx.send('x', Duration::from_millis(100)), Err(UnknownDigit('x')));
        let mut packets = Vec::new();
        let mut ts = 5000u32;
        while let Some(p) = tx.poll(ts) {
            packets.push(p);
            ts += 160;
        }
        assert_eq!(packets.len(), 5 + 2);
        assert!(packets[0].marker && packets[1..].iter().all(|p| !p.marker));
        assert!(packets.iter().all(|p| p.timestamp == 5000 && p.event.event == 7));
        let durations: Vec<u16> = packets.iter().map(|p| p.event.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends = packets.iter().filter(|p| p.event.end).count();
        assert_eq!(ends, 3);
        assert!(!tx.is_active());
    }

    #[test]
    fn receiver_reports_once_despite_repeated_ends() {
        let mut tx = DtmfSender::new(8000, 160);
        let mut rx = DtmfReceiver::new(8000);
        tx.send('#', Duration::from_millis(120)).unwrap();
        tx.send('1', Duration::from_millis(60)).unwrap();
        let mut ts = 0u32;
        while let Some(p) = tx.poll(ts) {
            rx.on_packet(p.timestamp, &p.event.to_bytes()).unwrap();
            ts += 160;
        }
        assert_eq!(
            rx.poll_event(),
            Some(DtmfEvent {
                digit: '#',
                duration: Duration::from_millis(120),
                ended: true
            })
        );
        assert_eq!(
            rx.poll_event(),
            Some(DtmfEvent {
                digit: '1',
                duration: Duration::from_millis(60),
                ended: true
            })
        );
        assert_eq!(rx.poll_event(), None);
    }

    #[test]
    fn lost_end_packets_report_on_the_next_event_and_stragglers_are_ignored() {
        let mut rx = DtmfReceiver::new(8000);
        let update = |event, end, duration| {
            TelephoneEvent {
                event,
                end,
                volume: 10,
                duration,
            }
            .to_bytes()
        };
        rx.on_packet(1000, &update(3, false, 160)).unwrap();
        rx.on_packet(1000, &update(3, false, 480)).unwrap();
        assert_eq!(rx.poll_event(), None);
        rx.on_packet(9000, &update(4, false, 160)).unwrap();
        assert_eq!(
            rx.poll_event(),
            Some(DtmfEvent {
                digit: '3',
                duration: Duration::from_millis(60),
                ended: false
            })
        );
        rx.on_packet(1000, &update(3, true, 640)).unwrap();
        rx.on_packet(9000, &update(4, true, 320)).unwrap();
        rx.on_packet(9000, &update(4, true, 320)).unwrap();
        assert_eq!(
            rx.poll_event(),
            Some(DtmfEvent {
                digit: '4',
                duration: Duration::from_millis(40),
                ended: true
            })
        );
        assert_eq!(rx.poll_event(), None);
        assert!(rx.on_packet(1, &[1]).is_err());
    }
}
