//! Automatic gain control: brings a quiet microphone up to a speech level, never clipping.
//!
//! Headset microphones differ by 20 dB and more in sensitivity, and operators hold the boom
//! wherever they like; the far end should not have to ask "could you speak up". The gain
//! follows the level of *speech* only: blocks that stand clearly above the tracked noise
//! floor and above an absolute gate update the speech-level estimate, the gain slews towards
//! `target − level` (up slowly, down fast), and pauses hold the gain, so the background is
//! not pumped up between words. While the echo canceller says the far end talked within the
//! echo tail and the operator does not, the microphone carries (what is left of) the far
//! end's echo, not the operator: the gain holds then too, or it would learn to amplify the
//! residual echo. The gain never goes below unity: a loud microphone is left
//! alone, and only the peak limiter turns a block down when the gain would push a sample
//! past [`LIMIT`]. The gain ramps across each block, so changes never click.

/// The highest sample the limiter lets through (-0.9 dBFS).
pub(crate) const LIMIT: f32 = 29_490.0;

/// Blocks quieter than this (dBFS RMS) are never speech.
const SPEECH_GATE_DBFS: f32 = -60.0;

/// Blocks must stand this far above the noise floor to count as speech.
const ABOVE_FLOOR_DB: f32 = 10.0;

/// Speech-level smoothing per speech block (a time constant of about 200 ms of speech).
const LEVEL_SMOOTHING: f32 = 0.05;

/// The noise floor creeps up by this much per block (1 dB/s) and drops at once.
const FLOOR_RISE_DB: f32 = 0.01;

/// Gain slew per block: +10 dB/s up, -50 dB/s down.
const UP_DB: f32 = 0.1;
const DOWN_DB: f32 = 0.5;

/// The gain control for one call. See the module documentation.
#[derive(Debug)]
pub(crate) struct AutomaticGain {
    target_dbfs: f32,
    max_gain_db: f32,
    gain_db: f32,
    /// The linear gain applied at the end of the previous block.
    applied: f32,
    speech_dbfs: Option<f32>,
    floor_dbfs: f32,
}

impl AutomaticGain {
    /// Aims active speech at `target_dbfs` RMS with at most `max_gain_db` of gain.
    pub(crate) fn new(target_dbfs: f32, max_gain_db: f32) -> Self {
        Self {
            target_dbfs,
            max_gain_db,
            gain_db: 0.0,
            applied: 1.0,
            speech_dbfs: None,
            floor_dbfs: SPEECH_GATE_DBFS,
        }
    }

    /// Changes the target and the maximum gain, keeping the levels learnt.
    pub(crate) fn retarget(&mut self, target_dbfs: f32, max_gain_db: f32) {
        self.target_dbfs = target_dbfs;
        self.max_gain_db = max_gain_db;
        self.gain_db = self.gain_db.min(max_gain_db);
    }

    /// The gain in force, in dB.
    pub(crate) fn gain_db(&self) -> f32 {
        self.gain_db
    }

    /// Applies the gain to `block` in place; with `hold` the gain is applied but not updated.
    pub(crate) fn process(&mut self, block: &mut [f32], hold: bool) {
        if block.is_empty() {
            return;
        }
        let energy: f32 = block.iter().map(|s| s * s).sum();
        let level = dbfs((energy / block.len() as f32).sqrt());
        let peak = block.iter().fold(0.0f32, |m, s| m.max(s.abs()));

        if level < self.floor_dbfs {
            self.floor_dbfs = level.max(-96.0);
        } else {
            self.floor_dbfs += FLOOR_RISE_DB;
        }
        if !hold && level > SPEECH_GATE_DBFS && level > self.floor_dbfs + ABOVE_FLOOR_DB {
            let speech = self.speech_dbfs.get_or_insert(level);
            *speech += LEVEL_SMOOTHING * (level - *speech);
            let wanted = (self.target_dbfs - *speech).clamp(0.0, self.max_gain_db);
            let change = (wanted - self.gain_db).clamp(-DOWN_DB, UP_DB);
            self.gain_db += change;
        }

        let mut target = undb(self.gain_db);
        if peak * target > LIMIT {
            target = LIMIT / peak;
            self.gain_db = db(target).max(0.0);
        }
        let start = self.applied;
        if peak * start.max(target) > LIMIT {
            // Ramping down from a gain that would clip this block: apply the safe one flat.
            for sample in block.iter_mut() {
                *sample *= target;
            }
        } else {
            let step = (target - start) / block.len() as f32;
            for (i, sample) in block.iter_mut().enumerate() {
                *sample *= start + step * (i + 1) as f32;
            }
        }
        self.applied = target;
    }
}

fn dbfs(rms: f32) -> f32 {
    if rms <= 0.0 {
        return -96.0;
    }
    (20.0 * (rms / 32768.0).log10()).max(-96.0)
}

fn undb(gain_db: f32) -> f32 {
    10f32.powf(gain_db / 20.0)
}

fn db(gain: f32) -> f32 {
    20.0 * gain.log10()
}
