//! The far end's audio as it went to the speaker, queued until the microphone frame that may
//! carry its echo is processed.
//!
//! The call pump pushes every frame it hands to the speaker and pulls one frame of reference
//! for every microphone frame. Both devices run on the sound card's clock, so the queue stays
//! short; what it holds is delay taken off the echo path the canceller sees, which must stay
//! positive (the echo can only come after the sound). The queue is therefore bounded: when
//! the speaker runs ahead of the microphone the oldest audio is dropped, and when it falls
//! behind (a stalled or starting speaker) silence stands in, which the canceller treats as a
//! far end that is not talking. Both are counted.

use std::collections::VecDeque;
use std::time::Duration;

/// The bounded far-end queue. See the module documentation.
#[derive(Debug)]
pub struct EchoReference {
    samples: VecDeque<i16>,
    capacity: usize,
    dropped: u64,
    starved: u64,
}

impl EchoReference {
    /// A queue holding at most `depth` of audio at `sample_rate`.
    pub fn new(sample_rate: u32, depth: Duration) -> Self {
        let capacity = (u128::from(sample_rate) * depth.as_millis() / 1000).max(1) as usize;
        Self {
            samples: VecDeque::with_capacity(capacity),
            capacity,
            dropped: 0,
            starved: 0,
        }
    }

    /// Queues audio that has just gone to the speaker.
    pub fn push(&mut self, played: &[i16]) {
        self.samples.extend(played);
        let excess = self.samples.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.samples.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Fills `out` with the oldest queued audio, silence where there is none.
    pub fn pull(&mut self, out: &mut [i16]) {
        let available = out.len().min(self.samples.len());
        for (slot, sample) in out.iter_mut().zip(self.samples.drain(..available)) {
            *slot = sample;
        }
        if let Some(rest) = out.get_mut(available..)
            && !rest.is_empty()
        {
            rest.fill(0);
            self.starved += rest.len() as u64;
        }
    }

    /// Samples queued.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Samples dropped because the speaker ran ahead of the microphone.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Samples of silence pulled because the speaker fell behind.
    pub fn starved(&self) -> u64 {
        self.starved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_comes_out_in_order_and_silence_fills_a_short_queue() {
        let mut reference = EchoReference::new(1000, Duration::from_millis(10));
        reference.push(&[1, 2, 3]);
        let mut out = [9i16; 5];
        reference.pull(&mut out);
        assert_eq!(out, [1, 2, 3, 0, 0]);
        assert_eq!(reference.starved(), 2);
        assert!(reference.is_empty());
    }

    #[test]
    fn a_speaker_running_ahead_drops_the_oldest_audio() {
        let mut reference = EchoReference::new(1000, Duration::from_millis(4));
        reference.push(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(reference.len(), 4);
        assert_eq!(reference.dropped(), 2);
        let mut out = [0i16; 4];
        reference.pull(&mut out);
        assert_eq!(out, [3, 4, 5, 6]);
        assert_eq!(reference.starved(), 0);
    }
}
