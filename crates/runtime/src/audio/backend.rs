//! Where samples meet a device: the [`AudioBackend`] trait and the ring-buffer stream handles.
//!
//! A backend opens a device and hands back a [`Capture`] or [`Playback`]: the application's end
//! of a lock-free single-producer single-consumer ring (`rtrb`) of mono `i16` samples at the
//! device's own rate. The other end belongs to the device side: a real-time cpal callback
//! ([`cpal`]) or the test clock of the WAV backend ([`wav`]). Rate conversion to the codec
//! happens outside, in [`crate::audio::call_audio`], so the callback only copies, mixes channels
//! and counts; it never locks, allocates or logs.
//!
//! Underruns (the device wanted samples the ring did not have) are played as silence and
//! counted; overruns (the microphone produced samples nobody took) drop the newest and are
//! counted. A device that fails (unplugged, server gone) raises a flag the pump checks each
//! time it runs, which is how hot-plug reaches [`crate::audio::devices`]; a device that just
//! stops calling back shows as a progress counter that no longer moves.

pub mod cpal;
pub mod wav;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rtrb::{Consumer, Producer, RingBuffer};

use super::AudioError;

/// How much audio a ring holds: deep enough to ride out a late pump wake-up, small enough to
/// bound the delay it can add.
pub const RING_DEPTH: Duration = Duration::from_millis(200);

/// Capture (microphone) or playback (speaker, headset, ringer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sound in.
    Capture,
    /// Sound out.
    Playback,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Capture => "capture",
            Direction::Playback => "playback",
        })
    }
}

/// A device as the settings page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name the user sees and the settings store.
    pub name: String,
    /// Capture or playback.
    pub direction: Direction,
    /// Whether the system currently routes this direction here by default.
    pub is_default: bool,
}

/// A sound system: lists devices and opens streams on them.
///
/// `device: None` opens the system default. Streams are mono at the device's own sample rate
/// (reported by the handle); channel mixing happens on the device side.
pub trait AudioBackend: Send + Sync + fmt::Debug {
    /// Every device currently connected, capture and playback.
    fn devices(&self) -> Result<Vec<DeviceInfo>, AudioError>;
    /// Starts capturing from `device`.
    fn open_capture(&self, device: Option<&str>) -> Result<Capture, AudioError>;
    /// Starts playing to `device`.
    fn open_playback(&self, device: Option<&str>) -> Result<Playback, AudioError>;
}

/// State shared between a stream's device side and its application side; atomics only.
#[derive(Debug, Default)]
pub(crate) struct StreamShared {
    failed: AtomicBool,
    xruns: AtomicU64,
    /// Samples the device side has moved: a stream whose count stops is stalled.
    progress: AtomicU64,
}

impl StreamShared {
    pub(crate) fn fail(&self) {
        self.failed.store(true, Ordering::Release);
    }

    pub(crate) fn count_xrun(&self) {
        self.xruns.fetch_add(1, Ordering::Relaxed);
    }

    /// Called once per device period with the samples it moved.
    pub(crate) fn advance(&self, samples: usize) {
        self.progress.fetch_add(samples as u64, Ordering::Relaxed);
    }
}

fn ring_capacity(rate: u32) -> usize {
    (u128::from(rate) * RING_DEPTH.as_millis() / 1000).max(1) as usize
}

/// The device's end of a capture ring.
#[derive(Debug)]
pub(crate) struct CaptureFeed {
    pub(crate) producer: Producer<i16>,
    pub(crate) shared: Arc<StreamShared>,
}

impl CaptureFeed {
    /// Queues one captured sample; when the application is behind the sample is dropped and
    /// the callback should report an overrun once.
    pub(crate) fn push(&mut self, sample: i16) -> bool {
        self.producer.push(sample).is_ok()
    }
}

/// The device's end of a playback ring.
#[derive(Debug)]
pub(crate) struct PlaybackDrain {
    pub(crate) consumer: Consumer<i16>,
    pub(crate) shared: Arc<StreamShared>,
    /// Nothing was ever queued: silence before the first frame is start-up, not an underrun.
    started: bool,
}

