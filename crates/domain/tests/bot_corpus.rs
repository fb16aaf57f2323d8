//! Measures the bot's rules against a labelled corpus of venue messages (tests/corpus/bot_corpus.tsv,
//! format in its header): intent, zone, value and reply-language accuracy, per language, with
//! every miss printed. Run with `--nocapture` to see the figures.

use bma_domain::bot::{Intent, Lang, ZoneMatch, ZoneRef, understand};
use uuid::Uuid;

// Measured when the thresholds were set (571 lines: 314 English, 257 Thai; 48 labelled Unknown):
//   intent   all 99.1% (566/571)  en 98.7%  th 99.6%
//   zone     all 99.8% (439/440)  en 99.6%  th 100%   (lines with an expected zone)
//   value    all 98.7% (224/227)  en 98.4%  th 99.0%  (lines whose intent carries a value)
//   language 100%;  Unknown lines read with confidence: 1 of 48
// Those figures include tuning: the first batch was written before the rules, and the rules were
// then improved on it and on the second batch. What unseen text gets is what the held-out batches
// got on their first run: second batch intent 84.8% (84/99), zone 98.6%, value 77.1% (before the
// fixes it prompted); third batch, never tuned on, intent 93.8% (76/81), zone 98.3%, value 90.3%.
// The fourth batch (transliterated zone names, reports of silence that hold command words) was
// written before the rules were changed for it; its first run: intent 66.2% (51/77), zone 62.3%
// (48/77), value 100% (10/10); the whole corpus then read intent 95.2% (617/648), zone 94.2%.
// After the fixes it prompted (romanised zone names, the complaint-versus-command rule, asking
// first; 678 lines): intent 99.4% (674/678), zone 99.8% (546/547), value 98.8% (239/242); fourth
// batch 100% (77/77), zone 100%; the fifth batch, written after those fixes and never tuned on,
// read 100% (30/30) on its first run.
// Thresholds sit a few points below; never lower them to make a run pass.
const MIN_INTENT: f64 = 0.96;
const MIN_INTENT_PER_LANGUAGE: f64 = 0.95;
const MIN_ZONE: f64 = 0.96;
const MIN_VALUE: f64 = 0.95;
const MIN_LANGUAGE: f64 = 0.99;
/// The never-tuned section ("third batch"): the closest figure to what new messages get.
const MIN_HELD_OUT_INTENT: f64 = 0.90;
const HELD_OUT: &str = "third batch";
/// Share of Unknown-labelled lines the rules read with confidence (and so would act on).
const MAX_CONFIDENT_UNKNOWN: f64 = 0.05;

const CORPUS: &str = include_str!("corpus/bot_corpus.tsv");

/// Each held-out batch's figures on its first run, before any rule was changed for it (printed
/// next to today's figures).
const FIRST_RUNS: &[(&str, &str)] = &[
    ("second batch", "intent 84.8% (84/99)  zone 98.6%  value 77.1%"),
    ("third batch", "intent 93.8% (76/81)  zone 98.3%  value 90.3%"),
    ("fourth batch", "intent 66.2% (51/77)  zone 62.3% (48/77)  value 100.0% (10/10)"),
    ("fifth batch", "intent 100.0% (30/30)  zone 100.0% (30/30)  value 100.0% (5/5)"),
];

#[derive(Debug)]
struct Line {
    number: usize,
    text: String,
    intent: String,
    value: Option<String>,
    /// Labelled with a trailing `?`: the rules should ask before acting.
    ask: bool,
    zone: String,
    lang: Lang,
    zones: Vec<ZoneRef>,
    section: String,
}

fn zone_id(group: usize, name: &str) -> Uuid {
    let mut h: u128 = group as u128;
    for b in name.bytes() {
        h = h.wrapping_mul(1_000_003).wrapping_add(u128::from(b));
    }
    Uuid::from_u128(h)
}

