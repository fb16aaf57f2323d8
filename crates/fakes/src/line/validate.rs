//! LINE's request rules, applied as LINE reports them: a `details` list of `{message, property}`
//! for the message objects and rich menus, and the image rules for rich-menu pictures.

use serde_json::{Value, json};

#[derive(Default)]
pub(crate) struct Problems(Vec<Value>);

impl Problems {
    fn push(&mut self, property: impl Into<String>, message: &str) {
        self.0.push(json!({ "message": message, "property": property.into() }));
    }

    pub(crate) fn into_result(self) -> Result<(), Vec<Value>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

fn chars(v: Option<&Value>) -> Option<usize> {
    v.and_then(Value::as_str).map(|s| s.chars().count())
}

fn bounded(p: &mut Problems, v: &Value, key: &str, at: &str, max: usize, required: bool) {
    match (v.get(key), chars(v.get(key))) {
        (None | Some(Value::Null), _) if required => p.push(format!("{at}.{key}"), "must be specified"),
        (None | Some(Value::Null), _) => {}
        (_, None) => p.push(format!("{at}.{key}"), "must be a string"),
        (_, Some(0)) if required => p.push(format!("{at}.{key}"), "may not be empty"),
        (_, Some(n)) if n > max => p.push(format!("{at}.{key}"), &format!("Length must be between 0 and {max}")),
        _ => {}
    }
}

fn https_url(p: &mut Problems, v: &Value, key: &str, at: &str) {
    match v.get(key).and_then(Value::as_str) {
        None => p.push(format!("{at}.{key}"), "must be specified"),
        Some(u) if !u.starts_with("https://") => p.push(format!("{at}.{key}"), "must be HTTPS URL"),
        Some(u) if u.chars().count() > 2000 => p.push(format!("{at}.{key}"), "Length must be between 0 and 2000"),
        _ => {}
    }
}

fn action(p: &mut Problems, a: &Value, at: &str, label_required: bool) {
    bounded(p, a, "label", at, 20, label_required);
    match a.get("type").and_then(Value::as_str) {
        Some("postback") => {
            bounded(p, a, "data", at, 300, true);
            bounded(p, a, "displayText", at, 300, false);
        }
        Some("message") => bounded(p, a, "text", at, 300, true),
        Some("uri") => bounded(p, a, "uri", at, 1000, true),
        Some("datetimepicker" | "camera" | "cameraRoll" | "location" | "richmenuswitch" | "clipboard") => {}
        _ => p.push(format!("{at}.type"), "invalid action type"),
    }
}

/// The `messages` array of a reply or push.
pub(crate) fn messages(v: Option<&Value>, p: &mut Problems) {
    let Some(list) = v.and_then(Value::as_array) else {
        p.push("messages", "must be specified");
        return;
    };
    if list.is_empty() || list.len() > 5 {
        p.push("messages", "Size must be between 1 and 5");
        return;
    }
    for (i, m) in list.iter().enumerate() {
        let at = format!("messages[{i}]");
        match m.get("type").and_then(Value::as_str) {
            Some("text") => bounded(p, m, "text", &at, 5000, true),
            Some("image") => {
                https_url(p, m, "originalContentUrl", &at);
                https_url(p, m, "previewImageUrl", &at);
            }
            Some("sticker") => {
                bounded(p, m, "packageId", &at, 100, true);
                bounded(p, m, "stickerId", &at, 100, true);
            }
            Some("location") => {
                bounded(p, m, "title", &at, 100, true);
                bounded(p, m, "address", &at, 100, true);
                for k in ["latitude", "longitude"] {
                    if !m.get(k).is_some_and(Value::is_number) {
                        p.push(format!("{at}.{k}"), "must be specified");
                    }
                }
            }
            Some("flex") => {
                bounded(p, m, "altText", &at, 1500, true);
                if !m.get("contents").is_some_and(Value::is_object) {
                    p.push(format!("{at}.contents"), "must be specified");
                }
            }
            Some("textV2" | "video" | "audio" | "imagemap" | "template" | "coupon") => {}
            _ => p.push(format!("{at}.type"), "invalid message type"),
        }
        if let Some(q) = m.get("quickReply") {
            let items = q.get("items").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            if items.is_empty() || items.len() > 13 {
                p.push(format!("{at}.quickReply.items"), "Size must be between 1 and 13");
            }
            for (j, item) in items.iter().enumerate() {
                let at = format!("{at}.quickReply.items[{j}]");
                match item.get("action") {
                    Some(a) => action(p, a, &format!("{at}.action"), true),
                    None => p.push(format!("{at}.action"), "must be specified"),
                }
            }
        }
    }
}

/// A rich menu object as `POST /v2/bot/richmenu` takes it.
pub(crate) fn rich_menu(v: &Value, p: &mut Problems) {
    let w = v.pointer("/size/width").and_then(Value::as_u64);
    let h = v.pointer("/size/height").and_then(Value::as_u64);
    match (w, h) {
        (Some(w), Some(h)) => {
            if !(800..=2500).contains(&w) {
                p.push("size.width", "must be between 800 and 2500");
            }
            if h < 250 {
                p.push("size.height", "must be at least 250");
            }
            if h > 0 && (w as f64) / (h as f64) < 1.45 {
                p.push("size", "width/height must be at least 1.45");
            }
        }
        _ => p.push("size", "must be specified"),
    }
    if !v.get("selected").is_some_and(Value::is_boolean) {
        p.push("selected", "must be specified");
    }
    bounded(p, v, "name", "richmenu", 300, true);
    bounded(p, v, "chatBarText", "richmenu", 14, true);
    let areas = v.get("areas").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if v.get("areas").is_none() {
        p.push("areas", "must be specified");
    }
    if areas.len() > 20 {
        p.push("areas", "Size must be between 0 and 20");
    }
    for (i, a) in areas.iter().enumerate() {
        let at = format!("areas[{i}]");
        let b = |k: &str| a.pointer(&format!("/bounds/{k}")).and_then(Value::as_u64);
        match (b("x"), b("y"), b("width"), b("height"), w, h) {
            (Some(x), Some(y), Some(bw), Some(bh), Some(w), Some(h)) => {
                if bw == 0 || bh == 0 || x + bw > w || y + bh > h {
                    p.push(format!("{at}.bounds"), "must be inside the rich menu");
                }
            }
            _ => p.push(format!("{at}.bounds"), "must be specified"),
        }
        match a.get("action") {
            Some(act) => action(p, act, &format!("{at}.action"), false),
            None => p.push(format!("{at}.action"), "must be specified"),
        }
    }
}

/// The pixel size of a PNG or JPEG, when the bytes are one of the two.
pub(crate) fn image_size(bytes: &[u8], content_type: &str) -> Option<(u32, u32)> {
    let ct = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match ct.as_str() {
        "image/png" if bytes.len() >= 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR" => {
            let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            Some((be(16), be(20)))
        }
        "image/jpeg" if bytes.starts_with(&[0xff, 0xd8]) => jpeg_size(bytes),
        _ => None,
    }
}

fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 9 < b.len() {
        if b[i] != 0xff {
            return None;
        }
        let marker = b[i + 1];
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if (0xc0..=0xcf).contains(&marker) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]);
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]);
            return Some((u32::from(w), u32::from(h)));
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_messages_and_a_long_quick_reply_label_are_reported_with_their_property() {
        let mut p = Problems::default();
        messages(Some(&Value::Array(vec![json!({"type":"text","text":"a"}); 6])), &mut p);
        assert_eq!(p.into_result().map_err(|d| d[0]["property"].clone()), Err(json!("messages")));
        let mut p = Problems::default();
        let m = json!([{"type":"text","text":"a","quickReply":{"items":[{"type":"action","action":{"type":"message","label":"x".repeat(21),"text":"t"}}]}}]);
        messages(Some(&m), &mut p);
        assert_eq!(
            p.into_result().map_err(|d| d[0]["property"].clone()),
            Err(json!("messages[0].quickReply.items[0].action.label"))
        );
    }

    #[test]
    fn png_and_jpeg_sizes_are_read_from_their_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&2500u32.to_be_bytes());
        png.extend_from_slice(&843u32.to_be_bytes());
        assert_eq!(image_size(&png, "image/png"), Some((2500, 843)));
        assert_eq!(image_size(&png, "image/jpeg"), None);
        let jpeg = [0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 11, 8, 0x03, 0x4b, 0x09, 0xc4, 3, 0, 0];
        assert_eq!(image_size(&jpeg, "image/jpeg"), Some((2500, 843)));
    }
}
