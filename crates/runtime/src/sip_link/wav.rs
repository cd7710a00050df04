//! WAV files standing in for the microphone and the loudspeaker of the headless phone.
//!
//! The source is read whole at start (announcements and test tones are short), mixed down to
//! mono and resampled once to the codec's rate, so the 20 ms pacing tick only copies samples.
//! It loops, so a short tone lasts the whole call. The sink writes what the call plays, one
//! mono frame per tick, at the codec's rate.

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

/// The file played as our microphone, looping.
#[derive(Debug)]
pub struct WavSource {
    samples: Vec<i16>,
    position: usize,
}

impl WavSource {
    /// Loads `path` (16-bit integer PCM, any rate, any channel count) as mono at `rate`.
    pub fn open(path: &Path, rate: u32) -> Result<Self, WavError> {
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
        let mono: Vec<i16> = interleaved
            .chunks(channels)
            .map(|frame| {
                let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
                // The mean of i16 values fits in i16.
                i16::try_from(sum / frame.len().max(1) as i32).unwrap_or_default()
            })
            .collect();
        let samples = if spec.sample_rate == rate {
            mono
        } else {
            resample(&mono, spec.sample_rate, rate).map_err(|e| unsupported(e.to_string()))?
        };
        if samples.is_empty() {
            return Err(unsupported(String::from("the file holds no audio")));
        }
        Ok(Self { samples, position: 0 })
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
    writer: hound::WavWriter<BufWriter<File>>,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("path", &self.path)
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
            writer,
        })
    }

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
