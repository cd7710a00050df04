//! The settings window's audio check: a live level for the chosen microphone and a test sound on the chosen
//! headset or ringer, so the operator sees and hears the devices work before the first call rather than during it.
//!
//! Both run on threads of their own at the audio pace (20 ms), away from the main thread and the async runtime.
//! The meter stops when asked, when the settings window is gone, or after [`METER_LIMIT`] so a forgotten window
//! never holds the microphone all day.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use runtime::audio::backend::cpal::CpalBackend;
use runtime::audio::devices::{DeviceEvent, Role};
use runtime::audio::meter::{Level, MicMeter};
use runtime::audio::tones::{TonePlayer, ToneSpec};
use runtime::audio::{AudioBackend, AudioError, FRAME};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use crate::settings::SettingsError;
use crate::windows;

/// The event the settings window draws its level bar from.
pub const LEVEL_EVENT: &str = "audio-level";
/// How often the window gets a level: smooth enough for a bar, cheap enough to ignore.
const PUBLISH_EVERY: u32 = 5;
/// The longest a meter runs unattended.
const METER_LIMIT: Duration = Duration::from_secs(10 * 60);
/// How long the test sound plays: one chime and the start of the next.
const TEST_SOUND: Duration = Duration::from_millis(2500);

/// The running meter, if any: its stop flag.
#[derive(Debug, Default)]
pub struct AudioCheck {
    meter: Mutex<Option<Arc<AtomicBool>>>,
}

