//! Receiver statistics per RFC 3550 appendix A: packets expected and lost (A.3), fraction
//! lost between reports, interarrival jitter (A.8), and round-trip time from the peer's
//! reports on our SRs (6.4.1). These are the numbers that go into our RTCP receiver report
//! blocks and into the live call quality shown to the operator.

use std::time::{Duration, Instant};

use crate::rtcp::{NtpTime, ReportBlock};
use crate::rtp::SequenceUnwrapper;

/// Statistics about one remote source, kept by the receiver.
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    clock_rate: u32,
    ssrc: u32,
    sequences: SequenceUnwrapper,
    base_sequence: u64,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Interarrival jitter in timestamp units, times 16 kept as f64 per A.8's estimator.
    jitter: f64,
    previous_transit: Option<f64>,
    origin: Instant,
    /// The last SR from this source: its NTP middle bits and when it arrived.
    last_sr: Option<(u32, Instant)>,
    /// Sequence gaps seen (loss bursts) and the packets they covered.
    gaps: u64,
    gap_packets: u64,
}

impl ReceiverStats {
    /// Starts statistics for `ssrc` with its first packet.
    pub fn new(ssrc: u32, clock_rate: u32, first_sequence: u16, arrival: Instant) -> Self {
        let mut sequences = SequenceUnwrapper::new();
        let base_sequence = sequences.unwrap(first_sequence);
        Self {
            clock_rate,
            ssrc,
            sequences,
            base_sequence,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter: 0.0,
            previous_transit: None,
            origin: arrival,
            last_sr: None,
            gaps: 0,
            gap_packets: 0,
        }
    }

    /// The source these statistics are about.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Records an RTP packet.
    pub fn on_rtp(&mut self, arrival: Instant, sequence: u16, timestamp: u32) {
        let highest = self.sequences.highest();
        let extended = self.sequences.unwrap(sequence);
        if let Some(highest) = highest
            && extended > highest + 1
        {
            self.gaps += 1;
            self.gap_packets += extended - highest - 1;
        }
        self.received += 1;
        // A.8: transit = arrival in timestamp units - RTP timestamp; the difference of two
        // transits is independent of the unknown clock offset. Wrapping is handled by
        // reducing the difference into the signed 32-bit range.
        let arrival_units = arrival.saturating_duration_since(self.origin).as_secs_f64() * f64::from(self.clock_rate);
        let transit = arrival_units - f64::from(timestamp);
        if let Some(previous) = self.previous_transit {
            let mut d = transit - previous;
            d = d.rem_euclid(4_294_967_296.0);
            if d >= 2_147_483_648.0 {
                d -= 4_294_967_296.0;
            }
            self.jitter += (d.abs() - self.jitter) / 16.0;
        }
        self.previous_transit = Some(transit);
    }

    /// Records a sender report from this source.
    pub fn on_sender_report(&mut self, arrival: Instant, ntp: NtpTime) {
        self.last_sr = Some((ntp.middle32(), arrival));
    }

    /// The highest extended sequence number received.
    pub fn highest_sequence(&self) -> u64 {
        self.sequences.highest().unwrap_or(self.base_sequence)
    }

    /// Packets expected so far (A.3).
    pub fn expected(&self) -> u64 {
        self.highest_sequence() - self.base_sequence + 1
    }

    /// Packets received so far, duplicates included.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Cumulative lost packets (negative when duplicates outnumber losses).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Lost fraction over the whole call, 0.0 to 1.0.
    pub fn loss_ratio(&self) -> f64 {
        let expected = self.expected();
        if expected == 0 {
            0.0
        } else {
            (self.lost().max(0) as f64 / expected as f64).min(1.0)
        }
    }

    /// The E-model burst ratio (G.107): mean observed loss-burst length over the mean
    /// length random loss at the same rate would give, `1 / (1 - p)`. 1.0 without loss.
    ///
    /// Bursts are read from sequence gaps at arrival; a reordered packet that later fills a
    /// gap is not subtracted, which slightly overstates short bursts under heavy reordering.
    pub fn burst_ratio(&self) -> f64 {
        if self.gaps == 0 {
            return 1.0;
        }
        let mean_burst = self.gap_packets as f64 / self.gaps as f64;
        (mean_burst * (1.0 - self.loss_ratio())).max(1.0)
    }

