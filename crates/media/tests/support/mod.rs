//! Test support: a seeded network emulator, a two-party call harness on a virtual clock,
//! and a Goertzel tone detector.
#![allow(dead_code, reason = "each test binary uses a different part of the support code")]
#![allow(clippy::unwrap_used, reason = "test support: a failure here is a failed test")]

pub mod harness;
pub mod netem;
pub mod tone;