fn parse() -> Vec<Line> {
    let mut out = Vec::new();
    let mut zones: Vec<ZoneRef> = Vec::new();
    let mut group = 0;
    let mut section = String::new();
    for (i, raw) in CORPUS.lines().enumerate() {
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        if let Some(name) = raw.strip_prefix("@section") {
            section = name.trim().to_owned();
            continue;
        }
        if let Some(list) = raw.strip_prefix("@zones") {
            group += 1;
            zones = list
                .split('|')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| ZoneRef { id: zone_id(group, n), name: n.to_owned() })
                .collect();
            continue;
        }
        let cols: Vec<&str> = raw.split('\t').collect();
        assert_eq!(cols.len(), 4, "line {}: expected 4 tab-separated columns: {raw}", i + 1);
        let (label, ask) = match cols[1].strip_suffix('?') {
            Some(l) => (l, true),
            None => (cols[1], false),
        };
        let (intent, value) = match label.split_once(':') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (label.to_owned(), None),
        };
        let lang = match cols[3] {
            "En" => Lang::En,
            "Th" => Lang::Th,
            other => panic!("line {}: unknown language {other}", i + 1),
        };
        out.push(Line {
            number: i + 1,
            text: cols[0].to_owned(),
            intent,
            value,
            ask,
            zone: cols[2].to_owned(),
            lang,
            zones: zones.clone(),
            section: section.clone(),
        });
    }
    out
}

fn kind(intent: &Intent) -> &'static str {
    match intent {
        Intent::MusicStopped => "MusicStopped",
        Intent::VolumeUp { .. } => "VolumeUp",
        Intent::VolumeDown { .. } => "VolumeDown",
        Intent::VolumeSet { .. } => "VolumeSet",
        Intent::Mute => "Mute",
        Intent::ChangePlaylist { .. } => "ChangePlaylist",
        Intent::Skip => "Skip",
        Intent::NowPlaying => "NowPlaying",
        Intent::ZoneStatus => "ZoneStatus",
        Intent::Pause => "Pause",
        Intent::Resume => "Resume",
        Intent::TalkToHuman => "TalkToHuman",
        Intent::Greeting => "Greeting",
        Intent::Thanks => "Thanks",
        Intent::SurveyAnswer { .. } => "SurveyAnswer",
        Intent::Unknown => "Unknown",
    }
}

fn has_value(intent: &str) -> bool {
    matches!(intent, "VolumeUp" | "VolumeDown" | "VolumeSet" | "ChangePlaylist" | "SurveyAnswer")
}

/// Whether the value read matches the label. A step labelled without a value must be read
/// without one; a playlist query matches when it holds every labelled word ("smooth jazz" serves
/// "jazz"), and an empty label needs an empty query.
fn value_matches(expected: Option<&str>, actual: &Intent) -> bool {
    let num = |v: Option<&str>| v.and_then(|s| s.parse::<u8>().ok());
    match actual {
        Intent::VolumeUp { step } | Intent::VolumeDown { step } => *step == num(expected),
        Intent::VolumeSet { level } => Some(*level) == num(expected),
        Intent::SurveyAnswer { score } => Some(*score) == num(expected),
        Intent::ChangePlaylist { query } => {
            let want = expected.unwrap_or("").trim().to_lowercase();
            if want.is_empty() {
                query.is_empty()
            } else {
                let got: Vec<&str> = query.split_whitespace().collect();
                want.split_whitespace().all(|w| got.contains(&w))
            }
        }
        _ => false,
    }
}

fn zone_matches(expected: &str, actual: &ZoneMatch, zones: &[ZoneRef]) -> bool {
    match expected {
        "NONE" => *actual == ZoneMatch::NoneNamed,
        "ALL" => *actual == ZoneMatch::All,
        "AMBIGUOUS" => matches!(actual, ZoneMatch::Ambiguous(ids) if ids.len() > 1),
        name => zones.iter().find(|z| z.name == name).is_some_and(|z| *actual == ZoneMatch::One(z.id)),
    }
}

fn describe(actual: &ZoneMatch, zones: &[ZoneRef]) -> String {
    let name = |id: &Uuid| zones.iter().find(|z| z.id == *id).map(|z| z.name.clone()).unwrap_or_default();
    match actual {
        ZoneMatch::One(id) => name(id),
        ZoneMatch::Ambiguous(ids) => format!("AMBIGUOUS[{}]", ids.iter().map(name).collect::<Vec<_>>().join("|")),
        ZoneMatch::NoneNamed => "NONE".into(),
        ZoneMatch::All => "ALL".into(),
    }
}

#[derive(Default, Clone, Copy)]
struct Tally {
    hit: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.hit += usize::from(ok);
    }

    fn rate(self) -> f64 {
        if self.total == 0 { 1.0 } else { self.hit as f64 / self.total as f64 }
    }

    fn show(self) -> String {
        format!("{:5.1}% ({}/{})", self.rate() * 100.0, self.hit, self.total)
    }
}

#[derive(Default)]
struct Figures {
    intent: Tally,
    zone: Tally,
    value: Tally,
    language: Tally,
}

