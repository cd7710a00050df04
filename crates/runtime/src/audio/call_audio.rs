//! One call's audio pump: device rings on one side, the [`MediaStream`] on the other.
//!
//! ```text
//!  capture ring ──► 20 ms at device rate ──► meter ──► resample ──► mic processing ──► send_frame(now)
//!  (as many whole frames as the microphone delivered: the  AEC, NS, AGC, mute  ▲
//!   capture clock paces sending; after FREEWHEEL_AFTER                         │ far-end reference
//!   without any, silence on the caller's clock keeps RTP flowing)              │
//!                                                                      echo reference queue
//!  while the playback ring holds less than PLAYOUT_AHEAD:                      ▲
//!      play_frame(now) ──┬──────────────────────────────────────────────────────┘
//!                        └─► resample (trimmed by the jitter buffer's playout rate) ──► ring
//!  (the sound card's consumption, not a timer, decides how many frames are pulled)
//!
//!  speaker took nothing for FREEWHEEL_AFTER (starting, stalled, being replaced):
//!      play_frame(now) per elapsed 20 ms, discarded: the jitter buffer keeps pace
//! ```
//!
//! The sound card and the far end's RTP clock never run at exactly the same speed. Because
//! frames are pulled only when the device has consumed audio, the jitter buffer sees the
//! device's clock; the drift it measures comes back as `playout_rate` and is applied as a tiny
//! resampling ratio change rather than as dropped or repeated frames.
//!
//! The microphone chain ([`media::processing`]) runs at the codec's rate on each frame before
//! it is encoded. Its echo reference is exactly what was handed to the speaker, taken when the
//! frame goes into the playback path, so it precedes its echo by the playback ring and device
//! latency; the [`EchoReference`] queue lines the two up and stays short because both devices
//! run on the sound card's clock. A call opens with the chain off (the microphone passes
//! unchanged); the owner applies the operator's settings with [`CallAudio::set_processing`]
//! and may change them, and mute, at any time while the call runs. A failure inside the
//! chain (our bug) switches it off with a warning rather than silencing the call.
//!
//! The owner (the media task) calls [`CallAudio::pump`] every few milliseconds with the
//! stream it owns, then drains the stream's transmits; [`CallAudio::follow_devices`] every
//! second or two. Nothing here blocks, sleeps or reads the clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use media::processing::{EchoReference, MicProcessor, ProcessingConfig, ProcessingError, ProcessingStats};
use media::resample::Resampler;
use media::stream::MediaStream;
use tracing::{info, warn};

use super::devices::{DeviceEvent, DevicePreferences, Role, Routed};
use super::meter::{Level, LevelCell};
use super::{AudioBackend, AudioError, Capture, FRAME, Playback, frame_samples};

/// How much audio the pump keeps queued for the speaker: two frames. Less starves the device
/// when the pump wakes late; more is delay the operator hears.
pub const PLAYOUT_AHEAD: Duration = Duration::from_millis(40);

/// A speaker that has taken nothing for this long no longer sets the pace: frames are pulled
/// on the caller's clock and discarded, so the jitter buffer keeps up with the far end while
/// the device starts, stalls, or is being replaced, instead of falling seconds behind.
pub const FREEWHEEL_AFTER: Duration = Duration::from_millis(100);

/// The most far-end audio waiting to be matched with the microphone. In steady state the
/// queue holds what the pump keeps ahead of the speaker (PLAYOUT_AHEAD); more would delay
/// the reference past its own echo, which no canceller can follow.
pub const ECHO_REFERENCE_DEPTH: Duration = Duration::from_millis(80);

