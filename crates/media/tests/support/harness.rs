//! Two media streams on a virtual clock, joined by two emulated one-way links. A plays a
//! tone into its stream; B's playout is collected frame by frame, one per 20 ms tick.
//! The addresses are loopback and never used for real I/O.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use media::stream::{FrameKind, MediaStream, StreamConfig, StreamEvent};

use super::netem::{Netem, NetemConfig};
use super::tone::sine;

pub const TONE_HZ: f64 = 1000.0;
const FRAME: Duration = Duration::from_millis(20);

pub struct Pair {
    pub t0: Instant,
    pub now: Instant,
    pub a: MediaStream,
    pub b: MediaStream,
    pub addr_a: SocketAddr,
    pub addr_b: SocketAddr,
    pub a_to_b: Netem,
    pub b_to_a: Netem,
    /// A's capture clock: a frame every `a_period` of true time (drift when not 20 ms).
    pub a_period: Duration,
    a_frames: u64,
    b_frames: u64,
    ticks: u64,
    /// Every frame B played, in order.
    pub b_output: Vec<(FrameKind, Vec<i16>)>,
    pub a_events: Vec<StreamEvent>,
    pub b_events: Vec<StreamEvent>,
    /// The largest jitter-buffer delay B reported.
    pub b_max_delay: Duration,
    /// Whether A sends (to test silence detection).
    pub a_sending: bool,
}

impl Pair {
    pub fn new(a: StreamConfig, b: StreamConfig, a_to_b: NetemConfig, b_to_a: NetemConfig, seed: u64) -> Self {
        let t0 = Instant::now();
        let addr_a: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let addr_b: SocketAddr = "127.0.0.1:40002".parse().unwrap();
        let a = MediaStream::new(
            t0,
            StreamConfig {
                remote: Some(addr_b),
                ..a
            },
        )
        .unwrap();
        let b = MediaStream::new(
            t0,
            StreamConfig {
                remote: Some(addr_a),
                ..b
            },
        )
        .unwrap();
        Self {
            t0,
            now: t0,
            a,
            b,
            addr_a,
            addr_b,
            a_to_b: Netem::new(a_to_b, seed),
            b_to_a: Netem::new(b_to_a, seed ^ 0x5555),
            a_period: FRAME,
            a_frames: 0,
            b_frames: 0,
            ticks: 0,
            b_output: Vec::new(),
            a_events: Vec::new(),
            b_events: Vec::new(),
            b_max_delay: Duration::ZERO,
            a_sending: true,
        }
    }

    /// Runs the call for `duration` of virtual time in 1 ms steps.
    pub fn run(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            self.now += Duration::from_millis(1);
            let now = self.now;
            let rate_a = self.a.sample_rate();
            let n_a = self.a.frame_samples();
            while self.t0 + self.a_period * self.a_frames as u32 <= now {
                if self.a_sending {
                    let pcm = sine(TONE_HZ, 8000.0, rate_a, self.a_frames * n_a as u64, n_a);
                    self.a.send_frame(now, &pcm).unwrap();
                }
                self.a_frames += 1;
            }
            while self.t0 + FRAME * self.b_frames as u32 <= now {
                let silence = vec![0i16; self.b.frame_samples()];
                self.b.send_frame(now, &silence).unwrap();
                self.b_frames += 1;
            }
            for stream in [&mut self.a, &mut self.b] {
                if stream.poll_timeout() <= now {
                    stream.handle_timeout(now);
                }
            }
            while let Some(t) = self.a.poll_transmit() {
                assert_eq!(t.destination, Some(self.addr_b));
                self.a_to_b.send(now, t.bytes);
            }
            while let Some(t) = self.b.poll_transmit() {
                assert_eq!(t.destination, Some(self.addr_a));
                self.b_to_a.send(now, t.bytes);
            }
            while let Some((at, bytes)) = self.a_to_b.poll(now) {
                self.b.handle_datagram(at, self.addr_a, &bytes);
            }
            while let Some((at, bytes)) = self.b_to_a.poll(now) {
                self.a.handle_datagram(at, self.addr_b, &bytes);
            }
            while self.t0 + FRAME * self.ticks as u32 <= now {
                let expected = self.b.frame_samples();
                let frame = self.b.play_frame(now);
                assert_eq!(frame.samples.len(), expected, "one full frame every tick");
                let frame = (frame.kind, frame.samples.to_vec());
                self.b_output.push(frame);
                let _ = self.a.play_frame(now);
                self.b_max_delay = self.b_max_delay.max(self.b.stats().jitter_buffer.current_delay);
                self.ticks += 1;
            }
            while let Some(e) = self.a.poll_event() {
                self.a_events.push(e);
            }
            while let Some(e) = self.b.poll_event() {
                self.b_events.push(e);
            }
        }
    }

    pub fn ticks(&self) -> u64 {
        self.ticks
    }
}
