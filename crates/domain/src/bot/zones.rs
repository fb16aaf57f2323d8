//! Which of the venue's zones a message is about. Zone names are read into the same places as
//! messages, so "Pool Bar" matches "pool bar", "บาร์สระ" or "the bar by the pool", "ห้องอาหารไทย"
//! matches "thai restaurant", and a name the lexicon does not know ("Sky Deck 2") matches its own
//! words, with typos. A zone whose every word is named beats one named in part, and a longer
//! full match beats a shorter one it contains ("pool bar" names Pool Bar, not Bar). A name is also
//! heard across scripts ("คอฟฟี่ช็อป" names Coffee Shop, "rim nam" names ริมน้ำ; see `translit`).

use uuid::Uuid;

use super::lexicon::{Analysis, Cue, Place, Sym, ZoneWord, distance, typo_budget, zone_parts};
use super::normalize::is_thai;
use super::translit;
use super::{Intent, ZoneMatch, ZoneRef};

/// What the message itself names, before the intent and the venue's size are considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named {
    All,
    Zones(Vec<Uuid>),
    Nothing,
}

pub(crate) fn resolve(a: &Analysis, zones: &[ZoneRef], intent: &Intent) -> ZoneMatch {
    let needs_zone = !matches!(
        intent,
        Intent::Greeting | Intent::Thanks | Intent::TalkToHuman | Intent::SurveyAnswer { .. } | Intent::Unknown
    );
    let named = named(a, zones, intent);
    if !needs_zone {
        return match named {
            Named::All if *intent == Intent::Unknown => ZoneMatch::All,
            Named::Zones(ids) if *intent == Intent::Unknown => one_or_many(ids),
            _ => ZoneMatch::NoneNamed,
        };
    }
    match named {
        Named::All => ZoneMatch::All,
        Named::Zones(ids) => one_or_many(ids),
        Named::Nothing => match zones {
            [] => ZoneMatch::NoneNamed,
            [only] => ZoneMatch::One(only.id),
            _ if *intent == Intent::ZoneStatus => ZoneMatch::All,
            _ => ZoneMatch::Ambiguous(zones.iter().map(|z| z.id).collect()),
        },
    }
}

fn one_or_many(mut ids: Vec<Uuid>) -> ZoneMatch {
    if ids.len() == 1 { ZoneMatch::One(ids.remove(0)) } else { ZoneMatch::Ambiguous(ids) }
}

fn says_all(a: &Analysis) -> bool {
    let h = &a.hits;
    h.iter().enumerate().any(|(i, hit)| match hit.sym {
        Sym::Cue(Cue::AllPlace) => true,
        Sym::Cue(Cue::All) => h[i + 1..].iter().take_while(|n| n.pos <= hit.pos + 2).any(|n| {
            matches!(n.sym, Sym::Cue(Cue::AllNoun | Cue::Player | Cue::Music | Cue::Song) | Sym::Place(Place::Generic))
        }),
        _ => false,
    })
}

struct Candidate {
    id: Uuid,
    words: Vec<ZoneWord>,
    matched: usize,
    full: bool,
}

pub(crate) fn named(a: &Analysis, zones: &[ZoneRef], intent: &Intent) -> Named {
    if says_all(a) {
        return Named::All;
    }
    let places = places(a, intent);
    let heard = Heard::of(a);
    let mut candidates: Vec<Candidate> = Vec::new();
    for zone in zones {
        let parts = zone_parts(&zone.name);
        let whole = heard.hears(&zone.name);
        let mut matched = 0;
        let mut heard_only = 0;
        let mut wanted = 0;
        for (w, surface) in &parts {
            if *w == ZoneWord::Generic {
                continue;
            }
            wanted += 1;
            if whole || mentions(a, places, w) {
                matched += 1;
            } else if heard.hears(surface) {
                heard_only += 1;
            }
        }
        // A word heard in the other script completes a name ("พูล" + บาร์ is Pool Bar); alone,
        // one word of a longer name is too weak a sign.
        if matched > 0 {
            matched += heard_only;
        }
        let words: Vec<ZoneWord> = parts.into_iter().map(|(w, _)| w).collect();
        if matched > 0 {
            candidates.push(Candidate { id: zone.id, full: matched == wanted, words, matched });
        }
    }
    if candidates.is_empty() {
        return Named::Nothing;
    }
    let full: Vec<&Candidate> = candidates.iter().filter(|c| c.full).collect();
    if !full.is_empty() {
        let kept: Vec<Uuid> = full
            .iter()
            .filter(|c| !full.iter().any(|other| other.matched > c.matched && contains(&other.words, &c.words)))
            .map(|c| c.id)
            .collect();
        return Named::Zones(kept);
    }
    let most = candidates.iter().map(|c| c.matched).max().unwrap_or(0);
    Named::Zones(candidates.iter().filter(|c| c.matched == most).map(|c| c.id).collect())
}

