//! The rules that turn cues into one intent. They run in a fixed order, most specific first: a
//! request for a person, an explicit volume level, a complaint that the music stopped, then
//! commands (mute, pause, skip, change), questions, volume direction, resume, a bare style,
//! status, thanks and greetings. Whatever none of them reads is `Unknown` with low confidence, so
//! the caller can ask a model or a person instead of guessing.

use super::Intent;
use super::lexicon::{Analysis, Cue, Hit, MOODS, Place, Sym};

/// Confidence given to messages the rules cannot read.
pub(crate) const UNKNOWN_CONFIDENCE: f32 = 0.2;
/// Confidence of a volume level outside 0–16: the intent is clear, the value is not, so the
/// caller asks rather than clamping ("volume 30" may mean 30 % or "as loud as it goes").
pub(crate) const OUT_OF_RANGE_CONFIDENCE: f32 = 0.35;
/// Step used for "much louder", "way too quiet", "เบามาก".
pub(crate) const BIG_STEP: u8 = 4;

struct View<'a> {
    h: &'a [Hit],
}

const AUDIO: &[Cue] = &[Cue::Music, Cue::Song, Cue::Sound, Cue::Player, Cue::Volume, Cue::Playlist];

impl View<'_> {
    fn cue(&self, i: usize) -> Option<Cue> {
        match self.h.get(i)?.sym {
            Sym::Cue(c) => Some(c),
            _ => None,
        }
    }

    fn has(&self, c: Cue) -> bool {
        self.h.iter().any(|h| h.sym == Sym::Cue(c))
    }

    fn has_any(&self, cs: &[Cue]) -> bool {
        self.h.iter().any(|h| matches!(h.sym, Sym::Cue(c) if cs.contains(&c)))
    }

    fn all(&self, c: Cue) -> impl Iterator<Item = usize> + '_ {
        self.h.iter().enumerate().filter(move |(_, h)| h.sym == Sym::Cue(c)).map(|(i, _)| i)
    }

    /// Whether a hit with one of `cs` sits within `window` words before hit `i`. Hits are in
    /// word order, so the scan stops at the window's edge (scanning every hit made a message of
    /// many cues quadratic: 2,000 question marks took 50 ms in a debug build).
    fn before(&self, i: usize, cs: &[Cue], window: u16) -> bool {
        let Some(at) = self.h.get(i).map(|h| h.pos) else { return false };
        self.h[..i]
            .iter()
            .rev()
            .take_while(|h| h.pos.saturating_add(window) >= at)
            .any(|h| h.pos < at && matches!(h.sym, Sym::Cue(c) if cs.contains(&c)))
    }

    fn after(&self, i: usize, cs: &[Cue], window: u16) -> bool {
        let Some(at) = self.h.get(i).map(|h| h.pos) else { return false };
        self.h[i + 1..]
            .iter()
            .take_while(|h| h.pos <= at.saturating_add(window))
            .any(|h| h.pos > at && matches!(h.sym, Sym::Cue(c) if cs.contains(&c)))
    }

    /// The cue of the nearest hit before `i` that sits at an earlier word.
    fn prev(&self, i: usize) -> Option<Cue> {
        let at = self.h.get(i)?.pos;
        let j = self.h[..i].iter().rposition(|h| h.pos < at)?;
        self.cue(j)
    }

    fn next(&self, i: usize) -> Option<&Hit> {
        let at = self.h.get(i)?.pos;
        self.h[i + 1..].iter().find(|h| h.pos > at)
    }

    fn negated(&self, i: usize) -> bool {
        self.before(i, &[Cue::Neg], 3)
    }

    fn first_pos(&self) -> u16 {
        self.h.first().map(|h| h.pos).unwrap_or(0)
    }

    fn any_live(&self, c: Cue) -> bool {
        self.all(c).any(|i| !self.negated(i))
    }

    fn has_place(&self) -> bool {
        self.h.iter().any(|h| matches!(h.sym, Sym::Place(_)) || h.sym == Sym::Cue(Cue::AllPlace))
    }
}

