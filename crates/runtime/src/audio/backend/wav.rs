//! A pretend sound system made of WAV files, for tests and demos without a sound card.
//!
//! Each input device plays a WAV file (mixed to mono; silence after its end) as its
//! microphone; each output device records everything played to it, mixed, into a WAV file.
//! Nothing moves on its own: [`WavBackend::advance`] is the device clock, so a test runs an
//! hour-long call in milliseconds and decides exactly when each device period happens. A
//! device can be unplugged mid-stream ([`WavBackend::unplug`]), which fails its open streams
//! the way a yanked USB headset fails a cpal stream, or frozen ([`WavBackend::freeze`]), the
//! way a wedged one simply stops calling back.
//!
//! The handle is cheap to clone and shares one world behind a mutex: the test keeps one
//! clone to drive time, the code under test gets another. There is no real-time thread here,
//! so the lock is harmless.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};

use super::{AudioBackend, Capture, CaptureFeed, DeviceInfo, Direction, Playback, PlaybackDrain};
use crate::audio::AudioError;

/// The WAV-file sound system. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct WavBackend {
    world: Arc<Mutex<World>>,
}

#[derive(Debug, Default)]
struct World {
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    default_input: Option<String>,
    default_output: Option<String>,
}

#[derive(Debug)]
struct Input {
    name: String,
    frozen: bool,
    rate: u32,
    samples: Vec<i16>,
    position: usize,
    feeds: Vec<CaptureFeed>,
}

struct Output {
    name: String,
    frozen: bool,
    rate: u32,
    path: PathBuf,
    writer: Option<WavWriter<BufWriter<File>>>,
    drains: Vec<PlaybackDrain>,
    mix: Vec<i32>,
    period: Vec<i16>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("name", &self.name)
            .field("rate", &self.rate)
            .field("path", &self.path)
            .field("recording", &self.writer.is_some())
            .field("streams", &self.drains.len())
            .finish_non_exhaustive()
    }
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> AudioError {
    AudioError::File {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Reads a WAV file as mono `i16` (channels averaged) and its sample rate.
pub fn read_mono(path: &Path) -> Result<(u32, Vec<i16>), AudioError> {
    let mut reader = WavReader::open(path).map_err(|e| file_error(path, e))?;
    let spec = reader.spec();
    if crate::audio::frame_samples(spec.sample_rate) == 0 {
        let message = format!("sample rate {} Hz holds no sample per 20 ms frame", spec.sample_rate);
        return Err(file_error(path, message));
    }
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Float, 32) => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(path, e))?,
        (SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| s as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| file_error(path, e))?
        }
        (format, bits) => {
            return Err(file_error(path, format!("unsupported {format:?} with {bits} bits")));
        }
    };
    let mono = interleaved
        .chunks(channels)
        .map(|frame| {
            let mean = frame.iter().sum::<f32>() / channels as f32;
            (mean * 32768.0).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    Ok((spec.sample_rate, mono))
}

/// Writes mono `i16` samples to a WAV file.
pub fn write_mono(path: &Path, rate: u32, samples: &[i16]) -> Result<(), AudioError> {
    let mut writer = WavWriter::create(path, mono_spec(rate)).map_err(|e| file_error(path, e))?;
    for &s in samples {
        writer.write_sample(s).map_err(|e| file_error(path, e))?;
    }
    writer.finalize().map_err(|e| file_error(path, e))
}

fn mono_spec(rate: u32) -> WavSpec {
    WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    }
}

