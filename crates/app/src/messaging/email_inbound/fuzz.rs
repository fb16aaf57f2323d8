//! Hostile bodies against the inbound-email webhook parser (RELIABILITY.md, "Hostile input"):
//! whatever the mail provider relays from any sender on the internet, reading it must give a
//! message or a typed error in time linear in its length, with thread ids that are ids and no
//! NUL left once `nul::strip` has run.

use super::*;
use bma_hostile::json::mutated;
use bma_hostile::{bounded, text::bytes};
use bma_integrations::nul;
use proptest::prelude::*;
use serde_json::{Value, json};

fn postmark_sample() -> Value {
    json!({
        "FromName": "Som", "MessageStream": "inbound", "From": "manager@hotel.example",
        "FromFull": { "Email": "manager@hotel.example", "Name": "Som", "MailboxHash": "" },
        "To": "support@bma.example",
        "ToFull": [{ "Email": "support@bma.example", "Name": "", "MailboxHash": "" }],
        "Cc": "", "CcFull": [], "OriginalRecipient": "support@bma.example",
        "Subject": "Re: Lobby music", "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "Date": "Fri, 1 Aug 2025 16:45:32 +0700",
        "TextBody": "Thanks, it plays again.\n\n> On Friday you wrote:\n> Lobby is silent",
        "HtmlBody": "<p>Thanks, it plays again.</p>", "StrippedTextReply": "Thanks, it plays again.",
        "Headers": [
            { "Name": "Message-ID", "Value": "<m2@hotel.example>" },
            { "Name": "In-Reply-To", "Value": "<m1@bma.example>" },
            { "Name": "References", "Value": "<m0@hotel.example> <m1@bma.example>" },
            { "Name": "X-Spam-Status", "Value": "No" }
        ],
        "Attachments": []
    })
}

fn is_id(s: &str) -> bool {
    s.starts_with('<') && s.ends_with('>')
}

/// Whether a value's `Debug` text shows a NUL (a `\0` left once every escaped backslash is gone).
fn shows_nul(debug: &str) -> bool {
    debug.replace("\\\\", "").contains("\\0")
}

proptest! {
    #[test]
    fn bodies_mutated_from_a_real_one_are_read_or_refused_within_the_bound(body in mutated(postmark_sample())) {
        let stripped = nul::strip(&body);
        let Ok(m) = bounded(body.len(), || parse(&stripped)) else { return Ok(()) };
        prop_assert!(is_id(&m.external_id), "{:?}", m.external_id);
        prop_assert!(matches!(m.from, Sender::Email(_)));
        let MessageBody::Text { text } = &m.body else { return Err(TestCaseError::fail("not text")) };
        prop_assert_eq!(text.trim(), text.as_str());
        let thread = m.thread.as_ref().ok_or_else(|| TestCaseError::fail("no thread"))?;
        prop_assert!(thread.in_reply_to.as_deref().is_none_or(is_id));
        prop_assert!(thread.references.iter().all(|r| is_id(r)));
        prop_assert!(!shows_nul(&format!("{m:?}")), "{:?}", m);
    }

    #[test]
    fn arbitrary_bytes_are_refused_or_read_within_the_bound(body in bytes()) {
        let _ = bounded(body.len(), || parse(&body));
    }
}