fn numbers(v: &View<'_>) -> (Option<(u32, bool)>, Option<u8>) {
    use Cue::*;
    let volume_context = v.has_any(&[Volume, Sound, Set, Turn, Level, Louder, Quieter, Up, Down, Percent, Loud, Quiet]);
    // Read once, not once a number: a message of 2,000 numbers took 25 ms in a debug build.
    let has_place = v.has_place();
    let set_or_turn = v.has_any(&[Set, Turn]);
    let mut best: Option<(u8, u32)> = None;
    let mut step = None;
    let mut skip_next = false;
    for (i, h) in v.h.iter().enumerate() {
        let Sym::Num(n) = h.sym else { continue };
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let next = v.next(i);
        let next_cue = next.and_then(|n| if let Sym::Cue(c) = n.sym { Some(c) } else { None });
        if next_cue == Some(TimeUnit) {
            continue;
        }
        let mut scaled = None;
        if next_cue == Some(Percent) {
            scaled = Some(if n <= 100 { (n * 16 + 50) / 100 } else { u32::MAX });
        } else if matches!(next_cue, Some(Slash | Out)) {
            let denom = v.h[i + 1..].iter().take(3).find_map(|h| if let Sym::Num(d) = h.sym { Some(d) } else { None });
            if let Some(d) = denom.filter(|d| *d > 0) {
                skip_next = true;
                scaled = Some(if n > d { u32::MAX } else { (n * 16 + d / 2) / d });
            }
        }
        let prev = v.prev(i);
        let level = scaled.unwrap_or(n);
        let priority = if matches!(prev, Some(To | At | Level)) && (volume_context || scaled.is_some()) {
            5
        } else if scaled.is_some() {
            4
        } else if matches!(prev, Some(Up | Down | By | Louder | Quieter)) || matches!(next_cue, Some(Step | Level)) {
            if n <= 16 && step.is_none() {
                step = Some(n as u8);
            }
            continue;
        } else if v.before(i, &[Volume, Sound], 3)
            || matches!(next_cue, Some(Volume))
            || (matches!(prev, Some(To)) && has_place)
        {
            3
        } else if set_or_turn && !matches!(prev, Some(Cue::Is)) && !prev_is_place(v, i) {
            2
        } else {
            continue;
        };
        if best.is_none_or(|(p, _)| priority > p) {
            best = Some((priority, level));
        }
    }
    (best.map(|(p, l)| (l, p >= 3)), step)
}

fn prev_is_place(v: &View<'_>, i: usize) -> bool {
    let Some(at) = v.h.get(i).map(|h| h.pos) else { return false };
    v.h[..i].iter().rev().find(|h| h.pos < at).is_some_and(|h| matches!(h.sym, Sym::Place(_)))
}

