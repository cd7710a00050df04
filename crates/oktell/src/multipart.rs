//! Reassembly of multipart server messages (§1.5).
//!
//! oktell.js assumes parts arrive in order, 0-based, each a complete base64 of
//! whole UTF-8 characters, and never forgets a message id. We are stricter
//! about resources and looser about order: parts may come in any order and
//! may split a UTF-8 sequence (bytes are joined before decoding), duplicates
//! are ignored, and every message is bounded in parts, bytes and lifetime.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use crate::error::MultipartError;
use crate::msg::lenient;

/// Bounds on what the server may make us buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// Most parts one message may announce.
    pub max_parts: usize,
    /// Most decoded bytes one message may hold.
    pub max_bytes: usize,
    /// Most messages under reassembly at once.
    pub max_messages: usize,
    /// How long a message may stay incomplete after its first part.
    pub expiry: Duration,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        MultipartLimits {
            max_parts: 4096,
            max_bytes: 16 * 1024 * 1024,
            max_messages: 32,
            expiry: Duration::from_secs(30),
        }
    }
}

/// Base64 with or without padding: every part carries its own, but a server
/// that strips it should not cost us the message.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug)]
struct Partial {
    count: u64,
    parts: BTreeMap<u64, Vec<u8>>,
    bytes: usize,
    deadline: Instant,
}

/// Collects parts by `message-id` until a message is whole.
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: MultipartLimits,
    messages: HashMap<String, Partial>,
}

impl Reassembler {
    /// An empty reassembler with these limits.
    pub fn new(limits: MultipartLimits) -> Reassembler {
        Reassembler {
            limits,
            messages: HashMap::new(),
        }
    }

    /// Takes one `multipart` payload. Returns the reassembled text once the
    /// last missing part arrives. An error drops the whole message.
    pub fn accept(&mut self, now: Instant, body: &Map<String, Value>) -> Result<Option<String>, MultipartError> {
        let id = body
            .get("message-id")
            .and_then(lenient::as_text)
            .ok_or(MultipartError::BadField("message-id"))?;
        let result = self.accept_part(now, &id, body);
        if result.is_err() {
            self.messages.remove(&id);
        }
        result
    }

    fn accept_part(
        &mut self,
        now: Instant,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<Option<String>, MultipartError> {
        let count = field_u64(body, "packetcount")?;
        let number = field_u64(body, "packetnumber")?;
        let content = match body.get("content") {
            Some(Value::String(s)) => s,
            _ => return Err(MultipartError::BadField("content")),
        };
        if count == 0 || usize::try_from(count).map_or(true, |c| c > self.limits.max_parts) {
            return Err(MultipartError::TooManyParts {
                count,
                limit: self.limits.max_parts,
            });
        }
        if number >= count {
            return Err(MultipartError::OutOfRange { number, count });
        }
        if !self.messages.contains_key(id) && self.messages.len() >= self.limits.max_messages {
            return Err(MultipartError::TooManyMessages {
                limit: self.limits.max_messages,
            });
        }
        // Bound the base64 text before decoding it: 3 bytes per 4 characters.
        if content.len() / 4 * 3 > self.limits.max_bytes {
            return Err(MultipartError::TooLarge {
                limit: self.limits.max_bytes,
            });
        }
        let bytes = BASE64
            .decode(content.as_bytes())
            .map_err(|_| MultipartError::BadBase64 { number })?;
        let expiry = self.limits.expiry;
        let partial = self.messages.entry(id.to_owned()).or_insert_with(|| Partial {
            count,
            parts: BTreeMap::new(),
            bytes: 0,
            deadline: now + expiry,
        });
        if partial.count != count {
            return Err(MultipartError::CountChanged {
                was: partial.count,
                now: count,
            });
        }
        if partial.parts.contains_key(&number) {
            tracing::debug!(part = number, "duplicate multipart part ignored");
            return Ok(None);
        }
        partial.bytes = partial.bytes.saturating_add(bytes.len());
        if partial.bytes > self.limits.max_bytes {
            return Err(MultipartError::TooLarge {
                limit: self.limits.max_bytes,
            });
        }
        partial.parts.insert(number, bytes);
        if (partial.parts.len() as u64) < partial.count {
            return Ok(None);
        }
        let joined: Vec<u8> = partial.parts.values().flatten().copied().collect();
        self.messages.remove(id);
        String::from_utf8(joined).map(Some).map_err(|_| MultipartError::BadUtf8)
    }

    /// Drops messages whose parts stopped arriving; one error per message.
    pub fn expire(&mut self, now: Instant) -> Vec<MultipartError> {
        let mut expired = Vec::new();
        self.messages.retain(|_, p| {
            if p.deadline <= now {
                expired.push(MultipartError::Expired {
                    received: p.parts.len(),
                    count: p.count,
                });
                false
            } else {
                true
            }
        });
        expired
    }

    /// The earliest expiry, for the session's single deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.messages.values().map(|p| p.deadline).min()
    }

    /// Forgets everything (a new socket starts clean).
    pub fn clear(&mut self) {
        self.messages.clear();
    }
}