impl AudioCheck {
    fn replace(&self, next: Option<Arc<AtomicBool>>) {
        let previous = std::mem::replace(&mut *self.meter.lock().unwrap_or_else(PoisonError::into_inner), next);
        if let Some(stop) = previous {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// One reading for the window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LevelView {
    /// The device measured (the default's name when none was chosen).
    pub device: String,
    /// RMS level, dBFS.
    pub rms_dbfs: f32,
    /// Peak level, dBFS.
    pub peak_dbfs: f32,
}

/// Meters `meter` until `keep_going` says no or the limit passes: `tick` waits one frame (sleeps on a real device,
/// advances the clock of a test one), `publish` gets every [`PUBLISH_EVERY`]th level and any device news.
fn run_meter(
    meter: &mut MicMeter,
    mut keep_going: impl FnMut() -> bool,
    mut tick: impl FnMut(),
    mut publish: impl FnMut(Level, &[DeviceEvent]),
) {
    let cell = meter.level();
    let started = Instant::now();
    let mut events = Vec::new();
    let mut frames = 0u32;
    while keep_going() && started.elapsed() < METER_LIMIT {
        tick();
        meter.pump(Instant::now(), &mut events);
        frames = frames.wrapping_add(1);
        if frames.is_multiple_of(PUBLISH_EVERY) || !events.is_empty() {
            publish(cell.latest(), &events);
            events.clear();
        }
    }
}

/// Plays the ringtone on `player` for `frames` frames, `tick` pacing it like [`run_meter`]'s.
fn play(player: &mut TonePlayer, frames: u32, mut tick: impl FnMut()) -> Result<Vec<DeviceEvent>, AudioError> {
    let mut events = Vec::new();
    for _ in 0..frames {
        tick();
        player.pump(Instant::now(), &mut events)?;
    }
    Ok(events)
}

fn chosen(device: Option<String>) -> Option<String> {
    device.filter(|name| !name.trim().is_empty())
}

fn audio_error(err: impl std::fmt::Display) -> SettingsError {
    SettingsError::new("audio", err.to_string())
}

/// Starts the level meter on `device` (the system default when empty), replacing a running one; returns the name
/// of the device measured.
#[tauri::command]
pub async fn audio_meter_start<R: Runtime>(
    app: AppHandle<R>,
    check: State<'_, AudioCheck>,
    device: Option<String>,
) -> Result<String, SettingsError> {
    let stop = Arc::new(AtomicBool::new(false));
    check.replace(Some(Arc::clone(&stop)));
    let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
    let device = chosen(device);
    std::thread::Builder::new()
        .name("settings-meter".into())
        .spawn(move || {
            let backend: Arc<dyn AudioBackend> = Arc::new(CpalBackend::new());
            let mut meter = match MicMeter::open(backend, device.as_deref()) {
                Ok((meter, _)) => meter,
                Err(err) => {
                    let _ = opened_tx.send(Err(err.to_string()));
                    return;
                }
            };
            let name = meter.device().to_owned();
            let _ = opened_tx.send(Ok(name.clone()));
            run_meter(
                &mut meter,
                || !stop.load(Ordering::Relaxed) && app.get_webview_window(windows::SETTINGS).is_some(),
                || std::thread::sleep(FRAME),
                |level, events| {
                    for event in events {
                        tracing::info!(message = %event.message(), "settings meter device");
                    }
                    let view = LevelView {
                        device: name.clone(),
                        rms_dbfs: level.rms_dbfs,
                        peak_dbfs: level.peak_dbfs,
                    };
                    if let Err(err) = app.emit_to(windows::SETTINGS, LEVEL_EVENT, view) {
                        tracing::debug!(%err, "the settings window missed a level");
                    }
                },
            );
            tracing::debug!(device = %name, "settings meter stopped");
        })
        .map_err(audio_error)?;
    match opened_rx.await {
        Ok(Ok(name)) => Ok(name),
        Ok(Err(reason)) => Err(audio_error(reason)),
        Err(_) => Err(audio_error("the meter stopped before it opened the microphone")),
    }
}

/// Stops the level meter (closing the settings window does too).
#[tauri::command]
pub fn audio_meter_stop(check: State<'_, AudioCheck>) {
    check.replace(None);
}

/// Plays the ringtone for a few seconds on the device chosen for `role` (`headset` or `ringer`); returns the name
/// of the device it played on once it has finished.
#[tauri::command]
pub async fn audio_test_sound(role: String, device: Option<String>) -> Result<String, SettingsError> {
    let role = match role.as_str() {
        "headset" => Role::Speaker,
        "ringer" => Role::Ringer,
        other => return Err(audio_error(format!("no test sound for `{other}`"))),
    };
    let device = chosen(device);
    let frames = u32::try_from(TEST_SOUND.as_millis() / FRAME.as_millis()).unwrap_or(u32::MAX);
    tauri::async_runtime::spawn_blocking(move || {
        let backend: Arc<dyn AudioBackend> = Arc::new(CpalBackend::new());
        let (mut player, _) = TonePlayer::start(backend, role, device.as_deref(), ToneSpec::Ringtone)?;
        for event in play(&mut player, frames, || std::thread::sleep(FRAME))? {
            tracing::info!(message = %event.message(), "test sound device");
        }
        Ok::<_, AudioError>(player.device().to_owned())
    })
    .await
    .map_err(audio_error)?
    .map_err(audio_error)
}

#[cfg(test)]
mod tests {
    use runtime::audio::backend::wav::{WavBackend, read_mono, write_mono};
    use runtime::audio::meter::tone_dbfs;

    use super::*;

    #[test]
    fn the_meter_publishes_the_microphone_level_until_told_to_stop() {
        let dir = tempfile::tempdir().unwrap();
        let rate = 16_000;
        // Half a second of a quarter-scale square wave: -12 dBFS.
        let speech: Vec<i16> = (0..rate / 2)
            .map(|i| if (i / 20) % 2 == 0 { 8192 } else { -8192 })
            .collect();
        write_mono(&dir.path().join("mic.wav"), rate, &speech).unwrap();
        let wav = WavBackend::new();
        wav.add_input("Headset mic", &dir.path().join("mic.wav")).unwrap();
        let (mut meter, _) = MicMeter::open(Arc::new(wav.clone()), Some("Headset mic")).unwrap();

        let frames = std::cell::Cell::new(0);
        let mut levels = Vec::new();
        run_meter(
            &mut meter,
            || frames.get() < 20,
            || {
                frames.set(frames.get() + 1);
                wav.advance(FRAME).unwrap();
            },
            |level, _| levels.push(level),
        );
        assert_eq!(levels.len(), 4, "one level every {PUBLISH_EVERY} frames: {levels:?}");
        for level in &levels {
            assert!((level.rms_dbfs + 12.04).abs() < 0.2, "{level:?}");
        }
    }

    #[test]
    fn the_test_sound_reaches_the_chosen_ringer_and_not_the_headset() {
        let dir = tempfile::tempdir().unwrap();
        let wav = WavBackend::new();
        let (headset, ringer) = (dir.path().join("headset.wav"), dir.path().join("ringer.wav"));
        wav.add_output("Headset", 48_000, &headset).unwrap();
        wav.add_output("Speakers", 48_000, &ringer).unwrap();
        let (mut player, event) = TonePlayer::start(
            Arc::new(wav.clone()),
            Role::Ringer,
            Some("Speakers"),
            ToneSpec::Ringtone,
        )
        .unwrap();
        assert_eq!(event, None);
        assert_eq!(player.device(), "Speakers");
        let events = play(&mut player, 50, || wav.advance(FRAME).unwrap()).unwrap();
        assert!(events.is_empty(), "{events:?}");
        drop(player);
        wav.finish().unwrap();

        let (rate, played) = read_mono(&ringer).unwrap();
        let first_note = tone_dbfs(&played[..played.len().min(8_000)], rate, 523.25);
        assert!(
            first_note > -30.0,
            "the chime's first note is not on the ringer: {first_note} dBFS"
        );
        let (_, silent) = read_mono(&headset).unwrap();
        assert!(silent.iter().all(|&s| s == 0), "the test sound leaked to the headset");
    }

    #[test]
    fn an_empty_device_name_means_the_system_default() {
        assert_eq!(chosen(Some("  ".into())), None);
        assert_eq!(chosen(None), None);
        assert_eq!(chosen(Some("USB Headset".into())), Some("USB Headset".into()));
    }
}
