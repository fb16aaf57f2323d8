//! Hostile bodies against the WhatsApp and LINE webhook parsers and their signature checks
//! (RELIABILITY.md, "Hostile input"). A webhook is the one door anyone on the internet can
//! knock on: the signature check must refuse anything not signed and never panic on any header,
//! and a signed body, however malformed, must come back as items or a typed error in time
//! linear in its length, with every NUL gone once `nul::strip` has run (PostgreSQL refuses it).

use bma_domain::messaging::{InboundItem, Sender};
use bma_hostile::bounded;
use bma_hostile::json::{Body, mutated};
use bma_hostile::text::{bytes, text};
use bma_integrations::{line, nul, signature, whatsapp};
use proptest::prelude::*;
use serde_json::{Value, json};

fn whatsapp_sample() -> Value {
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "102290129340398", "changes": [{
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "contacts": [{ "profile": { "name": "Som" }, "wa_id": "66812345678" }],
            "messages": [
                { "from": "66812345678", "id": "wamid.A1", "timestamp": "1749416383", "type": "text",
                  "text": { "body": "เพลงหยุดที่ล็อบบี้" } },
                { "from": "66812345678", "id": "wamid.I", "timestamp": 1749416384, "type": "image",
                  "image": { "id": "1111", "mime_type": "image/jpeg", "sha256": "abc", "caption": "Speaker" } },
                { "from": "66812345678", "id": "wamid.L", "timestamp": "1749416385", "type": "location",
                  "location": { "latitude": 13.7563, "longitude": 100.5018, "name": "Hotel", "address": "Sukhumvit" } },
                { "from": "66812345678", "id": "wamid.B", "timestamp": "1749416386", "type": "interactive",
                  "interactive": { "type": "button_reply", "button_reply": { "id": "restart", "title": "Restart" } } },
                { "from": "66812345678", "id": "wamid.T", "timestamp": "1749416387", "type": "button",
                  "button": { "payload": "csat:5", "text": "5" } }
            ],
            "statuses": [
                { "id": "wamid.S1", "status": "delivered", "timestamp": "1698266945", "recipient_id": "66812345678",
                  "biz_opaque_callback_data": "0193-our-id" },
                { "id": "wamid.S2", "status": "failed", "timestamp": "1689380458", "recipient_id": "66812345678",
                  "errors": [{ "code": 131047, "title": "Re-engagement message",
                               "error_data": { "details": "more than 24 hours have passed" } }] }
            ],
            "errors": [{ "code": 131000, "title": "Something went wrong", "error_data": { "details": "boom" } }]
        }
    }] }] })
}

fn line_sample() -> Value {
    let user = "U4af4980629e7d9f2b4c1b2d0e5e1a9b0";
    let source = json!({ "type": "user", "userId": user });
    json!({ "destination": "Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "events": [
        { "type": "message", "webhookEventId": "01H1", "timestamp": 1749416383000_i64, "source": source,
          "replyToken": "rt1", "mode": "active", "deliveryContext": { "isRedelivery": false },
          "message": { "type": "text", "id": "468789577898262530", "text": "volume 8 in the lobby" } },
        { "type": "message", "webhookEventId": "01H2", "timestamp": 1749416384000_i64, "source": source,
          "message": { "type": "image", "id": "2", "contentProvider": { "type": "line" } } },
        { "type": "message", "webhookEventId": "01H3", "timestamp": 1749416385000_i64, "source": source,
          "message": { "type": "location", "id": "3", "title": "Hotel", "address": "Sukhumvit",
                       "latitude": 13.7563, "longitude": 100.5018 } },
        { "type": "message", "webhookEventId": "01H4", "timestamp": 1749416386000_i64, "source": source,
          "message": { "type": "file", "id": "4", "fileName": "invoice.pdf", "fileSize": 2048 } },
        { "type": "postback", "webhookEventId": "01H5", "timestamp": 1749416387000_i64, "source": source,
          "replyToken": "rt5", "postback": { "data": "csat:5", "displayText": "5" } },
        { "type": "follow", "webhookEventId": "01H6", "timestamp": 1749416388000_i64, "source": source,
          "replyToken": "rt6" },
        { "type": "unfollow", "webhookEventId": "01H7", "timestamp": 1749416389000_i64, "source": source },
        { "type": "join", "webhookEventId": "01H8", "timestamp": 1749416390000_i64,
          "source": { "type": "group", "groupId": "Cxxx" } }
    ] })
}

