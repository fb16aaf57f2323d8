//! Hears a zone name written in the other script. Thai staff write English zone names by their
//! sound ("คอฟฟี่ช็อป" for Coffee Shop, "เลาจน์" for Lounge) and Thai zone names in Latin letters
//! ("rim nam" for ริมน้ำ), so a name in one script is compared with the other by sound, not by a
//! hand list per name: both sides are reduced to one phonetic key (Thai by a rule-based
//! romanisation: consonant and vowel tables, leading vowels moved after their consonant, tone
//! marks and ์ dropped; English by its usual spellings: ph/f → p, r → l, ch/sh/j → c, c/g/q → k,
//! silent final e) with vowels loosened to one sign and doubled letters collapsed. Keys are then
//! compared with an edit distance in which a vowel costs half a consonant, close consonants
//! (t/d, p/b, s/c) half a change, a swapped pair one change and any other consonant change one
//! and a half: names differ in their spelling of vowels, not in their consonants.

/// The sign every vowel becomes.
const V: char = 'a';

/// The key of one Thai character: a consonant class, the vowel sign, or nothing (tone marks, ์).
fn thai(c: char) -> Option<&'static str> {
    Some(match c {
        'ก' | 'ข' | 'ฃ' | 'ค' | 'ฅ' | 'ฆ' => "k",
        'ง' | 'ณ' | 'น' => "n",
        'จ' | 'ฉ' | 'ช' | 'ฌ' => "c",
        'ซ' | 'ศ' | 'ษ' | 'ส' => "s",
        'ญ' | 'ย' => "y",
        'ฎ' | 'ด' => "d",
        'ฏ' | 'ต' | 'ฐ' | 'ฑ' | 'ฒ' | 'ถ' | 'ท' | 'ธ' => "t",
        'บ' => "b",
        'ป' | 'ผ' | 'ฝ' | 'พ' | 'ฟ' | 'ภ' => "p",
        'ม' => "m",
        'ร' | 'ล' | 'ฬ' => "l",
        'ฤ' | 'ฦ' => "la",
        'ว' => "w",
        'ห' | 'ฮ' => "",
        'อ' | 'ะ' | 'ั' | 'า' | 'ิ' | 'ี' | 'ึ' | 'ื' | 'ุ' | 'ู' | '็' | 'ๅ' => "a",
        'ำ' => "am",
        _ => return None,
    })
}

/// Thai vowels written before the consonant they follow in speech.
fn leading_vowel(c: char) -> bool {
    ('\u{0E40}'..='\u{0E44}').contains(&c)
}

/// Romanises Thai script into key letters (before loosening); other characters are skipped.
fn romanise_thai(text: &str, out: &mut String) {
    let mut pending_vowel = false;
    for c in text.chars() {
        if leading_vowel(c) {
            pending_vowel = true;
            continue;
        }
        let Some(k) = thai(c) else { continue };
        out.push_str(k);
        if pending_vowel && !k.is_empty() && k != "a" {
            out.push(V);
            pending_vowel = false;
        }
    }
    if pending_vowel {
        out.push(V);
    }
}

/// English spellings that stand for one sound, replaced before letters are mapped one by one.
const SPELLINGS: &[(&str, &str)] = &[
    ("tch", "j"),
    ("sch", "sk"),
    ("ph", "p"),
    ("gh", ""),
    ("ch", "j"),
    ("sh", "j"),
    ("th", "t"),
    ("ck", "k"),
    ("qu", "kw"),
    ("wh", "w"),
    ("x", "ks"),
];

