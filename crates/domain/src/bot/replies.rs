//! What the bot says back, in English and Thai. One table of templates with `{name}` holes keeps
//! both languages side by side, so a missing translation shows in review; the functions below
//! only fill the holes.

use super::{Intent, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    VolumeSet,
    VolumeChanged,
    MusicRestarted,
    ZoneOffline,
    WhichZone,
    Handover,
    Greeting,
    Thanks,
    NowPlaying,
    NothingPlaying,
    AllPlaying,
    SomeSilent,
    NotAllowed,
    DidntUnderstand,
    Paused,
    Resumed,
    Skipped,
    Muted,
    PlaylistChanged,
    AskPause,
    AskMute,
    AskLower,
    YesPause,
    YesMute,
    YesLower,
    NoItStopped,
}

const TEMPLATES: &[(Reply, &str, &str)] = &[
    (Reply::VolumeSet, "{zone} volume is now {level} of 16.", "ปรับเสียงโซน {zone} เป็น {level} จาก 16 แล้วค่ะ"),
    (
        Reply::VolumeChanged,
        "{zone} volume went from {from} to {level} of 16.",
        "ปรับเสียงโซน {zone} จาก {from} เป็น {level} จาก 16 แล้วค่ะ",
    ),
    (Reply::MusicRestarted, "The music in {zone} is playing again.", "เพลงที่โซน {zone} กลับมาเล่นแล้วค่ะ"),
    (
        Reply::ZoneOffline,
        "The {zone} player is offline. We have opened an alert and a person from our team will follow up.",
        "เครื่องเล่นโซน {zone} ออฟไลน์อยู่ค่ะ เราเปิดการแจ้งเตือนแล้ว และเจ้าหน้าที่จะติดต่อกลับค่ะ",
    ),
    (Reply::WhichZone, "Which zone do you mean: {zones}?", "หมายถึงโซนไหนคะ: {zones}"),
    (Reply::Handover, "A person from our team will reply shortly.", "เจ้าหน้าที่ของเราจะตอบกลับในไม่ช้าค่ะ"),
    (
        Reply::Greeting,
        "Hello! I can check your music, change the volume or the playlist, or pass you to our team.",
        "สวัสดีค่ะ ช่วยเช็คเพลง ปรับเสียง เปลี่ยนเพลย์ลิสต์ หรือส่งต่อให้เจ้าหน้าที่ได้ค่ะ",
    ),
    (Reply::Thanks, "You're welcome!", "ยินดีค่ะ"),
    (
        Reply::NowPlaying,
        "Now playing in {zone}: {track} by {artist}.",
        "ตอนนี้โซน {zone} กำลังเล่นเพลง {track} ของ {artist} ค่ะ",
    ),
    (Reply::NothingPlaying, "Nothing is playing in {zone} right now.", "ตอนนี้โซน {zone} ไม่มีเพลงเล่นอยู่ค่ะ"),
    (Reply::AllPlaying, "All zones are playing: {playing}.", "ทุกโซนเล่นเพลงปกติค่ะ: {playing}"),
    (Reply::SomeSilent, "Playing: {playing}. Not playing: {silent}.", "กำลังเล่น: {playing} ไม่มีเสียง: {silent} ค่ะ"),
    (
        Reply::NotAllowed,
        "I can only change the music for registered staff of this venue. A person from our team will help you.",
        "ขออภัยค่ะ บอทเปลี่ยนเพลงได้เฉพาะพนักงานที่ลงทะเบียนของสถานที่นี้ เจ้าหน้าที่ของเราจะช่วยดูแลให้ค่ะ",
    ),
    (
        Reply::DidntUnderstand,
        "Sorry, I didn't understand. You can say, for example, \"music stopped in the lobby\" or \"volume 8\".",
        "ขออภัยค่ะ ไม่เข้าใจข้อความ ลองพิมพ์ เช่น \"เพลงที่ล็อบบี้หยุด\" หรือ \"ปรับเสียงเป็น 8\" ได้ค่ะ",
    ),
    (Reply::Paused, "The music in {zone} is paused.", "หยุดเพลงที่โซน {zone} แล้วค่ะ"),
    (Reply::Resumed, "The music in {zone} is playing again.", "เปิดเพลงที่โซน {zone} ต่อแล้วค่ะ"),
    (Reply::Skipped, "Skipped to the next track in {zone}.", "ข้ามไปเพลงถัดไปที่โซน {zone} แล้วค่ะ"),
    (Reply::Muted, "{zone} is muted.", "ปิดเสียงโซน {zone} แล้วค่ะ"),
    (Reply::PlaylistChanged, "{zone} is now playing {playlist}.", "เปลี่ยนโซน {zone} เป็น {playlist} แล้วค่ะ"),
    (
        Reply::AskPause,
        "Pause the music in {zone}? If it stopped by itself, tap \"No, music stopped\" and I will restart it.",
        "ต้องการหยุดเพลงที่โซน {zone} ใช่ไหมคะ ถ้าเพลงหยุดเอง กด \"ไม่ใช่ เพลงหยุดเอง\" แล้วจะเปิดเพลงให้ใหม่ค่ะ",
    ),
    (
        Reply::AskMute,
        "Mute {zone}? If the music stopped by itself, tap \"No, music stopped\" and I will restart it.",
        "ต้องการปิดเสียงโซน {zone} ใช่ไหมคะ ถ้าเพลงหยุดเอง กด \"ไม่ใช่ เพลงหยุดเอง\" แล้วจะเปิดเพลงให้ใหม่ค่ะ",
    ),
    (
        Reply::AskLower,
        "Turn {zone} right down? If the music stopped by itself, tap \"No, music stopped\" and I will restart it.",
        "ต้องการลดเสียงโซน {zone} ลงมากใช่ไหมคะ ถ้าเพลงหยุดเอง กด \"ไม่ใช่ เพลงหยุดเอง\" แล้วจะเปิดเพลงให้ใหม่ค่ะ",
    ),
    (Reply::YesPause, "Pause {zone}", "หยุดเพลง {zone}"),
    (Reply::YesMute, "Mute {zone}", "ปิดเสียง {zone}"),
    (Reply::YesLower, "Turn down {zone}", "ลดเสียง {zone}"),
    (Reply::NoItStopped, "No, music stopped", "ไม่ใช่ เพลงหยุดเอง"),
];

