//! The table every benchmark prints: one `| metric | value | goal |` row per figure.
//!
//! Each bench binary prints its own rows; `scripts/dev bench` sets `OKTELL_PANEL_BENCH_ROWS` to a file that every
//! binary appends to, and prints that file as one table at the end. Goals are targets to compare against, never
//! assertions: a slow machine prints a slow figure instead of failing.

use std::fmt::Display;
use std::io::Write;
use std::time::Duration;

/// The file `scripts/dev bench` collects the rows of all benchmarks in.
pub const ROWS_FILE_VAR: &str = "OKTELL_PANEL_BENCH_ROWS";

/// Prints the rows and, when `scripts/dev bench` collects them, appends them to its table file.
pub fn report<M: Display, V: Display, G: Display>(rows: &[(M, V, G)]) -> std::io::Result<()> {
    let lines: Vec<String> = rows
        .iter()
        .map(|(metric, value, goal)| format!("| {metric} | {value} | {goal} |"))
        .collect();
    for line in &lines {
        println!("{line}");
    }
    if let Some(path) = std::env::var_os(ROWS_FILE_VAR) {
        let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path)?;
        for line in &lines {
            writeln!(file, "{line}")?;
        }
    }
    Ok(())
}

/// The `p`th percentile (nearest rank) of the samples; NaN when there are none, so an empty run shows as such.
pub fn percentile(samples: &[f64], p: usize) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(f64::NAN)
}

/// A duration in milliseconds, the unit of every latency row.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&samples, 50), 50.0);
        assert_eq!(percentile(&samples, 99), 99.0);
        assert_eq!(percentile(&samples, 100), 100.0);
        assert_eq!(percentile(&samples, 0), 1.0);
        assert_eq!(percentile(&[7.0], 99), 7.0);
    }

    #[test]
    fn no_samples_give_no_number() {
        assert!(percentile(&[], 50).is_nan());
    }

    #[test]
    fn milliseconds_keep_the_fraction() {
        assert_eq!(millis(Duration::from_micros(1500)), 1.5);
    }
}
