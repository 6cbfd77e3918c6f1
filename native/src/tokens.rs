//! The tokeniser of trendlab.core.extract, compiled: exactly what Python's
//! `_TOKEN_RE.findall(text)` returns (group 1 of each match; `None` where an alternative without
//! that group matched: a URL, a domain or a mention).
//!
//! The regular expression (trendlab/core/extract.py) tries, at each position, in order:
//!   1. `(?:https?://|www\.)\S+`                         URL with a scheme or www.
//!   2. `[\w-]+(?:\.[\w-]+)+/\S*`                         host/path without a scheme
//!   3. `[\w-]+(?:\.[\w-]+)*\.(?:TLDS)\b(?![\w'’])`     bare domain
//!   4. `@[\w.-]+`                                        mention / handle
//!   5. `(\#\w+|\w+(?:['’-]\w+)*)`                        hashtag or word: the kept token
//! and moves one character on when none matches. Each alternative is written below as the
//! deterministic scan its backtracking amounts to (the comments say why); the character classes
//! are Python's own (tables.rs, generated from the running Python's `re`).

use crate::tables::{ASSIGNED, DIGIT, SPACE, STABLE, WORD};

#[inline]
fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let cp = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Python `re`'s `\w` (str patterns: `str.isalnum()` or `_`).
#[inline]
pub fn is_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        in_table(WORD, c)
    }
}

/// Left as it is by extract.prepare wherever it stands (not ASCII; see gen_tables.py's STABLE).
#[inline]
pub fn is_stable(c: char) -> bool {
    in_table(STABLE, c)
}

/// Assigned in this Python's Unicode database.
#[inline]
pub fn is_assigned(c: char) -> bool {
    c.is_ascii() || in_table(ASSIGNED, c)
}

/// Python `re`'s `\s`.
#[inline]
pub fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f')
    } else {
        in_table(SPACE, c)
    }
}

/// Python's `str.isdigit()` for one character.
#[inline]
pub fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_table(DIGIT, c)
    }
}

#[inline]
fn is_word_or_dash(c: char) -> bool {
    c == '-' || is_word(c)
}

/// The top-level domains of the bare-domain alternative (trendlab.core.extract._TLDS).
pub const TLDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "io", "co", "app", "dev", "social", "me", "tv", "ly", "gl", "gg", "xyz",
    "info", "biz", "news", "blog", "site", "online", "uk", "us", "ca", "au", "de", "fr", "es", "it", "nl", "pt",
    "br", "jp", "cn", "kr", "in", "ru", "mx", "ar", "cl", "eu", "ch", "at", "be", "se", "no", "fi", "dk", "pl",
    "cz", "ie", "nz", "to", "fm", "am", "is", "link", "page", "ai", "art", "club", "live", "world", "video",
    "tech", "cloud", "fyi",
];

fn starts_with(c: &[char], i: usize, s: &str) -> bool {
    let mut k = i;
    for ch in s.chars() {
        if k >= c.len() || c[k] != ch {
            return false;
        }
        k += 1;
    }
    true
}

/// 1. `(?:https?://|www\.)\S+`: a prefix, then at least one non-space (greedy; nothing follows).
fn url(c: &[char], i: usize) -> Option<usize> {
    let p = if starts_with(c, i, "http://") {
        i + 7
    } else if starts_with(c, i, "https://") {
        i + 8
    } else if starts_with(c, i, "www.") {
        i + 4
    } else {
        return None;
    };
    let mut j = p;
    while j < c.len() && !is_space(c[j]) {
        j += 1;
    }
    (j > p).then_some(j)
}

/// The dotted chain `[\w-]+(?:\.[\w-]+)*` from `i`: its end and the positions of its dots. The
/// segments cannot hold a dot, so backtracking into them never yields another dot: the dots of the
/// maximal chain are the only places the alternatives below can continue from.
fn chain(c: &[char], i: usize, dots: &mut Vec<usize>) -> Option<usize> {
    dots.clear();
    let mut j = i;
    while j < c.len() && is_word_or_dash(c[j]) {
        j += 1;
    }
    if j == i {
        return None;
    }
    while j + 1 < c.len() && c[j] == '.' && is_word_or_dash(c[j + 1]) {
        dots.push(j);
        j += 1;
        while j < c.len() && is_word_or_dash(c[j]) {
            j += 1;
        }
    }
    Some(j)
}