impl WavBackend {
    /// An empty world: no devices until added.
    pub fn new() -> Self {
        Self::default()
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a microphone named `name` that plays `path` (at the file's own rate). The first
    /// input added is the default.
    pub fn add_input(&self, name: &str, path: &Path) -> Result<(), AudioError> {
        let (rate, samples) = read_mono(path)?;
        let mut world = self.world();
        world.inputs.retain(|i| i.name != name);
        world.inputs.push(Input {
            name: name.to_owned(),
            frozen: false,
            rate,
            samples,
            position: 0,
            feeds: Vec::new(),
        });
        if world.default_input.is_none() {
            world.default_input = Some(name.to_owned());
        }
        Ok(())
    }

    /// Adds a speaker named `name` running at `rate` that records into `path` (written by
    /// [`Self::finish`]). The first output added is the default.
    pub fn add_output(&self, name: &str, rate: u32, path: &Path) -> Result<(), AudioError> {
        let writer = WavWriter::create(path, mono_spec(rate)).map_err(|e| file_error(path, e))?;
        let mut world = self.world();
        world.outputs.retain(|o| o.name != name);
        world.outputs.push(Output {
            name: name.to_owned(),
            frozen: false,
            rate,
            path: path.to_owned(),
            writer: Some(writer),
            drains: Vec::new(),
            mix: Vec::new(),
            period: Vec::new(),
        });
        if world.default_output.is_none() {
            world.default_output = Some(name.to_owned());
        }
        Ok(())
    }

    /// Makes `name` the system default for its direction.
    pub fn set_default(&self, direction: Direction, name: &str) {
        let mut world = self.world();
        match direction {
            Direction::Capture => world.default_input = Some(name.to_owned()),
            Direction::Playback => world.default_output = Some(name.to_owned()),
        }
    }

    /// Pulls the plug on every device called `name`: its streams fail, it leaves the device
    /// list, and if it was a default the system picks the first remaining device (as
    /// PulseAudio does). Its recording is finalised.
    pub fn unplug(&self, name: &str) -> Result<(), AudioError> {
        let mut world = self.world();
        for input in world.inputs.iter().filter(|i| i.name == name) {
            for feed in &input.feeds {
                feed.shared.fail();
            }
        }
        world.inputs.retain(|i| i.name != name);
        let mut gone = Vec::new();
        world.outputs.retain_mut(|o| {
            if o.name != name {
                return true;
            }
            for drain in &o.drains {
                drain.shared.fail();
            }
            gone.extend(o.writer.take().map(|w| (o.path.clone(), w)));
            false
        });
        if world.default_input.as_deref() == Some(name) {
            world.default_input = world.inputs.first().map(|i| i.name.clone());
        }
        if world.default_output.as_deref() == Some(name) {
            world.default_output = world.outputs.first().map(|o| o.name.clone());
        }
        drop(world);
        for (path, writer) in gone {
            writer.finalize().map_err(|e| file_error(&path, e))?;
        }
        Ok(())
    }

    /// Makes every device called `name` stop moving samples without reporting an error, the
    /// way a wedged USB device or a stuck driver does: only the stall watchdog can notice.
    pub fn freeze(&self, name: &str) {
        let mut world = self.world();
        for input in world.inputs.iter_mut().filter(|i| i.name == name) {
            input.frozen = true;
        }
        for output in world.outputs.iter_mut().filter(|o| o.name == name) {
            output.frozen = true;
        }
    }

    /// Runs every device for `elapsed`: microphones deliver that much audio into their open
    /// capture streams, speakers take that much from each open playback stream (silence and
    /// an underrun count where a stream has too little), mix and record it.
    pub fn advance(&self, elapsed: Duration) -> Result<(), AudioError> {
        let mut world = self.world();
        for input in world.inputs.iter_mut().filter(|i| !i.frozen) {
            let n = samples_in(input.rate, elapsed);
            input.feeds.retain(|f| !f.producer.is_abandoned());
            for i in 0..n {
                let sample = input.samples.get(input.position + i).copied().unwrap_or(0);
                let mut full = false;
                for feed in &mut input.feeds {
                    full |= !feed.push(sample);
                }
                if full {
                    for feed in input.feeds.iter().filter(|f| f.producer.is_full()) {
                        feed.shared.count_xrun();
                    }
                }
            }
            for feed in &input.feeds {
                feed.shared.advance(n);
            }
            input.position += n;
        }
        for output in world.outputs.iter_mut().filter(|o| !o.frozen) {
            let n = samples_in(output.rate, elapsed);
            output.drains.retain(|d| !d.is_abandoned());
            output.mix.clear();
            output.mix.resize(n, 0);
            output.period.resize(n, 0);
            for drain in &mut output.drains {
                drain.fill(&mut output.period);
                for (acc, &s) in output.mix.iter_mut().zip(&output.period) {
                    *acc += i32::from(s);
                }
            }
            if let Some(writer) = output.writer.as_mut() {
                for &s in &output.mix {
                    let s = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                    writer.write_sample(s).map_err(|e| file_error(&output.path, e))?;
                }
            }
        }
        Ok(())
    }

    /// Finalises every output's recording so the files can be read.
    pub fn finish(&self) -> Result<(), AudioError> {
        let mut world = self.world();
        for output in &mut world.outputs {
            if let Some(writer) = output.writer.take() {
                writer.finalize().map_err(|e| file_error(&output.path, e))?;
            }
        }
        Ok(())
    }
}

/// Finds `name` (or the default when `None`) among `names`.
fn resolve<'a>(
    mut names: impl Iterator<Item = &'a str>,
    default: Option<&str>,
    direction: Direction,
    name: Option<&str>,
) -> Result<String, AudioError> {
    match (name, default) {
        (Some(wanted), _) => names
            .find(|n| *n == wanted)
            .map(str::to_owned)
            .ok_or_else(|| AudioError::DeviceMissing {
                direction,
                name: wanted.to_owned(),
            }),
        (None, Some(default)) => names
            .find(|n| *n == default)
            .map(str::to_owned)
            .ok_or(AudioError::NoDefault { direction }),
        (None, None) => Err(AudioError::NoDefault { direction }),
    }
}

fn samples_in(rate: u32, elapsed: Duration) -> usize {
    (u128::from(rate) * elapsed.as_micros() / 1_000_000) as usize
}

impl AudioBackend for WavBackend {
    fn devices(&self) -> Result<Vec<DeviceInfo>, AudioError> {
        let world = self.world();
        let inputs = world.inputs.iter().map(|i| DeviceInfo {
            name: i.name.clone(),
            direction: Direction::Capture,
            is_default: world.default_input.as_deref() == Some(i.name.as_str()),
        });
        let outputs = world.outputs.iter().map(|o| DeviceInfo {
            name: o.name.clone(),
            direction: Direction::Playback,
            is_default: world.default_output.as_deref() == Some(o.name.as_str()),
        });
        Ok(inputs.chain(outputs).collect())
    }

