//! Named session timers folded into one deadline (quinn's timer table).
//!
//! Per-request reply timeouts and multipart expiry live with their owners;
//! [`crate::Session::poll_timeout`] takes the earliest of everything.

use std::time::{Duration, Instant};

use rand::Rng;

/// Every session-wide timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Keepalive `ping` every 15 s while logged in (§1.6).
    Keepalive,
    /// `getcurrentqueue` poll every 5 s while logged in (§1.6).
    QueuePoll,
    /// The current connection attempt must win by now (§1.4 `openTimeout`).
    OpenTimeout,
    /// Backoff before the next connection attempt.
    Reconnect,
    /// After `logout`, close ourselves if the server does not.
    LogoutGrace,
}

const ALL: [Timer; 5] = [
    Timer::Keepalive,
    Timer::QueuePoll,
    Timer::OpenTimeout,
    Timer::Reconnect,
    Timer::LogoutGrace,
];

fn slot(timer: Timer) -> usize {
    match timer {
        Timer::Keepalive => 0,
        Timer::QueuePoll => 1,
        Timer::OpenTimeout => 2,
        Timer::Reconnect => 3,
        Timer::LogoutGrace => 4,
    }
}

/// Deadlines of the named timers.
#[derive(Debug, Default)]
pub struct Timers {
    at: [Option<Instant>; 5],
}

impl Timers {
    /// Arms (or re-arms) a timer.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(s) = self.at.get_mut(slot(timer)) {
            *s = Some(at);
        }
    }

    /// Disarms a timer.
    pub fn stop(&mut self, timer: Timer) {
        if let Some(s) = self.at.get_mut(slot(timer)) {
            *s = None;
        }
    }

    /// Whether a timer is armed.
    pub fn is_set(&self, timer: Timer) -> bool {
        self.at.get(slot(timer)).is_some_and(Option::is_some)
    }

    /// The earliest armed timer.
    pub fn next(&self) -> Option<(Timer, Instant)> {
        ALL.iter()
            .filter_map(|&t| self.at.get(slot(t)).copied().flatten().map(|at| (t, at)))
            .min_by_key(|&(_, at)| at)
    }

    /// Disarms and returns one timer that is due, earliest first.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let (timer, at) = self.next()?;
        (at <= now).then(|| {
            self.stop(timer);
            timer
        })
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        self.at = Default::default();
    }
}

/// Capped exponential backoff with jitter for reconnect attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (1-based): `initial * 2^(n-1)`
    /// capped at `max`, then scaled by a random factor in [0.5, 1.0] so that
    /// many panels cut off together do not reconnect in lockstep.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let full = self.initial.saturating_mul(1u32 << exp).min(self.max);
        full.mul_f64(rng.random_range(0.5..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn earliest_timer_wins_and_pops_once() {
        let now = Instant::now();
        let mut t = Timers::default();
        t.set(Timer::QueuePoll, now + Duration::from_secs(5));
        t.set(Timer::Keepalive, now + Duration::from_secs(15));
        assert_eq!(t.next(), Some((Timer::QueuePoll, now + Duration::from_secs(5))));
        assert_eq!(t.pop_expired(now), None);
        assert_eq!(t.pop_expired(now + Duration::from_secs(20)), Some(Timer::QueuePoll));
        assert_eq!(t.pop_expired(now + Duration::from_secs(20)), Some(Timer::Keepalive));
        assert_eq!(t.pop_expired(now + Duration::from_secs(20)), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let b = Backoff::default();
        let mut rng = StdRng::seed_from_u64(7);
        let d1 = b.delay(1, &mut rng);
        assert!(d1 >= Duration::from_millis(250) && d1 <= Duration::from_millis(500));
        let d4 = b.delay(4, &mut rng);
        assert!(d4 >= Duration::from_secs(2) && d4 <= Duration::from_secs(4));
        for n in 10..40 {
            assert!(b.delay(n, &mut rng) <= b.max);
        }
        let same = |seed| {
            let mut r = StdRng::seed_from_u64(seed);
            (1..6).map(|n| b.delay(n, &mut r)).collect::<Vec<_>>()
        };
        assert_eq!(same(3), same(3), "seeded jitter is deterministic");
    }
}
