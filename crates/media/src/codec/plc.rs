//! Packet-loss concealment in the style of ITU-T G.711 Appendix I.
//!
//! On the first missing frame the pitch period of the most recent audio is estimated by
//! normalised cross-correlation (periods of 5 to 15 ms, a 20 ms window). The last period is
//! then repeated; the seam where the repeated period wraps round is smoothed by overlap-add
//! with the audio that preceded it, so the loop has no click. After 10 ms of loss two
//! periods are cycled, after 20 ms three, which keeps long losses from sounding buzzy, and
//! the output is attenuated by 20 % per 10 ms from 10 ms on, reaching silence at 60 ms.
//! When audio returns, the synthetic signal is cross-faded into it over a quarter period
//! plus 4 ms per 10 ms of loss (at most 10 ms).
//!
//! Unlike the reference code this variant adds no algorithmic delay: the first synthetic
//! sample follows the last real one directly, which the choice of pitch period makes
//! smooth (the period is the lag at which the signal best predicts itself).

/// Concealment state for one mono stream at a fixed sample rate.
#[derive(Debug, Clone)]
pub struct Plc {
    rate: usize,
    /// The most recent real audio, oldest first; fixed length.
    history: Vec<f32>,
    /// Whether `history` holds real audio yet.
    primed: bool,
    pitch: usize,
    /// The periods being cycled, with the wrap seam smoothed.
    cycle: Vec<f32>,
    periods: usize,
    position: usize,
    /// Samples concealed in the current loss; 0 while audio flows.
    erased: usize,
}

impl Plc {
    /// A concealer for audio at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        let rate = rate as usize;
        // Three periods of the longest pitch plus a quarter period of overlap.
        let history_len = Self::max_pitch_for(rate) * 3 + Self::max_pitch_for(rate) / 4;
        Self {
            rate,
            history: vec![0.0; history_len],
            primed: false,
            pitch: 0,
            cycle: Vec::new(),
            periods: 0,
            position: 0,
            erased: 0,
        }
    }

    fn max_pitch_for(rate: usize) -> usize {
        rate * 15 / 1000
    }

    fn ms(&self, ms: usize) -> usize {
        self.rate * ms / 1000
    }

    /// Feeds a frame of real audio; if it ends a loss, cross-fades the synthetic signal
    /// into its beginning (so `frame` is modified).
    pub fn good_frame(&mut self, frame: &mut [i16]) {
        if self.erased > 0 && self.primed {
            let ten_ms = self.ms(10).max(1);
            let fade = (self.pitch / 4 + self.ms(4) * (self.erased / ten_ms))
                .min(self.ms(10))
                .min(frame.len());
            for (i, sample) in frame.iter_mut().take(fade).enumerate() {
                let synthetic = self.next_synthetic();
                let w = (i + 1) as f32 / (fade + 1) as f32;
                *sample = to_i16(synthetic * (1.0 - w) + f32::from(*sample) * w);
            }
        }
        self.erased = 0;
        self.push_history(frame);
    }

    /// Fills `frame` with concealment for a missing frame.
    pub fn conceal(&mut self, frame: &mut [i16]) {
        if !self.primed {
            frame.fill(0);
            return;
        }
        if self.erased == 0 {
            self.pitch = self.find_pitch();
            self.build_cycle(1);
            self.position = 0;
        }
        for sample in frame.iter_mut() {
            let periods = if self.erased >= self.ms(20) {
                3
            } else if self.erased >= self.ms(10) {
                2
            } else {
                1
            };
            if periods != self.periods {
                // Same phase within the period, now counted from the earlier start.
                let phase = self.position % self.pitch.max(1);
                self.build_cycle(periods);
                self.position = (periods - 1) * self.pitch + phase;
            }
            *sample = to_i16(self.next_synthetic());
        }
    }

    /// The next synthetic sample, attenuated for the time spent in loss; advances the loss.
    fn next_synthetic(&mut self) -> f32 {
        let value = self.cycle.get(self.position).copied().unwrap_or(0.0);
        self.position += 1;
        if self.position >= self.cycle.len() {
            self.position = 0;
        }
        let gain = self.gain();
        self.erased += 1;
        value * gain
    }

    fn gain(&self) -> f32 {
        let ten_ms = self.ms(10).max(1) as f32;
        let e = self.erased as f32;
        if e < ten_ms {
            1.0
        } else {
            (1.0 - 0.2 * (e - ten_ms) / ten_ms).max(0.0)
        }
    }

    fn push_history(&mut self, frame: &[i16]) {
        let n = frame.len().min(self.history.len());
        self.history.rotate_left(n);
        let start = self.history.len() - n;
        let tail = frame.get(frame.len() - n..).unwrap_or_default();
        for (dst, &src) in self.history.iter_mut().skip(start).zip(tail) {
            *dst = f32::from(src);
        }
        self.primed = true;
    }

    /// The lag (in samples) at which the last 20 ms best matches the audio before it.
    fn find_pitch(&self) -> usize {
        let min_lag = self.ms(5).max(1);
        let max_lag = Self::max_pitch_for(self.rate).max(min_lag);
        let len = self.history.len();
        let window = self.ms(20).min(len.saturating_sub(max_lag));
        let target = self.history.get(len - window..).unwrap_or_default();
        let mut best = (min_lag, f32::MIN);
        for lag in min_lag..=max_lag {
            let Some(candidate) = self.history.get(len - window - lag..len - lag) else {
                continue;
            };
            let (mut cross, mut energy) = (0.0f32, 0.0f32);
            for (a, b) in target.iter().zip(candidate) {
                cross += a * b;
                energy += b * b;
            }
            let score = if energy > 0.0 { cross / energy.sqrt() } else { 0.0 };
            if score > best.1 {
                best = (lag, score);
            }
        }
        best.0
    }

    /// Takes the last `periods` pitch periods and smooths the seam where they loop.
    fn build_cycle(&mut self, periods: usize) {
        let len = self.history.len();
        let span = (self.pitch * periods).min(len);
        let overlap = (self.pitch / 4).min(len - span);
        self.cycle.clear();
        self.cycle
            .extend_from_slice(self.history.get(len - span..).unwrap_or_default());
        // The samples just before the cycle's start lead into it naturally; blend the end
        // of the cycle towards them so that wrapping from end to start is continuous.
        let lead_in = self.history.get(len - span - overlap..len - span).unwrap_or_default();
        let tail_start = span - overlap;
        for (i, &lead) in lead_in.iter().enumerate() {
            let w = (i + 1) as f32 / (overlap + 1) as f32;
            if let Some(s) = self.cycle.get_mut(tail_start + i) {
                *s = *s * (1.0 - w) + lead * w;
            }
        }
        self.periods = periods;
    }
}

