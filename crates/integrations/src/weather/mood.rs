//! From the weather and the venue's local hour to a music mood: words to search playlists with,
//! and a line in English and Thai the bot can offer. Wet weather wins over the clock; then the
//! night, the evening and the morning; by day the sky and the heat decide.

use super::Weather;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mood {
    pub key: &'static str,
    pub playlist_words: &'static [&'static str],
    pub en: &'static str,
    pub th: &'static str,
}

const COZY: Mood = Mood {
    key: "cozy",
    playlist_words: &["acoustic", "cozy", "rainy day", "coffee", "soft jazz"],
    en: "Rainy outside — something cozy and acoustic.",
    th: "ฝนตกอยู่ — เพลงอะคูสติกฟังสบาย อบอุ่น",
};
const CALM: Mood = Mood {
    key: "calm",
    playlist_words: &["ambient", "calm", "piano", "late night"],
    en: "Late night — calm and quiet.",
    th: "ดึกแล้ว — เพลงสงบ เบาๆ",
};
const LOUNGE: Mood = Mood {
    key: "lounge",
    playlist_words: &["lounge", "evening", "jazz", "chill"],
    en: "Evening — smooth lounge.",
    th: "ช่วงค่ำ — เพลงเลานจ์นุ่มๆ",
};
const FRESH: Mood = Mood {
    key: "fresh",
    playlist_words: &["morning", "fresh", "acoustic pop", "breakfast"],
    en: "Morning — fresh and light.",
    th: "ยามเช้า — เพลงสดใส เบาสบาย",
};
const UPBEAT: Mood = Mood {
    key: "upbeat",
    playlist_words: &["upbeat", "summer", "tropical", "pop"],
    en: "Hot and sunny — upbeat and tropical.",
    th: "แดดจ้าอากาศร้อน — เพลงจังหวะสนุก สไตล์ทรอปิคอล",
};
const BRIGHT: Mood = Mood {
    key: "bright",
    playlist_words: &["feel good", "bright", "pop", "indie pop"],
    en: "Clear skies — bright and feel-good.",
    th: "ท้องฟ้าแจ่มใส — เพลงฟีลกู๊ด",
};
const MELLOW: Mood = Mood {
    key: "mellow",
    playlist_words: &["chill", "mellow", "indie", "downtempo"],
    en: "Grey skies — mellow and easy.",
    th: "ฟ้าครึ้ม — เพลงชิลล์ ฟังสบาย",
};

/// Every mood [`mood_for`] can answer.
pub const MOODS: &[Mood] = &[COZY, CALM, LOUNGE, FRESH, UPBEAT, BRIGHT, MELLOW];

/// Hot enough, in °C, for a clear afternoon to call for upbeat music.
const HOT_C: f64 = 30.0;

pub fn mood_for(weather: &Weather, local_hour: u8) -> Mood {
    let hour = local_hour % 24;
    if matches!(weather.main.as_str(), "Rain" | "Drizzle" | "Thunderstorm" | "Snow" | "Squall") {
        return COZY;
    }
    match hour {
        0..=5 => CALM,
        18..=23 => LOUNGE,
        6..=10 => FRESH,
        _ if weather.main == "Clear" && weather.temp_c >= HOT_C => UPBEAT,
        _ if weather.main == "Clear" => BRIGHT,
        _ => MELLOW,
    }
}
