//! The named timers of RFC 3261 §17 folded into one deadline (quinn's timer table): each
//! machine arms and stops timers by name, and its owner only ever sees the earliest.

use std::time::Instant;

/// Every timer a transaction may run. `Trying` is the 200 ms before a server INVITE
/// transaction answers 100 on the TU's behalf (RFC 3261 §17.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    A,
    B,
    D,
    E,
    F,
    K,
    G,
    H,
    I,
    J,
    L,
    M,
    Trying,
}

const ALL: [Timer; 13] = [
    Timer::A,
    Timer::B,
    Timer::D,
    Timer::E,
    Timer::F,
    Timer::K,
    Timer::G,
    Timer::H,
    Timer::I,
    Timer::J,
    Timer::L,
    Timer::M,
    Timer::Trying,
];

/// Deadlines indexed by timer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable([Option<Instant>; ALL.len()]);

impl TimerTable {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer as usize] = Some(at);
    }

    pub fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    pub fn stop_all(&mut self) {
        self.0 = Default::default();
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer as usize]
    }

    /// The earliest armed timer.
    pub fn next(&self) -> Option<(Timer, Instant)> {
        ALL.iter()
            .filter_map(|t| self.get(*t).map(|at| (*t, at)))
            .min_by_key(|(_, at)| *at)
    }

    /// Disarms and returns the earliest timer due at `now`, if any.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let (timer, at) = self.next()?;
        (at <= now).then(|| {
            self.stop(timer);
            timer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_deadline_wins_and_pops_in_order() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::B, t0 + Duration::from_secs(32));
        table.set(Timer::A, t0 + Duration::from_millis(500));
        assert_eq!(table.next(), Some((Timer::A, t0 + Duration::from_millis(500))));
        assert_eq!(table.pop_expired(t0), None);
        let later = t0 + Duration::from_secs(40);
        assert_eq!(table.pop_expired(later), Some(Timer::A));
        assert_eq!(table.pop_expired(later), Some(Timer::B));
        assert_eq!(table.pop_expired(later), None);
        assert_eq!(table.next(), None);
    }
}