/// Whether a value's `Debug` text shows a NUL. `Debug` escapes a backslash as `\\`, so once
/// those pairs are gone, a `\0` left is a NUL and not a backslash followed by a zero.
fn shows_nul(debug: &str) -> bool {
    debug.replace("\\\\", "").contains("\\0")
}

/// The checks every parsed item must pass, whichever channel it came from.
fn check_items(items: &[InboundItem]) -> Result<(), TestCaseError> {
    for item in items {
        match item {
            InboundItem::Message(m) => {
                prop_assert!(!m.external_id.is_empty());
                prop_assert!(matches!(m.from, Sender::Whatsapp(_) | Sender::Line(_)));
            }
            InboundItem::Delivery(d) => prop_assert!(!d.external_id.is_empty()),
            InboundItem::Follow { event_id, .. } | InboundItem::Unfollow { event_id, .. } => {
                prop_assert!(!event_id.is_empty())
            }
            InboundItem::Skipped { .. } => {}
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn whatsapp_bodies_mutated_from_a_real_one_parse_or_fail_typed_within_the_bound(body in mutated(whatsapp_sample())) {
        if let Ok(items) = bounded(body.len(), || whatsapp::parse_webhook(&body)) {
            check_items(&items)?;
        }
    }

    #[test]
    fn line_bodies_mutated_from_a_real_one_parse_or_fail_typed_within_the_bound(body in mutated(line_sample())) {
        if let Ok(items) = bounded(body.len(), || line::parse_webhook(&body)) {
            check_items(&items)?;
        }
    }

    #[test]
    fn arbitrary_bytes_are_refused_or_read_by_both_parsers_within_the_bound(body in bytes()) {
        let _ = bounded(body.len(), || whatsapp::parse_webhook(&body));
        let _ = bounded(body.len(), || line::parse_webhook(&body));
    }

    #[test]
    fn after_nul_strip_no_parsed_item_holds_a_nul(
        body in prop_oneof![mutated(whatsapp_sample()), mutated(line_sample())]
    ) {
        let Body(raw) = &body;
        let stripped = bounded(raw.len(), || nul::strip(raw));
        if !raw.windows(6).any(|w| w == b"\\u0000") {
            prop_assert_eq!(&stripped[..], &raw[..], "a body without NUL escapes is left as it came");
        }
        if let Ok(items) = whatsapp::parse_webhook(&stripped) {
            prop_assert!(!shows_nul(&format!("{items:?}")), "{:?}", items);
        }
        if let Ok(items) = line::parse_webhook(&stripped) {
            prop_assert!(!shows_nul(&format!("{items:?}")), "{:?}", items);
        }
    }

    #[test]
    fn a_signature_verifies_its_own_body_only_and_no_header_panics(
        secret in text(), body in bytes(), header in text(), flip in any::<prop::sample::Index>()
    ) {
        let meta = signature::sign_hex_sha256(secret.as_bytes(), &body);
        prop_assert!(whatsapp::verify_signature(&secret, Some(&meta), &body));
        let line_header = signature::sign_base64_sha256(secret.as_bytes(), &body);
        prop_assert!(line::verify_signature(&secret, Some(&line_header), &body));
        if !body.is_empty() {
            let mut other = body.clone();
            other[flip.index(body.len())] ^= 0x01;
            prop_assert!(!whatsapp::verify_signature(&secret, Some(&meta), &other));
            prop_assert!(!line::verify_signature(&secret, Some(&line_header), &other));
        }
        let forged = bounded(header.len() + body.len(), || {
            (whatsapp::verify_signature(&secret, Some(&header), &body), line::verify_signature(&secret, Some(&header), &body))
        });
        prop_assert_eq!(forged, (header.trim() == meta, header.trim() == line_header));
    }

    #[test]
    fn the_subscription_handshake_echoes_only_for_the_exact_token(
        mode in prop_oneof![Just("subscribe".to_owned()), text()], token in text(), challenge in text(), expected in text()
    ) {
        let got = whatsapp::verify_subscription(Some(&mode), Some(&token), Some(&challenge), &expected);
        let right = mode == "subscribe" && !expected.is_empty() && token == expected;
        prop_assert_eq!(got, right.then(|| challenge.clone()));
    }
}
