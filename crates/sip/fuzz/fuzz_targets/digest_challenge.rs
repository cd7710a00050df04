//! Any challenge header value: parsed or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::digest::Challenge;

fuzz_target!(|data: &[u8]| {
    let _ = Challenge::parse(&String::from_utf8_lossy(data), "WWW-Authenticate");
});
