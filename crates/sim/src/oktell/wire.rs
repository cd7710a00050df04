//! The Oktell text frame: `[name, {…}]` in both directions, and the multipart envelope that
//! carries large replies.
//!
//! oktell.js reassembles multipart messages by decoding each part's base64 and UTF-8 *separately*
//! and concatenating the strings, with a decoder that only knows 1- to 3-byte sequences. So each
//! part here is a whole number of characters with its own base64 padding, parts are numbered from
//! 0 and emitted in order, and characters outside the Basic Multilingual Plane are written as JSON
//! `\uXXXX` surrogate escapes before splitting (they can only occur inside JSON strings, where the
//! escape means the same text).

use base64::Engine as _;
use serde_json::{Map, Value};

/// A frame the client sent that is not `[name, object]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed frame: {0}")]
pub struct Malformed(pub &'static str);

/// One parsed client frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub name: String,
    pub body: Map<String, Value>,
}

impl Request {
    /// The request's `qid` exactly as received, so the reply can echo the identical value.
    pub fn qid(&self) -> Option<&Value> {
        self.body.get("qid")
    }

    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    pub fn bool_field(&self, key: &str) -> Option<bool> {
        match self.body.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => n.as_i64().map(|n| n != 0),
            Value::String(s) => Some(s == "1" || s.eq_ignore_ascii_case("true")),
            _ => None,
        }
    }

    /// A numeric field, also accepted as a numeric string (oktell.js is loose about types).
    pub fn int_field(&self, key: &str) -> Option<i64> {
        match self.body.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Request, Malformed> {
    let value: Value = serde_json::from_str(text).map_err(|_| Malformed("not JSON"))?;
    let Value::Array(items) = value else {
        return Err(Malformed("not an array"));
    };
    let mut items = items.into_iter();
    let (Some(name), Some(body), None) = (items.next(), items.next(), items.next()) else {
        return Err(Malformed("not a two-element array"));
    };
    let Value::String(name) = name else {
        return Err(Malformed("element 0 is not a string"));
    };
    let Value::Object(body) = body else {
        return Err(Malformed("element 1 is not an object"));
    };
    Ok(Request { name, body })
}

/// Serialises `[name, body]`.
pub fn encode(name: &str, body: Map<String, Value>) -> String {
    Value::Array(vec![Value::String(name.to_owned()), Value::Object(body)]).to_string()
}

/// Splits an encoded message into multipart frames of at most `max_part_bytes` bytes of JSON text
/// each (a single character longer than that still gets a part of its own).
pub fn split_multipart(text: &str, max_part_bytes: usize, message_id: &str) -> Vec<String> {
    let text = escape_astral(text);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (index, ch) in text.char_indices() {
        let next = index + ch.len_utf8();
        if next - start > max_part_bytes && end > start {
            chunks.push(&text[start..end]);
            start = end;
        }
        end = next;
    }
    if end > start {
        chunks.push(&text[start..end]);
    }
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(number, chunk)| {
            let mut body = Map::new();
            body.insert("message-id".to_owned(), Value::from(message_id));
            body.insert("packetcount".to_owned(), Value::from(count));
            body.insert("packetnumber".to_owned(), Value::from(number));
            body.insert(
                "content".to_owned(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(chunk.as_bytes())),
            );
            encode("multipart", body)
        })
        .collect()
}

fn escape_astral(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().all(|c| (c as u32) <= 0xFFFF) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if (c as u32) <= 0xFFFF {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reassembles the way oktell.js does: per part base64, per part UTF-8, concatenate, parse.
    fn reassemble(frames: &[String]) -> Value {
        let mut text = String::new();
        for (expected, frame) in frames.iter().enumerate() {
            let part = parse(frame).unwrap();
            assert_eq!(part.name, "multipart");
            assert_eq!(part.body["packetnumber"], expected);
            assert_eq!(part.body["packetcount"], frames.len());
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(part.body["content"].as_str().unwrap())
                .unwrap();
            let piece = String::from_utf8(bytes).unwrap();
            assert!(piece.chars().all(|c| (c as u32) <= 0xFFFF), "astral char in a part");
            text.push_str(&piece);
        }
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn parse_accepts_request_and_tolerates_unknown_fields() {
        let request = parse(r#"["getversion",{"userlogin":"op1","x":[1],"qid":"0.1163"}]"#).unwrap();
        assert_eq!(request.name, "getversion");
        assert_eq!(request.qid(), Some(&Value::from("0.1163")));
    }

    #[test]
    fn parse_rejects_frames_that_are_not_name_and_object() {
        for text in [
            "",
            "{}",
            "[]",
            r#"["a"]"#,
            r#"["a",1]"#,
            r#"[1,{}]"#,
            r#"["a",{},3]"#,
            "[\"a\",{",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn multipart_splits_cyrillic_on_character_boundaries() {
        let mut body = Map::new();
        body.insert("qid".into(), "0.37".into());
        body.insert("caption".into(), "Главное меню — очередь продаж №1".repeat(20).into());
        let text = encode("getpbxnumbersresult", body);
        // An odd part size forces cuts that would fall inside two-byte sequences.
        let frames = split_multipart(&text, 33, "m-1");
        assert!(frames.len() > 10);
        assert_eq!(reassemble(&frames), serde_json::from_str::<Value>(&text).unwrap());
    }

    #[test]
    fn multipart_escapes_characters_outside_the_bmp() {
        let text = encode("x", Map::from_iter([("name".to_owned(), Value::from("ok 😀 ok"))]));
        let frames = split_multipart(&text, 4, "m-2");
        assert_eq!(reassemble(&frames)[1]["name"], "ok 😀 ok");
    }

    #[test]
    fn multipart_part_sizes_respect_the_limit() {
        let text = "ж".repeat(100);
        let frames = split_multipart(&text, 10, "m-3");
        assert_eq!(frames.len(), 20);
    }
}
