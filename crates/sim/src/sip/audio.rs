//! What the simulated far end sounds like: the caller's spoken sentence and the hold melody,
//! both as 8 kHz mono PCM looped in 20 ms frames.
//!
//! The sentence is rendered by espeak-ng and resampled to 8 kHz when the crate is built (see
//! `build.rs`). A build without espeak-ng gets a tone sequence instead (three rising tones and
//! a pause), so a call is never silent. The hold melody is generated:
//! a short tune of pure tones whose frequencies tests can find in the received audio
//! ([`HOLD_MELODY_HZ`]).

use std::sync::OnceLock;

/// Sample rate of every clip (G.711's).
pub const CLIP_RATE: u32 = 8000;
/// Samples in one 20 ms frame at [`CLIP_RATE`].
pub const FRAME_SAMPLES: usize = 160;

/// The notes of the hold melody, in order (Hz); each lasts [`NOTE_MS`].
pub const HOLD_MELODY_HZ: [f32; 8] = [523.25, 659.25, 783.99, 659.25, 587.33, 698.46, 880.0, 698.46];
/// How long each note of the hold melody lasts.
pub const NOTE_MS: usize = 400;
/// The tones the caller plays when the build had no espeak-ng (Hz, 300 ms each, then 600 ms silence).
pub const FALLBACK_TONES_HZ: [f32; 3] = [440.0, 554.37, 659.25];

/// The build script's rendering: 8 kHz mono s16le, empty without espeak-ng.
static CALLER_PCM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/caller.pcm"));

/// What a far end plays into a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioSource {
    /// The caller speaks.
    Voice,
    /// The PBX plays the hold melody.
    HoldMusic,
    /// Nothing to hear (dialling, or nobody on the line yet).
    Silence,
}

/// The caller's voice, 8 kHz; rendered speech when available, else the fallback tones.
pub fn caller_voice() -> &'static [i16] {
    static VOICE: OnceLock<Vec<i16>> = OnceLock::new();
    VOICE.get_or_init(|| {
        if voice_is_speech() {
            CALLER_PCM
                .chunks_exact(2)
                .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
                .collect()
        } else {
            fallback_tones()
        }
    })
}

/// The hold melody, 8 kHz.
pub fn hold_melody() -> &'static [i16] {
    static MELODY: OnceLock<Vec<i16>> = OnceLock::new();
    MELODY.get_or_init(|| {
        HOLD_MELODY_HZ
            .iter()
            .flat_map(|&hz| note(hz, NOTE_MS, 6000.0))
            .collect()
    })
}

/// Whether the caller's voice is rendered speech (false: the build had no espeak-ng).
pub fn voice_is_speech() -> bool {
    CALLER_PCM.len() >= 2
}

/// Plays a clip in a loop, one 20 ms frame at a time.
#[derive(Debug)]
pub struct Player {
    source: AudioSource,
    position: usize,
    frame: [i16; FRAME_SAMPLES],
}

impl Player {
    pub fn new(source: AudioSource) -> Self {
        Player {
            source,
            position: 0,
            frame: [0; FRAME_SAMPLES],
        }
    }

    pub fn source(&self) -> AudioSource {
        self.source
    }

    /// Switches to another clip, from its start.
    pub fn set_source(&mut self, source: AudioSource) {
        if source != self.source {
            self.source = source;
            self.position = 0;
        }
    }

    /// The next 20 ms.
    pub fn next_frame(&mut self) -> &[i16] {
        let clip: &[i16] = match self.source {
            AudioSource::Voice => caller_voice(),
            AudioSource::HoldMusic => hold_melody(),
            AudioSource::Silence => &[],
        };
        for sample in &mut self.frame {
            *sample = if clip.is_empty() {
                0
            } else {
                let value = clip.get(self.position % clip.len()).copied().unwrap_or(0);
                self.position = (self.position + 1) % clip.len();
                value
            };
        }
        &self.frame
    }
}

fn fallback_tones() -> Vec<i16> {
    let mut pcm: Vec<i16> = FALLBACK_TONES_HZ.iter().flat_map(|&hz| note(hz, 300, 8000.0)).collect();
    pcm.extend(std::iter::repeat_n(0, CLIP_RATE as usize * 600 / 1000));
    pcm
}

/// A sine tone with 10 ms fades, so note boundaries do not click.
fn note(hz: f32, ms: usize, amplitude: f32) -> Vec<i16> {
    let len = CLIP_RATE as usize * ms / 1000;
    let fade = (CLIP_RATE as usize / 100).max(1);
    (0..len)
        .map(|i| {
            let t = i as f32 / CLIP_RATE as f32;
            let edge = i.min(len - 1 - i).min(fade) as f32 / fade as f32;
            (amplitude * edge * (std::f32::consts::TAU * hz * t).sin()) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(pcm: &[i16]) -> f64 {
        let sum: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        (sum / pcm.len().max(1) as f64).sqrt()
    }

    #[test]
    fn caller_voice_is_audible_and_a_few_seconds_long() {
        let voice = caller_voice();
        assert!(voice.len() >= CLIP_RATE as usize, "{} samples", voice.len());
        assert!(rms(voice) > 300.0, "rms {}", rms(voice));
    }

    #[test]
    fn hold_melody_loops_through_every_note() {
        let mut player = Player::new(AudioSource::HoldMusic);
        let frames = HOLD_MELODY_HZ.len() * NOTE_MS / 20;
        let played: Vec<i16> = (0..frames * 2).flat_map(|_| player.next_frame().to_vec()).collect();
        assert_eq!(
            played.get(..frames * FRAME_SAMPLES),
            played.get(frames * FRAME_SAMPLES..)
        );
        assert!(rms(&played) > 2000.0);
    }

    #[test]
    fn silence_is_silent_and_switching_restarts_the_clip() {
        let mut player = Player::new(AudioSource::Silence);
        assert!(player.next_frame().iter().all(|&s| s == 0));
        player.set_source(AudioSource::HoldMusic);
        let first = player.next_frame().to_vec();
        assert_eq!(first.as_slice(), hold_melody().get(..FRAME_SAMPLES).unwrap());
    }
}