impl PlaybackDrain {
    /// The next sample for the device, or `None` when the ring ran dry (play silence, then
    /// call [`Self::ran_dry`] once for the callback).
    pub(crate) fn next_sample(&mut self) -> Option<i16> {
        let sample = self.consumer.pop().ok();
        self.started |= sample.is_some();
        sample
    }

    /// Counts one underrun for a device period that found the ring short.
    pub(crate) fn ran_dry(&self) {
        if self.started {
            self.shared.count_xrun();
        }
    }

    /// Fills `out` from the ring, silence where it runs dry.
    pub(crate) fn fill(&mut self, out: &mut [i16]) {
        let mut short = false;
        for slot in out.iter_mut() {
            *slot = self.next_sample().unwrap_or_else(|| {
                short = true;
                0
            });
        }
        if short {
            self.ran_dry();
        }
        self.shared.advance(out.len());
    }

    /// Whether the application dropped its [`Playback`] (the stream is over).
    pub(crate) fn is_abandoned(&self) -> bool {
        self.consumer.is_abandoned()
    }
}

/// The application's end of a capture stream: 20 ms frames of the microphone.
#[derive(Debug)]
pub struct Capture {
    consumer: Consumer<i16>,
    shared: Arc<StreamShared>,
    rate: u32,
    device: String,
    /// Keeps the real stream (a cpal stream) alive for as long as the handle lives.
    _stream: Option<Box<dyn fmt::Debug + Send>>,
}

impl Capture {
    /// A new ring for a capture stream at `rate`; the feed goes to the device side.
    pub(crate) fn new(rate: u32, device: String) -> (CaptureFeed, Self) {
        let (producer, consumer) = RingBuffer::new(ring_capacity(rate));
        let shared = Arc::new(StreamShared::default());
        let feed = CaptureFeed {
            producer,
            shared: Arc::clone(&shared),
        };
        let capture = Self {
            consumer,
            shared,
            rate,
            device,
            _stream: None,
        };
        (feed, capture)
    }

    pub(crate) fn keep_alive(mut self, stream: Box<dyn fmt::Debug + Send>) -> Self {
        self._stream = Some(stream);
        self
    }

    /// The device's sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// The device's name.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Samples waiting in the ring.
    pub fn available(&self) -> usize {
        self.consumer.slots()
    }

    /// Fills `out` completely, or returns `false` and takes nothing if not enough is queued.
    /// An empty `out` reads nothing (a zero-length frame would otherwise "succeed" forever).
    pub fn read(&mut self, out: &mut [i16]) -> bool {
        if out.is_empty() || self.consumer.slots() < out.len() {
            return false;
        }
        match self.consumer.read_chunk(out.len()) {
            Ok(chunk) => {
                let (first, second) = chunk.as_slices();
                let (head, tail) = out.split_at_mut(first.len());
                head.copy_from_slice(first);
                tail.copy_from_slice(second);
                chunk.commit_all();
                true
            }
            Err(_) => false,
        }
    }

    /// Times the microphone produced more than the application took.
    pub fn overruns(&self) -> u64 {
        self.shared.xruns.load(Ordering::Relaxed)
    }

    /// Samples the device has delivered since the stream opened (including dropped ones).
    pub fn progress(&self) -> u64 {
        self.shared.progress.load(Ordering::Relaxed)
    }

    /// Whether the device failed (unplugged, server gone): the stream will deliver no more.
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire) || self.consumer.is_abandoned()
    }
}

/// The application's end of a playback stream.
#[derive(Debug)]
pub struct Playback {
    producer: Producer<i16>,
    shared: Arc<StreamShared>,
    rate: u32,
    device: String,
    /// Keeps the real stream (a cpal stream) alive for as long as the handle lives.
    _stream: Option<Box<dyn fmt::Debug + Send>>,
}

impl Playback {
    /// A new ring for a playback stream at `rate`; the drain goes to the device side.
    pub(crate) fn new(rate: u32, device: String) -> (PlaybackDrain, Self) {
        let (producer, consumer) = RingBuffer::new(ring_capacity(rate));
        let shared = Arc::new(StreamShared::default());
        let drain = PlaybackDrain {
            consumer,
            shared: Arc::clone(&shared),
            started: false,
        };
        let playback = Self {
            producer,
            shared,
            rate,
            device,
            _stream: None,
        };
        (drain, playback)
    }

