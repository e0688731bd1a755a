//! A forward-only reader of JSON text for the fast paths of [`loads`](super::loads)
//! and [`redumps`](super::redumps).
//!
//! It only finds token boundaries; whatever is not plain (strings with escapes or raw
//! control characters, numbers other than short integers) is handed to `serde_json`
//! token by token, and anything unexpected makes the fast path give up so that the
//! exact, slower path decides.

use serde_json::Value;

/// How deep the fast paths nest before giving up (`serde_json` refuses 128 levels;
/// giving up earlier lets the exact path produce that error).
pub(super) const MAX_DEPTH: usize = 64;

/// A JSON string token.
#[derive(Debug, Clone, Copy)]
pub(super) struct JsonStr<'a> {
    /// The text between the quotes, as written.
    pub raw: &'a str,
    /// The whole token, quotes included.
    pub token: &'a str,
    /// No backslash and no control character: the text is the string's value and is
    /// written back unchanged.
    pub plain: bool,
}

impl JsonStr<'_> {
    /// The string's value (`None` when `serde_json` refuses an escape).
    pub fn decode(&self) -> Option<String> {
        if self.plain {
            return Some(self.raw.to_owned());
        }
        if let Some(text) = unescape(self.raw) {
            return Some(text);
        }
        match super::loads_exact(self.token).ok()? {
            Value::String(text) => Some(text),
            _ => None,
        }
    }
}

/// The value of a string's text between its quotes, for the escapes that have one
/// reading only; `None` (to ask `serde_json`) for a raw control character, a
/// surrogate escape that is not a well-formed pair, or an unknown escape.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        let run = plain_run(rest.as_bytes());
        out.push_str(rest.get(..run)?);
        let mut chars = rest.get(run..)?.chars();
        match chars.next() {
            None => return Some(out),
            Some('\\') => {}
            Some(_) => return None,
        }
        let escaped = match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = hex4(chars.as_str())?;
                chars = chars.as_str().get(4..)?.chars();
                if (0xd800..0xdc00).contains(&high) {
                    let pair = chars.as_str().strip_prefix("\\u")?;
                    let low = hex4(pair)?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return None;
                    }
                    chars = pair.get(4..)?.chars();
                    char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))?
                } else {
                    char::from_u32(high)?
                }
            }
            _ => return None,
        };
        out.push(escaped);
        rest = chars.as_str();
    }
}

/// The value of the four hex digits `text` starts with.
fn hex4(text: &str) -> Option<u32> {
    let digits = text.get(..4)?;
    if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// A JSON number token.
#[derive(Debug, Clone, Copy)]
pub(super) struct JsonNumber<'a> {
    /// The token as written.
    pub token: &'a str,
    /// An integer `serde_json` reads as an `i64`/`u64` and writes back unchanged.
    pub simple_integer: bool,
}

impl JsonNumber<'_> {
    /// The number as `serde_json` reads it (`None` when it refuses the token).
    pub fn value(&self) -> Option<Value> {
        if self.simple_integer {
            if self.token.starts_with('-') {
                return self.token.parse::<i64>().ok().map(Value::from);
            }
            return self.token.parse::<u64>().ok().map(Value::from);
        }
        match serde_json::from_str::<Value>(self.token).ok()? {
            number @ Value::Number(_) => Some(number),
            _ => None,
        }
    }
}

/// The reading position in a JSON text.
pub(super) struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Self {
        Cursor {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    /// Skips JSON whitespace (space, tab, line feed, carriage return).
    pub fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Whitespace skipped, then the next byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.pos).copied()
    }

    /// Whitespace skipped, then consumes `byte` if it is next.
    pub fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Consumes `word` (a literal such as `true`) if it is next.
    pub fn literal(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) == Some(word.as_bytes()) {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// Reads the string token that starts at the next byte (a `"`).
    pub fn string(&mut self) -> Option<JsonStr<'a>> {
        self.skip_whitespace();
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut index = start;
        let mut plain = true;
        loop {
            index += plain_run(self.bytes.get(index..)?);
            match self.bytes.get(index)? {
                b'"' => break,
                b'\\' => index += 2,
                _ => index += 1,
            }
            plain = false;
        }
        let token = self.text.get(self.pos..=index)?;
        let raw = self.text.get(start..index)?;
        self.pos = index + 1;
        Some(JsonStr { raw, token, plain })
    }

    /// Reads the number token that starts at the next byte (its characters; whether
    /// they form a number is `serde_json`'s call).
    pub fn number(&mut self) -> Option<JsonNumber<'a>> {
        self.skip_whitespace();
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        let token = self.text.get(start..self.pos)?;
        let digits = token.strip_prefix('-').unwrap_or(token);
        let simple_integer = !digits.is_empty()
            && digits.len() <= 18
            && digits.bytes().all(|byte| byte.is_ascii_digit())
            && (digits == "0" && token.len() == 1 || !digits.starts_with('0'));
        Some(JsonNumber {
            token,
            simple_integer,
        })
    }
}

