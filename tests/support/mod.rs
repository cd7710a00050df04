//! Test support shared by the integration suites: processes that always die with the test, a private X display,
//! and a small W3C WebDriver client for driving the real app window.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod display;
pub mod process;
pub mod pulse;
pub mod sim;
pub mod webdriver;
pub mod x11;

use std::path::PathBuf;

/// The folder a test writes its screenshots and logs into: `tests/output/<name>/`, recreated for every run.
pub fn output_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("output")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test output folder");
    dir
}

/// Polls `check` every 50 ms until it returns `Some`, or fails the test with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: std::time::Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
