//! Real devices through cpal.
//!
//! We use cpal's default host, ALSA on Linux (WASAPI on Windows, CoreAudio on macOS). On a
//! desktop running PulseAudio or PipeWire, ALSA's `default` and `pulse` devices go through
//! libasound2-plugins' pulse plugin to the sound server, which keeps doing the mixing and the
//! routing. cpal's native `pulseaudio` feature (cpal 0.18.2 with the pure-Rust `pulseaudio`
//! 0.3.2 client) would list the server's sinks under their own names, but on a busy two-core
//! machine its playback streams with a fixed buffer stalled after the first fill or ran at a
//! fraction of real time, and each one kept a client thread at about 70 % of a core; through
//! the ALSA plugin the same 10 ms streams played in real time at about 2 % CPU. A call needs
//! audio that does not stutter more than it needs pretty device names, so the feature is off;
//! revisit it when cpal's PulseAudio host matures.
//!
//! Each stream runs at the device's own default rate and channel count; the callbacks mix to
//! (or spread from) mono and convert the sample format, nothing else. The buffer is
//! `BufferSize::Fixed` at 10 ms, clamped into the range the device reports, because the
//! default can be enormous (a whole PipeWire quantum, or `u32::MAX` frames on some ALSA
//! setups), and that would be heard as delay.

use std::fmt;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{
    BufferSize, ErrorKind, FromSample, Sample, SampleFormat, SizedSample, StreamConfig, SupportedBufferSize,
    SupportedStreamConfig,
};
use tracing::{debug, info};

use super::{AudioBackend, Capture, CaptureFeed, DeviceInfo, Direction, Playback, PlaybackDrain};
use crate::audio::AudioError;

/// The device period we ask for: half a frame, so one late callback does not starve the pump.
const PERIOD: Duration = Duration::from_millis(10);

/// How long a backend may take to bring a stream up before we call the device broken.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// The system's sound server or ALSA, through cpal.
pub struct CpalBackend {
    host: cpal::Host,
}

impl fmt::Debug for CpalBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CpalBackend")
            .field("host", &self.host.id().name())
            .finish()
    }
}

impl CpalBackend {
    /// The platform's default host (ALSA on Linux).
    pub fn new() -> Self {
        let host = cpal::default_host();
        info!(host = host.id().name(), "audio host");
        Self { host }
    }

    /// The host's name ("ALSA", "WASAPI"), for diagnostics.
    pub fn host_name(&self) -> &'static str {
        self.host.id().name()
    }

    fn find(&self, direction: Direction, name: Option<&str>) -> Result<Device, AudioError> {
        let device = match (direction, name) {
            (Direction::Capture, None) => self.host.default_input_device(),
            (Direction::Playback, None) => self.host.default_output_device(),
            (Direction::Capture, Some(wanted)) => self
                .host
                .input_devices()
                .map_err(|e| unavailable(&e))?
                .find(|d| device_name(d).as_deref() == Some(wanted)),
            (Direction::Playback, Some(wanted)) => self
                .host
                .output_devices()
                .map_err(|e| unavailable(&e))?
                .find(|d| device_name(d).as_deref() == Some(wanted)),
        };
        let device = match (device, name) {
            (Some(device), _) => device,
            (None, Some(wanted)) => {
                return Err(AudioError::DeviceMissing {
                    direction,
                    name: wanted.to_owned(),
                });
            }
            (None, None) => return Err(AudioError::NoDefault { direction }),
        };
        let name = device_name(&device).unwrap_or_else(|| String::from("(unnamed device)"));
        Ok(Device {
            inner: device,
            name,
            direction,
        })
    }
}