/// Buttons hold at most this many characters (WhatsApp reply buttons, LINE quick replies).
pub const BUTTON_TITLE: usize = 20;

/// What a silencing intent would do to a zone, for asking before doing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quieting {
    Pause,
    Mute,
    /// A large step down or a volume of 0.
    Lower,
}

impl Quieting {
    pub fn of(intent: &Intent) -> Option<Quieting> {
        match intent {
            Intent::Pause => Some(Quieting::Pause),
            Intent::Mute => Some(Quieting::Mute),
            Intent::VolumeSet { .. } | Intent::VolumeDown { .. } => Some(Quieting::Lower),
            _ => None,
        }
    }
}

fn render(reply: Reply, lang: Lang, args: &[(&str, &str)]) -> String {
    let template = TEMPLATES
        .iter()
        .find(|(r, _, _)| *r == reply)
        .map(|(_, en, th)| if lang == Lang::Th { *th } else { *en })
        .unwrap_or("");
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                out.push_str(args.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).unwrap_or(""));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn list(lang: Lang, names: &[&str]) -> String {
    let or = if lang == Lang::Th { " หรือ " } else { " or " };
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{}{or}{last}", init.join(", ")),
    }
}

pub fn volume_set(lang: Lang, zone: &str, level: u8) -> String {
    render(Reply::VolumeSet, lang, &[("zone", zone), ("level", &level.to_string())])
}

pub fn volume_changed(lang: Lang, zone: &str, from: u8, to: u8) -> String {
    render(Reply::VolumeChanged, lang, &[("zone", zone), ("from", &from.to_string()), ("level", &to.to_string())])
}

pub fn music_restarted(lang: Lang, zone: &str) -> String {
    render(Reply::MusicRestarted, lang, &[("zone", zone)])
}

pub fn zone_offline(lang: Lang, zone: &str) -> String {
    render(Reply::ZoneOffline, lang, &[("zone", zone)])
}

/// Asks which zone a message meant, listing the candidates.
pub fn which_zone(lang: Lang, zones: &[&str]) -> String {
    render(Reply::WhichZone, lang, &[("zones", &list(lang, zones))])
}

pub fn handover(lang: Lang) -> String {
    render(Reply::Handover, lang, &[])
}

pub fn greeting(lang: Lang) -> String {
    render(Reply::Greeting, lang, &[])
}

pub fn thanks(lang: Lang) -> String {
    render(Reply::Thanks, lang, &[])
}

/// What a zone plays now; `None` when nothing is playing.
pub fn now_playing(lang: Lang, zone: &str, track: Option<(&str, &str)>) -> String {
    match track {
        Some((track, artist)) => {
            render(Reply::NowPlaying, lang, &[("zone", zone), ("track", track), ("artist", artist)])
        }
        None => render(Reply::NothingPlaying, lang, &[("zone", zone)]),
    }
}

/// One line for a venue: the zones playing and the zones silent.
pub fn zone_status(lang: Lang, playing: &[&str], silent: &[&str]) -> String {
    let none = if lang == Lang::Th { "ไม่มี" } else { "none" };
    let playing_list = if playing.is_empty() { none.to_owned() } else { playing.join(", ") };
    if silent.is_empty() {
        render(Reply::AllPlaying, lang, &[("playing", &playing_list)])
    } else {
        render(Reply::SomeSilent, lang, &[("playing", &playing_list), ("silent", &silent.join(", "))])
    }
}

pub fn not_allowed(lang: Lang) -> String {
    render(Reply::NotAllowed, lang, &[])
}

