//! NUL characters in a provider's JSON. PostgreSQL stores neither a NUL in text nor `\u0000` in
//! jsonb, so a message carrying one would fail its whole batch and be redelivered forever; such
//! characters mean nothing to a person, so they are dropped once the signature has been checked.

use std::borrow::Cow;

/// `body` with every `\u0000` removed from its strings; the same bytes when there is none (or
/// when the body is not JSON, for the parser to refuse).
pub fn strip(body: &[u8]) -> Cow<'_, [u8]> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return Cow::Borrowed(body);
    }
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) else { return Cow::Borrowed(body) };
    strip_value(&mut value);
    serde_json::to_vec(&value).map_or(Cow::Borrowed(body), Cow::Owned)
}

fn strip_value(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_value),
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().filter(|k| k.contains('\0')).cloned().collect();
            for k in keys {
                if let Some(item) = map.remove(&k) {
                    map.insert(k.replace('\0', ""), item);
                }
            }
            map.values_mut().for_each(strip_value);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_dropped_from_keys_and_values_and_other_bodies_are_untouched() {
        let body = br#"{"a\u0000":["x\u0000y",{"b":"\u0000"}],"n":1}"#;
        let out: serde_json::Value = serde_json::from_slice(&strip(body)).unwrap_or_default();
        assert_eq!(out, serde_json::json!({"a": ["xy", {"b": ""}], "n": 1}));
        assert!(matches!(strip(br#"{"a":"b"}"#), Cow::Borrowed(_)));
        assert!(matches!(strip(b"not json \\u0000"), Cow::Borrowed(_)));
    }
}