impl Default for CpalBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioBackend for CpalBackend {
    fn devices(&self) -> Result<Vec<DeviceInfo>, AudioError> {
        let default_in = self.host.default_input_device().and_then(|d| device_name(&d));
        let default_out = self.host.default_output_device().and_then(|d| device_name(&d));
        let mut list = Vec::new();
        // ALSA does not always list its `default` PCM among the hints; the settings page must
        // still offer it, marked as the default.
        for (name, direction) in [(&default_in, Direction::Capture), (&default_out, Direction::Playback)] {
            if let Some(name) = name {
                list.push(DeviceInfo {
                    name: name.clone(),
                    direction,
                    is_default: true,
                });
            }
        }
        for device in self.host.devices().map_err(|e| unavailable(&e))? {
            let Some(name) = device_name(&device) else {
                continue;
            };
            let listed = |direction| {
                list.iter()
                    .any(|d: &DeviceInfo| d.name == name && d.direction == direction)
            };
            let (input_listed, output_listed) = (listed(Direction::Capture), listed(Direction::Playback));
            if device.supports_input() && !input_listed {
                list.push(DeviceInfo {
                    is_default: default_in.as_deref() == Some(name.as_str()),
                    name: name.clone(),
                    direction: Direction::Capture,
                });
            }
            if device.supports_output() && !output_listed {
                list.push(DeviceInfo {
                    is_default: default_out.as_deref() == Some(name.as_str()),
                    name,
                    direction: Direction::Playback,
                });
            }
        }
        Ok(list)
    }

    fn open_capture(&self, device: Option<&str>) -> Result<Capture, AudioError> {
        let device = self.find(Direction::Capture, device)?;
        let supported = device
            .inner
            .default_input_config()
            .map_err(|e| device.unsupported(&e))?;
        let config = stream_config(&supported);
        let (feed, capture) = Capture::new(config.sample_rate, device.name.clone());
        let stream = match supported.sample_format() {
            SampleFormat::I16 => device.build_capture::<i16>(config, feed),
            SampleFormat::I32 => device.build_capture::<i32>(config, feed),
            SampleFormat::F32 => device.build_capture::<f32>(config, feed),
            SampleFormat::U8 => device.build_capture::<u8>(config, feed),
            other => Err(device.unsupported(&format!("sample format {other}"))),
        }?;
        debug!(device = %device.name, rate = config.sample_rate, channels = config.channels, "capture started");
        Ok(capture.keep_alive(Box::new(stream)))
    }

    fn open_playback(&self, device: Option<&str>) -> Result<Playback, AudioError> {
        let device = self.find(Direction::Playback, device)?;
        let supported = device
            .inner
            .default_output_config()
            .map_err(|e| device.unsupported(&e))?;
        let config = stream_config(&supported);
        let (drain, playback) = Playback::new(config.sample_rate, device.name.clone());
        let stream = match supported.sample_format() {
            SampleFormat::I16 => device.build_playback::<i16>(config, drain),
            SampleFormat::I32 => device.build_playback::<i32>(config, drain),
            SampleFormat::F32 => device.build_playback::<f32>(config, drain),
            SampleFormat::U8 => device.build_playback::<u8>(config, drain),
            other => Err(device.unsupported(&format!("sample format {other}"))),
        }?;
        debug!(device = %device.name, rate = config.sample_rate, channels = config.channels, "playback started");
        Ok(playback.keep_alive(Box::new(stream)))
    }
}

/// The user-visible name: the server's description ("Built-in Audio Analog Stereo").
fn device_name(device: &cpal::Device) -> Option<String> {
    device.description().ok().map(|d| d.name().to_owned())
}

fn unavailable(e: &cpal::Error) -> AudioError {
    AudioError::Unavailable(e.to_string())
}

/// The device's own rate and channels with a short fixed period.
fn stream_config(supported: &SupportedStreamConfig) -> StreamConfig {
    let wanted = (u128::from(supported.sample_rate()) * PERIOD.as_millis() / 1000) as u32;
    let buffer_size = match *supported.buffer_size() {
        SupportedBufferSize::Range { min, max } => BufferSize::Fixed(wanted.clamp(min, max)),
        SupportedBufferSize::Unknown => BufferSize::Fixed(wanted),
    };
    StreamConfig {
        channels: supported.channels(),
        sample_rate: supported.sample_rate(),
        buffer_size,
    }
}