/// The styles asked for. A strong style word ("jazz") counts anywhere; a weak one ("party",
/// "thai", "house") only next to a music or request word, and not inside a place name ("Thai
/// restaurant", "ห้องอาหารไทย").
fn moods(v: &View<'_>) -> Vec<&'static str> {
    use Cue::*;
    const NEAR: &[Cue] =
        &[Music, Song, Playlist, Play, PlayMusic, Change, ChangeSong, Ask, Need, Get, Different, More, To];
    let mut out: Vec<&'static str> = Vec::new();
    for (i, h) in v.h.iter().enumerate() {
        let Sym::Mood(m, strong) = h.sym else { continue };
        let name_pos = if h.thai { h.pos.checked_sub(1) } else { Some(h.pos + 1) };
        let in_place_name = v.h.iter().any(|o| {
            matches!(o.sym, Sym::Place(p) if p != Place::Thai && p != Place::Lounge) && Some(o.pos) == name_pos
        });
        let near = v.before(i, NEAR, 3) || v.after(i, NEAR, 2);
        if (strong || (near && !in_place_name))
            && let Some(m) = MOODS.get(usize::from(m))
            && !out.contains(m)
        {
            out.push(m);
        }
    }
    out
}

fn playlist(moods: &[&str], quoted: Option<&str>) -> Intent {
    let query = match quoted {
        Some(q) => q.trim().to_lowercase(),
        None => moods.join(" "),
    };
    Intent::ChangePlaylist { query }
}

/// The intent, its confidence, and whether to ask before acting on it (see `quieting`).
pub(crate) fn classify(a: &Analysis, quoted: Option<&str>) -> (Intent, f32, bool) {
    let v = View { h: &a.hits };
    let (intent, confidence) = rules(&v, a, quoted);
    let (intent, confidence, ask) = quieting(&v, a, intent, confidence);
    let fuzzy = a.hits.iter().any(|h| h.fuzzy);
    let confidence = if fuzzy && intent != Intent::Unknown { confidence * 0.9 } else { confidence };
    (intent, confidence, ask)
}

/// Whether `intent` makes a zone quieter or silent.
fn silences(intent: &Intent) -> bool {
    match intent {
        Intent::Pause | Intent::Mute | Intent::VolumeSet { level: 0 } => true,
        Intent::VolumeDown { step: Some(s) } => *s >= BIG_STEP,
        _ => false,
    }
}

/// Verbs that open a command ("mute the lobby", "turn off", "ลดเสียง", "ปิดเพลง").
const COMMAND_VERBS: &[Cue] =
    &[Cue::Mute, Cue::Pause, Cue::Stop, Cue::Turn, Cue::Set, Cue::Change, Cue::Down, Cue::Quieter];
/// Words that may come before a command without making it less of one.
const LEAD_IN: &[Cue] =
    &[Cue::Greeting, Cue::Wai, Cue::Thanks, Cue::Please, Cue::Can, Cue::Ask, Cue::Need, Cue::Me, Cue::Ok, Cue::Intense];
const POLITE: &[Cue] = &[Cue::Please, Cue::Can, Cue::Ask, Cue::Need];

/// A message that would make a zone quieter or silent is acted on only when it is clearly a
/// command; silencing a zone the venue wants playing is the worst thing the bot can do.
/// - Complaining that it is too loud makes it a command.
/// - A report word ("why", "since", "by itself", "ทำไม", "เอง") or "check" makes it a report
///   that the music stopped, unless the quieting verb is asked for politely ("please pause …").
/// - "again" or a question (not a polite "can you …?") makes it a report, unless the message opens
///   with the command ("turn off the lobby music again?"): then the bot asks.
/// - Otherwise a message that opens with a command verb, asks politely or names a level acts;
///   one that does not ("lounge off", "lobby music pause", "เลาจน์ปิดเพลง") is asked about.
///
/// A later request to play again ("… please turn it back on") wins over an earlier "turned off".
fn quieting(v: &View<'_>, a: &Analysis, intent: Intent, confidence: f32) -> (Intent, f32, bool) {
    use Cue::*;
    if !silences(&intent) {
        return (intent, confidence, false);
    }
    let verb = v.h.iter().position(|h| match h.sym {
        Sym::Cue(c) => COMMAND_VERBS.contains(&c) || (c == Off && h.thai),
        _ => false,
    });
    let quiet = verb.or_else(|| v.h.iter().position(|h| h.sym == Sym::Cue(Off)));
    let last_quiet = v.h.iter().rposition(|h| matches!(h.sym, Sym::Cue(Mute | Pause | Off | Stop | Quieter | Down)));
    if let Some(q) = last_quiet
        && resume(v, v.has_any(AUDIO), v.has_any(AUDIO) || v.has_place())
        && v.h.iter().skip(q + 1).any(|h| matches!(h.sym, Sym::Cue(On | Again | Resume | Unmute | PlayMusic)))
    {
        return (Intent::Resume, 0.8, false);
    }
    let loud = v.all(Loud).chain(v.all(TooLoud)).any(|i| !v.negated(i));
    if loud {
        return (intent, confidence, false);
    }
    let polite = quiet.is_some_and(|q| v.before(q, POLITE, 3));
    let opens = verb.is_some_and(|i| opens_message(v, a, i));
    let report = v.has_any(&[Report, Status]);
    let again = v.has(Again) || (v.has(Question) && !polite);
    let level = matches!(intent, Intent::VolumeSet { .. } | Intent::VolumeDown { .. });
    if report {
        return if polite { (intent, confidence, true) } else { (Intent::MusicStopped, 0.8, false) };
    }
    if again {
        return if opens || polite { (intent, confidence, true) } else { (Intent::MusicStopped, 0.8, false) };
    }
    (intent, confidence, !(opens || polite || level))
}

/// Whether hit `i` opens the message: before it come only greetings and words of politeness, no
/// place and no word the lexicon does not know ("เลาจน์ปิดเพลง" names the zone first).
fn opens_message(v: &View<'_>, a: &Analysis, i: usize) -> bool {
    let Some(at) = v.h.get(i).map(|h| h.pos) else { return false };
    let lead_in = v.h[..i].iter().all(|h| h.pos == at || matches!(h.sym, Sym::Cue(c) if LEAD_IN.contains(&c)));
    let unknown_before = a.unknown_words.iter().any(|(p, _)| *p < at) || a.unknown_thai.iter().any(|(p, _)| *p < at);
    lead_in && !unknown_before
}

fn rules(v: &View<'_>, a: &Analysis, quoted: Option<&str>) -> (Intent, f32) {
    use Cue::*;
    if v.h.is_empty() {
        return (Intent::Unknown, UNKNOWN_CONFIDENCE / 2.0);
    }
    let audio = v.has_any(AUDIO);
    let anywhere = audio || v.has_place();

    // A person, asked for explicitly.
    let human = v.has(Human);
    let talk_to = v.all(Talk).any(|i| !v.negated(i) && v.next(i).is_some_and(|n| n.sym == Sym::Cue(To)));
    if (human && v.any_live(Talk))
        || talk_to
        || v.has(CallMe)
        || (v.any_live(Call) && (human || v.has(Me) || v.has(Again)))
        || (human && v.has_any(&[Need, Get]))
        || (human && v.h.len() <= 2 && a.unknown <= 1)
    {
        return (Intent::TalkToHuman, 0.9);
    }

    // An explicit level.
    let (level, step) = numbers(v);
    if let Some((value, strong)) = level {
        return match u8::try_from(value).ok().filter(|l| *l <= 16) {
            Some(level) => (Intent::VolumeSet { level }, if strong { 0.9 } else { 0.7 }),
            None => (Intent::Unknown, OUT_OF_RANGE_CONFIDENCE),
        };
    }

    // The music stopped.
    if let Some(c) = stopped(v, anywhere, a.tokens.lang == super::Lang::Th) {
        return (Intent::MusicStopped, c);
    }

    if v.any_live(Mute) {
        return (Intent::Mute, 0.9);
    }

    if pause(v, audio) {
        return (Intent::Pause, 0.85);
    }

    let moods = moods(v);
    if let Some(r) = skip_or_change(v, a, &moods, quoted) {
        return r;
    }

    if now_playing(v) {
        return (Intent::NowPlaying, 0.85);
    }

    if let Some(r) = volume(v, step, !moods.is_empty()) {
        return r;
    }

    if resume(v, audio, anywhere) {
        return (Intent::Resume, 0.8);
    }

    if !moods.is_empty() || quoted.is_some() && (audio || v.has(Play)) {
        return (playlist(&moods, quoted), 0.7);
    }

    let question = v.has(Question) || v.cue(0) == Some(Cue::Is);
    let how = v.all(How).any(|i| !v.after(i, &[Intense], 1));
    if (v.any_live(Status) && (anywhere || v.has_any(&[All, AllNoun]) || a.unknown == 0))
        || (question && (v.has_any(&[Working, On, Online, Ok, Offline]) || how) && (anywhere || v.has(AllNoun)))
        || (v.has(Online) && anywhere)
    {
        return (Intent::ZoneStatus, 0.75);
    }

    if (v.has(Thanks) || (v.has(Wai) && !v.has(Greeting))) && a.unknown <= 4 {
        return (Intent::Thanks, 0.9);
    }
    if v.has(Greeting) && a.unknown <= 2 {
        return (Intent::Greeting, 0.9);
    }
    (Intent::Unknown, UNKNOWN_CONFIDENCE)
}

fn stopped(v: &View<'_>, anywhere: bool, thai: bool) -> Option<f32> {
    use Cue::*;
    let mut best: Option<f32> = None;
    let mut note = |c: f32| best = Some(best.map_or(c, |b: f32| b.max(c)));
    for (i, h) in v.h.iter().enumerate() {
        let Sym::Cue(c) = h.sym else { continue };
        match c {
            Stopped | Offline if !v.negated(i) => note(0.9),
            StoppedWeak if anywhere && !v.negated(i) => note(0.75),
            NotWorking | CantHear if anywhere && v.after(i, &[Music, Song, Any], 2) => note(0.85),
            NotWorking if anywhere => note(0.85),
            Working if anywhere && v.before(i, &[Neg], 2) && !v.before(i, &[Question], 8) => note(0.85),
            On if anywhere && v.before(i, &[Neg], 2) && !v.before(i, &[Turn], 3) => note(0.8),
            Neg => {
                let next = v.h[i + 1..].iter().find(|n| n.pos > h.pos && n.sym != Sym::Cue(Any));
                if next.is_some_and(|n| matches!(n.sym, Sym::Cue(Music | Song | Sound))) {
                    note(0.85);
                }
                if v.after(i, &[Hear], 2) && v.after(i, &[Any], 3) {
                    note(0.8);
                }
            }
            Stop if !v.negated(i) && !stop_is_command(v, i) && v.before(i, &[Music, Song, Sound, Player], 8) => {
                note(0.85)
            }
            Off if matches!(v.prev(i), Some(Is)) && anywhere => note(0.85),
            // Thai puts the state after its subject: "เพลงปิด" is "the music is off", while
            // "ปิดเพลง" is "turn the music off".
            Off if thai
                && v.before(i, &[Music, Song], 4)
                && !v.after(i, &[Music, Song, Sound], 2)
                && !v.before(i, &[Please, Ask, Can, Turn], 4) =>
            {
                note(0.8)
            }
            Down if matches!(v.prev(i), Some(Is | Player)) => note(0.8),
            _ => {}
        }
    }
    best
}

fn stop_is_command(v: &View<'_>, i: usize) -> bool {
    use Cue::*;
    v.h.get(i).is_some_and(|h| h.pos == v.first_pos())
        || v.after(i, &[Music, Song, Sound], 4)
        || matches!(v.prev(i), Some(Please | Can | Ask))
}

fn pause(v: &View<'_>, audio: bool) -> bool {
    use Cue::*;
    if v.any_live(Pause) {
        return true;
    }
    v.all(Stop).any(|i| !v.negated(i) && stop_is_command(v, i) && (audio || v.has_place() || v.h.len() <= 2))
        || v.all(Off).any(|i| {
            !v.negated(i)
                && !matches!(v.prev(i), Some(Is))
                && (audio || v.has(AllPlace) || english_place_off(v, i))
                && (v.before(i, &[Turn, Change, Please, Can, Set], 3)
                    || v.after(i, &[Music, Song, Sound], 3)
                    || audio
                    || english_place_off(v, i))
        })
}

/// "lounge off": an English "off" after a zone may be a command or a report (`quieting` asks).
/// A Thai "ปิด" after a place without music is the place being closed ("ร้านปิด").
fn english_place_off(v: &View<'_>, i: usize) -> bool {
    v.h.get(i).is_some_and(|h| !h.thai) && v.has_place()
}

fn skip_or_change(v: &View<'_>, a: &Analysis, moods: &[&'static str], quoted: Option<&str>) -> Option<(Intent, f32)> {
    use Cue::*;
    if v.any_live(Skip) {
        return Some((Intent::Skip, 0.85));
    }
    let change = v.all(Change).chain(v.all(ChangeSong)).any(|i| !v.negated(i));
    if change {
        if !moods.is_empty() || quoted.is_some() {
            return Some((playlist(moods, quoted), 0.85));
        }
        if let Some(query) = free_query(v, a) {
            return Some((Intent::ChangePlaylist { query }, 0.7));
        }
        if v.has(Playlist) {
            return Some((playlist(&[], None), 0.8));
        }
        if v.has_any(&[This, Song, ChangeSong]) {
            return Some((Intent::Skip, 0.8));
        }
        if v.has(Music) {
            return Some((playlist(&[], None), 0.7));
        }
    }
    let audio = v.has_any(AUDIO);
    if v.all(Next).any(|i| {
        !v.negated(i) && (v.after(i, &[Song, Music, It, Please], 2) || (audio && v.h.len() <= 4) || v.h.len() == 1)
    }) {
        return Some((Intent::Skip, 0.8));
    }
    let dislike = v.has(Dislike) || v.all(Like).any(|i| v.negated(i));
    if dislike && v.has_any(&[This, Song, Music]) {
        return Some((Intent::Skip, 0.75));
    }
    if !moods.is_empty() && v.has_any(&[Play, PlayMusic, Different, More, Get, Need, Ask, Turn, On]) {
        return Some((playlist(moods, quoted), 0.8));
    }
    if v.has(Different) && v.has(Playlist) {
        return Some((playlist(&[], None), 0.75));
    }
    None
}