/// Counters for the diagnostics pane.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallAudioStats {
    /// Frames of microphone audio handed to the media stream.
    pub frames_sent: u64,
    /// Frames of silence sent in their place while the microphone delivered nothing.
    pub silent_frames_sent: u64,
    /// Frames taken from the media stream for the speaker.
    pub frames_played: u64,
    /// Frames taken from the media stream and dropped because the speaker took nothing.
    pub frames_discarded: u64,
    /// Speaker periods that found the ring short (heard as a gap), on the current device.
    pub underruns: u64,
    /// Microphone periods dropped because the pump was behind, on the current device.
    pub overruns: u64,
    /// Streams reopened after their device failed or went away (both directions).
    pub device_restarts: u64,
    /// The microphone in use.
    pub microphone: String,
    /// The speaker in use.
    pub speaker: String,
}

/// The per-call pump. See the module documentation.
#[derive(Debug)]
pub struct CallAudio {
    microphone: Routed<Capture>,
    speaker: Routed<Playback>,
    codec_rate: u32,
    to_codec: Resampler,
    to_device: Resampler,
    device_frame: Vec<i16>,
    codec_frame: Vec<i16>,
    out: Vec<i16>,
    /// The microphone chain; `None` once it failed (the microphone then passes unchanged).
    processor: Option<MicProcessor>,
    muted: bool,
    reference: EchoReference,
    far_frame: Vec<i16>,
    processed: Vec<i16>,
    mic_level: LevelCell,
    frames_sent: u64,
    frames_played: u64,
    frames_discarded: u64,
    silent_frames_sent: u64,
    /// When the speaker last took a frame (or freewheeling last caught up).
    last_pull: Option<Instant>,
    /// When the microphone last delivered a frame (or silence last caught up).
    last_capture: Option<Instant>,
}

impl CallAudio {
    /// Opens the microphone and speaker for a call whose codec runs at `codec_rate`, with the
    /// microphone chain off and unmuted. Device substitutions (a preferred device missing) are
    /// appended to `events`.
    pub fn open(
        backend: Arc<dyn AudioBackend>,
        preferences: &DevicePreferences,
        codec_rate: u32,
        events: &mut Vec<DeviceEvent>,
    ) -> Result<Self, AudioError> {
        let (microphone, event) = Routed::<Capture>::open(
            Arc::clone(&backend),
            Role::Microphone,
            preferences.for_role(Role::Microphone),
        )?;
        events.extend(event);
        let (speaker, event) = Routed::<Playback>::open(backend, Role::Speaker, preferences.for_role(Role::Speaker))?;
        events.extend(event);
        let mic_rate = microphone.stream().sample_rate();
        let speaker_rate = speaker.stream().sample_rate();
        // Every codec rate we negotiate is one the chain supports; should one not be, the
        // call still has audio, only without processing.
        let processor = MicProcessor::new(codec_rate, ProcessingConfig::off())
            .inspect_err(|error| warn!(%error, codec_rate, "microphone processing unavailable"))
            .ok();
        Ok(Self {
            to_codec: Resampler::new(mic_rate, codec_rate)?,
            to_device: Resampler::new(codec_rate, speaker_rate)?,
            device_frame: vec![0; frame_samples(mic_rate)],
            codec_frame: vec![0; frame_samples(codec_rate)],
            out: vec![0; frame_samples(speaker_rate) * 2],
            processor,
            muted: false,
            reference: EchoReference::new(codec_rate, ECHO_REFERENCE_DEPTH),
            far_frame: vec![0; frame_samples(codec_rate)],
            processed: vec![0; frame_samples(codec_rate)],
            codec_rate,
            microphone,
            speaker,
            mic_level: LevelCell::new(),
            frames_sent: 0,
            frames_played: 0,
            frames_discarded: 0,
            silent_frames_sent: 0,
            last_pull: None,
            last_capture: None,
        })
    }

    /// The microphone level, latest-wins, for the UI.
    pub fn mic_level(&self) -> LevelCell {
        self.mic_level.clone()
    }

