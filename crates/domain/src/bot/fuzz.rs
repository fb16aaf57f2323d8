//! Hostile text against the bot's reading of a message (RELIABILITY.md, "Hostile input"): every
//! inbound message goes through the normaliser and the rules, so neither may panic or take more
//! than linear time on any text a venue can send, and normalised text must be a fixed point of
//! the normaliser (the rules read it again when they look for phrases).

use super::normalize::tokenize;
use super::*;
use bma_hostile::{bounded, text::text};
use proptest::prelude::*;

fn venue() -> Vec<ZoneRef> {
    ["Lobby", "Pool Bar", "Restaurant", "ห้องอาหารไทย", "İstanbul Terrace"]
        .iter()
        .enumerate()
        .map(|(i, n)| ZoneRef { id: Uuid::from_u128(i as u128 + 1), name: (*n).to_owned() })
        .collect()
}

fn tokens(text: &str) -> Vec<(normalize::Kind, String)> {
    let t = tokenize(text);
    t.tokens.iter().map(|tok| (tok.kind, t.text(tok).to_owned())).collect()
}

proptest! {
    #[test]
    fn normalising_normalised_text_again_changes_no_token(text in text()) {
        let once = tokenize(&text);
        let first = tokens(&text);
        prop_assert_eq!(tokens(&once.buf), first);
    }

    #[test]
    fn every_token_is_a_non_empty_slice_of_the_normalised_text(text in text()) {
        let t = tokenize(&text);
        for tok in &t.tokens {
            let s = t.buf.get(tok.span.clone());
            prop_assert!(s.is_some_and(|s| !s.is_empty()), "{:?} in {:?}", tok, t.buf);
        }
    }

    #[test]
    fn understanding_any_text_up_to_64_kib_is_bounded_in_time_and_range(text in text()) {
        let zones = venue();
        let u = bounded(text.len(), || understand(&text, &zones));
        prop_assert!((0.0..=1.0).contains(&u.confidence));
        match u.intent {
            Intent::VolumeSet { level } => prop_assert!(level <= MAX_VOLUME),
            Intent::SurveyAnswer { score } => prop_assert!((1..=5).contains(&score)),
            _ => {}
        }
        if let ZoneMatch::One(id) = u.zone {
            prop_assert!(zones.iter().any(|z| z.id == id));
        }
        prop_assert_eq!(u.language, reply_language(&text));
    }
}

// What the properties found, kept as plain tests.

#[test]
fn a_message_repeating_up_two_hundred_times_is_volume_up_not_an_overflow() {
    // Each "up" counted 2 in a u8: the 128th overflowed (a panic in a debug build, a wrapped
    // count in a release one).
    let u = understand(&"volume up ".repeat(200), &venue());
    assert!(matches!(u.intent, Intent::VolumeUp { .. }), "{u:?}");
}

#[test]
fn a_dotted_capital_i_normalises_to_a_plain_i() {
    // `İ` lowercases to `i` and U+0307; the combining dot ended the word on a second reading.
    assert_eq!(tokens("İstanbul"), vec![(normalize::Kind::Word, "istanbul".to_owned())]);
    assert_eq!(tokens(&tokenize("İstanbul").buf), tokens("İstanbul"));
}

#[test]
fn only_the_first_4096_characters_of_a_message_are_read() {
    // 64 KB of "volume up in the lobby" took over half a second in a debug build.
    let filler = "x".repeat(MAX_READ_CHARS);
    assert!(matches!(understand(&format!("louder {filler}"), &venue()).intent, Intent::VolumeUp { .. }));
    assert!(!matches!(understand(&format!("{filler} louder"), &venue()).intent, Intent::VolumeUp { .. }));
    let long = "volume up in the lobby ".repeat(3000);
    bounded(long.len(), || understand(&long, &venue()));
}

#[test]
fn many_question_marks_numbers_or_thai_stretches_are_read_within_the_bound() {
    // Each was quadratic: window checks scanned every hit (2,000 question marks: 50 ms in a debug
    // build), numbers re-read the whole message each (25 ms), and every unknown Thai stretch was
    // compared with every zone name (120 ms).
    for unit in ["? ", "❓\u{7847d}«?>", "1 ", "\0ก", " ก"] {
        let text = unit.repeat(MAX_READ_CHARS);
        bounded(text.len(), || understand(&text, &venue()));
    }
}
