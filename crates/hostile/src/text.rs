//! Hostile text: arbitrary Unicode, runs of the characters that have broken text handling
//! somewhere, text up to 64 KiB long, and bytes that are not UTF-8.

use proptest::prelude::*;

/// The longest text or body the strategies make.
pub const MAX_LEN: usize = 64 * 1024;

/// Characters and runs that have broken text handling somewhere: NUL and other controls, byte
/// order and direction marks, joiners, combining marks and characters whose case mapping grows
/// (`İ` lowercases to two characters), Thai letters, marks and digits, emoji with joiners and
/// flags, template and CSV syntax, quotes of every kind, and numbers no integer type holds.
pub const PIECES: &[&str] = &[
    "\0",
    "\u{1}",
    "\u{7f}",
    "\u{85}",
    "\u{feff}",
    "\u{200b}",
    "\u{200d}",
    "\u{202e}",
    "\u{2028}",
    "\r",
    "\n",
    "\r\n",
    "\t",
    " ",
    "\u{a0}",
    "\u{3000}",
    "\u{301}",
    "\u{307}",
    "\u{e33}",
    "İ",
    "ß",
    "ẞ",
    "ﬁ",
    "Σ",
    "ǅ",
    "ΐ",
    "Ⅻ",
    "½",
    "²",
    "٣",
    "ก",
    "ข",
    "เ",
    "ั",
    "่",
    "๑",
    "๙",
    "ๆ",
    "เพลง",
    "ล็อบบี้",
    "ครับ",
    "ทุกโซน",
    "🔇",
    "🔊",
    "👍",
    "🙏",
    "⭐",
    "★",
    "❓",
    "👨\u{200d}👩\u{200d}👧",
    "🇹🇭",
    "{{",
    "}}",
    "{",
    "}",
    "{{venue.name}}",
    "{{ contact.name }}",
    "{{zone.count}}",
    "{{x}}",
    "\"",
    "\"\"",
    "'",
    "’",
    "`",
    "“",
    "”",
    "«",
    "»",
    ",",
    ";",
    ".",
    "…",
    "?",
    "？",
    "!",
    ":",
    "%",
    "/",
    "\\",
    "<",
    ">",
    "@",
    "<a@b.c>",
    "0",
    "5",
    "4/5",
    "16",
    "99",
    "4294967296",
    "18446744073709551616",
    "-1",
    "1e400",
    "a",
    "Z",
    "lobby",
    "pool",
    "volume",
    "louder",
    "up",
    "stop",
    "jazz",
    "all zones",
    "don't",
];

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// Arbitrary text: short arbitrary Unicode, mixes of the hostile pieces, and long repeats of a
/// short mix up to [`MAX_LEN`] bytes.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        4 => prop::collection::vec(piece(), 0..48).prop_map(|p| p.concat()),
        1 => (prop::collection::vec(piece(), 1..6), 1_usize..20_000).prop_map(|(p, n)| {
            let unit = p.concat();
            let n = n.min(MAX_LEN / unit.len().max(1)).max(1);
            unit.repeat(n)
        }),
    ]
}

/// Byte sequences no UTF-8 text holds: a lone continuation byte, an overlong NUL, a UTF-16
/// surrogate, a code point past U+10FFFF, a cut-off sequence.
const INVALID_UTF8: &[&[u8]] = &[b"\xff", b"\x80", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe0"];

/// Arbitrary bytes: hostile text, random bytes, and hostile text with bytes spliced in that
/// make it invalid UTF-8.
pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => text().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..1024),
        1 => (text(), prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(INVALID_UTF8)), 1..4))
            .prop_map(|(t, splices)| {
                let mut b = t.into_bytes();
                for (at, bad) in splices {
                    let at = at.index(b.len() + 1);
                    b.splice(at..at, bad.iter().copied());
                }
                b
            }),
    ]
}
