//! Turns a raw message into tokens the rules can read: lower case, Thai digits as ASCII digits,
//! emoji as the words they stand for, apostrophes dropped ("don't" → "dont"), digits split from
//! letters ("10am" → 10 am), and Thai kept as runs (Thai is written without spaces; the lexicon
//! segments it).

use std::ops::Range;

use super::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    Thai,
    Num(u32),
    Percent,
    Slash,
    Question,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: Kind,
    pub span: Range<usize>,
    /// A clause ends before this token: punctuation, or a space between two Thai runs (Thai
    /// marks clauses with spaces). Negation and other windows do not reach across it.
    pub brk: bool,
}

/// A message cut into tokens; token text lives in `buf`.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    pub buf: String,
    pub tokens: Vec<Token>,
    pub lang: Lang,
}

impl Tokens {
    pub fn text(&self, t: &Token) -> &str {
        self.buf.get(t.span.clone()).unwrap_or("")
    }
}

pub(crate) fn is_thai(c: char) -> bool {
    ('\u{0E01}'..='\u{0E4F}').contains(&c)
}

fn thai_digit(c: char) -> Option<char> {
    let n = (c as u32).checked_sub(0x0E50)?;
    (n <= 9).then(|| char::from(b'0' + n as u8))
}

/// The word an emoji stands for; `None` for every other character.
fn emoji_word(c: char) -> Option<&'static str> {
    Some(match c {
        '🔇' | '🔕' => "mute",
        '🔊' | '📢' => "louder",
        '🔉' | '🔈' => "quieter",
        '👍' | '🙇' | '👌' => "thanks",
        '🙏' => "wai",
        '👋' => "hello",
        '⏭' => "skip",
        '⏸' => "pause",
        '▶' => "resume",
        '🎵' | '🎶' | '🎼' => "music",
        '❓' | '❔' => "?",
        _ => return None,
    })
}

/// Lowercases and splits `text` into tokens, and decides the reply language: Thai when the
/// message holds any Thai (a run of two or more Thai characters, or a Thai digit).
pub(crate) fn tokenize(text: &str) -> Tokens {
    let mut out = Tokens { buf: String::with_capacity(text.len() + 8), tokens: Vec::new(), lang: Lang::En };
    let mut cur: Option<(Kind, usize)> = None;
    let mut thai_chars = 0usize;
    let mut thai_digits = 0usize;
    let mut brk = false;
    let mut space_after_thai = false;

    fn close(out: &mut Tokens, cur: &mut Option<(Kind, usize)>, brk: &mut bool) {
        if let Some((kind, start)) = cur.take() {
            let end = out.buf.len();
            let kind = match kind {
                Kind::Num(_) => {
                    let digits = out.buf.get(start..end).unwrap_or("");
                    let n = digits.bytes().take(7).fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
                    Kind::Num(n)
                }
                k => k,
            };
            out.tokens.push(Token { kind, span: start..end, brk: std::mem::take(brk) });
            out.buf.push(' ');
        }
    }

    fn single(out: &mut Tokens, cur: &mut Option<(Kind, usize)>, brk: &mut bool, kind: Kind, s: &str) {
        close(out, cur, brk);
        let start = out.buf.len();
        out.buf.push_str(s);
        out.tokens.push(Token { kind, span: start..out.buf.len(), brk: std::mem::take(brk) });
        out.buf.push(' ');
    }

    for raw in text.chars() {
        let c = thai_digit(raw).inspect(|_| thai_digits += 1).unwrap_or(raw);
        let class = if c.is_ascii_digit() {
            Some(Kind::Num(0))
        } else if is_thai(c) {
            thai_chars += 1;
            Some(Kind::Thai)
        } else if c.is_alphanumeric() {
            Some(Kind::Word)
        } else {
            None
        };
        match class {
            Some(k) => {
                if !matches!(cur, Some((ck, _)) if ck == k) {
                    close(&mut out, &mut cur, &mut brk);
                    if k == Kind::Thai && space_after_thai {
                        brk = true;
                    }
                    cur = Some((k, out.buf.len()));
                }
                space_after_thai = false;
                if k == Kind::Word {
                    // Only the letters of the lower case: `İ` lowercases to `i` and a combining
                    // dot, which would end the word when normalised text is read again.
                    out.buf.extend(c.to_lowercase().filter(|l| l.is_alphanumeric()));
                } else {
                    out.buf.push(c);
                }
            }
            None => match c {
                '\'' | '’' | '`' if matches!(cur, Some((Kind::Word, _))) => {}
                '%' => single(&mut out, &mut cur, &mut brk, Kind::Percent, "%"),
                '/' => single(&mut out, &mut cur, &mut brk, Kind::Slash, "/"),
                '?' | '？' => {
                    single(&mut out, &mut cur, &mut brk, Kind::Question, "?");
                    brk = true;
                }
                ',' | '.' | '!' | ';' | ':' | '\n' | '(' | ')' | '…' | '，' | '。' | '！' => {
                    close(&mut out, &mut cur, &mut brk);
                    brk = true;
                }
                _ => {
                    if let Some(w) = emoji_word(c) {
                        let kind = if w == "?" { Kind::Question } else { Kind::Word };
                        single(&mut out, &mut cur, &mut brk, kind, w);
                    } else {
                        let was_thai = matches!(cur, Some((Kind::Thai, _)));
                        close(&mut out, &mut cur, &mut brk);
                        if c.is_whitespace() && (was_thai || space_after_thai) {
                            space_after_thai = true;
                        } else if !c.is_whitespace() {
                            space_after_thai = false;
                        }
                    }
                }
            },
        }
    }
    close(&mut out, &mut cur, &mut brk);
    if thai_chars >= 2 || thai_digits > 0 {
        out.lang = Lang::Th;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        let t = tokenize(text);
        t.tokens.iter().map(|tok| (tok.kind, t.text(tok).to_owned())).collect()
    }

    #[test]
    fn digits_split_from_letters_and_thai_digits_become_ascii() {
        assert_eq!(
            kinds("10am ๑๒"),
            vec![(Kind::Num(10), "10".into()), (Kind::Word, "am".into()), (Kind::Num(12), "12".into())]
        );
    }

    #[test]
    fn apostrophes_join_words_and_emoji_become_words() {
        assert_eq!(kinds("Don't 🔇"), vec![(Kind::Word, "dont".into()), (Kind::Word, "mute".into())]);
    }

    #[test]
    fn thai_text_makes_the_language_thai() {
        assert_eq!(tokenize("lobby เพลงหยุด").lang, Lang::Th);
        assert_eq!(tokenize("music stopped").lang, Lang::En);
    }
}
