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
