//! Shared helpers for the core tests: message builders and a virtual clock.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use sip::msg::{Limits, Message, Request, Response, parse};

pub fn request(text: &str) -> Request {
    match parse(text.replace('\n', "\r\n").as_bytes(), &Limits::default()) {
        Ok(Message::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}

pub fn response(text: &str) -> Response {
    match parse(text.replace('\n', "\r\n").as_bytes(), &Limits::default()) {
        Ok(Message::Response(r)) => r,
        other => panic!("not a response: {other:?}"),
    }
}

pub fn parse_bytes(bytes: &[u8]) -> Message {
    parse(bytes, &Limits::default()).unwrap_or_else(|e| panic!("unparsable output: {e}"))
}

/// A virtual clock: `at(ms)` is the instant `ms` milliseconds after the test began.
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub Instant);

impl Clock {
    pub fn new() -> Self {
        Self(Instant::now())
    }

    pub fn at(&self, ms: u64) -> Instant {
        self.0 + Duration::from_millis(ms)
    }

    pub fn ms(&self, instant: Instant) -> u64 {
        u64::try_from(instant.duration_since(self.0).as_millis()).unwrap()
    }
}