fn to_i16(v: f32) -> i16 {
    v.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, start: usize, n: usize, amp: f32) -> Vec<i16> {
        (start..start + n)
            .map(|i| (amp * (2.0 * std::f32::consts::PI * freq * i as f32 / 8000.0).sin()) as i16)
            .collect()
    }

    fn rms(x: &[i16]) -> f32 {
        (x.iter().map(|&s| f32::from(s).powi(2)).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    #[test]
    fn concealment_before_any_audio_is_silence() {
        let mut plc = Plc::new(8000);
        let mut frame = [1i16; 160];
        plc.conceal(&mut frame);
        assert!(frame.iter().all(|&s| s == 0));
    }

    #[test]
    fn a_lost_frame_of_a_periodic_signal_continues_it_smoothly() {
        let mut plc = Plc::new(8000);
        for k in 0..5 {
            let mut f = sine(200.0, k * 160, 160, 10000.0);
            plc.good_frame(&mut f);
        }
        let mut lost = [0i16; 160];
        plc.conceal(&mut lost);
        let expected = sine(200.0, 800, 160, 10000.0);
        let err: Vec<i16> = lost.iter().zip(&expected).map(|(a, b)| a - b).collect();
        assert!(
            rms(&err) < 0.1 * rms(&expected),
            "error rms {} vs {}",
            rms(&err),
            rms(&expected)
        );
        // No step at the boundary larger than the signal's own largest step.
        let max_step = 2.0 * std::f32::consts::PI * 200.0 / 8000.0 * 10000.0;
        let boundary = (f32::from(lost[0]) - f32::from(sine(200.0, 799, 1, 10000.0)[0])).abs();
        assert!(boundary < 2.0 * max_step, "step {boundary}");
    }

    #[test]
    fn long_loss_fades_to_silence_by_60_ms() {
        let mut plc = Plc::new(8000);
        for k in 0..5 {
            let mut f = sine(250.0, k * 160, 160, 12000.0);
            plc.good_frame(&mut f);
        }
        let mut frames = Vec::new();
        for _ in 0..4 {
            let mut f = [0i16; 160];
            plc.conceal(&mut f);
            frames.push(f);
        }
        let first_10ms = rms(&frames[0][..80]);
        assert!(
            first_10ms > 0.6 * 12000.0 / 2f32.sqrt(),
            "undamped at first: {first_10ms}"
        );
        assert!(rms(&frames[1]) < first_10ms, "attenuating");
        assert!(
            rms(&frames[2][80..]) < 0.2 * first_10ms,
            "nearly gone in the last 10 ms"
        );
        assert!(frames[3].iter().all(|&s| s == 0));
    }

    #[test]
    fn recovery_cross_fades_without_a_click() {
        let mut plc = Plc::new(8000);
        for k in 0..5 {
            let mut f = sine(200.0, k * 160, 160, 10000.0);
            plc.good_frame(&mut f);
        }
        let mut lost = [0i16; 160];
        plc.conceal(&mut lost);
        let mut back = sine(200.0, 960, 160, 10000.0);
        plc.good_frame(&mut back);
        let step = (f32::from(back[0]) - f32::from(lost[159])).abs();
        assert!(step < 2500.0, "click of {step} at recovery");
        assert_eq!(back[159], sine(200.0, 1119, 1, 10000.0)[0], "the tail is untouched");
    }
}
