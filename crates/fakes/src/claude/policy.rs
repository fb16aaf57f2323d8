//! The fake's model when nothing is scripted: a deterministic venue-support assistant. After a
//! `tool_result` it sums the result up and ends its turn; otherwise it reads the latest user text
//! (English or Thai) and, among the tools actually offered, picks one by keywords — a human
//! first, then volume, skip, playlist, status — with the input it can read from the text (zone
//! word, level, playlist query), keeping only the properties the tool's schema declares.

use super::server::random_id;
use serde_json::{Map, Value, json};

pub(crate) struct Reply {
    pub content: Vec<Value>,
    pub stop_reason: &'static str,
}

impl Reply {
    pub(crate) fn text(text: impl Into<String>) -> Self {
        Self { content: vec![json!({ "type": "text", "text": text.into() })], stop_reason: "end_turn" }
    }

    pub(crate) fn tool_use(preamble: Option<&str>, name: String, input: Value) -> Self {
        let mut content = Vec::new();
        if let Some(text) = preamble {
            content.push(json!({ "type": "text", "text": text }));
        }
        content.push(json!({ "type": "tool_use", "id": random_id("toolu_01", 22), "name": name, "input": input }));
        Self { content, stop_reason: "tool_use" }
    }
}

const RULES: &[(&str, &[&str])] = &[
    ("hand_over", &["human", "person", "agent", "operator", "someone real", "เจ้าหน้าที่", "พนักงาน", "คน"]),
    (
        "set_volume",
        &["volume", "louder", "quieter", "too loud", "too quiet", "turn up", "turn down", "เสียง", "ดัง", "เบา"],
    ),
    ("skip_track", &["skip", "next song", "next track", "ข้าม", "เปลี่ยนเพลง"]),
    (
        "assign_playlist",
        &["playlist", "jazz", "chill", "lounge music", "acoustic", "bossa", "classical", "christmas", "เพลย์ลิสต์", "แจ๊ส"],
    ),
    (
        "zone_status",
        &[
            "status",
            "what's playing",
            "what is playing",
            "playing now",
            "stopped",
            "no music",
            "เล่นอะไร",
            "สถานะ",
            "เพลงหยุด",
        ],
    ),
];

const ZONES: &[&str] = &[
    "lobby",
    "pool",
    "bar",
    "restaurant",
    "lounge",
    "spa",
    "gym",
    "terrace",
    "rooftop",
    "cafe",
    "café",
    "reception",
    "garden",
    "ballroom",
    "breakfast",
    "patio",
    "shop",
    "ล็อบบี้",
    "ลอบบี้",
    "สระว่ายน้ำ",
    "สระ",
    "บาร์",
    "ร้านอาหาร",
    "ห้องอาหาร",
    "เลานจ์",
    "สปา",
    "ยิม",
    "คาเฟ่",
    "ดาดฟ้า",
];

const GENRES: &[&str] = &[
    "bossa nova",
    "jazz",
    "chill",
    "lounge",
    "acoustic",
    "classical",
    "christmas",
    "pop",
    "rock",
    "piano",
    "ambient",
    "thai",
    "แจ๊ส",
    "ลูกทุ่ง",
    "สากล",
];

/// A message's content as blocks (a string is one text block); `None` without content.
pub(crate) fn blocks(message: &Value) -> Option<Vec<Value>> {
    match message.get("content")? {
        Value::String(s) => Some(vec![json!({ "type": "text", "text": s })]),
        Value::Array(a) => Some(a.clone()),
        _ => None,
    }
}

fn texts(blocks: &[Value]) -> String {
    let parts: Vec<&str> = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    parts.join(" ")
}

fn is_thai(s: &str) -> bool {
    s.chars().any(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c))
}

fn clip(s: &str, max_chars: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max_chars {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max_chars).collect::<String>())
    }
}