    /// Mutes or unmutes the microphone. While muted the far end gets comfort noise and the
    /// echo canceller keeps learning, so unmuting is clean at once; the call and its RTP go on.
    /// The microphone level is still published, so the UI can tell an operator who talks
    /// into a muted microphone.
    pub fn set_muted(&mut self, muted: bool) {
        if muted != self.muted {
            info!(muted, "microphone {}", if muted { "muted" } else { "unmuted" });
        }
        self.muted = muted;
        if let Some(processor) = &mut self.processor {
            processor.set_muted(muted);
        }
    }

    /// Whether the microphone is muted.
    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// Applies new microphone processing settings (echo cancellation, noise suppression, gain
    /// control) to the running call; stages whose settings did not change keep what they
    /// learnt. Settings out of range are refused and the old ones stay.
    pub fn set_processing(&mut self, config: ProcessingConfig) -> Result<(), ProcessingError> {
        let processor = match &mut self.processor {
            Some(processor) => processor,
            None => self
                .processor
                .insert(MicProcessor::new(self.codec_rate, ProcessingConfig::off())?),
        };
        processor.reconfigure(config)?;
        processor.set_muted(self.muted);
        info!(
            echo_cancellation = config.echo_cancellation,
            echo_tail_ms = config.echo_tail.as_millis() as u64,
            noise_suppression = config.noise_suppression,
            noise_suppression_db = config.noise_suppression_db,
            automatic_gain = config.automatic_gain,
            gain_target_dbfs = config.gain_target_dbfs,
            "microphone processing set"
        );
        Ok(())
    }

    /// The microphone processing settings in force (all off if the chain failed).
    pub fn processing(&self) -> ProcessingConfig {
        self.processor
            .as_ref()
            .map_or_else(ProcessingConfig::off, MicProcessor::config)
    }

    /// What the microphone chain has been doing: echo return loss enhancement, double talk,
    /// gain, muted frames.
    pub fn processing_stats(&self) -> ProcessingStats {
        self.processor.as_ref().map(MicProcessor::stats).unwrap_or_default()
    }

    /// Counters and the devices in use.
    pub fn stats(&self) -> CallAudioStats {
        CallAudioStats {
            frames_sent: self.frames_sent,
            silent_frames_sent: self.silent_frames_sent,
            frames_played: self.frames_played,
            frames_discarded: self.frames_discarded,
            underruns: self.speaker.stream().underruns(),
            overruns: self.microphone.stream().overruns(),
            device_restarts: self.microphone.restarts() + self.speaker.restarts(),
            microphone: self.microphone.stream().device().to_owned(),
            speaker: self.speaker.stream().device().to_owned(),
        }
    }

    /// Moves captured audio into `stream` and the stream's audio to the speaker, as far as the
    /// devices have produced and consumed. Device failures are handled here (the default takes
    /// over) and reported in `events`.
    pub fn pump(
        &mut self,
        now: Instant,
        stream: &mut MediaStream,
        events: &mut Vec<DeviceEvent>,
    ) -> Result<(), AudioError> {
        if self.microphone.recover(now, events) {
            self.rebuild_capture()?;
        }
        if self.speaker.recover(now, events) {
            self.rebuild_playback()?;
        }
        self.send_captured(now, stream)?;
        self.play_received(now, stream)
    }

    /// Compares the devices in use with the current device list (see [`Routed::follow`]).
    pub fn follow_devices(&mut self, events: &mut Vec<DeviceEvent>) -> Result<(), AudioError> {
        let devices = self.microphone.backend().devices()?;
        if self.microphone.follow(&devices, events) {
            self.rebuild_capture()?;
        }
        if self.speaker.follow(&devices, events) {
            self.rebuild_playback()?;
        }
        Ok(())
    }

    fn rebuild_capture(&mut self) -> Result<(), AudioError> {
        let rate = self.microphone.stream().sample_rate();
        self.to_codec = Resampler::new(rate, self.codec_rate)?;
        self.device_frame.resize(frame_samples(rate), 0);
        Ok(())
    }

