//! Adaptive jitter buffer: [`JitterBuffer::put`] on arrival, [`JitterBuffer::get`] on every
//! 20 ms playout tick. Plain data, no clock and no thread (pjmedia's jbuf shape), with the
//! delay management ideas of WebRTC's NetEq.
//!
//! **Delay model.** Every packet's *relative delay* is its arrival time minus its media
//! time (RTP timestamp over the clock rate). The smallest relative delay in the recent
//! window belongs to the fastest packet; the others are late by their distance from it.
//! The *target delay* is a high percentile of that lateness over the window, plus half a
//! frame for the tick phase, rounded up to whole frames and kept between a configured
//! minimum and maximum. The *current delay* (the lag) is how far the playout point runs
//! behind the fastest-packet arrival curve; both are in seconds of media time.
//!
//! **Keeping the lag on target.** Each tick normally plays the next frame in timestamp
//! order. When the lag is a frame or more above target, a quiet frame (silence or comfort
//! noise, as the codec judges it) is dropped instead of played; from one and a half frames
//! above, any frame is dropped now and then (at most every 200 ms), and above the maximum
//! every tick drops one. When the lag
//! is below target, a missing frame is waited for (the tick plays concealment without
//! advancing) instead of being given up: a late packet then still arrives in time, which is
//! how the buffer grows. Clock drift between sender and receiver shows up as a slowly moving
//! lag and is absorbed by the same drops and stretches; its rate is estimated separately
//! (slope of the per-second minimum relative delay) for a resampler to take over.
//!
//! **Resync.** A new SSRC, or a timestamp that jumps further than any plausible network
//! delay, restarts the buffer: history is dropped and prefetching starts over. Stragglers
//! of the SSRC just replaced are dropped for a while so that they cannot flip it back.
//!
//! **Accounting.** Every packet put is, in the end, exactly one of: played, counted late,
//! counted discarded (duplicate, overflow, dropped to shrink, left behind by a resync), or
//! still held. A randomised test checks this balance.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use tracing::debug;

use crate::rtp::{SequenceUnwrapper, TimestampUnwrapper};

/// Jitter buffer settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JitterConfig {
    /// RTP clock rate of the stream.
    pub clock_rate: u32,
    /// RTP timestamp units in one playout frame (160 for 20 ms at 8 kHz).
    pub frame_units: u32,
    /// The target delay never goes below this.
    pub min_delay: Duration,
    /// The target delay never goes above this; the lag is forced down beyond it.
    pub max_delay: Duration,
    /// Fraction of packets that must arrive in time (0.95 means the 95th percentile).
    pub percentile: f64,
    /// Number of recent packets the delay statistics cover.
    pub window: usize,
    /// A relative-delay change larger than this is a timestamp jump: resync.
    pub resync_after: Duration,
    /// At most this many packets are held; the oldest goes first.
    pub capacity: usize,
}

impl JitterConfig {
    /// Defaults for 20 ms frames at `clock_rate`: 40 to 300 ms, 95th percentile over the
    /// last 500 packets (10 s).
    pub fn for_clock_rate(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            frame_units: clock_rate / 50,
            min_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(300),
            percentile: 0.95,
            window: 500,
            resync_after: Duration::from_secs(1),
            capacity: 100,
        }
    }
}

/// A packet handed to the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterPacket {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP SSRC.
    pub ssrc: u32,
    /// The encoded frame.
    pub payload: Vec<u8>,
    /// The codec's guess that this frame is silence (see `Codec::is_quiet`).
    pub quiet: bool,
}

/// What to play on this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Decode this payload.
    Normal(Vec<u8>),
    /// The frame is missing: conceal it, or rebuild it from `next` (the following frame's
    /// payload, if already here) when the codec has in-band FEC.
    Missing {
        /// The payload of the frame after the missing one.
        next: Option<Vec<u8>>,
    },
    /// Play one frame of concealment to grow the buffer; no frame is consumed.
    Stretch,
    /// Still filling up before playout starts: play silence.
    Prefetching,
    /// Nothing to play (no packets for a while): play silence.
    Empty,
}

