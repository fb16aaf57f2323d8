//! The words the bot knows, in English and Thai, and what each one signals. Rules never look at
//! raw text: they read the cues this module finds. English words match exactly or with one or two
//! typos (longer words only, same first letter); Thai, written without spaces, is segmented by
//! longest match against the phrase table, so "เพลงไม่ดัง" reads as music + not-sounding.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::normalize::{Kind, Tokens, tokenize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    Music,
    Song,
    Sound,
    Volume,
    Player,
    Playlist,
    Stopped,
    StoppedWeak,
    Stop,
    Off,
    On,
    Working,
    NotWorking,
    Offline,
    Online,
    Neg,
    Is,
    Loud,
    TooLoud,
    Louder,
    Quiet,
    TooQuiet,
    Quieter,
    High,
    Up,
    Down,
    Turn,
    Set,
    Mute,
    Unmute,
    Skip,
    Next,
    Change,
    ChangeSong,
    Different,
    More,
    Play,
    PlayMusic,
    Pause,
    Resume,
    Start,
    Again,
    Question,
    What,
    Who,
    Sing,
    Name,
    Know,
    Status,
    Ok,
    Human,
    Talk,
    Call,
    CallMe,
    Me,
    Need,
    Get,
    Ask,
    Greeting,
    Thanks,
    Intense,
    Mild,
    Too,
    Enough,
    All,
    AllPlace,
    AllNoun,
    To,
    At,
    How,
    By,
    Level,
    Step,
    Percent,
    Slash,
    Out,
    Of,
    TimeUnit,
    Hear,
    CantHear,
    Barely,
    Any,
    Like,
    Dislike,
    This,
    It,
    Please,
    Can,
    /// 🙏: thanks on its own, a polite wai next to a greeting or a request.
    Wai,
    /// Words of a report, not a command: "why", "since", "by itself", "ทำไม", "เอง".
    Report,
    Noise,
}

/// Places that zone names are made of, with their English and Thai aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Lobby,
    Pool,
    Restaurant,
    Bar,
    Spa,
    Rooftop,
    Gym,
    Reception,
    Cafe,
    Lounge,
    Terrace,
    Garden,
    Beach,
    Shop,
    Thai,
    Entrance,
    Hall,
    Meeting,
    Kids,
    Breakfast,
    Outdoor,
    Generic,
}

impl Place {
    pub fn bit(self) -> u64 {
        1u64 << (self as u8)
    }
}