    /// Interarrival jitter.
    pub fn jitter(&self) -> Duration {
        Duration::from_secs_f64(self.jitter / f64::from(self.clock_rate))
    }

    /// Builds the report block for this source and starts a new reporting interval.
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => {
                let delay = now.saturating_duration_since(at);
                (lsr, (delay.as_secs_f64() * 65536.0).min(f64::from(u32::MAX)) as u32)
            }
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32,
            highest_sequence: self.highest_sequence() as u32,
            jitter: self.jitter as u32,
            last_sr,
            delay_since_last_sr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_and_fraction_lost_per_interval() {
        let t0 = Instant::now();
        let mut s = ReceiverStats::new(1, 8000, 65530, t0);
        // 65530..=65535 and 0..=13: 20 packets expected, 5 missing in the first interval.
        let mut n = 0;
        for i in 0..20u16 {
            let seq = 65530u16.wrapping_add(i);
            if i % 4 == 1 {
                continue;
            }
            s.on_rtp(t0 + Duration::from_millis(20 * u64::from(i)), seq, u32::from(i) * 160);
            n += 1;
        }
        assert_eq!(s.expected(), 20);
        assert_eq!(s.received(), n);
        assert_eq!(s.lost(), 5);
        let block = s.report_block(t0);
        assert_eq!(block.fraction_lost, 64, "5/20 = 64/256");
        assert_eq!(block.cumulative_lost, 5);
        assert_eq!(block.highest_sequence, (1 << 16) + 13 + (1 << 16));
        // Next interval without loss reports 0 but keeps the cumulative count.
        for i in 20..30u16 {
            s.on_rtp(t0, 65530u16.wrapping_add(i), 0);
        }
        let block = s.report_block(t0);
        assert_eq!(block.fraction_lost, 0);
        assert_eq!(block.cumulative_lost, 5);
    }

    #[test]
    fn burst_ratio_tells_bursts_from_scattered_loss() {
        let t0 = Instant::now();
        let mut scattered = ReceiverStats::new(1, 8000, 0, t0);
        let mut bursty = ReceiverStats::new(1, 8000, 0, t0);
        for i in 0..1000u16 {
            if i % 10 != 5 {
                scattered.on_rtp(t0, i, 0);
            }
            if !(50..60).contains(&(i % 100)) {
                bursty.on_rtp(t0, i, 0);
            }
        }
        assert_eq!(scattered.lost(), bursty.lost());
        assert!((scattered.burst_ratio() - 1.0).abs() < 1e-9);
        assert!((bursty.burst_ratio() - 9.0).abs() < 0.01, "{}", bursty.burst_ratio());
        assert_eq!(ReceiverStats::new(1, 8000, 0, t0).burst_ratio(), 1.0);
    }

    #[test]
    fn jitter_is_zero_for_a_regular_stream_and_tracks_alternating_delay() {
        let t0 = Instant::now();
        let mut regular = ReceiverStats::new(1, 8000, 0, t0);
        for i in 0..100u32 {
            regular.on_rtp(t0 + Duration::from_millis(20 * u64::from(i)), i as u16, 1_000 + i * 160);
        }
        assert!(regular.jitter() < Duration::from_micros(10));

        let mut jittery = ReceiverStats::new(1, 8000, 0, t0);
        for i in 0..1000u32 {
            let extra = if i % 2 == 0 { 10 } else { 0 };
            jittery.on_rtp(
                t0 + Duration::from_millis(20 * u64::from(i) + extra),
                i as u16,
                (u32::MAX - 5000).wrapping_add(i * 160),
            );
        }
        // |D| is 10 ms every packet, so the estimator converges to 10 ms.
        let j = jittery.jitter().as_secs_f64() * 1000.0;
        assert!((j - 10.0).abs() < 0.5, "{j}");
        assert_eq!(jittery.report_block(t0).jitter, 80);
    }

    #[test]
    fn report_reflects_the_last_sender_report() {
        let t0 = Instant::now();
        let mut s = ReceiverStats::new(1, 8000, 0, t0);
        assert_eq!(s.report_block(t0).last_sr, 0);
        let ntp = NtpTime(0x0001_2345_6789_0000);
        s.on_sender_report(t0, ntp);
        let block = s.report_block(t0 + Duration::from_millis(500));
        assert_eq!(block.last_sr, 0x2345_6789);
        assert_eq!(block.delay_since_last_sr, 32768);
    }
}