/// Counters and levels for diagnostics and the quality estimate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct JitterStats {
    /// How far playout runs behind the fastest packets.
    pub current_delay: Duration,
    /// Where the buffer is steering the delay.
    pub target_delay: Duration,
    /// Packets that arrived after their frame was played or given up.
    pub late: u64,
    /// Frames given up as missing while later packets were present.
    pub lost: u64,
    /// Frames of concealment played (missing plus stretch).
    pub concealed: u64,
    /// Packets dropped to shrink the delay, for overflow, or as duplicates.
    pub discarded: u64,
    /// Duplicate packets (a subset of `discarded`).
    pub duplicates: u64,
    /// Times the buffer ran dry while playing.
    pub underruns: u64,
    /// Restarts after an SSRC change or timestamp jump.
    pub resyncs: u64,
    /// Sender clock rate relative to ours, in parts per million (positive: sender fast).
    /// `None` until about ten seconds of arrivals have been seen.
    pub drift_ppm: Option<f64>,
}

impl JitterStats {
    /// The playout rate a resampler should apply to compensate the drift: 1.0 plus the drift.
    pub fn playout_rate(&self) -> f64 {
        1.0 + self.drift_ppm.unwrap_or(0.0) / 1e6
    }
}

/// Ticks during which an empty buffer still plays concealment before going silent: the
/// concealment itself has faded out by then (60 ms).
const EMPTY_CONCEALMENT_TICKS: u32 = 3;
/// Minimum ticks between two forced (non-quiet) drops or stretches.
const FORCED_ADJUST_INTERVAL: u32 = 10;

#[derive(Debug, Clone)]
enum State {
    /// No packet yet (or just resynced).
    Idle,
    /// Packets are arriving; waiting for the lag to reach the target.
    Prefetching,
    /// Playing; `next` is the extended timestamp of the next frame.
    Playing { next: u64, empty_ticks: u32 },
}

#[derive(Debug, Clone)]
struct Slot {
    payload: Vec<u8>,
    quiet: bool,
}