/// Words the lexicon does not know right after "to", "something", "more" in a change request:
/// a style or playlist name in the venue's own words ("switch the spa to something peaceful").
fn free_query(v: &View<'_>, a: &Analysis) -> Option<String> {
    use Cue::*;
    let anchor = v.h.iter().rev().find(|h| matches!(h.sym, Sym::Cue(To | Different | More)))?.pos;
    let words: Vec<&str> = a
        .unknown_words
        .iter()
        .filter(|(p, _)| *p > anchor && *p <= anchor + 3)
        .filter_map(|(_, span)| a.tokens.buf.get(span.clone()))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn now_playing(v: &View<'_>) -> bool {
    use Cue::*;
    (v.has(What) && v.has_any(&[Music, Song, Working, Play, PlayMusic]))
        || (v.has(Who) && v.has(Sing))
        || (v.has_any(&[Name, Know]) && v.has_any(&[Music, Song]))
}

fn volume(v: &View<'_>, step: Option<u8>, has_moods: bool) -> Option<(Intent, f32)> {
    use Cue::*;
    let place = v.has_place();
    let mut up = 0u8;
    let mut down = 0u8;
    let mut last_up = false;
    let mut add = |is_up: bool, w: u8| {
        // Saturating: a message may repeat "up" hundreds of times.
        if is_up {
            up = up.saturating_add(w);
        } else {
            down = down.saturating_add(w);
        }
        last_up = is_up;
    };
    for (i, h) in v.h.iter().enumerate() {
        let Sym::Cue(c) = h.sym else { continue };
        let neg = v.negated(i);
        let verb_or_audio = v.before(i, &[Turn, Set, Please, Can, It], 3)
            || v.before(i, &[Volume, Sound, Music, Song, It], 2)
            || v.after(i, &[Volume, Sound, Music, Song, It], 3);
        match c {
            Louder | TooQuiet if !neg => add(true, 2),
            Quieter | TooLoud if !neg => add(false, 2),
            Quiet if !neg && v.h.iter().any(|m| matches!(m.sym, Sym::Mood(..)) && m.pos == h.pos + 1) => {}
            Quiet if !neg => {
                if v.before(i, &[Too, Intense, Mild, Barely], 2) {
                    add(true, 2)
                } else if v.before(i, &[Turn, Please, Can], 2) || v.after(i, &[Please], 1) {
                    add(false, 1)
                } else {
                    add(true, 1)
                }
            }
            Loud if v.before(i, &[Like], 2) => {}
            Loud => {
                if neg {
                    if !v.before(i, &[Too], 1) {
                        add(true, 2)
                    }
                } else if v.after(i, &[Enough], 1) {
                    add(true, 1)
                } else {
                    add(false, 2)
                }
            }
            High if !neg && v.before(i, &[Too, Intense], 2) => add(false, 2),
            Up if !neg && (verb_or_audio || place || v.before(i, &[More], 1)) => add(true, 2),
            Down if !neg && !matches!(v.prev(i), Some(Is | Player)) && (verb_or_audio || place) => add(false, 2),
            More if !neg && v.after(i, &[Volume, Sound], 1) => add(true, 2),
            Hear if v.before(i, &[Barely], 2) => add(true, 2),
            Hear if neg => add(true, 1),
            CantHear => add(true, 1),
            _ => {}
        }
    }
    if up.max(down) == 0 || (up.max(down) < 2 && has_moods) {
        return None;
    }
    let is_up = if up == down { last_up } else { up > down };
    let step = step.or_else(|| v.has(Intense).then_some(BIG_STEP));
    let strength = up.max(down);
    let confidence = if up == down {
        0.55
    } else if strength >= 2 {
        0.85
    } else {
        0.65
    };
    Some((if is_up { Intent::VolumeUp { step } } else { Intent::VolumeDown { step } }, confidence))
}

fn resume(v: &View<'_>, audio: bool, anywhere: bool) -> bool {
    use Cue::*;
    if v.any_live(Resume) || v.any_live(Unmute) || v.any_live(PlayMusic) {
        return true;
    }
    if v.all(Start).any(|i| !v.negated(i)) && (anywhere || v.has(Again) || v.h.len() == 1) {
        return true;
    }
    if v.all(Play).any(|i| !v.negated(i)) && (audio || v.has_any(&[Again, It]) || v.h.len() == 1) {
        return true;
    }
    v.all(On).any(|i| {
        !v.negated(i)
            && !matches!(v.prev(i), Some(Is))
            && (v.before(i, &[Turn, Change, Again, Set], 4) || v.after(i, &[Please], 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::lexicon::analyse;

    fn read(text: &str) -> Intent {
        classify(&analyse(text), None).0
    }

    fn asks(text: &str) -> bool {
        classify(&analyse(text), None).2
    }

    #[test]
    fn the_order_of_stop_and_music_separates_a_complaint_from_a_command() {
        assert_eq!(read("เพลงหยุด"), Intent::MusicStopped);
        assert_eq!(read("หยุดเพลง"), Intent::Pause);
        assert_eq!(read("music stop"), Intent::MusicStopped);
        assert_eq!(read("stop the music"), Intent::Pause);
    }

    #[test]
    fn a_report_that_holds_a_command_word_is_music_stopped() {
        for text in [
            "lounge music off again",
            "why is the lobby music off?",
            "the lobby is paused, please check",
            "spa mute again pls check",
            "lobby volume 0 again??",
            "ล็อบบี้เพลงปิดอีกแล้ว ช่วยเช็คหน่อย",
            "เพลงปิดไปเองค่ะ",
            "ทำไมปิดเพลงที่ล็อบบี้คะ",
        ] {
            assert_eq!(read(text), Intent::MusicStopped, "{text}");
            assert!(!asks(text), "{text}");
        }
    }

    #[test]
    fn a_clear_command_to_silence_is_acted_on_without_asking() {
        for (text, intent) in [
            ("pause the lobby", Intent::Pause),
            ("can you pause the lobby?", Intent::Pause),
            ("please mute the spa, we have a speech", Intent::Mute),
            ("ปิดเพลงที่ล็อบบี้ก่อนค่ะ", Intent::Pause),
            ("ช่วยปิดเสียงสปาหน่อยค่ะ", Intent::Mute),
            ("lobby volume 0", Intent::VolumeSet { level: 0 }),
            ("the lobby is way too loud, turn it down a lot", Intent::VolumeDown { step: Some(BIG_STEP) }),
        ] {
            assert_eq!(read(text), intent, "{text}");
            assert!(!asks(text), "{text}");
        }
    }

    #[test]
    fn a_silencing_message_the_rules_cannot_place_is_asked_about() {
        for text in ["lobby off", "music off in the spa", "turn off the lobby music again?", "ล็อบบี้ปิดเพลง"]
        {
            assert_eq!(read(text), Intent::Pause, "{text}");
            assert!(asks(text), "{text}");
        }
    }

    #[test]
    fn only_silencing_intents_are_ever_asked_about() {
        for text in ["turn the lobby up again?", "play jazz in the lobby", "lobby off", "music stopped"] {
            let (intent, _, ask) = classify(&analyse(text), None);
            assert!(!ask || silences(&intent), "{text}");
        }
        assert!(!asks("turn the lobby down a bit"), "a small step down is not asked about");
    }

    #[test]
    fn a_number_next_to_a_time_unit_is_not_a_level() {
        assert_eq!(read("music stopped 20 minutes ago"), Intent::MusicStopped);
    }
}
