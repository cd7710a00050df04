//! The parser over every RFC 4475 message and the fuzz seed corpus, whole, truncated at every
//! length and with single bytes flipped: it must return, never panic, and whatever it accepts
//! must print to something it accepts again.

#![cfg(test)]

use std::path::{Path, PathBuf};

use sip::msg::{Limits, parse};

fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("../../../shared/sip/rfc4475/valid"),
        root.join("../../../shared/sip/rfc4475/invalid"),
        root.join("fuzz/corpus/parse"),
    ];
    let mut out = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    assert!(out.len() >= 49, "corpus went missing: {} files", out.len());
    out
}

fn check(bytes: &[u8]) {
    if let Ok(message) = parse(bytes, &Limits::default()) {
        let printed = message.to_bytes();
        let again = parse(&printed, &Limits::default());
        assert!(again.is_ok(), "printed form no longer parses: {again:?}");
    }
}

#[test]
fn every_prefix_of_every_message_is_handled() {
    for (_, bytes) in inputs() {
        for end in 0..=bytes.len() {
            check(&bytes[..end]);
        }
    }
}

#[test]
fn single_byte_corruptions_are_handled() {
    for (_, bytes) in inputs() {
        for i in 0..bytes.len() {
            for replacement in [b'\0', b'\n', b'"', b';', 0xff] {
                let mut mutated = bytes.clone();
                mutated[i] = replacement;
                check(&mutated);
            }
        }
    }
}

#[test]
fn seed_corpus_messages_are_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let parsed = parse(&std::fs::read(&path).unwrap(), &Limits::default());
        assert!(parsed.is_ok(), "{}: {parsed:?}", path.display());
    }
}