/// A chosen cpal device with the name we found it under.
struct Device {
    inner: cpal::Device,
    name: String,
    direction: Direction,
}

/// A running cpal stream, owned by the [`Capture`] or [`Playback`] handle.
struct LiveStream {
    _stream: cpal::Stream,
}

impl fmt::Debug for LiveStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiveStream")
    }
}

impl Device {
    fn unsupported(&self, e: &dyn fmt::Display) -> AudioError {
        AudioError::Unsupported {
            direction: self.direction,
            device: self.name.clone(),
            message: e.to_string(),
        }
    }

    fn failed(&self, e: &cpal::Error) -> AudioError {
        match e.kind() {
            ErrorKind::DeviceNotAvailable => AudioError::DeviceMissing {
                direction: self.direction,
                name: self.name.clone(),
            },
            ErrorKind::HostUnavailable => unavailable(e),
            ErrorKind::UnsupportedConfig => self.unsupported(e),
            _ => AudioError::Device {
                direction: self.direction,
                device: self.name.clone(),
                message: e.to_string(),
            },
        }
    }

    /// Real-time side of capture: average the channels, convert, push; count one overrun per
    /// callback that found the ring full.
    fn build_capture<T>(&self, config: StreamConfig, mut feed: CaptureFeed) -> Result<LiveStream, AudioError>
    where
        T: SizedSample,
        f32: FromSample<T>,
    {
        let channels = usize::from(config.channels.max(1));
        let scale = 1.0 / channels as f32;
        let errors = std::sync::Arc::clone(&feed.shared);
        let stream = self
            .inner
            .build_input_stream::<T, _, _>(
                config,
                move |data: &[T], _| {
                    let mut full = false;
                    for frame in data.chunks(channels) {
                        let mono: f32 = frame.iter().map(|s| s.to_sample::<f32>()).sum::<f32>() * scale;
                        full |= !feed.push(mono.to_sample::<i16>());
                    }
                    if full {
                        feed.shared.count_xrun();
                    }
                    feed.shared.advance(data.len() / channels);
                },
                move |e| on_stream_error(&errors, &e),
                Some(OPEN_TIMEOUT),
            )
            .map_err(|e| self.failed(&e))?;
        stream.play().map_err(|e| self.failed(&e))?;
        Ok(LiveStream { _stream: stream })
    }

    /// Real-time side of playback: pop, convert, copy to every channel; silence and one
    /// underrun count when the ring runs dry.
    fn build_playback<T>(&self, config: StreamConfig, mut drain: PlaybackDrain) -> Result<LiveStream, AudioError>
    where
        T: SizedSample + FromSample<i16>,
    {
        let channels = usize::from(config.channels.max(1));
        let errors = std::sync::Arc::clone(&drain.shared);
        let stream = self
            .inner
            .build_output_stream::<T, _, _>(
                config,
                move |data: &mut [T], _| {
                    let mut dry = false;
                    for frame in data.chunks_mut(channels) {
                        let sample = drain.next_sample().unwrap_or_else(|| {
                            dry = true;
                            0
                        });
                        frame.fill(sample.to_sample::<T>());
                    }
                    if dry {
                        drain.ran_dry();
                    }
                    drain.shared.advance(data.len() / channels);
                },
                move |e| on_stream_error(&errors, &e),
                Some(OPEN_TIMEOUT),
            )
            .map_err(|e| self.failed(&e))?;
        stream.play().map_err(|e| self.failed(&e))?;
        Ok(LiveStream { _stream: stream })
    }
}

/// Runs on the backend's thread, possibly the real-time one: atomics only, no logging.
fn on_stream_error(shared: &super::StreamShared, e: &cpal::Error) {
    match e.kind() {
        ErrorKind::Xrun => shared.count_xrun(),
        // Rerouted by the server, or running without real-time priority: still playing.
        ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied => {}
        _ => shared.fail(),
    }
}
