//! Replays every file of the fuzz corpus (`fuzz/corpus/frame/`) through the
//! frame decoder and through sessions in each phase, so the stable test run
//! exercises what the nightly fuzzer found or was seeded with.

// Test helpers outside #[test] fns may panic on broken expectations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use oktell::msg::Frame;
use support::*;

fn corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/frame");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "seed corpus present");
    files
}

#[test]
fn every_corpus_file_is_handled_without_panic_in_every_phase() {
    for (name, text) in corpus() {
        let _ = Frame::decode(&text);

        // During the handshake.
        let mut h = Harness::new(config());
        let s = h.accept_sockets()[0];
        let _ = h.session.handle_frame(h.now, s, &text);
        h.drain();

        // Logged in: a frame may change state but never the connection.
        let mut h = Harness::new(config());
        let s = h.login();
        for line in text.lines() {
            let _ = h.session.handle_frame(h.now, s, line);
        }
        h.drain();
        assert!(h.session.is_connected(), "{name}");
        h.serve();
        h.advance(std::time::Duration::from_secs(60));
        h.serve();
        assert!(h.session.is_connected(), "{name}");
    }
}

#[test]
fn malformed_corpus_files_are_errors() {
    for (name, text) in corpus() {
        let expect_error = ["body_not_object", "name_not_string", "empty_array", "not_array"]
            .iter()
            .any(|p| name.starts_with(p));
        if expect_error {
            assert!(Frame::decode(&text).is_err(), "{name}");
        }
    }
}