#[test]
fn the_rules_read_the_labelled_corpus() {
    let lines = parse();
    assert!(lines.len() >= 320, "corpus has {} lines", lines.len());
    let mut all = Figures::default();
    let mut en = Figures::default();
    let mut th = Figures::default();
    let mut sections: Vec<(String, Figures)> = Vec::new();
    let mut misses = Vec::new();
    let mut unknown_confident = Vec::new();
    let mut unknown_total = 0usize;

    for line in &lines {
        let u = understand(&line.text, &line.zones);
        let per = if line.lang == Lang::Th { &mut th } else { &mut en };
        let intent_ok = kind(&u.intent) == line.intent && u.ask_first == line.ask;
        let zone_ok = (line.zone != "-").then(|| zone_matches(&line.zone, &u.zone, &line.zones));
        let value_ok = has_value(&line.intent).then(|| intent_ok && value_matches(line.value.as_deref(), &u.intent));
        let lang_ok = u.language == line.lang;
        if sections.last().is_none_or(|(name, _)| *name != line.section) {
            sections.push((line.section.clone(), Figures::default()));
        }
        let Some((_, sec)) = sections.last_mut() else { unreachable!() };
        for f in [&mut all, &mut *per, sec] {
            f.intent.add(intent_ok);
            f.language.add(lang_ok);
            if let Some(ok) = zone_ok {
                f.zone.add(ok);
            }
            if let Some(ok) = value_ok {
                f.value.add(ok);
            }
        }
        if line.intent == "Unknown" {
            unknown_total += 1;
            if u.confidence >= bma_domain::bot::CONFIDENT {
                unknown_confident.push(line.number);
            }
        }
        if !intent_ok || zone_ok == Some(false) || value_ok == Some(false) || !lang_ok {
            misses.push(format!(
                "  line {:3}: \"{}\"\n            expected {}{}{} @ {} {:?}; got {:?}{} @ {} {:?} (confidence {:.2})",
                line.number,
                line.text,
                line.intent,
                line.value.as_deref().map(|v| format!(":{v}")).unwrap_or_default(),
                if line.ask { "?" } else { "" },
                line.zone,
                line.lang,
                u.intent,
                if u.ask_first { " (asks first)" } else { "" },
                describe(&u.zone, &line.zones),
                u.language,
                u.confidence,
            ));
        }
    }

    println!("bot corpus: {} lines ({} English, {} Thai)", lines.len(), en.intent.total, th.intent.total);
    for (name, f) in [("all", &all), ("en", &en), ("th", &th)] {
        println!(
            "  {name:3}  intent {}  zone {}  value {}  language {}",
            f.intent.show(),
            f.zone.show(),
            f.value.show(),
            f.language.show()
        );
    }
    for (name, f) in &sections {
        println!(
            "  section {name}:\n       intent {}  zone {}  value {}",
            f.intent.show(),
            f.zone.show(),
            f.value.show()
        );
        if let Some((_, first)) = FIRST_RUNS.iter().find(|(batch, _)| name.starts_with(batch)) {
            println!("       first run: {first}");
        }
    }
    println!("misses ({}):", misses.len());
    for m in &misses {
        println!("{m}");
    }

    println!(
        "Unknown lines read with confidence: {} of {unknown_total} {unknown_confident:?}",
        unknown_confident.len()
    );
    let confident_unknown = unknown_confident.len() as f64 / unknown_total.max(1) as f64;
    assert!(confident_unknown <= MAX_CONFIDENT_UNKNOWN, "Unknown lines read with confidence: {unknown_confident:?}");
    let held_out = sections.iter().find(|(name, _)| name.starts_with(HELD_OUT)).map(|(_, f)| f.intent);
    let held_out = held_out.unwrap_or_default();
    assert!(held_out.total > 0, "the corpus has no held-out section");
    assert!(held_out.rate() >= MIN_HELD_OUT_INTENT, "held-out intent accuracy {}", held_out.show());
    assert!(all.intent.rate() >= MIN_INTENT, "intent accuracy {}", all.intent.show());
    assert!(en.intent.rate() >= MIN_INTENT_PER_LANGUAGE, "English intent accuracy {}", en.intent.show());
    assert!(th.intent.rate() >= MIN_INTENT_PER_LANGUAGE, "Thai intent accuracy {}", th.intent.show());
    assert!(all.zone.rate() >= MIN_ZONE, "zone accuracy {}", all.zone.show());
    assert!(all.value.rate() >= MIN_VALUE, "value accuracy {}", all.value.show());
    assert!(all.language.rate() >= MIN_LANGUAGE, "language accuracy {}", all.language.show());
}
