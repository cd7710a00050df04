//! The settings page's microphone meter, outside any call, on the WAV backend.

// Test helpers outside #[test] functions may unwrap too: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::audio::backend::wav::{WavBackend, write_mono};
use runtime::audio::devices::{DeviceEvent, Role};
use runtime::audio::meter::{Level, MicMeter};
use runtime::audio::{AudioBackend, FRAME};

#[test]
fn the_meter_follows_the_chosen_microphone_as_the_operator_speaks_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 16_000;
    // 200 ms of a quarter-scale square wave (-12 dBFS), then silence.
    let mut speech: Vec<i16> = (0..rate / 5)
        .map(|i| if (i / 20) % 2 == 0 { 8192 } else { -8192 })
        .collect();
    speech.resize(rate as usize, 0);
    write_mono(&dir.path().join("headset-mic.wav"), rate, &speech).unwrap();
    write_mono(&dir.path().join("webcam-mic.wav"), rate, &vec![0; rate as usize]).unwrap();
    let wav = WavBackend::new();
    wav.add_input("Webcam", &dir.path().join("webcam-mic.wav")).unwrap();
    wav.add_input("Headset", &dir.path().join("headset-mic.wav")).unwrap();
    let backend: Arc<dyn AudioBackend> = Arc::new(wav.clone());

    let (mut meter, event) = MicMeter::open(backend, Some("Headset")).unwrap();
    assert_eq!(event, None);
    assert_eq!(meter.device(), "Headset");
    let ui = meter.level();
    let mut events = Vec::new();
    let now = Instant::now();

    wav.advance(Duration::from_millis(100)).unwrap();
    meter.pump(now, &mut events);
    let speaking = ui.latest();
    assert!((speaking.rms_dbfs + 12.04).abs() < 0.1, "{speaking:?}");
    assert!((speaking.peak_dbfs + 12.04).abs() < 0.1, "{speaking:?}");

    for _ in 0..10 {
        wav.advance(FRAME).unwrap();
    }
    meter.pump(now, &mut events);
    assert_eq!(ui.latest(), Level::SILENT, "the newest frame wins");
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn the_meter_moves_to_the_default_microphone_when_its_device_is_unplugged() {
    let dir = tempfile::tempdir().unwrap();
    let wav = WavBackend::new();
    write_mono(&dir.path().join("a.wav"), 8000, &vec![4096; 8000]).unwrap();
    wav.add_input("Built-in", &dir.path().join("a.wav")).unwrap();
    wav.add_input("Headset", &dir.path().join("a.wav")).unwrap();
    let backend: Arc<dyn AudioBackend> = Arc::new(wav.clone());
    let (mut meter, _) = MicMeter::open(backend, Some("Headset")).unwrap();
    wav.unplug("Headset").unwrap();
    let mut events = Vec::new();
    let now = Instant::now();
    meter.pump(now, &mut events);
    assert_eq!(
        events,
        [DeviceEvent::FellBack {
            role: Role::Microphone,
            lost: "Headset".into(),
            using: "Built-in".into(),
        }]
    );
    wav.advance(FRAME).unwrap();
    meter.pump(now, &mut events);
    assert!((meter.level().latest().peak_dbfs + 18.06).abs() < 0.1);
}
