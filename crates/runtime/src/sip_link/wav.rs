//! WAV files standing in for the microphone and the loudspeaker of the headless phone.
//!
//! The source is read whole at start (announcements and test tones are short) and mixed down
//! to mono ([`WavFile`]); each codec rate a call needs gets its own copy resampled once
//! ([`WavSource`]), so the 20 ms pacing tick only copies samples. It loops, so a short tone
//! lasts the whole call. The sink writes what the call plays, one mono frame per tick, at the
//! rate chosen when it is created; frames at another codec rate (a later call with another
//! codec) go through a streaming resampler first.

use std::{
    fs::File,
    io::BufWriter,
    path::{Path, PathBuf},
};

use media::resample::Resampler;

/// A WAV file we could not use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: hound::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: hound::Error },
    #[error("{path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
}

/// The file played as our microphone, read and mixed down to mono at its own rate.
#[derive(Debug)]
pub struct WavFile {
    path: PathBuf,
    samples: Vec<i16>,
    rate: u32,
}

impl WavFile {
    /// Loads `path`: 16-bit integer PCM, any rate, any channel count.
    pub fn open(path: &Path) -> Result<Self, WavError> {
        let read = |source| WavError::Read {
            path: path.to_owned(),
            source,
        };
        let unsupported = |reason: String| WavError::Unsupported {
            path: path.to_owned(),
            reason,
        };
        let reader = hound::WavReader::open(path).map_err(read)?;
        let spec = reader.spec();
        if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
            return Err(unsupported(format!(
                "only 16-bit integer PCM is supported, not {} bits {:?}",
                spec.bits_per_sample, spec.sample_format
            )));
        }
        let channels = usize::from(spec.channels.max(1));
        let interleaved = reader
            .into_samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(read)?;
        let samples: Vec<i16> = interleaved
            .chunks(channels)
            .map(|frame| {
                let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
                // The mean of i16 values fits in i16.
                i16::try_from(sum / frame.len().max(1) as i32).unwrap_or_default()
            })
            .collect();
        if samples.is_empty() {
            return Err(unsupported(String::from("the file holds no audio")));
        }
        Ok(Self {
            path: path.to_owned(),
            samples,
            rate: spec.sample_rate,
        })
    }

    /// A looping source of this file at `rate`, resampled from the original once.
    pub fn source(&self, rate: u32) -> Result<WavSource, WavError> {
        let samples = if self.rate == rate {
            self.samples.clone()
        } else {
            resample(&self.samples, self.rate, rate).map_err(|e| WavError::Unsupported {
                path: self.path.clone(),
                reason: e.to_string(),
            })?
        };
        if samples.is_empty() {
            return Err(WavError::Unsupported {
                path: self.path.clone(),
                reason: format!("too short to resample to {rate} Hz"),
            });
        }
        Ok(WavSource { samples, position: 0 })
    }
}

/// The microphone file at one codec rate, looping.
#[derive(Debug)]
pub struct WavSource {
    samples: Vec<i16>,
    position: usize,
}

impl WavSource {
    /// Loads `path` (16-bit integer PCM, any rate, any channel count) as mono at `rate`.
    pub fn open(path: &Path, rate: u32) -> Result<Self, WavError> {
        WavFile::open(path)?.source(rate)
    }

    /// Fills `frame` with the next samples, wrapping around at the end of the file.
    pub fn fill(&mut self, frame: &mut [i16]) {
        for sample in frame {
            *sample = self.samples.get(self.position).copied().unwrap_or_default();
            self.position = (self.position + 1) % self.samples.len().max(1);
        }
    }
}

fn resample(mono: &[i16], from: u32, to: u32) -> Result<Vec<i16>, media::CodecError> {
    let mut resampler = Resampler::new(from, to)?;
    resampler.push(mono)?;
    // Flush the filter's tail with a little silence so the whole file comes out.
    resampler.push(&vec![0; from as usize / 10])?;
    let mut out = vec![0; resampler.available()];
    resampler.pull(&mut out);
    Ok(out)
}