/// The adaptive jitter buffer for one received stream.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    ssrc: Option<u32>,
    /// The previous SSRC and when it was replaced; its late packets are dropped for a while.
    retired: Option<(u32, Instant)>,
    sequences: SequenceUnwrapper,
    timestamps: TimestampUnwrapper,
    /// Time base: the first arrival, and its extended timestamp.
    origin: Option<(Instant, u64)>,
    slots: BTreeMap<u64, Slot>,
    delays: VecDeque<f64>,
    sorted: Vec<f64>,
    min_delay: f64,
    target: f64,
    state: State,
    ticks_since_forced: u32,
    drift: DriftEstimator,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> Self {
        let target = config.min_delay.as_secs_f64();
        Self {
            config,
            ssrc: None,
            retired: None,
            sequences: SequenceUnwrapper::new(),
            timestamps: TimestampUnwrapper::new(),
            origin: None,
            slots: BTreeMap::new(),
            delays: VecDeque::with_capacity(config.window),
            sorted: Vec::with_capacity(config.window),
            min_delay: 0.0,
            target,
            state: State::Idle,
            ticks_since_forced: FORCED_ADJUST_INTERVAL,
            drift: DriftEstimator::default(),
            stats: JitterStats {
                target_delay: config.min_delay,
                ..JitterStats::default()
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// Counters and levels so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Packets currently held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn frame_secs(&self) -> f64 {
        f64::from(self.config.frame_units) / f64::from(self.config.clock_rate)
    }

    fn restart(&mut self) {
        self.ssrc = None;
        self.sequences.reset();
        self.timestamps.reset();
        self.origin = None;
        self.stats.discarded += self.slots.len() as u64;
        self.slots.clear();
        self.delays.clear();
        self.min_delay = 0.0;
        self.state = State::Idle;
        self.drift = DriftEstimator::default();
        self.stats.resyncs += 1;
    }

    /// Seconds from the origin to `t`, and the media time of extended timestamp `ts`.
    fn arrival_secs(&self, t: Instant) -> f64 {
        self.origin
            .map_or(0.0, |(o, _)| t.saturating_duration_since(o).as_secs_f64())
    }

    fn media_secs(&self, ts: u64) -> f64 {
        let base = self.origin.map_or(0, |(_, b)| b);
        (ts as i128 - base as i128) as f64 / f64::from(self.config.clock_rate)
    }

    /// How far playing `ts` at `now` runs behind the fastest-packet arrival curve.
    fn lag(&self, now: Instant, ts: u64) -> f64 {
        self.arrival_secs(now) - (self.media_secs(ts) + self.min_delay)
    }

    /// Accepts a packet that arrived at `arrival`.
    pub fn put(&mut self, arrival: Instant, packet: JitterPacket) {
        if let Some((old, since)) = self.retired
            && old == packet.ssrc
            && arrival.saturating_duration_since(since) < self.config.resync_after
        {
            // A straggler from the source we just left: playing it would flip back.
            self.stats.late += 1;
            return;
        }
        if let Some(current) = self.ssrc
            && current != packet.ssrc
        {
            debug!(old = current, new = packet.ssrc, "jitter buffer: SSRC changed, resync");
            self.restart();
            self.retired = Some((current, arrival));
        }
        self.ssrc = Some(packet.ssrc);
        let mut ts = self.timestamps.unwrap(packet.timestamp);
        self.sequences.unwrap(packet.sequence);
        if self.origin.is_none() {
            self.origin = Some((arrival, ts));
        }
        let mut relative = self.arrival_secs(arrival) - self.media_secs(ts);
        if !self.delays.is_empty() && (relative - self.min_delay).abs() > self.config.resync_after.as_secs_f64() {
            debug!(
                jump_secs = relative - self.min_delay,
                "jitter buffer: timestamp jump, resync"
            );
            self.restart();
            self.ssrc = Some(packet.ssrc);
            ts = self.timestamps.unwrap(packet.timestamp);
            self.sequences.unwrap(packet.sequence);
            self.origin = Some((arrival, ts));
            relative = 0.0;
        }
        if matches!(self.state, State::Idle) {
            self.state = State::Prefetching;
        }
        self.record_delay(self.arrival_secs(arrival), relative);

        if let State::Playing { next, .. } = self.state
            && ts < next
        {
            self.stats.late += 1;
            return;
        }
        if self.slots.contains_key(&ts) {
            self.stats.duplicates += 1;
            self.stats.discarded += 1;
            return;
        }
        if self.slots.len() >= self.config.capacity {
            self.slots.pop_first();
            self.stats.discarded += 1;
        }
        self.slots.insert(
            ts,
            Slot {
                payload: packet.payload,
                quiet: packet.quiet,
            },
        );
    }

    fn record_delay(&mut self, arrival: f64, relative: f64) {
        if self.delays.len() >= self.config.window.max(1) {
            self.delays.pop_front();
        }
        self.delays.push_back(relative);
        self.min_delay = self.delays.iter().copied().fold(f64::INFINITY, f64::min);
        self.sorted.clear();
        self.sorted.extend(self.delays.iter().map(|d| d - self.min_delay));
        let rank = ((self.sorted.len() - 1) as f64 * self.config.percentile.clamp(0.0, 1.0)).round() as usize;
        let (_, spread, _) = self.sorted.select_nth_unstable_by(rank, f64::total_cmp);
        let spread = *spread;
        let frame = self.frame_secs();
        let wanted = ((spread + frame / 2.0) / frame).ceil() * frame;
        self.target = wanted.clamp(self.config.min_delay.as_secs_f64(), self.config.max_delay.as_secs_f64());
        self.stats.target_delay = Duration::from_secs_f64(self.target);
        self.drift.observe(arrival, relative);
        self.stats.drift_ppm = self.drift.ppm();
    }

    /// What to play on the tick at `now`. Call once per frame duration.
    pub fn get(&mut self, now: Instant) -> Playout {
        self.ticks_since_forced = self.ticks_since_forced.saturating_add(1);
        let (next, empty_ticks) = match self.state {
            State::Idle => return Playout::Empty,
            State::Prefetching => {
                let Some(&first) = self.slots.keys().next() else {
                    return Playout::Prefetching;
                };
                let lag = self.lag(now, first);
                self.stats.current_delay = Duration::from_secs_f64(lag.max(0.0));
                if lag < self.target {
                    return Playout::Prefetching;
                }
                (first, 0)
            }
            State::Playing { next, empty_ticks } => (next, empty_ticks),
        };
        let (playout, next, empty_ticks) = self.play(now, next, empty_ticks);
        self.state = State::Playing { next, empty_ticks };
        playout
    }

    fn play(&mut self, now: Instant, next: u64, empty_ticks: u32) -> (Playout, u64, u32) {
        let frame = u64::from(self.config.frame_units);
        let frame_secs = self.frame_secs();
        let lag = self.lag(now, next);
        self.stats.current_delay = Duration::from_secs_f64(lag.max(0.0));
        let excess = lag - self.target;
        let max = self.config.max_delay.as_secs_f64();

        // Frames left behind by a drop or resync can no longer play.
        while let Some(entry) = self.slots.first_entry() {
            if *entry.key() >= next {
                break;
            }
            entry.remove();
            self.stats.discarded += 1;
        }

        // The frame due now is the first one within a frame of `next`. Taking its own
        // timestamp as the new position keeps playout aligned with a sender whose
        // timestamps shifted by part of a frame (some PBXs do this on re-INVITE).
        let due = self.slots.first_key_value().is_some_and(|(k, _)| *k < next + frame);
        let popped = if due { self.slots.pop_first() } else { None };
        let Some((key, slot)) = popped else {
            return self.missing(next, empty_ticks, excess);
        };
        let has_following = self.slots.first_key_value().is_some_and(|(k, _)| *k < key + 2 * frame);

        let forced_ok = self.ticks_since_forced >= FORCED_ADJUST_INTERVAL;
        let drop = excess >= frame_secs
            && has_following
            && (slot.quiet || lag > max + frame_secs || (excess >= 1.5 * frame_secs && forced_ok));
        if drop && let Some((following_key, following)) = self.slots.pop_first() {
            self.stats.discarded += 1;
            if !slot.quiet {
                self.ticks_since_forced = 0;
            }
            return (Playout::Normal(following.payload), following_key + frame, 0);
        }
        let stretch = excess < -frame_secs / 2.0 && (slot.quiet || (excess < -2.0 * frame_secs && forced_ok));
        if stretch {
            if !slot.quiet {
                self.ticks_since_forced = 0;
            }
            self.slots.insert(key, slot);
            self.stats.concealed += 1;
            return (Playout::Stretch, key, 0);
        }
        (Playout::Normal(slot.payload), key + frame, 0)
    }

    /// The frame due at `next` is not here.
    fn missing(&mut self, next: u64, empty_ticks: u32, excess: f64) -> (Playout, u64, u32) {
        let frame = u64::from(self.config.frame_units);
        let frame_secs = self.frame_secs();
        if self.slots.is_empty() && empty_ticks == 0 {
            self.stats.underruns += 1;
        }
        let empty_ticks = if self.slots.is_empty() {
            empty_ticks.saturating_add(1)
        } else {
            0
        };
        if excess < -frame_secs / 2.0 {
            // Below target: wait for the frame, it may only be late.
            if empty_ticks > EMPTY_CONCEALMENT_TICKS {
                return (Playout::Empty, next, empty_ticks);
            }
            self.stats.concealed += 1;
            return (Playout::Stretch, next, empty_ticks);
        }
        if empty_ticks > EMPTY_CONCEALMENT_TICKS {
            return (Playout::Empty, next + frame, empty_ticks);
        }
        if !self.slots.is_empty() {
            self.stats.lost += 1;
        }
        self.stats.concealed += 1;
        let following = self
            .slots
            .first_key_value()
            .filter(|(k, _)| **k < next + 2 * frame)
            .map(|(_, s)| s.payload.clone());
        (Playout::Missing { next: following }, next + frame, empty_ticks)
    }
}

/// Estimates sender clock drift: the slope of the per-second minimum relative delay.
///
/// The minimum filters out queueing jitter; a least-squares line through the last minute
/// of minima gives how many seconds of delay are gained or lost per second.
#[derive(Debug, Clone, Default)]
struct DriftEstimator {
    /// (bucket start second, minimum relative delay in that second)
    buckets: VecDeque<(f64, f64)>,
}

/// Buckets (seconds) kept for the drift fit.
const DRIFT_BUCKETS: usize = 60;
/// Buckets needed before a drift estimate is reported.
const DRIFT_MIN_BUCKETS: usize = 10;

impl DriftEstimator {
    fn observe(&mut self, arrival: f64, relative: f64) {
        let second = arrival.floor();
        match self.buckets.back_mut() {
            Some((s, min)) if *s == second => *min = min.min(relative),
            _ => {
                if self.buckets.len() >= DRIFT_BUCKETS {
                    self.buckets.pop_front();
                }
                self.buckets.push_back((second, relative));
            }
        }
    }

    fn ppm(&self) -> Option<f64> {
        // The last bucket is still filling; leave it out.
        let n = self.buckets.len().checked_sub(1)?;
        if n < DRIFT_MIN_BUCKETS {
            return None;
        }
        let points = self.buckets.iter().take(n);
        let (sx, sy) = points.clone().fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
        let (mx, my) = (sx / n as f64, sy / n as f64);
        let (sxy, sxx) = points.fold((0.0, 0.0), |(sxy, sxx), (x, y)| {
            (sxy + (x - mx) * (y - my), sxx + (x - mx).powi(2))
        });
        if sxx <= 0.0 {
            return None;
        }
        // A fast sender's media time runs ahead, so its relative delay shrinks.
        Some(-sxy / sxx * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(20);

    fn packet(n: u32) -> JitterPacket {
        JitterPacket {
            sequence: n as u16,
            timestamp: 1000 + n * 160,
            ssrc: 42,
            payload: n.to_be_bytes().to_vec(),
            quiet: false,
        }
    }

    fn number(p: &Playout) -> Option<u32> {
        match p {
            Playout::Normal(b) => Some(u32::from_be_bytes(b.as_slice().try_into().unwrap())),
            _ => None,
        }
    }

    fn config() -> JitterConfig {
        JitterConfig::for_clock_rate(8000)
    }

    #[test]
    fn prefetches_then_plays_in_order() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        assert_eq!(jb.get(t0), Playout::Empty);
        let mut played = Vec::new();
        let mut prefetch = 0;
        for k in 0..50u32 {
            let now = t0 + FRAME * k;
            jb.put(now, packet(k));
            match jb.get(now + Duration::from_millis(5)) {
                Playout::Prefetching => prefetch += 1,
                p => played.push(number(&p).unwrap()),
            }
        }
        assert_eq!(prefetch, 2, "40 ms minimum delay is two frames");
        assert_eq!(played, (0..played.len() as u32).collect::<Vec<_>>());
        assert_eq!(jb.stats().target_delay, Duration::from_millis(40));
    }

    #[test]
    fn reordered_packets_play_in_timestamp_order() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        let order = [0u32, 2, 1, 3, 5, 4, 6, 7, 9, 8, 10, 11, 12, 13, 14, 15];
        let mut played = Vec::new();
        for (k, &n) in order.iter().enumerate() {
            let now = t0 + FRAME * k as u32;
            jb.put(now, packet(n));
            if let Some(n) = number(&jb.get(now)) {
                played.push(n);
            }
        }
        assert_eq!(played, (0..played.len() as u32).collect::<Vec<_>>());
        assert!(played.len() >= 12);
    }

    #[test]
    fn duplicates_are_discarded() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        jb.put(t0, packet(0));
        jb.put(t0, packet(0));
        assert_eq!(jb.len(), 1);
        assert_eq!(jb.stats().duplicates, 1);
    }

    #[test]
    fn a_lost_packet_is_reported_missing_with_the_next_payload_for_fec() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        let mut outcome = Vec::new();
        for k in 0..20u32 {
            let now = t0 + FRAME * k;
            if k != 8 {
                jb.put(now, packet(k));
            }
            outcome.push(jb.get(now));
        }
        let missing = outcome
            .iter()
            .position(|p| matches!(p, Playout::Missing { .. }))
            .unwrap();
        assert_eq!(
            outcome[missing],
            Playout::Missing {
                next: Some(9u32.to_be_bytes().to_vec())
            }
        );
        assert_eq!(number(&outcome[missing - 1]), Some(7));
        assert_eq!(number(&outcome[missing + 1]), Some(9));
        assert_eq!(jb.stats().lost, 1);
        assert_eq!(jb.stats().late, 0);
    }

    #[test]
    fn a_packet_arriving_after_its_slot_counts_late() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        for k in 0..10u32 {
            let now = t0 + FRAME * k;
            if k != 5 {
                jb.put(now, packet(k));
            }
            jb.get(now);
        }
        jb.put(t0 + FRAME * 10, packet(5));
        assert_eq!(jb.stats().late, 1);
    }

    #[test]
    fn target_grows_with_jitter_and_stays_within_bounds() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        for k in 0..300u32 {
            // Every third packet is 70 ms late.
            let extra = if k % 3 == 0 {
                Duration::from_millis(70)
            } else {
                Duration::ZERO
            };
            jb.put(t0 + FRAME * k + extra, packet(k));
            jb.get(t0 + FRAME * k);
        }
        let s = jb.stats();
        assert_eq!(
            s.target_delay,
            Duration::from_millis(100),
            "70 ms spread + half frame, in frames"
        );
        assert!(
            s.current_delay >= Duration::from_millis(80) && s.current_delay <= Duration::from_millis(130),
            "{s:?}"
        );
        assert!(s.late <= 3, "growth by waiting keeps late packets rare: {s:?}");

        let mut big = JitterBuffer::new(config());
        for k in 0..300u32 {
            let extra = if k % 2 == 0 {
                Duration::from_millis(900)
            } else {
                Duration::ZERO
            };
            big.put(t0 + FRAME * k + extra, packet(k));
            big.get(t0 + FRAME * k);
        }
        assert_eq!(big.stats().target_delay, Duration::from_millis(300));
        assert!(
            big.stats().current_delay <= Duration::from_millis(340),
            "{:?}",
            big.stats()
        );
    }

    #[test]
    fn delay_shrinks_by_dropping_quiet_frames_when_jitter_subsides() {
        let t0 = Instant::now();
        let mut cfg = config();
        cfg.window = 100;
        let mut jb = JitterBuffer::new(cfg);
        for k in 0..200u32 {
            let extra = if k % 4 == 0 {
                Duration::from_millis(120)
            } else {
                Duration::ZERO
            };
            jb.put(t0 + FRAME * k + extra, packet(k));
            jb.get(t0 + FRAME * k);
        }
        let high = jb.stats().current_delay;
        assert!(high >= Duration::from_millis(120), "{:?}", jb.stats());
        let discarded = jb.stats().discarded;
        for k in 200..600u32 {
            let mut p = packet(k);
            p.quiet = k % 2 == 0;
            jb.put(t0 + FRAME * k, p);
            jb.get(t0 + FRAME * k);
        }
        let s = jb.stats();
        assert_eq!(s.target_delay, Duration::from_millis(40));
        assert!(s.current_delay <= Duration::from_millis(60), "{s:?}");
        assert!(s.discarded >= discarded + 4);
    }

    #[test]
    fn ssrc_change_resyncs() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        for k in 0..10u32 {
            jb.put(t0 + FRAME * k, packet(k));
            jb.get(t0 + FRAME * k);
        }
        let mut other = packet(500);
        other.ssrc = 7;
        jb.put(t0 + FRAME * 10, other);
        assert_eq!(jb.stats().resyncs, 1);
        assert_eq!(jb.get(t0 + FRAME * 10), Playout::Prefetching);
        assert_eq!(jb.len(), 1);
    }

    #[test]
    fn timestamp_jump_resyncs_and_playout_continues() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        let mut normal_after = 0;
        for k in 0..60u32 {
            let mut p = packet(k);
            if k >= 30 {
                p.timestamp = p.timestamp.wrapping_add(3_000_000);
            }
            jb.put(t0 + FRAME * k, p);
            if k >= 30 && number(&jb.get(t0 + FRAME * k)).is_some() {
                normal_after += 1;
            }
        }
        assert_eq!(jb.stats().resyncs, 1);
        assert!(normal_after >= 25, "{normal_after}");
    }

    #[test]
    fn a_timestamp_shift_of_part_of_a_frame_does_not_lose_audio() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        let mut played = Vec::new();
        for k in 0..60u32 {
            let mut p = packet(k);
            if k >= 20 {
                p.timestamp += 80;
            }
            jb.put(t0 + FRAME * k, p);
            if let Some(n) = number(&jb.get(t0 + FRAME * k)) {
                played.push(n);
            }
        }
        let expected: Vec<u32> = (0..played.len() as u32).collect();
        assert_eq!(played, expected);
        assert!(played.len() >= 55, "{}", played.len());
        assert_eq!(jb.stats().lost + jb.stats().late, 0, "{:?}", jb.stats());
    }

    #[test]
    fn every_packet_is_played_or_accounted_for_under_random_arrivals() {
        use rand::rngs::SmallRng;
        use rand::{Rng, SeedableRng};
        for seed in 0..20u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let t0 = Instant::now();
            let mut jb = JitterBuffer::new(config());
            let mut arrivals = Vec::new();
            for n in 0..1500u32 {
                if rng.random_bool(0.05) {
                    continue;
                }
                let mut p = packet(n);
                p.quiet = rng.random_bool(0.3);
                if n > 700 {
                    p.ssrc = 43;
                }
                let jitter = Duration::from_micros(rng.random_range(0..120_000));
                let copies = if rng.random_bool(0.03) { 2 } else { 1 };
                for _ in 0..copies {
                    arrivals.push((FRAME * n + jitter, p.clone()));
                }
            }
            arrivals.sort_by_key(|(at, _)| *at);
            let puts = arrivals.len() as u64;
            let mut arrivals = arrivals.into_iter().peekable();
            let mut normal = 0u64;
            for tick in 0..1600u32 {
                let now = t0 + FRAME * tick;
                while let Some((at, p)) = arrivals.next_if(|(at, _)| t0 + *at <= now) {
                    jb.put(t0 + at, p);
                }
                if matches!(jb.get(now), Playout::Normal(_)) {
                    normal += 1;
                }
                assert!(
                    jb.stats().current_delay <= Duration::from_millis(360),
                    "seed {seed}: {:?}",
                    jb.stats()
                );
            }
            let s = jb.stats();
            assert_eq!(
                puts,
                normal + s.late + s.discarded + jb.len() as u64,
                "seed {seed}: {s:?}"
            );
            assert!(normal > 1300, "seed {seed}: played {normal}, {s:?}");
            assert_eq!(s.resyncs, 1, "seed {seed}");
        }
    }

    #[test]
    fn empty_buffer_conceals_briefly_then_goes_silent() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        for k in 0..10u32 {
            jb.put(t0 + FRAME * k, packet(k));
            jb.get(t0 + FRAME * k);
        }
        let tail: Vec<Playout> = (10..20u32).map(|k| jb.get(t0 + FRAME * k)).collect();
        assert!(tail.iter().any(|p| matches!(p, Playout::Missing { next: None })));
        assert!(matches!(tail.last(), Some(Playout::Empty)));
        assert_eq!(jb.stats().underruns, 1);
        assert_eq!(jb.stats().lost, 0, "an empty buffer is an underrun, not loss");
    }

    #[test]
    fn sender_clock_drift_is_estimated_and_absorbed() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(config());
        // The sender's clock runs 500 ppm fast: a frame every 19.99 ms of our time.
        let period = Duration::from_nanos(19_990_000);
        let mut sent = 0u32;
        let mut max_delay = Duration::ZERO;
        for tick in 0..3000u32 {
            let now = t0 + FRAME * tick;
            while t0 + period * sent <= now {
                let mut p = packet(sent);
                p.quiet = sent.is_multiple_of(10);
                jb.put(t0 + period * sent, p);
                sent += 1;
            }
            assert!(!matches!(jb.get(now), Playout::Empty));
            max_delay = max_delay.max(jb.stats().current_delay);
        }
        let ppm = jb.stats().drift_ppm.unwrap();
        assert!((ppm - 500.0).abs() < 50.0, "{ppm}");
        assert!(max_delay <= Duration::from_millis(80), "{max_delay:?}");
        assert!(jb.stats().discarded >= 1);
        assert!((jb.stats().playout_rate() - 1.0005).abs() < 0.0001);
    }
}
