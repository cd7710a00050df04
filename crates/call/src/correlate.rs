//! Matching an Oktell line with the SIP dialog of the same call.
//!
//! With Oktell and the softphone both in use, one call is reported twice: Oktell says the
//! line rings (`Ring`, or `BackRing` when an auto-call rings the operator first), and the
//! PBX sends an INVITE to the softphone. Neither report names the other, so they are paired
//! by the only facts both carry: when they happened and who calls.
//!
//! # The rule
//!
//! An unpaired Oktell ring and an unpaired incoming SIP dialog are the same call when
//!
//! 1. they arrive within [`crate::CallConfig::correlation_window`] of each other, and
//! 2. either side is an auto-call ring-back (the PBX rings the operator from its own
//!    identity, so the number cannot be compared), or either number is unknown, or the
//!    numbers are the same party by [`crate::phone::same_number`].
//!
//! Among several candidates the one closest in time wins; ties go to the earliest.
//!
//! # Limits
//!
//! * Two calls ringing at once with hidden numbers inside one window may be swapped: the
//!   operator then answers the other caller. Oktell rings one call at a time per operator,
//!   so this needs the PBX to ring the phone outside Oktell's control.
//! * A PBX that rewrites the caller id on the SIP leg (a prefix, a trunk number) pairs only
//!   when the last ten digits still agree; otherwise both halves show as separate calls.
//! * A ring-back matches any ringing dialog in its window: a real incoming call racing an
//!   auto-call ring-back can be taken for it (and auto-answered).

use std::time::{Duration, Instant};

use crate::phone;

/// One side's facts.
#[derive(Debug, Clone, Copy)]
pub struct Ring<'a> {
    /// When it began ringing.
    pub at: Instant,
    /// The calling party's number, if known.
    pub number: Option<&'a str>,
    /// An auto-call ring-back to the operator.
    pub ring_back: bool,
}

/// Whether these two reports are the same call (the rule above).
pub fn same_call(oktell: Ring<'_>, sip: Ring<'_>, window: Duration) -> bool {
    if distance(oktell.at, sip.at) > window {
        return false;
    }
    if oktell.ring_back || sip.ring_back {
        return true;
    }
    match (oktell.number, sip.number) {
        (Some(a), Some(b)) if has_digits(a) && has_digits(b) => phone::same_number(a, b),
        _ => true,
    }
}

/// The index of the best candidate for `target` among `candidates` (closest in time, then
/// earliest), or `None`.
pub fn best<'a>(
    target: Ring<'a>,
    candidates: impl IntoIterator<Item = (usize, Ring<'a>)>,
    window: Duration,
    target_is_oktell: bool,
) -> Option<usize> {
    candidates
        .into_iter()
        .filter(|(_, c)| {
            if target_is_oktell {
                same_call(target, *c, window)
            } else {
                same_call(*c, target, window)
            }
        })
        .min_by_key(|(_, c)| (distance(c.at, target.at), c.at))
        .map(|(i, _)| i)
}

fn distance(a: Instant, b: Instant) -> Duration {
    if a > b { a - b } else { b - a }
}

fn has_digits(number: &str) -> bool {
    number.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(5);

    fn ring(at: Instant, number: Option<&str>, ring_back: bool) -> Ring<'_> {
        Ring { at, number, ring_back }
    }

    #[test]
    fn same_number_within_the_window_pairs() {
        let t = Instant::now();
        assert!(same_call(
            ring(t, Some("89161234567"), false),
            ring(t + Duration::from_millis(80), Some("+79161234567"), false),
            WINDOW
        ));
    }

    #[test]
    fn different_numbers_never_pair() {
        let t = Instant::now();
        assert!(!same_call(
            ring(t, Some("102"), false),
            ring(t, Some("103"), false),
            WINDOW
        ));
    }

    #[test]
    fn too_far_apart_never_pairs() {
        let t = Instant::now();
        assert!(!same_call(
            ring(t, Some("102"), false),
            ring(t + Duration::from_secs(6), Some("102"), false),
            WINDOW
        ));
    }

    #[test]
    fn ring_back_and_hidden_numbers_pair_on_time_alone() {
        let t = Instant::now();
        assert!(same_call(
            ring(t, Some("102"), true),
            ring(t, Some("900"), false),
            WINDOW
        ));
        assert!(same_call(
            ring(t, Some("102"), false),
            ring(t, Some("anonymous"), false),
            WINDOW
        ));
        assert!(same_call(ring(t, None, false), ring(t, Some("102"), false), WINDOW));
    }

    #[test]
    fn the_closest_candidate_wins() {
        let t = Instant::now();
        let target = ring(t + Duration::from_secs(2), None, false);
        let candidates = [
            (0, ring(t, None, false)),
            (1, ring(t + Duration::from_secs(3), None, false)),
        ];
        assert_eq!(best(target, candidates, WINDOW, false), Some(1));
    }
}