/// The file that records what the call plays.
pub struct WavSink {
    path: PathBuf,
    rate: u32,
    writer: hound::WavWriter<BufWriter<File>>,
    /// Converts frames that arrive at another rate than the file's; rebuilt when that rate
    /// changes.
    resampler: Option<Resampler>,
    converted: Vec<i16>,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("path", &self.path)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl WavSink {
    /// Creates (or truncates) `path` as 16-bit mono at `rate`.
    pub fn create(path: &Path, rate: u32) -> Result<Self, WavError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|source| WavError::Write {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: path.to_owned(),
            rate,
            writer,
            resampler: None,
            converted: Vec::new(),
        })
    }

    /// Appends one frame of `frame_rate` audio, converted to the file's rate if it differs.
    pub fn write_at(&mut self, frame: &[i16], frame_rate: u32) -> Result<(), WavError> {
        if frame_rate == self.rate {
            self.resampler = None;
            return self.write(frame);
        }
        let unsupported = |e: media::CodecError| WavError::Unsupported {
            path: self.path.clone(),
            reason: e.to_string(),
        };
        let resampler = match self.resampler.take() {
            Some(r) if r.from_rate() == frame_rate => r,
            _ => Resampler::new(frame_rate, self.rate).map_err(unsupported)?,
        };
        let resampler = self.resampler.insert(resampler);
        resampler.push(frame).map_err(unsupported)?;
        self.converted.resize(resampler.available(), 0);
        resampler.pull(&mut self.converted);
        let converted = std::mem::take(&mut self.converted);
        let written = self.write(&converted);
        self.converted = converted;
        written
    }

    /// Appends samples at the file's rate.
    pub fn write(&mut self, frame: &[i16]) -> Result<(), WavError> {
        for &sample in frame {
            self.writer.write_sample(sample).map_err(|source| WavError::Write {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Writes the header's final lengths; without this the file claims to be empty.
    pub fn finish(self) -> Result<(), WavError> {
        let path = self.path;
        self.writer
            .finalize()
            .map_err(|source| WavError::Write { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_tone(path: &Path, rate: u32, channels: u16, seconds: f64) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        for n in 0..(f64::from(rate) * seconds) as u32 {
            let value = (f64::from(n) * 1000.0 * std::f64::consts::TAU / f64::from(rate)).sin();
            for _ in 0..channels {
                writer.write_sample((value * 8000.0) as i16).unwrap();
            }
        }
        writer.finalize().unwrap();
    }

    /// Amplitude of 1 kHz in `x` by correlation with a quadrature pair.
    fn amplitude_1k(x: &[i16], rate: u32) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &s) in x.iter().enumerate() {
            let phase = std::f64::consts::TAU * 1000.0 * i as f64 / f64::from(rate);
            re += f64::from(s) * phase.cos();
            im += f64::from(s) * phase.sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64
    }

    #[test]
    fn one_stereo_file_feeds_every_codec_rate_with_the_same_tone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.wav");
        write_tone(&path, 16000, 2, 1.0);
        let file = WavFile::open(&path).unwrap();
        for rate in [8000, 16000, 48000] {
            let mut source = file.source(rate).unwrap();
            let mut second = vec![0i16; rate as usize];
            source.fill(&mut second);
            let steady = &second[rate as usize / 10..rate as usize * 8 / 10];
            let a = amplitude_1k(steady, rate);
            assert!((a - 8000.0).abs() < 400.0, "{rate} Hz: amplitude {a}");
        }
    }

    #[test]
    fn the_recording_keeps_its_rate_when_a_call_plays_at_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heard.wav");
        let mut sink = WavSink::create(&path, 8000).unwrap();
        let mut source = WavSource {
            samples: {
                write_tone(&dir.path().join("t.wav"), 48000, 1, 0.5);
                WavFile::open(&dir.path().join("t.wav")).unwrap().samples
            },
            position: 0,
        };
        let mut frame = vec![0i16; 960];
        for _ in 0..50 {
            source.fill(&mut frame);
            sink.write_at(&frame, 48000).unwrap();
        }
        let g711_frame = vec![0i16; 160];
        sink.write_at(&g711_frame, 8000).unwrap();
        sink.finish().unwrap();
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, 8000);
        let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
        // One second at 48 kHz becomes about one second at 8 kHz (less the filter's delay),
        // then one G.711 frame as is.
        assert!((7700..=8160).contains(&samples.len()), "{}", samples.len());
        let a = amplitude_1k(&samples[800..7000], 8000);
        assert!((a - 8000.0).abs() < 400.0, "amplitude {a}");
        assert!(samples[samples.len() - 160..].iter().all(|&s| s == 0));
    }

    #[test]
    fn a_file_that_is_not_16_bit_pcm_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("float.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        writer.write_sample(0.5f32).unwrap();
        writer.finalize().unwrap();
        let error = WavFile::open(&path).unwrap_err();
        assert!(matches!(error, WavError::Unsupported { .. }), "{error}");
        assert!(error.to_string().contains("float.wav"), "{error}");
    }
}