/// Maps one Latin word into key letters (before loosening).
fn romanise_latin_word(word: &str, out: &mut String) {
    let mut w: String = word
        .chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            c => c.to_ascii_lowercase(),
        })
        .filter(char::is_ascii_lowercase)
        .collect();
    if let Some(stem) = w.strip_suffix("dge").or_else(|| w.strip_suffix("ge")) {
        w = format!("{stem}j");
    }
    let letters = w.chars().count();
    if letters >= 4 && w.ends_with('e') && !w.ends_with("ee") && !w.ends_with("ie") {
        w.pop();
    }
    for (from, to) in SPELLINGS {
        w = w.replace(from, to);
    }
    let bytes = w.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        let next = bytes.get(i + 1).copied();
        let k = match b {
            b'a' | b'e' | b'i' | b'o' | b'u' => V,
            b'c' if matches!(next, Some(b'e' | b'i' | b'y')) => 's',
            b'g' if i > 0 && bytes[i - 1] == b'n' => continue,
            b'c' | b'g' | b'q' => 'k',
            b'j' => 'c',
            b'z' => 's',
            b'v' => 'w',
            b'f' => 'p',
            b'r' => 'l',
            b'h' => continue,
            b'n' if next == Some(b'g') => {
                out.push('n');
                continue;
            }
            other => char::from(*other),
        };
        out.push(k);
    }
}

fn is_vowel(c: char) -> bool {
    c == V
}

/// Loosens raw key letters: y and w that no vowel follows are vowels ("sky", "สวน"), vowel runs
/// become one vowel, and doubled consonants one.
fn loosen(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let c = if matches!(c, 'y' | 'w') && !chars.get(i + 1).is_some_and(|n| is_vowel(*n)) { V } else { c };
        if out.ends_with(c) {
            continue;
        }
        out.push(c);
    }
    out
}

/// The phonetic key of `text`, in Thai script or Latin letters (or both, in order).
pub(crate) fn key(text: &str) -> String {
    let mut raw = String::new();
    let mut word = String::new();
    let mut thai_run = String::new();
    let flush = |raw: &mut String, word: &mut String, thai_run: &mut String| {
        if !word.is_empty() {
            romanise_latin_word(word, raw);
            word.clear();
        }
        if !thai_run.is_empty() {
            romanise_thai(thai_run, raw);
            thai_run.clear();
        }
    };
    for c in text.chars() {
        if super::normalize::is_thai(c) {
            if !word.is_empty() {
                flush(&mut raw, &mut word, &mut thai_run);
            }
            thai_run.push(c);
        } else if c.is_alphabetic() {
            if !thai_run.is_empty() {
                flush(&mut raw, &mut word, &mut thai_run);
            }
            word.push(c);
        } else {
            flush(&mut raw, &mut word, &mut thai_run);
        }
    }
    flush(&mut raw, &mut word, &mut thai_run);
    loosen(&raw)
}

/// Consonants in a key: how much it says.
fn weight(key: &str) -> usize {
    key.chars().filter(|c| !is_vowel(*c)).count()
}

/// Allowed distance, in half-consonant units, for a pattern key: none for a short name (Thai has
/// many short words one vowel away from "pool" or "spa"), vowels, close consonants or a swapped
/// pair for three or four consonants, one consonant more for five or six, two for longer ones.
fn budget(pattern: &str) -> u32 {
    match weight(pattern) {
        0..=2 => 0,
        3..=4 => 2,
        5..=6 => 3,
        _ => 4,
    }
}

fn close(a: char, b: char) -> bool {
    matches!((a, b), ('t', 'd') | ('d', 't') | ('p', 'b') | ('b', 'p') | ('s', 'c') | ('c', 's'))
}

fn cost_sub(a: char, b: char) -> u32 {
    if a == b {
        0
    } else if close(a, b) {
        1
    } else {
        3
    }
}

fn cost_indel(c: char) -> u32 {
    if is_vowel(c) { 1 } else { 3 }
}

/// Where `pattern` may sit in `text`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    Whole,
    /// At the start of `text`, which may go on after it.
    Start,
    /// At the end of `text`, which may begin before it.
    End,
}

/// Weighted optimal-string-alignment distance of `pattern` against `text`.
fn weighted(pattern: &str, text: &str, fit: Fit) -> u32 {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (m, n) = (p.len(), t.len());
    let mut d = vec![vec![0u32; n + 1]; m + 1];
    for i in 1..=m {
        d[i][0] = d[i - 1][0] + cost_indel(p[i - 1]);
    }
    for j in 1..=n {
        d[0][j] = if fit == Fit::End { 0 } else { d[0][j - 1] + cost_indel(t[j - 1]) };
    }
    for i in 1..=m {
        for j in 1..=n {
            let mut v = (d[i - 1][j] + cost_indel(p[i - 1]))
                .min(d[i][j - 1] + cost_indel(t[j - 1]))
                .min(d[i - 1][j - 1] + cost_sub(p[i - 1], t[j - 1]));
            if i > 1 && j > 1 && p[i - 1] == t[j - 2] && p[i - 2] == t[j - 1] && p[i - 1] != p[i - 2] {
                v = v.min(d[i - 2][j - 2] + 2);
            }
            d[i][j] = v;
        }
    }
    if fit == Fit::Start { d[m].iter().copied().min().unwrap_or(0) } else { d[m][n] }
}

