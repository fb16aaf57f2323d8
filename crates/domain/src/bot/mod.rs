//! Rule-based understanding of what venue staff write to the bot, in English and Thai: which
//! intent ("the music stopped", "louder", "play jazz"), which of the venue's zones, how sure the
//! rules are, and which language to answer in. It runs on every inbound message, so it is pure
//! and takes microseconds; below `CONFIDENT` the caller asks a model or hands over to a person.
//! `replies` holds the bilingual answers the bot sends.

mod intent;
mod lexicon;
mod normalize;
pub mod replies;
mod translit;
mod zones;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::messaging::Score;

/// Below this the rules did not really read the message.
pub const CONFIDENT: f32 = 0.5;

/// Volume levels run from 0 to this, as on Soundtrack players.
pub const MAX_VOLUME: u8 = 16;

/// One of the venue's sound zones, as the bot needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Th,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Th];

    /// The language's tag (`en`, `th`), as stored and as in HTML's `lang`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Th => "th",
        }
    }

    /// A language tag's primary subtag (`th`, `th-TH`, `EN_gb`).
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "th" => Some(Lang::Th),
            _ => None,
        }
    }
}

crate::sql::text_column!(Lang, Lang::parse);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Intent {
    MusicStopped,
    /// `step` is set when the message says how much ("up 3", "much louder" = 4); otherwise the
    /// caller uses its default step.
    VolumeUp {
        step: Option<u8>,
    },
    VolumeDown {
        step: Option<u8>,
    },
    /// 0..=16. A level outside that range is read as `Unknown` with low confidence, not clamped.
    VolumeSet {
        level: u8,
    },
    Mute,
    /// `query` is the style or playlist name asked for ("jazz", "chill", "sunset lounge"); empty
    /// when the message asks for a change without saying to what.
    ChangePlaylist {
        query: String,
    },
    Skip,
    NowPlaying,
    ZoneStatus,
    Pause,
    Resume,
    TalkToHuman,
    Greeting,
    Thanks,
    SurveyAnswer {
        score: u8,
    },
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "zones", rename_all = "snake_case")]
pub enum ZoneMatch {
    One(Uuid),
    /// Several zones fit what was named, or none was named in a venue with several zones.
    Ambiguous(Vec<Uuid>),
    /// The venue has no zones, or the intent needs none (greetings, thanks, a person, a score).
    NoneNamed,
    All,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Understanding {
    pub intent: Intent,
    pub zone: ZoneMatch,
    /// 0..1; below `CONFIDENT` the rules could not read the message.
    pub confidence: f32,
    pub language: Lang,
    /// The intent would make a zone quieter or silent, but the message may as well be a report
    /// that the music stopped: the caller asks before acting.
    pub ask_first: bool,
}

/// Reads one message against the venue's zones.
///
/// Zone rules: a zone named by word, alias (lobby/ล็อบบี้, pool/สระ, restaurant/ห้องอาหาร, …) or
/// with a typo is `One`; "all zones", "everywhere", "ทุกโซน" is `All`; with none named, a venue's
/// only zone is `One`, a status question covers `All`, and anything else is `Ambiguous` over every
/// zone so the caller asks which. An `Unknown` message keeps a zone it names (it may answer "which
/// zone?") and is otherwise `NoneNamed`.
pub fn understand(text: &str, zones: &[ZoneRef]) -> Understanding {
    let text = head(text);
    let analysis = lexicon::analyse(text);
    let language = analysis.tokens.lang;
    if let Some(score) = survey_score(text) {
        return Understanding {
            intent: Intent::SurveyAnswer { score },
            zone: ZoneMatch::NoneNamed,
            confidence: 0.9,
            language,
            ask_first: false,
        };
    }
    let quoted = quoted(text);
    let (intent, confidence, ask_first) = intent::classify(&analysis, quoted);
    let zone = zones::resolve(&analysis, zones, &intent);
    Understanding { intent, zone, confidence: confidence.clamp(0.0, 1.0), language, ask_first }
}

/// The language to answer `text` in: Thai when it holds any Thai.
pub fn reply_language(text: &str) -> Lang {
    normalize::tokenize(head(text)).lang
}

/// The most of one message the rules read. A request to the bot is a sentence or two (the
/// longest line of the bot's corpus is 115 characters); a longer message (a pasted email thread)
/// is no command, and the rules' cost grows with the message (before this cap, 16 KB took 40 ms
/// in a debug build and 64 KB ten times that), so the rest is not read.
pub const MAX_READ_CHARS: usize = 1000;

/// `text` up to its first [`MAX_READ_CHARS`] characters.
fn head(text: &str) -> &str {
    text.char_indices().nth(MAX_READ_CHARS).map_or(text, |(end, _)| &text[..end])
}

const THAI_PARTICLES: &[&str] = &["ครับ", "คับ", "ค่ะ", "คะ", "ค่า", "นะ", "จ้า", "ดาว", "คะแนน", "ให้", "เลย"];

/// A message that is only a score: a digit 1–5 (ASCII or Thai, "4/5", "5 stars") or a row of
/// stars. Words such as "good" are left to the survey flow, which knows a survey was sent.
fn survey_score(text: &str) -> Option<u8> {
    let mut s: String = text
        .chars()
        .map(|c| match c as u32 {
            0x0E50..=0x0E59 => char::from(b'0' + (c as u32 - 0x0E50) as u8),
            _ => c,
        })
        .collect();
    for p in THAI_PARTICLES {
        s = s.replace(p, " ");
    }
    let lower = s.trim().to_lowercase();
    let trimmed = lower.trim_end_matches(['!', '.', ' ']);
    let trimmed = trimmed
        .strip_suffix("/5")
        .or_else(|| trimmed.strip_suffix("out of 5"))
        .or_else(|| trimmed.strip_suffix("stars"))
        .or_else(|| trimmed.strip_suffix("star"))
        .unwrap_or(trimmed)
        .trim();
    if !trimmed.chars().any(|c| c.is_ascii_digit() || c == '⭐' || c == '★') {
        return None;
    }
    match Score::from_answer(None, trimmed)? {
        (score, None) => Some(score.get()),
        _ => None,
    }
}

/// Text between quotes, taken as a playlist name ("switch to "Sunset Lounge"").
fn quoted(text: &str) -> Option<&str> {
    let open = text.find(['"', '“', '«'])?;
    let after = &text[open..];
    let first = after.chars().next()?;
    let rest = &after[first.len_utf8()..];
    let close = rest.find(['"', '”', '»'])?;
    let inner = rest[..close].trim();
    (!inner.is_empty() && inner.chars().count() <= 60).then_some(inner)
}
