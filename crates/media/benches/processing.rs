//! Cost of the microphone chain per 20 ms frame, at each codec rate, with everything on
//! (200 ms echo tail, noise suppression, gain control) and the far end talking, so the echo
//! canceller adapts on every block (its most expensive path).
//!
//! Prints markdown rows `| metric | value | goal |` and appends them to the file named by
//! `OKTELL_PANEL_BENCH_ROWS` (the convention of the root `benches/startup.rs`). The goal is a
//! small share of one core: 1 ms per 20 ms frame is 5 %.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Instant;

use media::processing::{MicProcessor, ProcessingConfig};

const FRAMES: usize = 1_500;

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("processing: bench");
        return;
    }
    let rows: Vec<(String, String, String)> = [8000, 16_000, 48_000]
        .into_iter()
        .map(|rate| {
            let micros = per_frame_micros(rate);
            (
                format!("mic processing per 20 ms frame at {} kHz", rate / 1000),
                format!("{micros:.0} µs"),
                "< 1000 µs".to_owned(),
            )
        })
        .collect();
    bench_table::report(&rows).expect("write the bench table");
}

/// Mean time to process one frame over [`FRAMES`] frames of a far end talking and its echo.
fn per_frame_micros(rate: u32) -> f64 {
    let frame = rate as usize / 50;
    let mut processor = MicProcessor::new(rate, ProcessingConfig::default()).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut far = vec![0i16; frame];
    let mut mic = vec![0i16; frame];
    let mut out = vec![0i16; frame];
    let mut spent = std::time::Duration::ZERO;
    for _ in 0..FRAMES {
        for (f, m) in far.iter_mut().zip(mic.iter_mut()) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *f = (state >> 52) as i16 - 2048;
            *m = *f / 4;
        }
        let start = Instant::now();
        processor.process(black_box(&mic), black_box(&far), &mut out).unwrap();
        spent += start.elapsed();
        black_box(&out);
    }
    spent.as_secs_f64() * 1e6 / FRAMES as f64
}
