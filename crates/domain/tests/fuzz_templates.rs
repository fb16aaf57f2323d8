//! Hostile text against campaign message templates (RELIABILITY.md, "Hostile input"): a template
//! is typed by a person and rendered once per recipient, so parsing must refuse or accept any
//! text quickly, an accepted template must travel as its own source, and rendering must never
//! leave braces of its own in a message.

use bma_domain::campaign::template::{MessageTemplate, RenderContext, Variable};
use bma_hostile::{bounded, text::text};
use proptest::prelude::*;

/// Hostile text with some known variables written in among it, spaced as people write them.
fn source() -> impl Strategy<Value = String> {
    let var = (prop::sample::select(Variable::ALL.to_vec()), "[ \t]{0,2}", "[ \t]{0,2}")
        .prop_map(|(v, before, after)| format!("{{{{{before}{}{after}}}}}", v.as_str()));
    prop::collection::vec((text(), prop::option::of(var)), 0..8)
        .prop_map(|parts| parts.into_iter().map(|(t, v)| t + &v.unwrap_or_default()).collect())
}

/// A recipient's values, with no braces in them.
fn values() -> impl Strategy<Value = (Vec<String>, i64)> {
    (prop::collection::vec(text().prop_map(|t| t.replace(['{', '}'], "")), 5), any::<i64>())
}

proptest! {
    #[test]
    fn parsing_any_text_is_bounded_in_time_and_an_accepted_template_travels_as_its_source(source in source()) {
        let parsed = bounded(source.len(), || MessageTemplate::parse(&source));
        if let Ok(t) = parsed {
            prop_assert_eq!(t.as_str(), source.as_str());
            prop_assert_eq!(MessageTemplate::parse(t.as_str()), Ok(t.clone()));
            let json = serde_json::to_string(&t).expect("serialises");
            prop_assert_eq!(serde_json::from_str::<MessageTemplate>(&json).ok(), Some(t.clone()));
            prop_assert_eq!(source.matches("{{").count(), t.variables().count());
        }
    }

    #[test]
    fn rendering_leaves_no_braces_of_its_own_and_fills_every_variable(source in source(), (v, zones) in values()) {
        let Ok(t) = MessageTemplate::parse(&source) else { return Ok(()) };
        let ctx = RenderContext {
            venue_name: &v[0],
            venue_brand: Some(&v[1]),
            venue_country: None,
            contact_name: &v[2],
            contact_role: Some(&v[3]),
            zone_count: zones,
            campaign_name: &v[4],
        };
        let out = bounded(source.len() + v.iter().map(String::len).sum::<usize>(), || t.render(&ctx));
        prop_assert!(!out.contains("{{"), "{:?} rendered as {:?}", source, out);

        // Each variable's value lands once for each time the template names it.
        prop_assume!(!source.contains('⟦'));
        let marks: Vec<String> = (0..6).map(|i| format!("⟦{i}⟧")).collect();
        let marked = RenderContext {
            venue_name: &marks[0],
            venue_brand: Some(&marks[1]),
            venue_country: Some(&marks[2]),
            contact_name: &marks[3],
            contact_role: Some(&marks[4]),
            zone_count: 0,
            campaign_name: &marks[5],
        };
        let out = t.render(&marked);
        let named = [
            Variable::VenueName,
            Variable::VenueBrand,
            Variable::VenueCountry,
            Variable::ContactName,
            Variable::ContactRole,
            Variable::CampaignName,
        ];
        for (mark, var) in marks.iter().zip(named) {
            prop_assert_eq!(out.matches(mark.as_str()).count(), t.variables().filter(|x| *x == var).count());
        }
    }
}
