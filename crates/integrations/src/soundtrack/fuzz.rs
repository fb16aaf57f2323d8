//! Hostile answers against the Soundtrack client's reading of GraphQL responses (RELIABILITY.md,
//! "Hostile input"): whatever the server or a proxy in front of it sends, reading it must give a
//! typed error or data in time linear in its length, and an error reported under a root must fail
//! that root, never leave partial data to be read as complete.

use super::client::parse_answer;
use super::ops::{edges, next_cursor, snapshot};
use bma_hostile::json::mutated;
use bma_hostile::{bounded, text::bytes};
use proptest::prelude::*;
use serde_json::{Value, json};

fn zones_answer() -> Value {
    let zone = |id: &str, online: bool| {
        json!({ "id": id, "name": "Lobby", "online": online, "isPaired": true,
                "playback": { "state": "playing", "volume": 8 }, "status": { "code": "OK" },
                "subscription": { "state": "ACTIVE" }, "nowPlaying": { "track": { "title": "Song" } } })
    };
    json!({ "data": { "a0": zone("U291bmRab25lLDEv", true), "a1": zone("U291bmRab25lLDIv", false), "a2": null },
            "errors": [{ "message": "Not found", "path": ["a2"], "locations": [{ "line": 1, "column": 40 }],
                         "extensions": { "code": "NOT_FOUND" } }] })
}

fn accounts_answer() -> Value {
    json!({ "data": {
        "me": { "accounts": {
            "pageInfo": { "hasNextPage": true, "endCursor": "Y3Vyc29yOjEwMA==" },
            "edges": [{ "node": { "id": "QWNjb3VudCwsMXN2", "businessName": "Hotel A" } }, { "node": null }] } },
        "a0": { "soundZoneStatuses": [{ "status": "OK", "total": 12 }, { "status": "OFFLINE", "total": 1 }] },
        "a1": { "soundZones": { "pageInfo": { "hasNextPage": false },
                                "edges": [{ "node": { "id": "Wm9uZQ==", "name": "Pool", "online": false } }] } }
    } })
}

const ROOTS: &[&str] = &["a0", "a1", "a2", "me"];

/// Reads an answer as the client does: the text of the body (reqwest decodes it lossily), then
/// each root, its connection and its zone.
fn read(body: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    let Ok(answer) = bounded(body.len(), || parse_answer(&text)) else { return Ok(()) };
    for error in &answer.errors {
        let _ = error.to_error();
    }
    for root in ROOTS {
        let reported =
            answer.errors.iter().any(|e| e.path.first().is_none_or(|p| p.as_str().is_none_or(|p| p == *root)));
        let read = answer.root(root);
        if reported {
            prop_assert!(read.is_err(), "an error under {} left its data readable", root);
        }
        let Ok(v) = read else { continue };
        let _ = snapshot(v, time::OffsetDateTime::UNIX_EPOCH);
        for conn in [v.get("accounts"), v.get("soundZones")].into_iter().flatten() {
            let all = conn.get("edges").and_then(Value::as_array).map_or(0, Vec::len);
            prop_assert!(edges(conn).count() <= all);
            if next_cursor(conn).is_some() {
                prop_assert_eq!(conn.pointer("/pageInfo/hasNextPage"), Some(&Value::Bool(true)));
            }
            for node in edges(conn) {
                if let Ok(z) = snapshot(node, time::OffsetDateTime::UNIX_EPOCH) {
                    prop_assert_eq!(Some(z.id.as_str()), node.get("id").and_then(Value::as_str));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn answers_mutated_from_real_ones_are_read_or_refused_within_the_bound(
        body in prop_oneof![mutated(zones_answer()), mutated(accounts_answer())]
    ) {
        read(&body)?;
    }

    #[test]
    fn arbitrary_bytes_are_refused_or_read_within_the_bound(body in bytes()) {
        read(&body)?;
    }
}
