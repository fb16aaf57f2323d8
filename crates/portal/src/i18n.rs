//! Every text the portal shows, in English and Thai, from Fluent catalogues: one file per page
//! area under `locales/<lang>/`, listed in [`AREAS`]. A test proves both languages define the
//! same messages and that every message the templates ask for exists.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;
use unic_langid::LanguageIdentifier;

pub use bma_domain::bot::Lang;

/// The first supported language of an `Accept-Language` header, by preference weight.
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut ranked: Vec<(f32, Lang)> = header
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let lang = Lang::parse(it.next()?)?;
            let q =
                it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
            (q > 0.0).then_some((q, lang))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.first().map(|(_, l)| *l)
}

macro_rules! area {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../locales/en/", $name, ".ftl")),
            include_str!(concat!("../locales/th/", $name, ".ftl")),
        )
    };
}

/// The catalogue files: (area, English, Thai). A new page area adds its line here.
pub const AREAS: &[(&str, &str, &str)] = &[
    area!("core"),
    area!("signin"),
    area!("dashboard"),
    area!("status"),
    area!("profile"),
    area!("venues"),
    area!("team"),
    area!("audit"),
    area!("campaigns"),
    area!("analytics"),
    area!("monitoring"),
    area!("alerts"),
    area!("inbox"),
    area!("status_links"),
];

type Bundle = FluentBundle<FluentResource>;

fn build(lang: Lang) -> Bundle {
    let id: LanguageIdentifier = lang.as_str().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    bundle.set_use_isolating(false);
    for (area, en, th) in AREAS {
        let source = if lang == Lang::Th { *th } else { *en };
        let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(partial, errors)| {
            tracing::error!(area, lang = lang.as_str(), ?errors, "catalogue has syntax errors");
            partial
        });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(area, lang = lang.as_str(), ?errors, "catalogue repeats a message");
        }
    }
    bundle
}

fn bundle(lang: Lang) -> &'static Bundle {
    static EN: OnceLock<Bundle> = OnceLock::new();
    static TH: OnceLock<Bundle> = OnceLock::new();
    match lang {
        Lang::En => EN.get_or_init(|| build(Lang::En)),
        Lang::Th => TH.get_or_init(|| build(Lang::Th)),
    }
}

/// The translator for one request's language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Tr { lang }
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let b = bundle(self.lang);
        let Some(pattern) = b.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(id, lang = self.lang.as_str(), "missing message");
            return id.to_owned();
        };
        let mut errors = Vec::new();
        let text = b.format_pattern(pattern, args, &mut errors).into_owned();
        if !errors.is_empty() {
            tracing::warn!(id, ?errors, "message formatted with errors");
        }
        text
    }

    /// The message `id`.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with one argument.
    pub fn ta(&self, id: &str, name: &str, value: impl std::fmt::Display) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_string()));
        self.format(id, Some(&args))
    }

    /// The message `id` with a number argument (plural rules apply).
    pub fn tn(&self, id: &str, name: &str, value: i64) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value));
        self.format(id, Some(&args))
    }
}

/// Every message id a catalogue defines (a line that starts a message: `id = ...`).
pub fn message_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| {
            let (id, _) = line.split_once('=')?;
            let id = id.trim_end();
            let starts = id.starts_with(|c: char| c.is_ascii_alphabetic());
            let valid = id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            (starts && valid).then(|| id.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(from_accept_language("th-TH,th;q=0.9,en;q=0.8"), Some(Lang::Th));
        assert_eq!(from_accept_language("fr-FR, en;q=0.5, th;q=0.7"), Some(Lang::Th));
        assert_eq!(from_accept_language("de"), None);
    }
}
