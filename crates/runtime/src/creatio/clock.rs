//! Monotonic instants shown as wall-clock times.
//!
//! The core keeps time as [`Instant`]s (immune to clock steps); the operator reads "unreachable since 10:42". The
//! conversion anchors both clocks at the moment of showing, so a later change of the system clock moves the shown
//! time with it, as a wall clock would.

use std::time::{Instant, SystemTime};

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Shows instants as local `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    offset: UtcOffset,
}

impl WallClock {
    /// Times in a fixed offset from UTC.
    pub fn with_offset(offset: UtcOffset) -> WallClock {
        WallClock { offset }
    }

    /// The system's local offset, or UTC when it cannot be known. On Linux the `time` crate only reads the offset
    /// while the process has a single thread, so call this early in `main`, before the runtime starts.
    pub fn local() -> WallClock {
        WallClock {
            offset: UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC),
        }
    }

    /// `at` as `HH:MM` (with " UTC" appended when the clock is in UTC, so nobody mistakes it for local time).
    pub fn show(&self, at: Instant) -> String {
        self.show_from(at, Instant::now(), SystemTime::now())
    }

    /// [`WallClock::show`] with both clocks read by the caller.
    fn show_from(&self, at: Instant, now: Instant, wall_now: SystemTime) -> String {
        let wall = if at <= now {
            wall_now.checked_sub(now.duration_since(at))
        } else {
            wall_now.checked_add(at.duration_since(now))
        }
        .unwrap_or(wall_now);
        let local = OffsetDateTime::from(wall).to_offset(self.offset);
        let text = local
            .format(format_description!("[hour]:[minute]"))
            .unwrap_or_else(|_| "--:--".into());
        if self.offset == UtcOffset::UTC {
            format!("{text} UTC")
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_instant_in_the_past_shows_its_wall_time_in_the_offset() {
        let now = Instant::now();
        // 2026-11-23 10:45:00 UTC.
        let wall_now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_430_700);
        let moscow = WallClock::with_offset(UtcOffset::from_hms(3, 0, 0).unwrap());
        let three_minutes_ago = now.checked_sub(Duration::from_secs(180)).unwrap();
        assert_eq!(moscow.show_from(three_minutes_ago, now, wall_now), "13:42");
        let utc = WallClock::with_offset(UtcOffset::UTC);
        assert_eq!(utc.show_from(three_minutes_ago, now, wall_now), "10:42 UTC");
        assert_eq!(utc.show_from(now + Duration::from_secs(60), now, wall_now), "10:46 UTC");
    }
}