/// 2. `[\w-]+(?:\.[\w-]+)+/\S*`: a chain with at least one dot, then `/` right after it (a shorter
/// chain ends before a word character or a dash, never before `/`), then any non-spaces.
fn host_path(c: &[char], end: usize, dots: &[usize]) -> Option<usize> {
    if dots.is_empty() || end >= c.len() || c[end] != '/' {
        return None;
    }
    let mut j = end + 1;
    while j < c.len() && !is_space(c[j]) {
        j += 1;
    }
    Some(j)
}

/// 3. `[\w-]+(?:\.[\w-]+)*\.(?:TLDS)\b(?![\w'’])`: backtracking tries the chain's dots from the last
/// to the first; at a dot a TLD followed by `\b` must be the whole run of word characters after it
/// (a TLD is all word characters, so `\b` needs a non-word character or the end next), and the
/// lookahead adds: that next character is not an apostrophe.
fn bare_domain(c: &[char], dots: &[usize]) -> Option<usize> {
    for &d in dots.iter().rev() {
        let start = d + 1;
        let mut j = start;
        while j < c.len() && is_word(c[j]) {
            j += 1;
        }
        let len = j - start;
        if len < 2 || len > 6 {
            continue;
        }
        if j < c.len() && (c[j] == '\'' || c[j] == '\u{2019}') {
            continue;
        }
        let run = &c[start..j];
        if TLDS.iter().any(|t| t.len() == len && t.chars().zip(run.iter()).all(|(a, &b)| a == b)) {
            return Some(j);
        }
    }
    None
}

/// 4. `@[\w.-]+`.
fn mention(c: &[char], i: usize) -> Option<usize> {
    if c[i] != '@' {
        return None;
    }
    let mut j = i + 1;
    while j < c.len() && (c[j] == '.' || is_word_or_dash(c[j])) {
        j += 1;
    }
    (j > i + 1).then_some(j)
}

/// 5. `\#\w+|\w+(?:['’-]\w+)*`: a separator is taken only when a word character follows it.
fn kept(c: &[char], i: usize) -> Option<usize> {
    if c[i] == '#' {
        let mut j = i + 1;
        while j < c.len() && is_word(c[j]) {
            j += 1;
        }
        return (j > i + 1).then_some(j);
    }
    if !is_word(c[i]) {
        return None;
    }
    let mut j = i + 1;
    while j < c.len() && is_word(c[j]) {
        j += 1;
    }
    while j + 1 < c.len() && matches!(c[j], '\'' | '\u{2019}' | '-') && is_word(c[j + 1]) {
        j += 2;
        while j < c.len() && is_word(c[j]) {
            j += 1;
        }
    }
    Some(j)
}

/// The spans of `_TOKEN_RE.findall(text)`: `Some((start, end))` in characters for a kept token,
/// `None` for a URL, domain or mention.
pub fn scan(c: &[char], out: &mut Vec<Option<(usize, usize)>>) {
    let mut dots = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if let Some(j) = url(c, i) {
            out.push(None);
            i = j;
            continue;
        }
        if let Some(end) = chain(c, i, &mut dots) {
            if let Some(j) = host_path(c, end, &dots).or_else(|| bare_domain(c, &dots)) {
                out.push(None);
                i = j;
                continue;
            }
        }
        if let Some(j) = mention(c, i) {
            out.push(None);
            i = j;
            continue;
        }
        if let Some(j) = kept(c, i) {
            out.push(Some((i, j)));
            i = j;
            continue;
        }
        i += 1;
    }
}

/// Han, Hiragana, Katakana, CJK extension A, compatibility ideographs (trendlab.core.extract._CJK_RE).
#[inline]
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x31f0..=0x31ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff)
}