/// Whether the name whose key is `name` is heard in the message stretch whose key is `heard`.
/// A short name (two consonants or fewer) must be the whole stretch; a longer one may open or
/// close it, since Thai runs words together ("ห้องไลบรารี่" is "room" + Library).
pub(crate) fn hears(name: &str, heard: &str) -> bool {
    let w = weight(name);
    if w == 0 || heard.is_empty() {
        return false;
    }
    let budget = budget(name);
    // Each character of the stretch that the name does not cover costs at least 1, so a fit
    // within the budget spans at most `budget` more characters than the name: only that much of
    // each end of a long stretch is compared (comparing all of a 2,000-character stretch with
    // every zone took 70 ms in a debug build).
    let span = name.chars().count() + budget as usize;
    let len = heard.chars().count();
    if w <= 2 {
        return len <= span && weighted(name, heard, Fit::Whole) <= budget;
    }
    let start = heard.char_indices().nth(span).map_or(heard, |(end, _)| &heard[..end]);
    let end = heard.char_indices().nth(len.saturating_sub(span)).map_or(heard, |(from, _)| &heard[from..]);
    weighted(name, start, Fit::Start) <= budget || weighted(name, end, Fit::End) <= budget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thai_renderings_of_english_zone_names_share_their_key() {
        for (thai, latin) in [
            ("คอฟฟี่ช็อป", "Coffee Shop"),
            ("รูฟท็อปบาร์", "Rooftop Bar"),
            ("เลานจ์", "Lounge"),
            ("ฟิตเนส", "Fitness"),
            ("พูลบาร์", "Pool Bar"),
            ("ล็อบบี้", "Lobby"),
            ("ซันเซ็ทบาร์", "Sunset Bar"),
            ("ไลบรารี่", "Library"),
            ("คิดส์คลับ", "Kids Club"),
        ] {
            assert_eq!(key(thai), key(latin), "{thai} / {latin}");
        }
    }

    #[test]
    fn spelling_variants_are_heard_within_the_tolerance() {
        assert!(hears(&key("Lounge"), &key("เลาจน์")), "a swapped pair of consonants");
        assert!(hears(&key("Sunset"), &key("ซันเซ็ต")), "ต for ท");
        assert!(hears(&key("Library"), &key("ห้องไลบรารี่")), "a longer name inside a Thai run");
        assert!(hears(&key("ริมน้ำ"), &key("rim nam")));
        assert!(hears(&key("บ้านสวน"), &key("baan suan")));
        assert!(hears(&key("บ้านสวน"), &key("ban suan")));
    }

    #[test]
    fn different_names_and_short_words_are_not_heard() {
        assert!(!hears(&key("Lobby"), &key("ล็อบบี้บาร์")), "a short name must be the whole stretch");
        assert!(!hears(&key("Library"), &key("คอฟฟี่ช็อป")));
        assert!(!hears(&key("Sunset Bar"), &key("รูฟท็อปบาร์")));
        assert!(!hears(&key("Coffee Shop"), &key("กับ")));
        assert!(!hears(&key("Spa"), &key("สระ")));
        assert!(!hears(&key("Lotus"), &key("มีประกาศ")), "one consonant apart is another word");
        assert!(!hears(&key("Palm Court"), &key("ค่าบริการเดือนนี้เท่าไหร่")));
        assert!(!hears(&key("Jungle Bar"), &key("ขอใบแจ้งหนี้เดือนนี้หน่อย")));
        assert!(!hears(&key("Banyan"), &key("ช่วงเย็น")), "a name is not heard without its first consonant");
    }
}