    fn open_capture(&self, device: Option<&str>) -> Result<Capture, AudioError> {
        let mut world = self.world();
        let names = world.inputs.iter().map(|i| i.name.as_str());
        let name = resolve(names, world.default_input.as_deref(), Direction::Capture, device)?;
        let Some(input) = world.inputs.iter_mut().find(|i| i.name == name) else {
            return Err(AudioError::NoDefault {
                direction: Direction::Capture,
            });
        };
        let (feed, capture) = Capture::new(input.rate, name);
        input.feeds.push(feed);
        Ok(capture)
    }

    fn open_playback(&self, device: Option<&str>) -> Result<Playback, AudioError> {
        let mut world = self.world();
        let names = world.outputs.iter().map(|o| o.name.as_str());
        let name = resolve(names, world.default_output.as_deref(), Direction::Playback, device)?;
        let Some(output) = world.outputs.iter_mut().find(|o| o.name == name) else {
            return Err(AudioError::NoDefault {
                direction: Direction::Playback,
            });
        };
        let (drain, playback) = Playback::new(output.rate, name);
        output.drains.push(drain);
        Ok(playback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> (tempfile::TempDir, WavBackend) {
        let dir = tempfile::tempdir().unwrap();
        let wav = WavBackend::new();
        let mic = dir.path().join("mic.wav");
        write_mono(&mic, 1000, &(1..=100).collect::<Vec<i16>>()).unwrap();
        wav.add_input("Mic", &mic).unwrap();
        wav.add_output("Speakers", 1000, &dir.path().join("speakers.wav"))
            .unwrap();
        wav.add_output("Headset", 1000, &dir.path().join("headset.wav"))
            .unwrap();
        (dir, wav)
    }

    #[test]
    fn the_first_devices_added_are_the_defaults_and_are_listed() {
        let (_dir, wav) = world();
        let devices = wav.devices().unwrap();
        let names: Vec<(&str, Direction, bool)> = devices
            .iter()
            .map(|d| (d.name.as_str(), d.direction, d.is_default))
            .collect();
        assert_eq!(
            names,
            [
                ("Mic", Direction::Capture, true),
                ("Speakers", Direction::Playback, true),
                ("Headset", Direction::Playback, false),
            ]
        );
        assert_eq!(wav.open_playback(None).unwrap().device(), "Speakers");
        wav.set_default(Direction::Playback, "Headset");
        assert_eq!(wav.open_playback(None).unwrap().device(), "Headset");
    }

    #[test]
    fn the_microphone_delivers_its_file_then_silence_as_time_advances() {
        let (_dir, wav) = world();
        let mut capture = wav.open_capture(Some("Mic")).unwrap();
        assert_eq!(capture.available(), 0, "nothing before the clock moves");
        wav.advance(Duration::from_millis(60)).unwrap();
        let mut first = [0i16; 60];
        assert!(capture.read(&mut first));
        assert_eq!(first[0], 1);
        assert_eq!(first[59], 60);
        wav.advance(Duration::from_millis(60)).unwrap();
        let mut second = [0i16; 60];
        assert!(capture.read(&mut second));
        assert_eq!(second[39], 100);
        assert_eq!(second[40..], [0; 20]);
    }

    #[test]
    fn two_streams_on_one_speaker_are_mixed_into_its_recording() {
        let (dir, wav) = world();
        let mut call = wav.open_playback(Some("Speakers")).unwrap();
        let mut ring = wav.open_playback(Some("Speakers")).unwrap();
        call.write(&[100; 20]);
        ring.write(&[i16::MAX; 20]);
        wav.advance(Duration::from_millis(20)).unwrap();
        wav.finish().unwrap();
        let (rate, recorded) = read_mono(&dir.path().join("speakers.wav")).unwrap();
        assert_eq!(rate, 1000);
        assert_eq!(recorded, [i16::MAX; 20], "the sum saturates instead of wrapping");
    }

    #[test]
    fn unplugging_fails_open_streams_removes_the_device_and_moves_the_default() {
        let (_dir, wav) = world();
        let speakers = wav.open_playback(None).unwrap();
        let headset = wav.open_playback(Some("Headset")).unwrap();
        wav.unplug("Speakers").unwrap();
        assert!(speakers.failed());
        assert!(!headset.failed());
        assert!(!wav.devices().unwrap().iter().any(|d| d.name == "Speakers"));
        assert_eq!(wav.open_playback(None).unwrap().device(), "Headset");
        assert!(matches!(
            wav.open_playback(Some("Speakers")),
            Err(AudioError::DeviceMissing {
                direction: Direction::Playback,
                ..
            })
        ));
    }

    #[test]
    fn a_file_claiming_a_zero_sample_rate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zero.wav");
        let mut bytes = Vec::new();
        let spec = WavSpec {
            sample_rate: 8000,
            ..mono_spec(8000)
        };
        let mut writer = WavWriter::new(std::io::Cursor::new(&mut bytes), spec).unwrap();
        writer.write_sample(1i16).unwrap();
        writer.finalize().unwrap();
        // The sample rate field sits at byte 24 of the canonical header.
        bytes[24..28].copy_from_slice(&0u32.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let err = WavBackend::new().add_input("Mic", &path).unwrap_err();
        assert!(matches!(err, AudioError::File { .. }), "{err:?}");
    }

    #[test]
    fn a_missing_input_file_is_a_file_error() {
        let wav = WavBackend::new();
        let err = wav.add_input("Mic", Path::new("/nonexistent/mic.wav")).unwrap_err();
        assert!(matches!(err, AudioError::File { .. }), "{err:?}");
        assert!(matches!(
            wav.open_capture(None),
            Err(AudioError::NoDefault {
                direction: Direction::Capture
            })
        ));
    }
}