fn field_u64(body: &Map<String, Value>, key: &'static str) -> Result<u64, MultipartError> {
    body.get(key)
        .and_then(lenient::as_int)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(MultipartError::BadField(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn part(id: &str, count: u64, number: u64, bytes: &[u8]) -> Map<String, Value> {
        let Value::Object(m) = json!({
            "message-id": id, "packetcount": count, "packetnumber": number,
            "content": base64::engine::general_purpose::STANDARD.encode(bytes)
        }) else {
            unreachable!()
        };
        m
    }

    fn split(text: &str, n: usize) -> Vec<Vec<u8>> {
        text.as_bytes()
            .chunks(text.len().div_ceil(n))
            .map(<[u8]>::to_vec)
            .collect()
    }

    const MSG: &str =
        r#"["getpbxnumbersresult",{"qid":"0.37","numbers":[{"number":"101","caption":"Оператор Один"}]}]"#;

    #[test]
    fn in_order_parts_reassemble() {
        let now = Instant::now();
        let mut r = Reassembler::default();
        let chunks = split(MSG, 4);
        let mut out = None;
        for (i, c) in chunks.iter().enumerate() {
            out = r.accept(now, &part("m", chunks.len() as u64, i as u64, c)).unwrap();
        }
        assert_eq!(out.as_deref(), Some(MSG));
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn out_of_order_parts_reassemble_only_when_complete() {
        let now = Instant::now();
        let mut r = Reassembler::default();
        let chunks = split(MSG, 3);
        assert_eq!(r.accept(now, &part("m", 3, 2, &chunks[2])).unwrap(), None);
        assert_eq!(r.accept(now, &part("m", 3, 0, &chunks[0])).unwrap(), None);
        assert_eq!(
            r.accept(now, &part("m", 3, 1, &chunks[1])).unwrap().as_deref(),
            Some(MSG)
        );
    }

    #[test]
    fn utf8_split_inside_a_character_still_decodes() {
        let now = Instant::now();
        let mut r = Reassembler::default();
        let text = "[\"x\",{\"n\":\"Ж\"}]";
        let bytes = text.as_bytes();
        let cut = text.find('Ж').unwrap() + 1; // between the two bytes of Ж
        r.accept(now, &part("u", 2, 0, &bytes[..cut])).unwrap();
        let out = r.accept(now, &part("u", 2, 1, &bytes[cut..])).unwrap();
        assert_eq!(out.as_deref(), Some(text));
    }

    #[test]
    fn duplicate_parts_are_ignored() {
        let now = Instant::now();
        let mut r = Reassembler::default();
        let chunks = split(MSG, 2);
        r.accept(now, &part("d", 2, 0, &chunks[0])).unwrap();
        assert_eq!(r.accept(now, &part("d", 2, 0, b"garbage")).unwrap(), None);
        assert_eq!(
            r.accept(now, &part("d", 2, 1, &chunks[1])).unwrap().as_deref(),
            Some(MSG)
        );
    }

    #[test]
    fn missing_part_expires_with_an_error() {
        let now = Instant::now();
        let limits = MultipartLimits::default();
        let mut r = Reassembler::new(limits);
        r.accept(now, &part("x", 3, 0, b"[")).unwrap();
        assert_eq!(r.next_deadline(), Some(now + limits.expiry));
        assert!(r.expire(now + limits.expiry - Duration::from_millis(1)).is_empty());
        assert_eq!(
            r.expire(now + limits.expiry),
            vec![MultipartError::Expired { received: 1, count: 3 }]
        );
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn oversized_messages_are_refused_and_dropped() {
        let now = Instant::now();
        let mut r = Reassembler::new(MultipartLimits {
            max_bytes: 8,
            ..MultipartLimits::default()
        });
        r.accept(now, &part("big", 2, 0, b"12345")).unwrap();
        assert_eq!(
            r.accept(now, &part("big", 2, 1, b"678901")),
            Err(MultipartError::TooLarge { limit: 8 })
        );
        assert_eq!(r.next_deadline(), None, "the failed message is forgotten");
        assert!(matches!(
            r.accept(now, &part("huge", 1_000_000, 0, b"1")),
            Err(MultipartError::TooManyParts { .. })
        ));
    }

    #[test]
    fn bad_base64_and_bad_numbers_are_errors() {
        let now = Instant::now();
        let mut r = Reassembler::default();
        let mut p = part("b", 2, 0, b"x");
        p.insert("content".into(), json!("***"));
        assert_eq!(r.accept(now, &p), Err(MultipartError::BadBase64 { number: 0 }));
        assert_eq!(
            r.accept(now, &part("b", 2, 2, b"x")),
            Err(MultipartError::OutOfRange { number: 2, count: 2 })
        );
        let mut p = part("b", 2, 0, b"x");
        p.remove("packetnumber");
        assert_eq!(r.accept(now, &p), Err(MultipartError::BadField("packetnumber")));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let now = Instant::now();
        let mut r = Reassembler::default();
        assert_eq!(
            r.accept(now, &part("z", 1, 0, &[0xff, 0xfe])),
            Err(MultipartError::BadUtf8)
        );
    }

    #[test]
    fn too_many_concurrent_messages_are_refused() {
        let now = Instant::now();
        let mut r = Reassembler::new(MultipartLimits {
            max_messages: 1,
            ..MultipartLimits::default()
        });
        r.accept(now, &part("a", 2, 0, b"x")).unwrap();
        assert_eq!(
            r.accept(now, &part("b", 2, 0, b"x")),
            Err(MultipartError::TooManyMessages { limit: 1 })
        );
    }

    #[test]
    fn numeric_strings_are_accepted_for_counts() {
        let now = Instant::now();
        let mut r = Reassembler::default();
        let mut p = part("s", 1, 0, b"[\"a\",{}]");
        p.insert("packetcount".into(), json!("1"));
        p.insert("packetnumber".into(), json!("0"));
        assert_eq!(r.accept(now, &p).unwrap().as_deref(), Some("[\"a\",{}]"));
    }
}