/// Styles a venue asks for; the first string is the query handed to the caller.
pub(crate) const MOODS: &[&str] = &[
    "jazz",
    "chill",
    "upbeat",
    "relaxing",
    "energetic",
    "classical",
    "acoustic",
    "piano",
    "christmas",
    "bossa nova",
    "lounge",
    "house",
    "pop",
    "rock",
    "thai",
    "happy",
    "romantic",
    "party",
    "lofi",
    "latin",
    "soul",
    "r&b",
    "hip hop",
    "edm",
    "ambient",
    "instrumental",
    "oldies",
    "tropical",
    "international",
    "luk thung",
    "k-pop",
    "reggae",
    "blues",
    "country",
    "indie",
    "chinese new year",
    "easy listening",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sym {
    Cue(Cue),
    Place(Place),
    /// Index into `MOODS`, and whether the word alone says "play this style".
    Mood(u8, bool),
    Num(u32),
}

fn mood(name: &str, strong: bool) -> Sym {
    let i = MOODS.iter().position(|m| *m == name).unwrap_or(0);
    Sym::Mood(i as u8, strong)
}

fn en_table() -> Vec<(&'static str, Sym)> {
    use Cue::*;
    let cues: &[(&[&str], Cue)] = &[
        (&["music", "musics", "bgm", "soundtrack", "radio"], Music),
        (&["song", "songs", "track", "tracks", "tune", "tunes"], Song),
        (&["sound", "sounds", "audio", "noise"], Sound),
        (&["volume", "vol", "volumes", "volumne"], Volume),
        (&["player", "players", "speaker", "speakers", "system", "device", "box", "app", "amp", "amplifier"], Player),
        (&["playlist", "playlists", "station", "genre", "style", "channel", "vibe", "selection"], Playlist),
        (&["stopped", "stops", "stopping", "silent", "muted", "stoped", "stopp"], Stopped),
        (
            &[
                "dead", "died", "gone", "broken", "cutting", "cuts", "cut", "crashed", "frozen", "stuck", "dropped",
                "drops",
            ],
            StoppedWeak,
        ),
        (&["stop"], Stop),
        (&["off"], Off),
        (&["on"], On),
        (&["working", "work", "works", "playing", "running", "plays", "coming"], Working),
        (&["offline", "disconnected", "unplugged"], Offline),
        (&["online", "connected"], Online),
        (
            &[
                "not", "no", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "cant", "cannot", "wont", "never",
                "nothing", "without", "hasnt", "havent", "nt",
            ],
            Neg,
        ),
        (&["is", "was", "are", "were", "its", "went", "been", "keeps", "seems", "has", "got", "goes"], Is),
        (&["loud", "loudly", "noisy", "deafening", "booming", "lowd", "lound"], Loud),
        (&["blasting", "overpowering"], TooLoud),
        (&["louder", "lowder", "louda", "higher"], Louder),
        (&["quiet", "soft", "low", "faint"], Quiet),
        (&["quieter", "softer", "lower", "lowered", "calmer", "quietly"], Quieter),
        (&["high"], High),
        (&["up", "increase", "raise", "boost", "pump", "crank"], Up),
        (&["down", "decrease", "reduce", "dim"], Down),
        (&["turn", "bring", "make", "put", "keep", "adjust"], Turn),
        (&["set"], Set),
        (&["mute", "silence", "shush"], Mute),
        (&["unmute", "unmuted"], Unmute),
        (&["skip", "skipping", "skipped"], Skip),
        (&["next"], Next),
        (&["change", "switch", "swap", "changing"], Change),
        (&["different", "another", "other", "else", "something", "new"], Different),
        (&["more"], More),
        (&["play"], Play),
        (&["pause", "paused"], Pause),
        (&["resume", "unpause", "restart", "continue", "restore"], Resume),
        (&["start"], Start),
        (&["again", "back"], Again),
        (&["what", "whats", "which"], What),
        (&["who", "whos"], Who),
        (&["sings", "singing", "singer", "artist", "sang"], Sing),
        (&["name", "title", "called"], Name),
        (&["know"], Know),
        (&["status", "check", "checking"], Status),
        (&["ok", "okay", "fine", "normal", "alright"], Ok),
        (
            &[
                "human",
                "person",
                "someone",
                "somebody",
                "agent",
                "representative",
                "operator",
                "manager",
                "staff",
                "people",
                "anyone",
                "admin",
                "support",
            ],
            Human,
        ),
        (&["talk", "speak", "chat", "contact", "connect", "transfer", "escalate"], Talk),
        (&["call", "phone", "ring"], Call),
        (&["me", "us"], Me),
        (&["need", "needs", "want", "wants"], Need),
        (&["get", "have"], Get),
        (
            &["hi", "hello", "hey", "hiya", "morning", "afternoon", "evening", "greetings", "sawasdee", "sawadee"],
            Greeting,
        ),
        (
            &[
                "thanks",
                "thank",
                "thx",
                "ty",
                "tks",
                "thankyou",
                "appreciated",
                "appreciate",
                "cheers",
                "tq",
                "thnx",
                "thanx",
            ],
            Thanks,
        ),
        (&["much", "way", "lot", "very", "extremely", "super", "far", "lots"], Intense),
        (&["bit", "little", "slightly", "abit", "touch", "tad", "tiny", "notch"], Mild),
        (&["too", "so"], Too),
        (&["enough"], Enough),
        (&["all", "every", "whole", "entire"], All),
        (&["everywhere", "anywhere", "everything"], AllPlace),
        (
            &[
                "zones",
                "areas",
                "outlets",
                "rooms",
                "floors",
                "venue",
                "hotel",
                "property",
                "building",
                "places",
                "locations",
                "speakers",
                "players",
                "resort",
            ],
            AllNoun,
        ),
        (&["to"], To),
        (&["at"], At),
        (&["how", "hows"], How),
        (&["by"], By),
        (&["level"], Level),
        (&["levels", "steps", "step", "notches", "clicks", "points"], Step),
        (&["percent", "pct"], Percent),
        (&["out"], Out),
        (&["of"], Of),
        (
            &[
                "am", "pm", "min", "mins", "minute", "minutes", "hour", "hours", "hr", "hrs", "oclock", "sec",
                "seconds", "day", "days", "week", "weeks", "times", "time", "rd", "th", "st", "nd", "year", "years",
                "month", "months",
            ],
            TimeUnit,
        ),
        (&["hear", "hearing"], Hear),
        (&["barely", "hardly"], Barely),
        (&["any", "anything"], Any),
        (&["like", "love"], Like),
        (&["hate", "dislike"], Dislike),
        (&["this", "that", "current"], This),
        (&["it", "one"], It),
        (&["please", "pls", "plz", "kindly", "plase", "pleae"], Please),
        (&["wai"], Wai),
        (&["why", "since", "ago", "itself", "suddenly", "anymore", "happened", "randomly"], Report),
        (&["can", "could", "would", "will", "u", "you"], Can),
    ];
    let places: &[(&[&str], Place)] = &[
        (&["lobby", "lobbies"], Place::Lobby),
        (&["pool", "poolside", "pools", "swimming"], Place::Pool),
        (&["restaurant", "resto", "dining", "restaurants"], Place::Restaurant),
        (&["bar", "bars", "pub"], Place::Bar),
        (&["spa"], Place::Spa),
        (&["rooftop", "roof", "skybar"], Place::Rooftop),
        (&["gym", "fitness"], Place::Gym),
        (&["reception", "frontdesk"], Place::Reception),
        (&["cafe", "café", "coffee"], Place::Cafe),
        (&["lounge"], Place::Lounge),
        (&["terrace", "patio", "deck", "balcony"], Place::Terrace),
        (&["garden"], Place::Garden),
        (&["beach", "beachfront"], Place::Beach),
        (&["shop", "store", "boutique", "retail"], Place::Shop),
        (&["thai"], Place::Thai),
        (&["entrance"], Place::Entrance),
        (&["hall", "ballroom"], Place::Hall),
        (&["meeting"], Place::Meeting),
        (&["kids"], Place::Kids),
        (&["breakfast"], Place::Breakfast),
        (&["outdoor", "outside"], Place::Outdoor),
        (&["zone", "area", "outlet"], Place::Generic),
    ];
    let moods: &[(&[&str], &str, bool)] = &[
        (&["jazz", "jazzy"], "jazz", true),
        (&["chill", "chilled", "chillout"], "chill", true),
        (&["upbeat", "lively"], "upbeat", true),
        (&["relaxing", "relax", "relaxed", "calm", "calming"], "relaxing", true),
        (&["energetic", "energy"], "energetic", true),
        (&["classical", "classic"], "classical", true),
        (&["acoustic"], "acoustic", true),
        (&["piano"], "piano", true),
        (&["christmas", "xmas"], "christmas", true),
        (&["bossa"], "bossa nova", true),
        (&["lounge"], "lounge", false),
        (&["house"], "house", false),
        (&["pop"], "pop", false),
        (&["rock"], "rock", false),
        (&["thai"], "thai", false),
        (&["happy"], "happy", false),
        (&["romantic"], "romantic", true),
        (&["party"], "party", false),
        (&["lofi"], "lofi", true),
        (&["latin"], "latin", false),
        (&["soul"], "soul", false),
        (&["rnb"], "r&b", true),
        (&["hiphop"], "hip hop", true),
        (&["edm"], "edm", true),
        (&["ambient"], "ambient", true),
        (&["instrumental"], "instrumental", true),
        (&["oldies"], "oldies", true),
        (&["tropical"], "tropical", false),
        (&["kpop"], "k-pop", true),
        (&["reggae"], "reggae", true),
        (&["blues"], "blues", false),
        (&["country"], "country", false),
        (&["indie"], "indie", true),
    ];
    let numbers: &[(&str, u32)] = &[
        ("zero", 0),
        ("two", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("six", 6),
        ("seven", 7),
        ("eight", 8),
        ("nine", 9),
        ("ten", 10),
        ("eleven", 11),
        ("twelve", 12),
        ("thirteen", 13),
        ("fourteen", 14),
        ("fifteen", 15),
        ("sixteen", 16),
        ("twenty", 20),
        ("thirty", 30),
        ("forty", 40),
        ("fifty", 50),
        ("sixty", 60),
        ("seventy", 70),
        ("eighty", 80),
        ("ninety", 90),
        ("hundred", 100),
    ];
    let noise: &[&str] =
        &["nova", "background", "ya", "mate", "dear", "team", "guys", "khun", "krub", "krap", "ka", "kha", "na"];

    let mut t = Vec::with_capacity(600);
    for (words, cue) in cues {
        t.extend(words.iter().map(|w| (*w, Sym::Cue(*cue))));
    }
    for (words, place) in places {
        t.extend(words.iter().map(|w| (*w, Sym::Place(*place))));
    }
    for (words, name, strong) in moods {
        t.extend(words.iter().map(|w| (*w, mood(name, *strong))));
    }
    t.extend(numbers.iter().map(|(w, n)| (*w, Sym::Num(*n))));
    t.extend(noise.iter().map(|w| (*w, Sym::Cue(Noise))));
    t
}

fn th_table() -> Vec<(&'static str, Sym)> {
    use Cue::*;
    let cues: &[(&[&str], Cue)] = &[
        (&["เพลง", "เสียงเพลง", "ดนตรี"], Music),
        (&["เสียง"], Sound),
        (&["ระดับเสียง", "วอลุ่ม", "วอลลุ่ม", "ความดัง"], Volume),
        (&["เครื่องเล่น", "ลำโพง", "เครื่อง", "ระบบ", "กล่อง", "แอป"], Player),
        (&["เพลย์ลิสต์", "เพลย์ลิส", "เพลลิสต์", "เพลลิส", "แนวเพลง", "แนว", "สไตล์"], Playlist),
        (&["ดับ", "เงียบ", "ค้าง", "ไม่มีเพลง", "ไม่มีเสียง", "ไม่ได้ยินเพลง", "หยุดเอง", "เงียบไป"], Stopped),
        (&["เสีย", "พัง", "หาย", "ตัด"], StoppedWeak),
        (&["หยุด"], Stop),
        (&["ปิด"], Off),
        (&["เปิด"], On),
        (&["เล่น", "ทำงาน", "เล่นอยู่"], Working),
        (&["ไม่ดัง", "ไม่ออก", "ไม่มา", "ไม่เล่น", "ไม่ทำงาน", "ไม่ขึ้น", "ไม่ติด"], NotWorking),
        (&["ออฟไลน์", "หลุด", "ขาดการเชื่อมต่อ"], Offline),
        (&["ออนไลน์"], Online),
        (&["ไม่", "อย่า", "ไม่ต้อง", "ไม่ได้", "ไม่ใช่", "ไม่มี"], Neg),
        (&["ดัง"], Loud),
        (&["ดังไป", "ดังเกิน", "ดังเกินไป", "หนวกหู", "ดังจัง"], TooLoud),
        (&["ดังขึ้น", "ดังกว่านี้", "เพิ่มเสียง", "เร่งเสียง", "เปิดเสียงดัง", "เปิดดัง", "ให้ดัง", "ดังๆ"], Louder),
        (&["เบา"], Quiet),
        (&["เบาไป", "เบาจัง", "เบาเกิน", "เบาเกินไป", "ไม่ค่อยดัง", "ไม่ค่อยได้ยิน", "ได้ยินไม่ชัด", "ฟังไม่ค่อยได้ยิน"], TooQuiet),
        (&["เบาลง", "เบาเสียง", "หรี่", "หรี่เสียง", "ลดเสียง", "ลดลง", "ค่อยลง"], Quieter),
        (&["เพิ่ม", "ขึ้น", "เร่ง"], Up),
        (&["ลด", "ลง"], Down),
        (&["ปรับ", "ตั้ง"], Set),
        (&["ปิดเสียง"], Mute),
        (&["เปิดเสียง"], Unmute),
        (&["ข้าม", "เพลงต่อไป", "เพลงถัดไป", "ถัดไป", "ต่อไป"], Skip),
        (&["เปลี่ยนเพลง"], ChangeSong),
        (&["เปลี่ยน"], Change),
        (&["เพลงอื่น", "อย่างอื่น", "อื่น"], Different),
        (&["เปิดเพลง"], PlayMusic),
        (&["พัก", "พักเพลง", "หยุดชั่วคราว", "ปิดเพลง"], Pause),
        (&["เล่นต่อ", "เปิดต่อ", "เปิดใหม่", "เปิดเพลงต่อ", "เล่นเพลงต่อ", "เปิดกลับ", "เปิดเพลงกลับ"], Resume),
        (&["อีกครั้ง", "กลับมา", "ใหม่", "อีกแล้ว"], Again),
        (&["ทำไม", "เอง", "ไปเอง", "ตั้งแต่", "จู่ๆ", "อยู่ดีๆ"], Report),
        (&["ไหม", "มั้ย", "หรือเปล่า", "รึเปล่า", "หรือยัง", "ยังไง", "บ้าง", "เหรอ", "หรอ"], Question),
        (&["อะไร"], What),
        (&["ใคร"], Who),
        (&["ร้อง", "นักร้อง", "ศิลปิน"], Sing),
        (&["ชื่อ"], Name),
        (&["รู้", "ทราบ"], Know),
        (&["สถานะ", "เช็ค", "เช็ก", "ตรวจสอบ", "ตรวจ", "ดูให้"], Status),
        (&["ปกติ", "โอเค"], Ok),
        (&["เจ้าหน้าที่", "พนักงาน", "แอดมิน", "คน", "คนจริง", "ทีมงาน"], Human),
        (&["คุย", "ติดต่อ", "คุยกับ"], Talk),
        (&["โทร", "ขอสาย"], Call),
        (&["โทรกลับ"], CallMe),
        (&["อยาก", "อยากได้", "ต้องการ"], Need),
        (&["ขอ"], Ask),
        (&["สวัสดี", "หวัดดี"], Greeting),
        (&["ขอบคุณ", "ขอบใจ", "แต๊งกิ้ว", "ขอบคุณมาก", "ขอบพระคุณ"], Thanks),
        (&["มาก", "มากๆ", "เยอะ", "เยอะๆ", "สุดๆ"], Intense),
        (&["นิด", "นิดนึง", "นิดหน่อย", "หน่อย", "อีกนิด", "นิดๆ"], Mild),
        (&["เกินไป"], Too),
        (&["ทุกโซน", "ทุกจุด", "ทุกที่", "ทั้งหมด", "ทั้งโรงแรม", "ทุกห้อง", "ทุกพื้นที่", "ทุกชั้น", "ทั้งร้าน"], AllPlace),
        (&["เป็น", "ไว้ที่", "เหลือ"], To),
        (&["ที่"], At),
        (&["ระดับ", "ขั้น"], Level),
        (&["เปอร์เซ็นต์", "เปอร์เซ็น"], Percent),
        (&["จาก"], Out),
        (&["ชั่วโมง", "นาที", "โมง", "ครั้ง", "วัน", "ทุ่ม"], TimeUnit),
        (&["ได้ยิน"], Hear),
        (&["ไม่ได้ยิน"], CantHear),
        (&["ชอบ"], Like),
        (&["ไม่ชอบ"], Dislike),
        (&["นี้", "นี่"], This),
        (&["ช่วย", "กรุณา"], Please),
        (&["ได้ไหม", "ได้มั้ย"], Question),
        (
            &[
                "ครับ",
                "ค่ะ",
                "คะ",
                "นะ",
                "จ้า",
                "จ้ะ",
                "คับ",
                "ค่า",
                "ฮะ",
                "เลย",
                "ด้วย",
                "ตอนนี้",
                "แล้ว",
                "อยู่",
                "ให้",
                "ได้",
                "ค่ะ",
                "เบาๆ",
                "คุยกัน",
                "ปิดร้าน",
                "สามารถ",
                "ห้าม",
                "เก้าอี้",
                "ศูนย์การค้า",
                "ศูนย์บริการ",
                "ลูกค้า",
                "หน้า",
                "ร้องเรียน",
                "ก่อน",
                "แป๊บ",
                "แป๊บนึง",
                "ด่วน",
                "จริงๆ",
                "ตอนเช้า",
                "บ่น",
                "ว่า",
                "ถาม",
                "เสียใจ",
                "ดังนั้น",
                "ห้องพัก",
                "เข้า",
                "เข้ามา",
                "ลงทะเบียน",
                "วันหยุด",
                "หยุดยาว",
                "หยุดงาน",
                "ขึ้นอยู่กับ",
                "เพราะ",
                "สบาย",
                "กับ",
                "ของ",
                "ใน",
            ],
            Noise,
        ),
    ];
    let places: &[(&[&str], Place)] = &[
        (&["ล็อบบี้", "ลอบบี้", "ล๊อบบี้", "ล้อบบี้", "ล็อบบี", "ลอบบี"], Place::Lobby),
        (&["สระ", "สระว่ายน้ำ", "สระน้ำ", "ริมสระ"], Place::Pool),
        (&["ห้องอาหาร", "ร้านอาหาร"], Place::Restaurant),
        (&["บาร์"], Place::Bar),
        (&["สปา"], Place::Spa),
        (&["ดาดฟ้า", "รูฟท็อป", "รูฟท๊อป", "รูฟทอป"], Place::Rooftop),
        (&["ฟิตเนส", "ยิม"], Place::Gym),
        (&["ต้อนรับ", "แผนกต้อนรับ", "เคาน์เตอร์", "ฟร้อนท์", "ฟรอนต์"], Place::Reception),
        (&["คาเฟ่", "ร้านกาแฟ", "กาแฟ"], Place::Cafe),
        (&["เลานจ์", "เล้าจ์"], Place::Lounge),
        (&["ระเบียง", "เทอเรส"], Place::Terrace),
        (&["สวน"], Place::Garden),
        (&["ชายหาด", "ริมหาด", "หาด"], Place::Beach),
        (&["ร้าน"], Place::Shop),
        (&["ไทย"], Place::Thai),
        (&["ทางเข้า"], Place::Entrance),
        (&["ห้องจัดเลี้ยง", "ห้องบอลรูม", "ฮอลล์"], Place::Hall),
        (&["ห้องประชุม"], Place::Meeting),
        (&["ห้องเด็ก"], Place::Kids),
        (&["อาหารเช้า"], Place::Breakfast),
        (&["ข้างนอก", "กลางแจ้ง"], Place::Outdoor),
        (&["โซน", "พื้นที่"], Place::Generic),
    ];
    let moods: &[(&[&str], &str, bool)] = &[
        (&["แจ๊ส", "แจ๊ซ", "แจ๊สๆ"], "jazz", true),
        (&["ชิล", "ชิลๆ", "ชิลล์"], "chill", true),
        (&["สนุก", "สนุกๆ", "คึกคัก", "มันส์ๆ", "มันส์"], "upbeat", true),
        (&["ผ่อนคลาย", "สบายๆ"], "relaxing", true),
        (&["คลาสสิก", "คลาสสิค"], "classical", true),
        (&["อะคูสติก", "อคูสติก"], "acoustic", true),
        (&["เปียโน"], "piano", true),
        (&["คริสต์มาส", "คริสมาส", "คริสมาสต์"], "christmas", true),
        (&["ป๊อป", "ป็อป", "ป๊อบ"], "pop", false),
        (&["ร็อค", "ร็อก"], "rock", false),
        (&["ไทย"], "thai", false),
        (&["ลูกทุ่ง"], "luk thung", true),
        (&["สากล"], "international", false),
        (&["โรแมนติก", "โรแมนติค"], "romantic", true),
        (&["เลานจ์"], "lounge", false),
        (&["ตรุษจีน"], "chinese new year", true),
        (&["บรรเลง"], "instrumental", true),
    ];
    let numbers: &[(&str, u32)] = &[
        ("ศูนย์", 0),
        ("หนึ่ง", 1),
        ("สอง", 2),
        ("สาม", 3),
        ("สี่", 4),
        ("ห้า", 5),
        ("หก", 6),
        ("เจ็ด", 7),
        ("แปด", 8),
        ("เก้า", 9),
        ("สิบ", 10),
        ("สิบเอ็ด", 11),
        ("สิบสอง", 12),
        ("สิบสาม", 13),
        ("สิบสี่", 14),
        ("สิบห้า", 15),
        ("สิบหก", 16),
        ("ยี่สิบ", 20),
        ("ห้าสิบ", 50),
        ("ร้อย", 100),
    ];
    let mut t = Vec::with_capacity(500);
    for (words, cue) in cues {
        t.extend(words.iter().map(|w| (*w, Sym::Cue(*cue))));
    }
    for (words, place) in places {
        t.extend(words.iter().map(|w| (*w, Sym::Place(*place))));
    }
    for (words, name, strong) in moods {
        t.extend(words.iter().map(|w| (*w, mood(name, *strong))));
    }
    t.extend(numbers.iter().map(|(w, n)| (*w, Sym::Num(*n))));
    t
}

/// English words that are real words one typo away from a keyword ("quite" is not "quiet"):
/// never read as a typo.
const NOT_TYPOS: &[&str] = &[
    "passed", "cause", "charge", "charged", "charges", "found", "round", "bound", "cloud", "aloud", "thinks", "think",
    "stepped", "shop", "house", "mouse", "lover", "later", "plays", "place", "plan", "sing", "sign", "mind", "mine",
    "moved", "voice", "value", "notice", "change", "lounge", "range", "songkran", "power", "tower", "louis", "sounds",
    "sauna", "quote", "quite", "boring", "during", "bringing", "spring", "string", "sting", "suite", "suites", "staff",
    "stuff", "start", "stars", "stay", "story", "still", "stall",
];

struct Lexicon {
    en: HashMap<&'static str, Vec<Sym>>,
    en_words: Vec<&'static str>,
    th: HashMap<char, Vec<(&'static str, Vec<Sym>)>>,
}

fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        let mut en: HashMap<&'static str, Vec<Sym>> = HashMap::new();
        for (w, s) in en_table() {
            let e = en.entry(w).or_default();
            if !e.contains(&s) {
                e.push(s);
            }
        }
        let mut en_words: Vec<&'static str> = en.keys().copied().filter(|w| w.chars().count() >= 4).collect();
        en_words.sort_unstable();
        let mut th: HashMap<char, Vec<(&'static str, Vec<Sym>)>> = HashMap::new();
        for (w, s) in th_table() {
            let Some(first) = w.chars().next() else { continue };
            let list = th.entry(first).or_default();
            match list.iter_mut().find(|(p, _)| *p == w) {
                Some((_, syms)) => {
                    if !syms.contains(&s) {
                        syms.push(s)
                    }
                }
                None => list.push((w, vec![s])),
            }
        }
        for list in th.values_mut() {
            list.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        }
        Lexicon { en, en_words, th }
    })
}

/// Optimal-string-alignment distance between `a` and `b`, or `None` when it exceeds `max`.
pub(crate) fn distance(a: &str, b: &str, max: usize) -> Option<usize> {
    const N: usize = 32;
    let mut ac = ['\0'; N];
    let mut bc = ['\0'; N];
    let (mut la, mut lb) = (0, 0);
    for c in a.chars() {
        *ac.get_mut(la)? = c;
        la += 1;
    }
    for c in b.chars() {
        *bc.get_mut(lb)? = c;
        lb += 1;
    }
    if la.abs_diff(lb) > max {
        return None;
    }
    let mut prev2 = [0usize; N + 1];
    let mut prev = [0usize; N + 1];
    let mut cur = [0usize; N + 1];
    for (j, p) in prev.iter_mut().enumerate().take(lb + 1) {
        *p = j;
    }
    for i in 1..=la {
        cur[0] = i;
        let mut row_min = i;
        for j in 1..=lb {
            let cost = usize::from(ac[i - 1] != bc[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && ac[i - 1] == bc[j - 2] && ac[i - 2] == bc[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        prev2 = prev;
        prev = cur;
    }
    (prev[lb] <= max).then_some(prev[lb])
}

/// How many typos a word of `len` characters may carry and still be read.
pub(crate) fn typo_budget(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

fn is_transposition(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a == b {
        return false;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    diff.len() == 2 && diff[1] == diff[0] + 1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]]
}

/// The symbols of one English word, and whether they were read through a typo.
fn lookup_en(word: &str) -> (&'static [Sym], bool) {
    let lex = lexicon();
    if let Some(s) = lex.en.get(word) {
        return (s, false);
    }
    let len = word.chars().count();
    if len < 4 || NOT_TYPOS.contains(&word) || !word.is_ascii() {
        return (&[], false);
    }
    let budget = typo_budget(len);
    let first = word.as_bytes()[0];
    let mut best: Option<(usize, &'static str)> = None;
    for cand in &lex.en_words {
        if cand.as_bytes()[0] != first || cand.len().abs_diff(len) > budget.max(1) {
            continue;
        }
        let d = if len == 4 {
            if is_transposition(word, cand) { Some(1) } else { None }
        } else {
            distance(word, cand, budget)
        };
        if let Some(d) = d
            && best.is_none_or(|(bd, _)| d < bd)
        {
            best = Some((d, cand));
        }
    }
    match best.and_then(|(_, w)| lex.en.get(w)) {
        Some(s) => (s, true),
        None => (&[], false),
    }
}

/// Prepositions carry no cue but separate what they stand between ("lounge in lobby").
const PREPOSITIONS: &[&str] = &["in", "for", "from", "with", "into", "inside", "near", "during"];

const STOPWORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "and",
    "or",
    "about",
    "around",
    "approximately",
    "there",
    "here",
    "be",
    "we",
    "our",
    "i",
    "im",
    "ill",
    "your",
    "my",
    "they",
    "them",
    "their",
    "guest",
    "guests",
    "customer",
    "customers",
    "now",
    "right",
    "just",
    "today",
    "tonight",
    "still",
    "if",
    "then",
    "some",
    "as",
    "do",
    "does",
    "did",
    "lets",
    "let",
    "hmm",
    "oh",
    "well",
    "also",
];

#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub sym: Sym,
    pub pos: u16,
    pub fuzzy: bool,
    pub thai: bool,
}

/// A message read into cues, plus what zone matching needs.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub tokens: Tokens,
    pub hits: Vec<Hit>,
    /// Thai text of the message with spaces removed, for matching Thai zone names.
    pub thai: String,
    /// Words the lexicon did not know (English words and Thai runs).
    pub unknown: u16,
    /// English words the lexicon did not know, with their positions: free-text playlist names.
    pub unknown_words: Vec<(u16, std::ops::Range<usize>)>,
    /// Stretches of Thai the lexicon did not know, with their positions: zone names written by
    /// their sound.
    pub unknown_thai: Vec<(u16, String)>,
}

impl Analysis {
    /// English words of the message, for matching zone names that are not in the lexicon.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.tokens.tokens.iter().filter(|t| t.kind == Kind::Word).map(|t| self.tokens.text(t))
    }

    pub fn numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.tokens.tokens.iter().filter_map(|t| if let Kind::Num(n) = t.kind { Some(n) } else { None })
    }
}

pub(crate) fn analyse(text: &str) -> Analysis {
    let tokens = tokenize(text);
    let mut hits = Vec::with_capacity(tokens.tokens.len() + 4);
    let mut thai = String::new();
    let mut unknown = 0u16;
    let mut unknown_words = Vec::new();
    let mut unknown_thai = Vec::new();
    let mut pos = 0u16;
    for tok in &tokens.tokens {
        let s = tokens.text(tok);
        if tok.brk {
            pos += 4;
        }
        match tok.kind {
            Kind::Num(n) => {
                hits.push(Hit { sym: Sym::Num(n), pos, fuzzy: false, thai: false });
                pos += 1;
            }
            Kind::Percent => {
                hits.push(Hit { sym: Sym::Cue(Cue::Percent), pos, fuzzy: false, thai: false });
                pos += 1;
            }
            Kind::Slash => {
                hits.push(Hit { sym: Sym::Cue(Cue::Slash), pos, fuzzy: false, thai: false });
                pos += 1;
            }
            Kind::Question => {
                hits.push(Hit { sym: Sym::Cue(Cue::Question), pos, fuzzy: false, thai: false });
                pos += 1;
            }
            Kind::Word => {
                let (syms, fuzzy) = lookup_en(s);
                if syms.is_empty() {
                    if PREPOSITIONS.contains(&s) {
                        pos += 1;
                    } else if !STOPWORDS.contains(&s) {
                        unknown = unknown.saturating_add(1);
                        unknown_words.push((pos, tok.span.clone()));
                        pos += 1;
                    }
                    continue;
                }
                for sym in syms {
                    if *sym != Sym::Cue(Cue::Noise) {
                        hits.push(Hit { sym: *sym, pos, fuzzy, thai: false });
                    }
                }
                pos += 1;
            }
            Kind::Thai => {
                thai.push_str(s);
                scan_thai(s, &mut hits, &mut pos, &mut unknown, &mut unknown_thai);
            }
        }
        pos = pos.min(u16::MAX - 64);
    }
    Analysis { tokens, hits, thai, unknown, unknown_words, unknown_thai }
}

/// Segments one run of Thai by longest match; unmatched characters count as one unknown word per
/// stretch.
fn scan_thai(run: &str, hits: &mut Vec<Hit>, pos: &mut u16, unknown: &mut u16, stretches: &mut Vec<(u16, String)>) {
    let lex = lexicon();
    let mut rest = run;
    let mut in_unknown = false;
    let mut stretch = String::new();
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let can_start = !prev.is_some_and(is_leading_vowel) && !is_thai_mark(c);
        let found =
            lex.th.get(&c).filter(|_| can_start).and_then(|list| list.iter().find(|(p, _)| rest.starts_with(p)));
        match found {
            Some((p, syms)) => {
                if in_unknown {
                    *pos += 1;
                    in_unknown = false;
                    stretches.push((*pos - 1, std::mem::take(&mut stretch)));
                }
                for sym in syms {
                    if *sym != Sym::Cue(Cue::Noise) {
                        hits.push(Hit { sym: *sym, pos: *pos, fuzzy: false, thai: true });
                    }
                }
                if syms.iter().any(|s| *s != Sym::Cue(Cue::Noise)) {
                    *pos += 1;
                }
                prev = p.chars().last();
                rest = &rest[p.len()..];
            }
            None => {
                if !in_unknown {
                    in_unknown = true;
                    *unknown = unknown.saturating_add(1);
                }
                stretch.push(c);
                prev = Some(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        *pos = (*pos).min(u16::MAX - 64);
    }
    if in_unknown {
        stretches.push((*pos, stretch));
        *pos += 1;
    }
}

/// เ แ โ ใ ไ are written before the consonant they follow in speech, so a word never starts
/// right after one.
fn is_leading_vowel(c: char) -> bool {
    ('\u{0E40}'..='\u{0E44}').contains(&c)
}

/// Vowels and tone marks written above, below or after a consonant: no word starts with one.
fn is_thai_mark(c: char) -> bool {
    matches!(c, '\u{0E30}'..='\u{0E3A}' | '\u{0E45}' | '\u{0E47}'..='\u{0E4E}')
}

/// A zone name read into the same places and words as messages.
#[cfg(test)]
pub(crate) fn zone_words(name: &str) -> Vec<ZoneWord> {
    zone_parts(name).into_iter().map(|(w, _)| w).collect()
}

/// A zone name's words, each with the text it was read from.
pub(crate) fn zone_parts(name: &str) -> Vec<(ZoneWord, String)> {
    let tokens = tokenize(name);
    let lex = lexicon();
    let mut out = Vec::new();
    for tok in &tokens.tokens {
        let s = tokens.text(tok);
        match tok.kind {
            Kind::Num(n) => out.push((ZoneWord::Num(n), s.to_owned())),
            Kind::Word => match lex.en.get(s).and_then(|syms| syms.iter().find_map(place_of)) {
                Some(Place::Generic) => out.push((ZoneWord::Generic, s.to_owned())),
                Some(p) => out.push((ZoneWord::Place(p), s.to_owned())),
                None if STOPWORDS.contains(&s) || s == "&" => {}
                None => out.push((ZoneWord::Word(s.to_owned()), s.to_owned())),
            },
            Kind::Thai => {
                let mut rest = s;
                let mut raw = String::new();
                while let Some(c) = rest.chars().next() {
                    let found = lex.th.get(&c).and_then(|list| list.iter().find(|(p, _)| rest.starts_with(p)));
                    match found {
                        Some((p, syms)) => {
                            if !raw.is_empty() {
                                let raw = std::mem::take(&mut raw);
                                out.push((ZoneWord::Thai(raw.clone()), raw));
                            }
                            let word = match syms.iter().find_map(place_of) {
                                Some(Place::Generic) => ZoneWord::Generic,
                                Some(pl) => ZoneWord::Place(pl),
                                None => ZoneWord::Thai((*p).to_owned()),
                            };
                            out.push((word, (*p).to_owned()));
                            rest = &rest[p.len()..];
                        }
                        None => {
                            raw.push(c);
                            rest = &rest[c.len_utf8()..];
                        }
                    }
                }
                if raw.chars().count() >= 2 {
                    out.push((ZoneWord::Thai(raw.clone()), raw));
                }
            }
            _ => {}
        }
    }
    out
}

fn place_of(s: &Sym) -> Option<Place> {
    if let Sym::Place(p) = s { Some(*p) } else { None }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ZoneWord {
    Place(Place),
    Generic,
    Num(u32),
    Word(String),
    Thai(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_one_typo_and_a_swap_as_one() {
        assert_eq!(distance("volumn", "volume", 1), Some(1));
        assert_eq!(distance("musci", "music", 1), Some(1));
        assert_eq!(distance("stoped", "stopped", 1), Some(1));
        assert_eq!(distance("restaurant", "rooftop", 2), None);
    }

    #[test]
    fn real_words_near_a_keyword_are_not_typos() {
        assert!(lookup_en("quite").0.is_empty());
        assert!(lookup_en("charged").0.is_empty());
        assert_eq!(lookup_en("lobyy").0, &[Sym::Place(Place::Lobby)][..]);
    }

    #[test]
    fn thai_without_spaces_is_segmented_by_longest_match() {
        let a = analyse("เพลงไม่ดังค่ะ");
        let syms: Vec<Sym> = a.hits.iter().map(|h| h.sym).collect();
        assert_eq!(syms, vec![Sym::Cue(Cue::Music), Sym::Cue(Cue::NotWorking)]);
    }

    #[test]
    fn a_thai_zone_name_splits_into_known_places_and_the_rest() {
        assert_eq!(zone_words("ห้องอาหารไทย"), vec![ZoneWord::Place(Place::Restaurant), ZoneWord::Place(Place::Thai)]);
        assert_eq!(zone_words("Pool Bar"), vec![ZoneWord::Place(Place::Pool), ZoneWord::Place(Place::Bar)]);
    }
}
