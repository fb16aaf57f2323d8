//! A contact's reply that asks to stop (or restart) promotional messages, in English and Thai.
//! Only a message that is the keyword and nothing else counts, so "please don't stop the
//! music" is a message for the team, not an opt-out. A bare "stop" / "หยุด" is also the bot's
//! word for stopping the music, so it counts only as an answer to a campaign message
//! (`of_campaign_reply`); "unsubscribe", "ยกเลิก" and the like count anywhere.

/// What a reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptReply {
    /// No more marketing or holiday campaigns (service notices and alerts continue).
    Stop,
    /// Promotional campaigns again.
    Start,
}

const STOP: &[&str] = &["unsubscribe", "opt out", "optout", "ยกเลิก", "ยกเลิกรับข่าวสาร", "เลิกรับข่าวสาร"];
/// Opt-outs only in answer to a campaign: elsewhere the bot reads them as "stop the music".
const BARE_STOP: &[&str] = &["stop", "stop all", "หยุด", "หยุดส่ง"];
const START: &[&str] = &["start", "subscribe", "opt in", "รับข่าวสาร", "สมัครรับข่าวสาร"];

fn normalise(text: &str) -> String {
    let cleaned: String = text
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == '-' || c == '_' { ' ' } else { c })
        .filter(|c| !matches!(c, '.' | '!' | '"' | '\'' | '?'))
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_thai(text: &str) -> bool {
    text.chars().any(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c))
}

impl OptReply {
    /// The keyword a message is, wherever it was written.
    pub fn of(text: &str) -> Option<Self> {
        let words = normalise(text);
        if STOP.contains(&words.as_str()) {
            Some(OptReply::Stop)
        } else if START.contains(&words.as_str()) {
            Some(OptReply::Start)
        } else {
            None
        }
    }

    /// The keyword a message is when it answers a campaign message.
    pub fn of_campaign_reply(text: &str) -> Option<Self> {
        Self::of(text).or_else(|| BARE_STOP.contains(&normalise(text).as_str()).then_some(OptReply::Stop))
    }

    /// Whether the message could be an opt-out only as an answer to a campaign.
    pub fn is_bare_stop(text: &str) -> bool {
        Self::of(text).is_none() && Self::of_campaign_reply(text).is_some()
    }

    /// The line a promotional campaign message ends with on WhatsApp and LINE, telling how to
    /// opt out, in the language of the message (Thai when it has Thai letters).
    pub fn hint(text: &str) -> &'static str {
        if is_thai(text) {
            "\n\nตอบ \"ยกเลิก\" เพื่อหยุดรับข่าวสาร"
        } else {
            "\n\nReply STOP to stop these messages."
        }
    }

    /// What we answer, in the language of the keyword.
    pub fn confirmation(self, text: &str) -> &'static str {
        match (self, is_thai(text)) {
            (OptReply::Stop, false) => {
                "You will no longer receive promotional messages from BMA. Service notices about your music continue. Reply START to receive them again."
            }
            (OptReply::Stop, true) => {
                "คุณจะไม่ได้รับข่าวสารโปรโมชันจาก BMA อีก การแจ้งเตือนเกี่ยวกับเพลงของคุณยังคงส่งตามปกติ ตอบ \"รับข่าวสาร\" เพื่อรับอีกครั้ง"
            }
            (OptReply::Start, false) => {
                "You will receive promotional messages from BMA again. Reply STOP to stop them."
            }
            (OptReply::Start, true) => "คุณจะได้รับข่าวสารโปรโมชันจาก BMA อีกครั้ง ตอบ \"ยกเลิก\" เพื่อหยุดรับ",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_in_english_and_thai_opts_out_and_start_opts_back_in() {
        for t in ["unsubscribe", " Unsubscribe! ", "Opt-out", "ยกเลิก", "ยกเลิกรับข่าวสาร"]
        {
            assert_eq!(OptReply::of(t), Some(OptReply::Stop), "{t:?}");
        }
        for t in ["STOP", " Stop. ", "หยุด", "หยุดส่ง"] {
            assert_eq!(OptReply::of(t), None, "{t:?} is the bot's word outside a campaign");
            assert_eq!(OptReply::of_campaign_reply(t), Some(OptReply::Stop), "{t:?}");
            assert!(OptReply::is_bare_stop(t));
        }
        assert!(!OptReply::is_bare_stop("unsubscribe"));
        for t in ["START", "subscribe", "รับข่าวสาร"] {
            assert_eq!(OptReply::of(t), Some(OptReply::Start), "{t:?}");
        }
    }

    #[test]
    fn a_keyword_inside_a_sentence_is_a_message_not_an_opt_out() {
        for t in ["please don't stop the music", "stop the music in the lobby", "ยกเลิกเพลงนี้", "", "start the music"]
        {
            assert_eq!(OptReply::of(t), None, "{t:?}");
        }
    }

    #[test]
    fn the_opt_out_hint_is_in_the_language_of_the_message_and_its_keywords_opt_out() {
        let en = OptReply::hint("New playlist for your venue");
        assert!(en.contains("STOP"));
        assert_eq!(OptReply::of_campaign_reply("STOP"), Some(OptReply::Stop));
        let th = OptReply::hint("เพลย์ลิสต์ใหม่สำหรับร้านของคุณ");
        assert!(th.contains("ยกเลิก"));
        assert_eq!(OptReply::of("ยกเลิก"), Some(OptReply::Stop));
    }

    #[test]
    fn the_confirmation_answers_in_the_language_of_the_keyword() {
        assert!(OptReply::Stop.confirmation("unsubscribe").starts_with("You will no longer"));
        assert!(OptReply::Stop.confirmation("ยกเลิก").starts_with("คุณจะไม่ได้รับ"));
    }
}
