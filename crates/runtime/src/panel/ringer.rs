//! The ringtone on the ringer device (speakers, heard with the headset off) while the softphone
//! rings: [`call::Effect::StartRingtone`] and [`call::Effect::StopRingtone`] made audible.
//!
//! Opening a sound device can block for seconds, so the tone plays on a thread of its own that
//! keeps the device fed every 20 ms until told to stop; the caller never waits on the sound
//! system. A machine without a usable device logs why and stays silent: the popup and the
//! notification still show the call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::audio::AudioBackend;
use crate::audio::devices::Role;
use crate::audio::tones::{TonePlayer, ToneSpec};

/// How often the playing thread tops the device up.
const PUMP_EVERY: Duration = Duration::from_millis(20);

/// Starts and stops the ringtone.
#[derive(Debug)]
pub struct Ringer {
    backend: Arc<dyn AudioBackend>,
    device: Option<String>,
    tone: ToneSpec,
    /// Set to stop the tone that plays now.
    playing: Option<Arc<AtomicBool>>,
}

impl Ringer {
    /// A ringer playing `tone` on `device` (the system default when `None` or absent).
    pub fn new(backend: Arc<dyn AudioBackend>, device: Option<String>, tone: ToneSpec) -> Ringer {
        Ringer {
            backend,
            device,
            tone,
            playing: None,
        }
    }

    /// Starts ringing, unless it already rings.
    pub fn start(&mut self) {
        if self.playing.is_some() {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let backend = Arc::clone(&self.backend);
        let device = self.device.clone();
        let tone = self.tone.clone();
        let stopped = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("ringer".into())
            .spawn(move || ring(backend, device.as_deref(), tone, &stopped));
        match spawned {
            Ok(_) => self.playing = Some(stop),
            Err(error) => tracing::warn!(%error, "cannot start the ringtone thread"),
        }
    }

    /// Stops ringing; the thread lets go of the device within one pump period.
    pub fn stop(&mut self) {
        if let Some(stop) = self.playing.take() {
            stop.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the ringtone plays now.
    pub fn is_ringing(&self) -> bool {
        self.playing.is_some()
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ring(backend: Arc<dyn AudioBackend>, device: Option<&str>, tone: ToneSpec, stop: &AtomicBool) {
    let mut player = match TonePlayer::start(backend, Role::Ringer, device, tone) {
        Ok((player, event)) => {
            if let Some(event) = event {
                tracing::info!(message = %event.message(), "ringer device");
            }
            player
        }
        Err(error) => {
            tracing::warn!(%error, "no ringtone: the ringer device cannot play");
            return;
        }
    };
    tracing::debug!(device = player.device(), "ringing");
    let mut events = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if let Err(error) = player.pump(Instant::now(), &mut events) {
            tracing::warn!(%error, "the ringtone stopped: the ringer device failed");
            return;
        }
        for event in events.drain(..) {
            tracing::info!(message = %event.message(), "ringer device");
        }
        std::thread::sleep(PUMP_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use crate::audio::Direction;
    use crate::audio::backend::wav::{WavBackend, read_mono};

    use super::*;

    #[test]
    fn the_ringtone_plays_on_the_ringer_device_until_stopped() {
        let folder = tempfile::tempdir().unwrap();
        let speakers = folder.path().join("speakers.wav");
        let headset = folder.path().join("headset.wav");
        let backend = WavBackend::new();
        backend.add_output("Headset", 48_000, &headset).unwrap();
        backend.add_output("Speakers", 48_000, &speakers).unwrap();
        backend.set_default(Direction::Playback, "Headset");
        let mut ringer = Ringer::new(Arc::new(backend.clone()), Some("Speakers".into()), ToneSpec::Ringtone);
        ringer.start();
        ringer.start();
        assert!(ringer.is_ringing());
        for _ in 0..25 {
            std::thread::sleep(PUMP_EVERY);
            backend.advance(PUMP_EVERY).unwrap();
        }
        ringer.stop();
        assert!(!ringer.is_ringing());
        backend.finish().unwrap();
        let (_, rung) = read_mono(&speakers).unwrap();
        let (_, quiet) = read_mono(&headset).unwrap();
        assert!(
            rung.iter().any(|s| s.unsigned_abs() > 1000),
            "the speakers stayed silent"
        );
        assert!(quiet.iter().all(|s| *s == 0), "the ringtone went to the headset");
    }
}