pub(crate) fn answer(body: &Value) -> Reply {
    let messages = body.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    let user_texts: Vec<String> = messages
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .filter_map(blocks)
        .map(|b| texts(&b))
        .filter(|t| !t.trim().is_empty())
        .collect();
    let thai = user_texts.last().is_some_and(|t| is_thai(t));
    let last = messages.last().and_then(blocks).unwrap_or_default();

    let results: Vec<&Value> =
        last.iter().filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result")).collect();
    if !results.is_empty() {
        let failed = results.iter().any(|r| r.get("is_error").and_then(Value::as_bool) == Some(true));
        let summary: Vec<String> = results.iter().map(|r| result_text(r)).collect();
        let summary = clip(&summary.join("; "), 200);
        return Reply::text(match (failed, thai) {
            (false, false) => format!("Done — {summary}"),
            (false, true) => format!("เรียบร้อยค่ะ — {summary}"),
            (true, false) => format!("Sorry, that didn't work ({summary}). I'll ask a colleague to help."),
            (true, true) => format!("ขออภัยค่ะ ทำรายการไม่สำเร็จ ({summary}) จะให้เจ้าหน้าที่ช่วยดูนะคะ"),
        });
    }

    let text = texts(&last);
    let lower = text.to_lowercase();
    let tools: Vec<&Value> =
        body.get("tools").and_then(Value::as_array).map(|t| t.iter().collect()).unwrap_or_default();
    let offered = |name: &str| tools.iter().find(|t| t.get("name").and_then(Value::as_str) == Some(name)).copied();
    let choice = body.get("tool_choice");
    let choice_type = choice.and_then(|c| c.get("type")).and_then(Value::as_str).unwrap_or("auto");

    let forced = match choice_type {
        "tool" => choice.and_then(|c| c.get("name")).and_then(Value::as_str).and_then(offered),
        _ => None,
    };
    let picked = match (forced, choice_type) {
        (Some(tool), _) => Some(tool),
        (None, "none") => None,
        (None, _) => RULES
            .iter()
            .filter(|(_, words)| words.iter().any(|w| mentions(&lower, w, false)))
            .find_map(|(name, _)| offered(name))
            .or_else(|| if choice_type == "any" { offered("zone_status").or(tools.first().copied()) } else { None }),
    };
    if let Some(tool) = picked {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        let input = fit_to_schema(candidate_input(&name, &text, &lower), tool);
        let preamble = match (choice_type, thai) {
            ("tool" | "any", _) => None,
            (_, false) => Some("Let me take care of that."),
            (_, true) => Some("รับทราบค่ะ กำลังดำเนินการให้นะคะ"),
        };
        return Reply::tool_use(preamble, name, input);
    }
    Reply::text(if thai {
        "ขอบคุณที่ติดต่อมาค่ะ ช่วยปรับเสียง ข้ามเพลง เปลี่ยนเพลย์ลิสต์ ดูว่ากำลังเล่นเพลงอะไร หรือส่งต่อให้เจ้าหน้าที่ได้ค่ะ"
    } else {
        "Thanks for your message. I can change the volume, skip a track, switch playlists, check what's playing, \
         or put you through to our team."
    })
}

/// Whether `word` occurs in `text`: Thai anywhere (it has no spaces); Latin words starting at a
/// word boundary and, when `whole`, ending at one (a plural `s` allowed).
fn mentions(text: &str, word: &str, whole: bool) -> bool {
    if !word.is_ascii() {
        return text.contains(word);
    }
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let mut after = text[at + word.len()..].chars();
        let next = match after.next() {
            Some('s') => after.next(),
            other => other,
        };
        !before.is_some_and(char::is_alphanumeric) && (!whole || !next.is_some_and(char::is_alphanumeric))
    })
}

fn result_text(result: &Value) -> String {
    match result.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => texts(blocks),
        _ => String::new(),
    }
}

fn candidate_input(name: &str, text: &str, lower: &str) -> Value {
    let zone = ZONES.iter().find(|z| mentions(lower, z, true)).map_or("", |z| z);
    match name {
        "set_volume" => json!({ "zone": zone, "level": first_number(text) }),
        "skip_track" | "zone_status" => json!({ "zone": zone }),
        "assign_playlist" => json!({ "query": playlist_query(text, lower), "zone": zone }),
        "hand_over" => json!({ "reason": clip(text, 200) }),
        _ => json!({ "zone": zone, "query": clip(text, 60) }),
    }
}

/// Keeps only what the schema declares when it declares properties.
fn fit_to_schema(input: Value, tool: &Value) -> Value {
    let Some(props) = tool.get("input_schema").and_then(|s| s.get("properties")).and_then(Value::as_object) else {
        return input;
    };
    let Value::Object(map) = input else { return input };
    let kept: Map<String, Value> = map.into_iter().filter(|(k, _)| props.contains_key(k)).collect();
    Value::Object(kept)
}

fn first_number(text: &str) -> Value {
    let digits: String = text
        .chars()
        .map(|c| match c {
            '๐'..='๙' => char::from_digit(u32::from(c) - u32::from('๐'), 10).unwrap_or(c),
            _ => c,
        })
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse::<u64>().map_or(Value::Null, |n| json!(n))
}

fn playlist_query(text: &str, lower: &str) -> String {
    if let Some(genre) = GENRES.iter().find(|g| mentions(lower, g, true)) {
        return (*genre).to_owned();
    }
    for marker in ["playlist", "เพลย์ลิสต์"] {
        if let Some(at) = lower.find(marker) {
            let rest = lower[at + marker.len()..].trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation());
            if !rest.is_empty() {
                return clip(rest, 60);
            }
        }
    }
    clip(text, 60)
}