/// The places the message names. A word that is both a place and a style ("thai", "lounge")
/// is a style when it sits next to "music" ("thai music", "เพลงไทย") in a request for a style;
/// in any other message "the lounge music" is the music in the lounge.
fn places(a: &Analysis, intent: &Intent) -> u64 {
    let asks_style = matches!(intent, Intent::ChangePlaylist { .. });
    let mut bits = 0u64;
    for h in &a.hits {
        let Sym::Place(p) = h.sym else { continue };
        let style = asks_style
            && a.hits.iter().any(|o| matches!(o.sym, Sym::Mood(..)) && o.pos == h.pos)
            && a.hits.iter().any(|o| {
                let music_pos = if h.thai { h.pos.checked_sub(1) } else { Some(h.pos + 1) };
                matches!(o.sym, Sym::Cue(Cue::Music | Cue::Song)) && Some(o.pos) == music_pos
            });
        if !style {
            bits |= p.bit();
        }
    }
    bits
}

fn contains(big: &[ZoneWord], small: &[ZoneWord]) -> bool {
    small.iter().filter(|w| **w != ZoneWord::Generic).all(|w| big.contains(w))
}

fn mentions(a: &Analysis, places: u64, w: &ZoneWord) -> bool {
    match w {
        ZoneWord::Place(p) => places & p.bit() != 0,
        ZoneWord::Generic => places & Place::Generic.bit() != 0,
        ZoneWord::Num(n) => a.numbers().any(|m| m == *n),
        ZoneWord::Thai(s) => a.thai.contains(s.as_str()),
        ZoneWord::Word(s) => {
            let budget = typo_budget(s.chars().count());
            a.words().any(|m| m == s || (budget > 0 && distance(m, s, budget).is_some()))
        }
    }
}

/// The most phonetic keys of one script a message is compared by. Each is compared with every
/// zone name and word; a message of 2,000 one-letter Thai stretches took 120 ms against five zones
/// in a debug build. A zone is named among a message's first few unknown words.
const MAX_HEARD: usize = 64;

/// The first [`MAX_HEARD`] distinct non-empty keys, in the message's order.
fn first_distinct(keys: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys {
        if !k.is_empty() && !out.contains(&k) {
            out.push(k);
            if out.len() == MAX_HEARD {
                break;
            }
        }
    }
    out
}

/// What the message says in words the lexicon did not know, as phonetic keys: Thai stretches
/// (a Latin zone name written by its sound) and runs of Latin words (a Thai zone name spelled out).
struct Heard {
    thai: Vec<String>,
    latin: Vec<String>,
}

impl Heard {
    fn of(a: &Analysis) -> Heard {
        let thai = first_distinct(a.unknown_thai.iter().map(|(_, s)| translit::key(s)));
        let mut latin = Vec::new();
        let mut run = String::new();
        let mut last: Option<u16> = None;
        for (pos, span) in &a.unknown_words {
            let word = a.tokens.buf.get(span.clone()).unwrap_or("");
            if last.is_some_and(|l| l + 1 != *pos) && !run.is_empty() {
                latin.push(translit::key(&std::mem::take(&mut run)));
            }
            latin.push(translit::key(word));
            run.push_str(word);
            run.push(' ');
            last = Some(*pos);
        }
        if !run.is_empty() {
            latin.push(translit::key(&run));
        }
        Heard { thai, latin: first_distinct(latin) }
    }

    /// Whether `text` (a zone name or one of its words) is heard in the other script.
    fn hears(&self, text: &str) -> bool {
        let in_thai = text.chars().any(is_thai);
        let heard = if in_thai { &self.latin } else { &self.thai };
        if heard.is_empty() || !text.chars().any(char::is_alphabetic) {
            return false;
        }
        let name = translit::key(text);
        heard.iter().any(|h| translit::hears(&name, h))
    }
}
