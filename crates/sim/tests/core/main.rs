//! Core tests: the sans-IO simulator driven by oktell.js-shaped frames and a virtual clock.

// Test helpers outside #[test] functions may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;
mod hostile;
mod login;
mod scenarios;
mod transport;