pub fn didnt_understand(lang: Lang) -> String {
    render(Reply::DidntUnderstand, lang, &[])
}

pub fn paused(lang: Lang, zone: &str) -> String {
    render(Reply::Paused, lang, &[("zone", zone)])
}

pub fn resumed(lang: Lang, zone: &str) -> String {
    render(Reply::Resumed, lang, &[("zone", zone)])
}

pub fn skipped(lang: Lang, zone: &str) -> String {
    render(Reply::Skipped, lang, &[("zone", zone)])
}

pub fn muted(lang: Lang, zone: &str) -> String {
    render(Reply::Muted, lang, &[("zone", zone)])
}

pub fn playlist_changed(lang: Lang, zone: &str, playlist: &str) -> String {
    render(Reply::PlaylistChanged, lang, &[("zone", zone), ("playlist", playlist)])
}

/// Asks whether to silence `zone`, or whether the message reported that the music stopped.
pub fn ask_quieting(lang: Lang, action: Quieting, zone: &str) -> String {
    let reply = match action {
        Quieting::Pause => Reply::AskPause,
        Quieting::Mute => Reply::AskMute,
        Quieting::Lower => Reply::AskLower,
    };
    render(reply, lang, &[("zone", zone)])
}

/// The "yes" button of `ask_quieting`, cut to a button's length.
pub fn yes_quieting(lang: Lang, action: Quieting, zone: &str) -> String {
    let reply = match action {
        Quieting::Pause => Reply::YesPause,
        Quieting::Mute => Reply::YesMute,
        Quieting::Lower => Reply::YesLower,
    };
    render(reply, lang, &[("zone", zone)]).chars().take(BUTTON_TITLE).collect()
}

/// The "no, the music stopped" button of `ask_quieting`.
pub fn no_it_stopped(lang: Lang) -> String {
    render(Reply::NoItStopped, lang, &[]).chars().take(BUTTON_TITLE).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_has_both_languages() {
        for (reply, en, th) in TEMPLATES {
            assert!(!en.is_empty() && !th.is_empty(), "{reply:?}");
        }
    }

    #[test]
    fn the_volume_reply_names_zone_and_level_in_both_languages() {
        assert_eq!(volume_set(Lang::En, "Lobby", 8), "Lobby volume is now 8 of 16.");
        assert_eq!(volume_set(Lang::Th, "Lobby", 8), "ปรับเสียงโซน Lobby เป็น 8 จาก 16 แล้วค่ะ");
    }

    #[test]
    fn the_offline_reply_promises_a_person() {
        assert_eq!(
            zone_offline(Lang::En, "Lobby"),
            "The Lobby player is offline. We have opened an alert and a person from our team will follow up."
        );
    }

    #[test]
    fn which_zone_lists_the_candidates() {
        assert_eq!(
            which_zone(Lang::En, &["Lobby", "Pool Bar", "Spa"]),
            "Which zone do you mean: Lobby, Pool Bar or Spa?"
        );
        assert_eq!(which_zone(Lang::Th, &["Lobby", "Spa"]), "หมายถึงโซนไหนคะ: Lobby หรือ Spa");
    }

    #[test]
    fn a_status_summary_separates_playing_from_silent_zones() {
        assert_eq!(
            zone_status(Lang::En, &["Lobby", "Spa"], &["Pool Bar"]),
            "Playing: Lobby, Spa. Not playing: Pool Bar."
        );
        assert_eq!(zone_status(Lang::En, &["Lobby"], &[]), "All zones are playing: Lobby.");
    }

    #[test]
    fn now_playing_names_track_and_artist_or_says_nothing_plays() {
        assert_eq!(
            now_playing(Lang::En, "Lobby", Some(("So What", "Miles Davis"))),
            "Now playing in Lobby: So What by Miles Davis."
        );
        assert_eq!(now_playing(Lang::En, "Spa", None), "Nothing is playing in Spa right now.");
    }

    #[test]
    fn the_question_before_silencing_names_the_zone_and_its_buttons_fit() {
        assert_eq!(
            ask_quieting(Lang::En, Quieting::Pause, "Lounge"),
            "Pause the music in Lounge? If it stopped by itself, tap \"No, music stopped\" and I will restart it."
        );
        assert!(ask_quieting(Lang::Th, Quieting::Mute, "Lounge").contains("ปิดเสียงโซน Lounge"));
        assert_eq!(yes_quieting(Lang::En, Quieting::Pause, "Lounge"), "Pause Lounge");
        assert_eq!(no_it_stopped(Lang::En), "No, music stopped");
        for lang in [Lang::En, Lang::Th] {
            assert!(no_it_stopped(lang).chars().count() <= BUTTON_TITLE);
            let long = yes_quieting(lang, Quieting::Lower, "Rooftop Bar and Terrace");
            assert_eq!(long.chars().count(), BUTTON_TITLE);
        }
    }
}
