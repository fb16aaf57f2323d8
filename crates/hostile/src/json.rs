//! A real sample payload mutated along its structure: values swapped for other types, huge
//! numbers, hostile strings, members renamed or dropped, arrays repeated, nodes nested deep, JSON
//! text serde_json cannot hold (numbers out of range, lone surrogates, duplicate keys, nesting past
//! its limit), then sometimes the bytes themselves cut short or made invalid UTF-8. Starting from
//! a real payload keeps most cases deep inside the parser, where a random byte string never gets.

use crate::text::{MAX_LEN, text};
use proptest::prelude::*;
use serde_json::Value;

/// A body to hand a parser; its `Debug` is the text, so a failing case reads as JSON.
#[derive(Clone, PartialEq, Eq)]
pub struct Body(pub Vec<u8>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Body({:?})", String::from_utf8_lossy(&self.0))
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// JSON text written as is in place of a node: what a `Value` cannot hold.
const RAW: &[&str] = &[
    "1e400",
    "-1e400",
    "18446744073709551616",
    "-9223372036854775809",
    "1.0",
    "-0",
    "1E2",
    "0.000000000000000000000000000001",
    r#""\ud800""#,
    r#""\udc00x""#,
    r#""\u0000""#,
    r#""a\u0000b""#,
    r#"{"a":1,"a":"2"}"#,
    r#"{"type":"text","type":"image"}"#,
    r#""\/\b\f\n\r\t""#,
];

/// The most a repeat adds, so that bodies stay a few hundred KiB at most.
const REPEATED_BYTES: usize = 4 * MAX_LEN;

/// One change at one place: `path` picks a child at each level (modulo its size) down from the
/// root, and `edit` says what happens there.
#[derive(Debug, Clone)]
pub struct Mutation {
    path: Vec<usize>,
    edit: Edit,
}

#[derive(Debug, Clone)]
enum Edit {
    /// The node becomes this value.
    Replace(Value),
    /// The node becomes this JSON text as written.
    Raw(String),
    /// The node leaves its parent.
    Remove,
    /// The node is repeated in its array, or copied under new keys; a string is repeated.
    Repeat(usize),
    /// The member's key is renamed.
    Rename(String),
    /// The node is wrapped in this many arrays.
    Nest(usize),
}

/// What a byte edit does to the serialised body.
#[derive(Debug, Clone)]
enum Bytes {
    Keep,
    Truncate(prop::sample::Index),
    Splice(prop::sample::Index, Vec<u8>),
}

fn leaf() -> impl Strategy<Value = Value> {
    let numbers = [i64::MIN, i64::MAX, 0, -1, 1_749_416_383, 1_749_416_383_000, 253_402_300_800, -62_167_219_201];
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => prop::sample::select(numbers.to_vec()).prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        3 => text().prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z_]{1,12}", inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn edit() -> impl Strategy<Value = Edit> {
    let deep = (1_usize..300, any::<bool>()).prop_map(|(depth, objects)| {
        if objects {
            format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
        } else {
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        }
    });
    prop_oneof![
        6 => value().prop_map(Edit::Replace),
        2 => prop::sample::select(RAW).prop_map(|r| Edit::Raw(r.to_owned())),
        1 => deep.prop_map(Edit::Raw),
        2 => Just(Edit::Remove),
        1 => (0_usize..300).prop_map(Edit::Repeat),
        1 => prop_oneof!["[a-zA-Z_]{0,12}", text()].prop_map(Edit::Rename),
        1 => (1_usize..140).prop_map(Edit::Nest),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (prop::collection::vec(any::<usize>(), 0..9), edit()).prop_map(|(path, edit)| Mutation { path, edit })
}

fn bytes_edit() -> impl Strategy<Value = Bytes> {
    let invalid =
        prop::sample::select(vec![b"\xff".to_vec(), b"\xc0\x80".to_vec(), b"\xed\xa0\x80".to_vec(), b"\0".to_vec()]);
    prop_oneof![
        8 => Just(Bytes::Keep),
        1 => any::<prop::sample::Index>().prop_map(Bytes::Truncate),
        1 => (any::<prop::sample::Index>(), invalid).prop_map(|(at, b)| Bytes::Splice(at, b)),
    ]
}

/// `sample` with up to five mutations, and now and then a byte edit.
pub fn mutated(sample: Value) -> impl Strategy<Value = Body> {
    (prop::collection::vec(mutation(), 0..6), bytes_edit()).prop_map(move |(mutations, bytes)| {
        let mut doc = sample.clone();
        let mut raws = Vec::new();
        for m in &mutations {
            apply(&mut doc, &m.path, &m.edit, &mut raws);
        }
        let mut text = doc.to_string();
        for (i, raw) in raws.iter().enumerate() {
            text = text.replacen(&format!("\"{}\"", marker(i)), raw, 1);
        }
        let mut body = text.into_bytes();
        match bytes {
            Bytes::Keep => {}
            Bytes::Truncate(at) => body.truncate(at.index(body.len() + 1)),
            Bytes::Splice(at, b) => {
                let at = at.index(body.len() + 1);
                body.splice(at..at, b);
            }
        }
        Body(body)
    })
}

fn marker(i: usize) -> String {
    format!("@@hostile-raw-{i}@@")
}

fn apply(node: &mut Value, path: &[usize], edit: &Edit, raws: &mut Vec<String>) {
    let Some((&step, rest)) = path.split_first() else { return edit_node(node, edit, raws) };
    match node {
        Value::Array(items) if !items.is_empty() => {
            let k = step % items.len();
            if rest.is_empty() {
                match edit {
                    Edit::Remove => {
                        items.remove(k);
                        return;
                    }
                    Edit::Repeat(n) => {
                        let item = items[k].clone();
                        let n = (*n).min(REPEATED_BYTES / item.to_string().len());
                        items.splice(k..k, std::iter::repeat_n(item, n));
                        return;
                    }
                    _ => {}
                }
            }
            apply(&mut items[k], rest, edit, raws);
        }
        Value::Object(members) if !members.is_empty() => {
            let Some(key) = members.keys().nth(step % members.len()).cloned() else { return };
            if rest.is_empty() {
                match edit {
                    Edit::Remove => {
                        members.remove(&key);
                        return;
                    }
                    Edit::Rename(to) => {
                        if let Some(v) = members.remove(&key) {
                            members.insert(to.clone(), v);
                        }
                        return;
                    }
                    Edit::Repeat(n) => {
                        if let Some(v) = members.get(&key).cloned() {
                            let n = (*n).min(REPEATED_BYTES / (key.len() + v.to_string().len()));
                            for i in 0..n {
                                members.insert(format!("{key}{i}"), v.clone());
                            }
                        }
                        return;
                    }
                    _ => {}
                }
            }
            if let Some(child) = members.get_mut(&key) {
                apply(child, rest, edit, raws);
            }
        }
        _ => edit_node(node, edit, raws),
    }
}

fn edit_node(node: &mut Value, edit: &Edit, raws: &mut Vec<String>) {
    match edit {
        Edit::Replace(v) => *node = v.clone(),
        Edit::Raw(r) => {
            *node = Value::String(marker(raws.len()));
            raws.push(r.clone());
        }
        Edit::Remove => *node = Value::Null,
        Edit::Repeat(n) => {
            if let Value::String(s) = node {
                let n = (*n).min(MAX_LEN / s.len().max(1));
                *s = s.repeat(n);
            }
        }
        Edit::Rename(_) => {}
        Edit::Nest(depth) => {
            for _ in 0..*depth {
                *node = Value::Array(vec![node.take()]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_path_walks_down_by_index_modulo_the_size_and_edits_there() {
        let mut doc = json!({"a": [1, 2, {"b": "x"}]});
        apply(&mut doc, &[0, 5, 0], &Edit::Replace(json!(null)), &mut Vec::new());
        assert_eq!(doc, json!({"a": [1, 2, {"b": null}]}));
        apply(&mut doc, &[0, 1], &Edit::Remove, &mut Vec::new());
        assert_eq!(doc, json!({"a": [1, {"b": null}]}));
        apply(&mut doc, &[0], &Edit::Rename("c".into()), &mut Vec::new());
        assert_eq!(doc, json!({"c": [1, {"b": null}]}));
    }

    #[test]
    fn raw_text_lands_in_place_of_its_node() {
        let mut doc = json!({"n": 1});
        let mut raws = Vec::new();
        apply(&mut doc, &[0], &Edit::Raw("1e400".into()), &mut raws);
        let text = doc.to_string().replacen(&format!("\"{}\"", marker(0)), &raws[0], 1);
        assert_eq!(text, r#"{"n":1e400}"#);
    }

    proptest! {
        #[test]
        fn mutated_bodies_stay_within_a_few_hundred_kib(body in mutated(json!({"a": [{"b": "text"}], "c": 1}))) {
            prop_assert!(body.len() < 40 * MAX_LEN, "{} bytes", body.len());
        }
    }
}