/// `0x01` in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte of a word.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The bytes of `word` below `limit` (at most 128) have their high bit set in the
/// result; bytes above the lowest such byte may be flagged wrongly, the lowest never.
const fn bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * limit as u64) & !word & HIGHS
}

/// The quotes, backslashes and control characters of `word` (little-endian), as
/// [`bytes_below`] flags them: the lowest flagged byte is the first such byte.
const fn special_bytes(word: u64) -> u64 {
    bytes_below(word ^ (ONES * b'"' as u64), 1)
        | bytes_below(word ^ (ONES * b'\\' as u64), 1)
        | bytes_below(word, 0x20)
}

/// How many bytes at the start of `bytes` are neither a quote, a backslash nor a
/// control character (eight at a time).
pub(super) fn plain_run(bytes: &[u8]) -> usize {
    let mut count = 0;
    loop {
        let rest = bytes.get(count..).unwrap_or_default();
        // The last bytes are padded with a plain byte to a whole word.
        let mut word = [b'a'; 8];
        let taken = rest.len().min(8);
        if let (Some(target), Some(source)) = (word.get_mut(..taken), rest.get(..taken)) {
            target.copy_from_slice(source);
        }
        let special = special_bytes(u64::from_le_bytes(word));
        if special != 0 {
            return count + (special.trailing_zeros() / 8) as usize;
        }
        if taken < 8 {
            return bytes.len();
        }
        count += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_runs_stop_at_quotes_backslashes_and_controls() {
        assert_eq!(plain_run(b"abcdefghijkl\"mn"), 12);
        assert_eq!(plain_run(b"abc\\"), 3);
        assert_eq!(plain_run(b"abcdefghij\x1f"), 10);
        assert_eq!(plain_run("héllo wörld 🌞 ok".as_bytes()), 21);
        assert_eq!(plain_run(b""), 0);
    }

    #[test]
    fn strings_know_whether_they_are_plain() {
        let mut cursor = Cursor::new(r#"  "a\"b" "cd" "e"#);
        let first = cursor.string().map(|s| (s.raw, s.plain));
        assert_eq!(first, Some((r#"a\"b"#, false)));
        let second = cursor.string().map(|s| (s.token, s.plain));
        assert_eq!(second, Some((r#""cd""#, true)));
        assert!(cursor.string().is_none());
    }

    #[test]
    fn unescaping_matches_serde_json_or_gives_up() {
        let samples = [
            r#"a\"b\\c\/d\be\ff\ng\rh\ti"#,
            r#"\u00e9\u0041\ud83c\udf1e\uFFFF\u0000x"#,
            r#"\ud83c"#,
            r#"\ud83cx"#,
            r#"\udf1e"#,
            r#"\ud83c\u0041"#,
            r#"\x"#,
            r#"\u12"#,
            r#"\u12g4"#,
            "tab\there",
            r#"ends\"#,
        ];
        for raw in samples {
            let exact = serde_json::from_str::<String>(&format!("\"{raw}\"")).ok();
            if let Some(text) = unescape(raw) {
                assert_eq!(Some(text), exact, "{raw}");
            }
        }
        assert!(unescape(samples[0]).is_some());
        assert!(unescape(samples[1]).is_some());
    }

    #[test]
    fn only_short_canonical_integers_are_simple() {
        let simple = |text: &str| Cursor::new(text).number().map(|n| n.simple_integer);
        assert_eq!(simple("0"), Some(true));
        assert_eq!(simple("-12"), Some(true));
        assert_eq!(simple("-0"), Some(false));
        assert_eq!(simple("012"), Some(false));
        assert_eq!(simple("1.5"), Some(false));
        assert_eq!(simple("1234567890123456789"), Some(false));
    }
}
