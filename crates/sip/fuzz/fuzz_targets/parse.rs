//! Any datagram: parsing must return; an accepted message must print to one that parses again;
//! an error's 400 must be printable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::msg::{Limits, parse};

fuzz_target!(|data: &[u8]| {
    match parse(data, &Limits::default()) {
        Ok(message) => {
            let printed = message.to_bytes();
            assert!(parse(&printed, &Limits::default()).is_ok());
        }
        Err(error) => {
            if let Some(response) = error.response("fuzz") {
                let _ = response.to_bytes();
            }
        }
    }
});
