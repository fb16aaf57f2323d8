//! The satisfaction survey: one 1–5 score per closed conversation. Venues answer by tapping a
//! button (`csat:4`), or by writing a digit, a star row or a word in English or Thai.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Score(u8);

/// The id every survey button and quick reply carries, e.g. `csat:5`.
pub const CHOICE_PREFIX: &str = "csat:";

impl Score {
    pub fn new(n: i64) -> Result<Self, crate::Invalid> {
        if (1..=5).contains(&n) {
            Ok(Score(n as u8))
        } else {
            Err(crate::Invalid::one("score", "must be between 1 and 5"))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn choice_id(self) -> String {
        format!("{CHOICE_PREFIX}{}", self.0)
    }

    /// A score a person notices: 2 or less notifies the team.
    pub fn is_low(self) -> bool {
        self.0 <= 2
    }

    /// Reads a survey answer. A button id `csat:N` is exact; free text counts only when it is
    /// short and says one score, so "5 stars, thanks" is a 5 and a long complaint is not.
    pub fn from_answer(choice_id: Option<&str>, text: &str) -> Option<(Score, Option<String>)> {
        if let Some(n) = choice_id.and_then(|id| id.strip_prefix(CHOICE_PREFIX)).and_then(|d| d.parse::<i64>().ok()) {
            return Score::new(n).ok().map(|s| (s, None));
        }
        let t = text.trim();
        let stars = t.chars().filter(|c| *c == '⭐' || *c == '★').count();
        if stars > 0 && stars <= 5 && t.chars().all(|c| c == '⭐' || c == '★' || c.is_whitespace()) {
            return Some((Score(stars as u8), None));
        }
        let digits: Vec<u32> = t.chars().filter_map(|c| c.to_digit(10)).collect();
        if digits.len() == 1 && (1..=5).contains(&digits[0]) {
            let first = t.chars().next()?;
            if first.is_ascii_digit() {
                let rest = t[first.len_utf8()..].trim_start_matches(['/', '5', ' ', '.', ',', '!', '-']).trim();
                let comment = (!rest.is_empty() && rest.chars().count() > 2).then(|| rest.to_owned());
                return Some((Score(digits[0] as u8), comment));
            }
        }
        let lower = t.to_lowercase();
        let word = [
            ("excellent", 5),
            ("ดีมาก", 5),
            ("great", 5),
            ("good", 4),
            ("ดี", 4),
            ("ok", 3),
            ("okay", 3),
            ("พอใช้", 3),
            ("bad", 2),
            ("ไม่ดี", 2),
            ("terrible", 1),
            ("แย่มาก", 1),
        ];
        word.iter().find(|(w, _)| lower == *w).map(|(_, n)| (Score(*n), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(choice: Option<&str>, text: &str) -> Option<u8> {
        Score::from_answer(choice, text).map(|(s, _)| s.get())
    }

    #[test]
    fn a_tapped_button_is_read_exactly() {
        assert_eq!(score(Some("csat:4"), "Good"), Some(4));
        assert_eq!(score(Some("csat:9"), ""), None);
    }

    #[test]
    fn digits_stars_and_words_count_in_english_and_thai() {
        assert_eq!(score(None, "5"), Some(5));
        assert_eq!(score(None, "⭐⭐⭐"), Some(3));
        assert_eq!(score(None, "ดีมาก"), Some(5));
        assert_eq!(score(None, "terrible"), Some(1));
        assert_eq!(
            Score::from_answer(None, "2 the music stopped twice").map(|(_, c)| c),
            Some(Some("the music stopped twice".to_owned()))
        );
    }

    #[test]
    fn a_message_that_is_not_an_answer_is_not_a_score() {
        assert_eq!(score(None, "the lobby is silent again"), None);
        assert_eq!(score(None, "zone 12 and 14"), None);
        assert_eq!(score(None, "7"), None);
    }
}
