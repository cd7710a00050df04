//! A seeded, sans-IO network emulator: datagrams go in with the time they were sent and come
//! out at the time they arrive, after loss (random or Gilbert-Elliott bursts), delay with
//! jitter, reordering and duplication. Same seed, same network.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Two-state burst-loss model: in the good state packets are lost with `loss_good`, in the
/// bad state with `loss_bad`; `p` moves good to bad, `r` bad to good, per packet.
#[derive(Debug, Clone, Copy)]
pub struct GilbertElliott {
    pub p: f64,
    pub r: f64,
    pub loss_good: f64,
    pub loss_bad: f64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct NetemConfig {
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay, uniform in 0..jitter.
    pub jitter: Duration,
    /// Random (independent) loss probability.
    pub loss: f64,
    /// Burst loss model, applied on top of `loss`.
    pub burst: Option<GilbertElliott>,
    /// Probability that a packet is duplicated.
    pub duplicate: f64,
    /// Probability that a packet is held back by `reorder_delay` (so later ones overtake it).
    pub reorder: f64,
    pub reorder_delay: Duration,
}

#[derive(Debug)]
pub struct Netem {
    config: NetemConfig,
    rng: SmallRng,
    bad: bool,
    order: u64,
    in_flight: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    pub sent: u64,
    pub dropped: u64,
}

impl Netem {
    pub fn new(config: NetemConfig, seed: u64) -> Self {
        Self {
            config,
            rng: SmallRng::seed_from_u64(seed),
            bad: false,
            order: 0,
            in_flight: BinaryHeap::new(),
            sent: 0,
            dropped: 0,
        }
    }

    pub fn send(&mut self, now: Instant, bytes: Vec<u8>) {
        self.sent += 1;
        let mut loss = self.config.loss;
        if let Some(ge) = self.config.burst {
            self.bad = if self.bad {
                !self.rng.random_bool(ge.r)
            } else {
                self.rng.random_bool(ge.p)
            };
            let state_loss = if self.bad { ge.loss_bad } else { ge.loss_good };
            loss = 1.0 - (1.0 - loss) * (1.0 - state_loss);
        }
        if self.rng.random_bool(loss.clamp(0.0, 1.0)) {
            self.dropped += 1;
            return;
        }
        let copies = if self.rng.random_bool(self.config.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut delay = self.config.delay + self.config.jitter.mul_f64(self.rng.random::<f64>());
            if self.rng.random_bool(self.config.reorder) {
                delay += self.config.reorder_delay;
            }
            self.order += 1;
            self.in_flight.push(Reverse((now + delay, self.order, bytes.clone())));
        }
    }

    /// The next datagram that has arrived by `now`, with its arrival time.
    pub fn poll(&mut self, now: Instant) -> Option<(Instant, Vec<u8>)> {
        if self.in_flight.peek().is_some_and(|Reverse((at, _, _))| *at <= now) {
            self.in_flight.pop().map(|Reverse((at, _, bytes))| (at, bytes))
        } else {
            None
        }
    }
}