    pub(crate) fn keep_alive(mut self, stream: Box<dyn fmt::Debug + Send>) -> Self {
        self._stream = Some(stream);
        self
    }

    /// The device's sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// The device's name.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Samples queued and not yet taken by the device.
    pub fn queued(&self) -> usize {
        self.producer.buffer().capacity() - self.producer.slots()
    }

    /// Queues as much of `samples` as fits; returns how many were taken.
    pub fn write(&mut self, samples: &[i16]) -> usize {
        let n = samples.len().min(self.producer.slots());
        match self.producer.write_chunk(n) {
            Ok(mut chunk) => {
                let (first, second) = chunk.as_mut_slices();
                let (head, tail) = samples[..n].split_at(first.len());
                first.copy_from_slice(head);
                second.copy_from_slice(tail);
                chunk.commit_all();
                n
            }
            Err(_) => 0,
        }
    }

    /// Times the device found the ring empty after playback had started.
    pub fn underruns(&self) -> u64 {
        self.shared.xruns.load(Ordering::Relaxed)
    }

    /// Samples the device has played since the stream opened (including silence).
    pub fn progress(&self) -> u64 {
        self.shared.progress.load(Ordering::Relaxed)
    }

    /// Whether the device failed (unplugged, server gone): nothing written will be heard.
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire) || self.producer.is_abandoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_reads_whole_frames_only_and_across_the_ring_wrap() {
        let (mut feed, mut capture) = Capture::new(1000, "mic".into());
        let capacity = ring_capacity(1000);
        assert_eq!(capacity, 200);
        let mut frame = [0i16; 60];
        let mut next = 0i16;
        let mut expected = 0i16;
        for _ in 0..10 {
            for _ in 0..60 {
                assert!(feed.push(next));
                next = next.wrapping_add(1);
            }
            assert!(capture.read(&mut frame));
            for s in frame {
                assert_eq!(s, expected);
                expected = expected.wrapping_add(1);
            }
        }
        assert!(feed.push(1));
        assert!(!capture.read(&mut frame), "a partial frame stays queued");
        assert_eq!(capture.available(), 1);
        assert!(!capture.read(&mut []), "an empty frame is never read");
    }

    #[test]
    fn a_full_capture_ring_refuses_samples() {
        let (mut feed, capture) = Capture::new(1000, "mic".into());
        for _ in 0..200 {
            assert!(feed.push(0));
        }
        assert!(!feed.push(0));
        assert_eq!(capture.available(), 200);
    }

    #[test]
    fn playback_takes_what_fits_and_the_device_plays_it_in_order() {
        let (mut drain, mut playback) = Playback::new(1000, "speaker".into());
        let samples: Vec<i16> = (0..250).collect();
        assert_eq!(playback.write(&samples), 200, "the ring holds RING_DEPTH");
        assert_eq!(playback.queued(), 200);
        let mut out = [0i16; 150];
        drain.fill(&mut out);
        assert_eq!(out[0], 0);
        assert_eq!(out[149], 149);
        assert_eq!(playback.write(&samples[200..]), 50);
        let mut rest = [0i16; 100];
        drain.fill(&mut rest);
        assert_eq!(rest[0], 150);
        assert_eq!(rest[99], 249);
        assert_eq!(playback.underruns(), 0);
    }

    #[test]
    fn silence_before_the_first_sample_is_start_up_but_afterwards_an_underrun() {
        let (mut drain, mut playback) = Playback::new(1000, "speaker".into());
        let mut out = [7i16; 20];
        drain.fill(&mut out);
        assert_eq!(out, [0; 20]);
        assert_eq!(playback.underruns(), 0);
        playback.write(&[5; 10]);
        drain.fill(&mut out);
        assert_eq!(&out[..10], &[5; 10]);
        assert_eq!(&out[10..], &[0; 10]);
        assert_eq!(playback.underruns(), 1, "one per short period, not per sample");
    }

    #[test]
    fn a_failed_or_dropped_device_side_marks_the_stream_failed() {
        let (drain, playback) = Playback::new(1000, "speaker".into());
        assert!(!playback.failed());
        drain.shared.fail();
        assert!(playback.failed());

        let (feed, capture) = Capture::new(1000, "mic".into());
        assert!(!capture.failed());
        drop(feed);
        assert!(capture.failed());
    }
}
