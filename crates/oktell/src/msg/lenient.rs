//! Tolerant field decoders.
//!
//! The library we interoperate with compares loosely (`result == 1` accepts
//! `1`, `"1"` and `true`), and the real server's exact JSON types are partly
//! inferred (PROTOCOL.md tags them [INF]). These helpers accept every
//! reasonable spelling of a value and fall back to "absent" for nonsense, so a
//! surprising type in one field never makes a whole message unreadable.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// JavaScript-style truthiness of a JSON value.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A boolean written as `true`, `1`, `"1"`, `"true"`; anything else is false.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match &value {
        Value::String(s) => matches!(s.as_str(), "1" | "true" | "True" | "TRUE"),
        other => truthy(other),
    })
}

/// An integer written as a number or a numeric string; `None` otherwise.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(as_int(&Value::deserialize(d)?))
}

/// Integer view of a JSON value (numbers, numeric strings, booleans).
pub fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A string written as a string or a number; empty strings and null are `None`.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(as_text(&Value::deserialize(d)?))
}

/// Text view of a JSON value, `None` for null, empty strings and containers.
pub fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A list that may be missing, null or of the wrong type (then empty).
/// Elements that do not decode are skipped, not fatal.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// A list of strings that may hold numbers too.
pub fn texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.iter().filter_map(as_text).collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truthiness_follows_javascript() {
        assert!(!truthy(&json!(0)));
        assert!(!truthy(&json!("")));
        assert!(!truthy(&json!(null)));
        assert!(truthy(&json!("0")));
        assert!(truthy(&json!(2)));
        assert!(truthy(&json!({})));
    }

    #[test]
    fn integers_accept_numeric_strings_and_reject_words() {
        assert_eq!(as_int(&json!("161116")), Some(161_116));
        assert_eq!(as_int(&json!(5.0)), Some(5));
        assert_eq!(as_int(&json!(5.5)), None);
        assert_eq!(as_int(&json!("five")), None);
    }
}