    fn rebuild_playback(&mut self) -> Result<(), AudioError> {
        let rate = self.speaker.stream().sample_rate();
        self.to_device = Resampler::new(self.codec_rate, rate)?;
        self.out.resize(frame_samples(rate) * 2, 0);
        Ok(())
    }

    fn send_captured(&mut self, now: Instant, stream: &mut MediaStream) -> Result<(), AudioError> {
        let mut captured = false;
        while self.microphone.stream_mut().read(&mut self.device_frame) {
            captured = true;
            self.mic_level.publish(Level::measure(&self.device_frame));
            self.to_codec.push(&self.device_frame)?;
            while self.to_codec.pull(&mut self.codec_frame) {
                self.reference.pull(&mut self.far_frame);
                self.process_microphone();
                stream.send_frame(now, &self.processed)?;
                self.frames_sent += 1;
            }
        }
        let last = *self.last_capture.get_or_insert(now);
        if captured {
            self.last_capture = Some(now);
            return Ok(());
        }
        if now.saturating_duration_since(last) < FREEWHEEL_AFTER {
            return Ok(());
        }
        // No microphone audio (starting, stalled, being replaced): send silence on the
        // caller's clock, because a PBX may hang up a call whose RTP stops.
        self.codec_frame.fill(0);
        let mut at = last;
        while at + FRAME <= now {
            stream.send_frame(now, &self.codec_frame)?;
            self.silent_frames_sent += 1;
            at += FRAME;
        }
        self.last_capture = Some(at);
        Ok(())
    }

    /// Runs the chain on `codec_frame` against `far_frame` into `processed`.
    fn process_microphone(&mut self) {
        if let Some(processor) = &mut self.processor {
            match processor.process(&self.codec_frame, &self.far_frame, &mut self.processed) {
                Ok(()) => return,
                Err(error) => {
                    warn!(%error, "microphone processing failed; sending the microphone unprocessed");
                    self.processor = None;
                }
            }
        }
        // Without the chain there is no comfort noise: mute sends digital silence.
        if self.muted {
            self.processed.fill(0);
        } else {
            self.processed.copy_from_slice(&self.codec_frame);
        }
    }

    fn play_received(&mut self, now: Instant, stream: &mut MediaStream) -> Result<(), AudioError> {
        let rate = self.speaker.stream().sample_rate();
        let ahead = (u128::from(rate) * PLAYOUT_AHEAD.as_millis() / 1000) as usize;
        self.to_device
            .set_playout_rate(stream.stats().jitter_buffer.playout_rate())?;
        // Bounded: a device that stopped consuming must not keep the pump here.
        let max_frames = (super::backend::RING_DEPTH.as_millis() / FRAME.as_millis()) as usize;
        let mut pulled = false;
        for _ in 0..max_frames {
            if !self.speaker.is_live() || self.speaker.stream().queued() >= ahead {
                break;
            }
            let frame = stream.play_frame(now);
            self.to_device.push(frame.samples)?;
            self.reference.push(frame.samples);
            self.frames_played += 1;
            pulled = true;
            let ready = self.to_device.available().min(self.out.len());
            if let Some(out) = self.out.get_mut(..ready)
                && self.to_device.pull(out)
            {
                self.speaker.stream_mut().write(out);
            }
        }
        self.freewheel(now, pulled, stream);
        Ok(())
    }

    /// Keeps the jitter buffer ticking on the caller's clock while the speaker takes nothing.
    fn freewheel(&mut self, now: Instant, pulled: bool, stream: &mut MediaStream) {
        let last = *self.last_pull.get_or_insert(now);
        if pulled {
            self.last_pull = Some(now);
            return;
        }
        if now.saturating_duration_since(last) < FREEWHEEL_AFTER {
            return;
        }
        let mut at = last;
        while at + FRAME <= now {
            stream.play_frame(now);
            self.frames_discarded += 1;
            at += FRAME;
        }
        self.last_pull = Some(at);
    }
}
