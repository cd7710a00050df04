//! Renders the simulated caller's sentence with espeak-ng (Debian package `espeak-ng`) and
//! stores it as 8 kHz mono 16-bit little-endian PCM in `$OUT_DIR/caller.pcm`, which the crate
//! embeds (`src/sip/audio.rs`).
//!
//! Build time rather than first run: the demo then speaks on a machine without espeak-ng,
//! with no data folder to write to and nothing to render or resample while a call rings.
//! Without espeak-ng the file is left empty and the caller plays a generated tone sequence
//! instead; the build never fails for it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the simulated caller says, looped, on every call.
const SENTENCE: &str = "Здравствуйте! Я звоню по поводу моего заказа. Вы меня слышите?";
/// G.711's rate.
const TARGET_RATE: u32 = 8000;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        return;
    };
    let out_dir = PathBuf::from(out_dir);
    let pcm = render(&out_dir.join("caller.wav")).unwrap_or_else(|why| {
        println!("cargo:warning=the simulated caller plays tones instead of speech: {why}");
        Vec::new()
    });
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    if let Err(error) = std::fs::write(out_dir.join("caller.pcm"), bytes) {
        println!("cargo:warning=cannot write caller.pcm: {error}");
    }
}

fn render(wav: &Path) -> Result<Vec<i16>, String> {
    let status = Command::new("espeak-ng")
        .args(["-v", "ru", "-s", "150", "-w"])
        .arg(wav)
        .arg(SENTENCE)
        .status()
        .map_err(|e| format!("espeak-ng not runnable ({e})"))?;
    if !status.success() {
        return Err(format!("espeak-ng failed ({status})"));
    }
    let bytes = std::fs::read(wav).map_err(|e| e.to_string())?;
    let (rate, pcm) = parse_wav(&bytes).ok_or("espeak-ng wrote a WAV file we cannot read")?;
    Ok(resample(&pcm, rate, TARGET_RATE))
}

/// Mono 16-bit PCM from a RIFF/WAVE file: `(sample rate, samples)`.
fn parse_wav(bytes: &[u8]) -> Option<(u32, Vec<i16>)> {
    let le16 = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let le32 = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12;
    let mut rate = None;
    while let Some(id) = bytes.get(at..at + 4) {
        let size = le32(at + 4)? as usize;
        let body = at + 8;
        match id {
            b"fmt " => {
                if le16(body)? != 1 || le16(body + 2)? != 1 || le16(body + 14)? != 16 {
                    return None;
                }
                rate = Some(le32(body + 4)?);
            }
            b"data" => {
                let end = body.saturating_add(size).min(bytes.len());
                let data = bytes.get(body..end)?;
                let pcm = data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
                return Some((rate?, pcm));
            }
            _ => {}
        }
        at = body.saturating_add(size).saturating_add(size % 2);
    }
    None
}

/// A windowed-sinc low-pass at 0.45 of the target rate, then linear interpolation: plenty for
/// a telephone voice prompt, and no dependency for the build script.
fn resample(pcm: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to {
        return pcm.to_vec();
    }
    const TAPS: isize = 48;
    let cutoff = 0.45 * f64::from(to.min(from)) / f64::from(from);
    let kernel: Vec<f64> = (-TAPS..=TAPS)
        .map(|n| {
            let x = n as f64;
            let sinc = if n == 0 {
                2.0 * cutoff
            } else {
                (std::f64::consts::TAU * cutoff * x).sin() / (std::f64::consts::PI * x)
            };
            let window = 0.5 + 0.5 * (std::f64::consts::PI * x / (TAPS as f64 + 1.0)).cos();
            sinc * window
        })
        .collect();
    let filtered: Vec<f64> = (0..pcm.len() as isize)
        .map(|i| {
            kernel
                .iter()
                .zip(-TAPS..=TAPS)
                .filter_map(|(k, n)| pcm.get(usize::try_from(i + n).ok()?).map(|&s| k * f64::from(s)))
                .sum()
        })
        .collect();
    let step = f64::from(from) / f64::from(to);
    let count = (pcm.len() as f64 / step) as usize;
    (0..count)
        .map(|j| {
            let position = j as f64 * step;
            let i = position as usize;
            let fraction = position - i as f64;
            let a = filtered.get(i).copied().unwrap_or(0.0);
            let b = filtered.get(i + 1).copied().unwrap_or(a);
            (a + (b - a) * fraction)
                .round()
                .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
        })
        .collect()
}
