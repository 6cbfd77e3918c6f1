//! trendlab's compiled kernels. The rules are trendlab's own, written once in Python
//! (trendlab/core/extract.py: what a keyword is; trendlab/core/parse.py and trendlab/core/models.py: what a post
//! is); this crate runs the common case of each faster and hands everything else back to Python:
//!
//! * `Extractor.extract(text, key)`: a post's keywords (NFKC, lower case, tokens, stop words of the
//!   tagged and of the detected languages, lengths, first appearance), then its phrases (adjacent
//!   word pairs, found in the same pass); Japanese runs go to MeCab, called directly (`mecab.rs`: the library
//!   and dictionary fugashi uses), Chinese runs to Python's jieba; a text of unassigned characters or
//!   with a capital sigma is normalised by Python;
//! * `Scanner.scan_file(path, start, end)` / `Scanner.feed(block)`: the lines of a stream file →
//!   integer-coded keyword occurrences, for the lines that are plainly a Jetstream post creation (or
//!   plainly a non-post event); any other line (a flat post, a dead letter, an unusual shape) is
//!   passed, in order, to the Python callback that runs the one total parser and extractor on it;
//! * `Parser.post(raw)`: the same for one Kafka message (the Flink job's table function);
//! * `union(lists)`: codes of consecutive parts merged in order of first appearance;
//! * `window_counts(keywords, authors, slots, n)`: replay's sliding-window counts and distinct
//!   authors (`windows.rs`; trendlab/core/windows.py defines them); `post_window_counts(...)`: the same
//!   from per-post columns, with distinct contents and phrases' least counts, in one pass;
//! * `keyword_hashes(strings, phrase_hash)`: trendlab.core.content's CRC hashes of a stream's keywords.
//!
//! tests/unit/test_kernel_twins.py holds it to the Python rules (golden tests, Hypothesis).

use std::borrow::Cow;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use memchr::memchr;
use serde::Deserialize;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

mod tables;
#[path = "tokens.rs"]
mod tok;
mod mecab;
mod windows;
mod links;

/// The kernels allocate a few small strings per post (keywords, authors); mimalloc serves those
/// faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use tok::{is_cjk, is_digit, scan};


/// What one look-up says of a word: a stop word of these languages? one a phrase may still hold
/// (trendlab.core.extract._phrase_material_for: a stop word that is not a phrase boundary)? evidence
/// for which languages (mask; bit i: trendlab.core.extract.EVIDENCE_LANGS[i]), as evidence word number `id`.
#[derive(Clone, Copy, Default)]
struct Entry {
    stop: bool,
    material: bool,
    evidence: u32,
    id: u16,
}

/// What a post's languages decide: its stop words (and the evidence words, in the same table: one
/// look-up a word), which segmenter reads its CJK runs, and which of the evidence languages it is
/// tagged with.
struct Lang {
    words: HashMap<String, Entry>,
    ja: bool,
    zh: bool,
    tagged: u32,
    /// whether the key has a language tag at all
    tagged_key: bool,
    /// how many evidence words a detection needs (KeywordExtractor._min_evidence)
    min_hits: usize,
    /// its place in LangCache.keys (derived stop lists are cached per key and detected languages)
    id: usize,
}

/// Python's side of the rules: `ja(run)` → MeCab's text output; `zh(run)` → jieba's words;
/// `prepare(text)` → NFKC, lower-case, ’ → ' (for a text `Segmenters::prepare` leaves to Python).
struct Segmenters {
    ja: Py<PyAny>,
    /// MeCab called directly (`mecab::Mecab`) when Python found its library; else `ja` is called
    mecab: Option<Arc<mecab::Mecab>>,
    zh: Py<PyAny>,
    prepare: Py<PyAny>,
}

impl Segmenters {
    /// trendlab.core.extract.prepare: in Rust for ASCII and for texts of characters this Python's Unicode
    /// database assigns (normalisation is stable for those; lower-casing is checked per character by
    /// the tests), without a capital sigma (its lower case depends on context); else Python's.
    fn prepare<'a>(&self, py: Python<'_>, text: &'a str) -> PyResult<Cow<'a, str>> {
        if text.is_ascii() {
            return Ok(if text.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(text.to_ascii_lowercase())
            } else {
                Cow::Borrowed(text)
            });
        }
        // the common case, in one pass: ASCII and characters prepare leaves alone (most emoji, kana,
        // CJK, punctuation): only the ASCII letters change
        let mut upper = false;
        if text.chars().all(|c| if c.is_ascii() { upper |= c.is_ascii_uppercase(); true } else { tok::is_stable(c) }) {
            return Ok(if upper { Cow::Owned(text.to_ascii_lowercase()) } else { Cow::Borrowed(text) });
        }
        if text.chars().all(tok::is_assigned) {
            // most non-ASCII text is already NFKC (the quick check says so without normalising)
            let normal: Cow<str> = if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(text.nfkc().collect())
            };
            if !normal.contains('\u{3a3}') {
                let unchanged = |c: char| {
                    let mut l = c.to_lowercase();
                    c != '\u{2019}' && l.next() == Some(c) && l.next().is_none()
                };
                if normal.chars().all(unchanged) {
                    return Ok(match normal {
                        Cow::Borrowed(_) => Cow::Borrowed(text),
                        Cow::Owned(s) => Cow::Owned(s),
                    });
                }
                let mut out = String::with_capacity(normal.len());
                for c in normal.chars() {
                    for l in c.to_lowercase() {
                        out.push(if l == '\u{2019}' { '\'' } else { l });
                    }
                }
                return Ok(Cow::Owned(out));
            }
        }
        Ok(Cow::Owned(self.prepare.bind(py).call1((text,))?.extract::<String>()?))
    }
}

/// The keyword rules of trendlab.core.extract.KeywordExtractor.extract after normalisation.
struct Rules {
    min_length: usize,
    max_length: usize,
}

/// `s.strip(chars)` of Python, on characters.
fn strip<'a>(s: &'a [char], chars: &[char]) -> &'a [char] {
    let mut a = 0;
    let mut b = s.len();
    while a < b && chars.contains(&s[a]) {
        a += 1;
    }
    while b > a && chars.contains(&s[b - 1]) {
        b -= 1;
    }
    &s[a..b]
}

fn all_digits(s: &[char]) -> bool {
    !s.is_empty() && s.iter().all(|&c| is_digit(c))
}

fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x31f0..=0x31ff)
}

const STRIP: &[char] = &['_', '\'', '-'];

/// trendlab.core.extract._ja_nouns on MeCab's output: nouns, not numerals nor adverb-like or counter nouns.
fn ja_nouns(parsed: &str, out: &mut Vec<String>) {
    for line in parsed.split('\n') {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() >= 5 && mecab::is_kept_noun(fields[4]) {
            out.push(fields[0].to_owned());
        }
    }
}

/// How many evidence words the kernel can tell apart.
const MAX_EVIDENCE_WORDS: usize = 2048;

/// The evidence of one post: distinct evidence words seen (a bit per word id), hits per language.
struct Evidence {
    seen: [u64; MAX_EVIDENCE_WORDS / 64],
    hits: [usize; 32],
}

impl Evidence {
    fn count(&mut self, e: Entry) {
        if e.evidence == 0 {
            return;
        }
        let (slot, bit) = (e.id as usize / 64, 1u64 << (e.id % 64));
        if self.seen[slot] & bit != 0 {
            return;
        }
        self.seen[slot] |= bit;
        let mut m = e.evidence;
        while m != 0 {
            self.hits[m.trailing_zeros() as usize] += 1;
            m &= m - 1;
        }
    }

    /// trendlab.core.extract.detected_languages: the mask of the languages with the most evidence words
    /// when that is at least `min_hits` and more than any tagged language has, else 0.
    fn detected(&self, min_hits: usize, tagged: u32) -> u32 {
        let best = *self.hits.iter().max().unwrap();
        let tagged_best = (0..32).filter(|&i| tagged >> i & 1 == 1).map(|i| self.hits[i]).max().unwrap_or(0);
        if best == 0 || best < min_hits || best <= tagged_best {
            return 0;
        }
        (0..32).filter(|&i| self.hits[i] == best).fold(0u32, |m, i| m | 1 << i)
    }
}

/// Keeps the keywords of a list in order of first appearance.
struct Seen {
    out: Vec<String>,
    set: HashSet<String>,
}

impl Seen {
    fn add(&mut self, word: &str) {
        if self.fresh(word) {
            self.out.push(word.to_owned());
        }
    }

    /// `add` for a string the caller gives away.
    fn add_owned(&mut self, word: String) {
        if self.fresh(&word) {
            self.out.push(word);
        }
    }

    fn fresh(&mut self, word: &str) -> bool {
        // a linear scan while the list is short; a hash set once it is long (a hostile post of many words)
        let fresh = if self.out.len() < 32 {
            !self.out.iter().any(|w| w == word)
        } else {
            if self.set.is_empty() {
                self.set.extend(self.out.iter().cloned());
            }
            self.set.insert(word.to_owned())
        };
        fresh
    }
}

/// The line breaks of Python's `str.splitlines` (trendlab.core.extract.LINE_BREAKS).
#[inline]
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// trendlab.core.extract._JOIN_RE: what may stand between the two words of a phrase (white space, at
/// least one character, no line break).
fn joins(gap: &[char]) -> bool {
    !gap.is_empty() && gap.iter().all(|&c| tok::is_space(c) && !is_line_break(c))
}

impl Entry {
    /// A phrase may not start or end with it: a stop word that is not phrase material.
    fn boundary(self) -> bool {
        self.stop && !self.material
    }
}

impl Rules {
    /// The keyword candidates of a normalised text in order of first appearance, each once
    /// (KeywordExtractor.extract's `seen`: hashtags with their '#', words that pass the length and
    /// digit rules), their language evidence counted into `ev`. When `drop_stop`, the stop words of
    /// `lang` are left out already (they are stop words of every list the post can end up with).
    /// `pairs` receives the candidate phrases in order, each as ("a b", the length of "a"): two
    /// consecutive tokens that are both plain words passing the rules, not the same word, with only
    /// white space and no line break between them (the boundary rule is applied by the caller, once the
    /// languages are known; with `drop_stop` a boundary word of `lang` breaks them already: the
    /// boundaries of every list the post can end up with include it).
    #[allow(clippy::too_many_arguments)]
    fn candidates(&self, py: Python<'_>, text: &str, lang: &Lang, seg: &Segmenters, buf: &mut Vec<char>,
                  spans: &mut Vec<Option<(usize, usize)>>, ev: &mut Evidence, drop_stop: bool,
                  pairs: &mut Vec<(String, usize)>) -> PyResult<Vec<String>> {
        buf.clear();
        buf.extend(text.chars());
        let has_cjk = !text.is_ascii() && buf.iter().any(|&c| is_cjk(c));
        spans.clear();
        scan(buf, spans);
        let (lo, hi) = (self.min_length, self.max_length);
        let keep = |w: &[char]| lo <= w.len() && w.len() <= hi && !all_digits(w);
        let mut seen = Seen { out: Vec::new(), set: HashSet::default() };
        let mut word = String::new();
        let mut words: Vec<String> = Vec::new();
        // the previous token when it was a plain word that may start a phrase, and where it ended
        let mut prev = String::new();
        let mut prev_ok = false;
        let mut prev_end = 0;
        for span in spans.iter() {
            let was_ok = std::mem::replace(&mut prev_ok, false);
            let Some((a, b)) = *span else { continue };
            let token = &buf[a..b];
            word.clear();
            if token[0] == '#' {
                let body = strip(&token[1..], &['_']);
                if keep(body) {
                    word.push('#');
                    word.extend(body.iter());
                    seen.add(&word);
                }
                continue;
            }
            if has_cjk && token.iter().any(|&c| is_cjk(c)) {
                let japanese = lang.ja || (token.iter().any(|&c| is_kana(c)) && !lang.zh);
                let run: String = token.iter().collect();
                words.clear();
                if let (true, Some(m)) = (japanese, &seg.mecab) {
                    m.nouns(&run, &mut words).map_err(PyValueError::new_err)?;
                } else if japanese {
                    let parsed = seg.ja.bind(py).call1((run,))?;
                    ja_nouns(&parsed.extract::<Cow<str>>()?, &mut words);
                } else {
                    words.extend(seg.zh.bind(py).call1((run,))?.extract::<Vec<String>>()?);
                }
                for w in &words {
                    let chars: Vec<char> = w.chars().collect();
                    let w = strip(&chars, STRIP);
                    if w.is_empty() || !keep(w) {
                        continue;
                    }
                    word.clear();
                    word.extend(w.iter());
                    let e = lang.words.get(word.as_str()).copied().unwrap_or_default();
                    ev.count(e);
                    if !(drop_stop && e.stop) {
                        seen.add(&word);
                    }
                }
                continue;
            }
            let t = strip(token, STRIP);
            if keep(t) {
                word.extend(t.iter());
                let e = lang.words.get(word.as_str()).copied().unwrap_or_default();
                ev.count(e);
                if !(drop_stop && e.stop) {
                    seen.add(&word);
                }
                if !(drop_stop && e.boundary()) {
                    if was_ok && prev != word && joins(&buf[prev_end..a]) {
                        let mut pair = String::with_capacity(prev.len() + 1 + word.len());
                        pair.push_str(&prev);
                        pair.push(' ');
                        pair.push_str(&word);
                        pairs.push((pair, prev.len()));
                    }
                    std::mem::swap(&mut prev, &mut word);
                    prev_ok = true;
                    prev_end = b;
                }
            }
        }
        Ok(seen.out)
    }
}

/// The languages of a key, asked of Python once per key and per set of detected languages:
/// `language(key, detected)` → (stop words, those a phrase may hold, ja, zh, tagged mask, evidence
/// needed, tagged at all)
/// (KeywordExtractor.native_language).
struct LangCache {
    fetch: Py<PyAny>,
    /// evidence word → (languages mask, id), entered into every Lang's table
    evidence: HashMap<String, (u32, u16)>,
    langs: HashMap<String, Arc<Lang>>,
    keys: Vec<String>,
    derived: HashMap<(usize, u32), Arc<Lang>>,
}

impl LangCache {
    fn fetch(&mut self, py: Python<'_>, key: &str, detected: u32, id: Option<usize>) -> PyResult<Arc<Lang>> {
        let (words, material, ja, zh, tagged, min_hits, tagged_key):
            (Bound<'_, PyAny>, Bound<'_, PyAny>, bool, bool, u32, usize, bool) =
            self.fetch.bind(py).call1((key, detected))?.extract()?;
        let mut table: HashMap<String, Entry> = HashMap::default();
        for w in words.try_iter()? {
            table.insert(w?.extract::<String>()?, Entry { stop: true, ..Entry::default() });
        }
        for w in material.try_iter()? {
            if let Some(e) = table.get_mut(w?.extract::<Cow<str>>()?.as_ref()) {
                e.material = true;
            }
        }
        for (w, &(evidence, id)) in &self.evidence {
            let e = table.entry(w.clone()).or_default();
            e.evidence = evidence;
            e.id = id;
        }
        let id = id.unwrap_or_else(|| {
            self.keys.push(key.to_owned());
            self.keys.len() - 1
        });
        Ok(Arc::new(Lang { words: table, ja, zh, tagged, tagged_key, min_hits, id }))
    }

    /// The languages of a key as tagged.
    fn get(&mut self, py: Python<'_>, key: &str) -> PyResult<Arc<Lang>> {
        if let Some(s) = self.langs.get(key) {
            return Ok(s.clone());
        }
        let lang = self.fetch(py, key, 0, None)?;
        self.langs.insert(key.to_owned(), lang.clone());
        Ok(lang)
    }

    /// The languages of `base`'s key with the languages of the mask `detected` found in a post.
    fn with_detected(&mut self, py: Python<'_>, base: &Lang, detected: u32) -> PyResult<Arc<Lang>> {
        if let Some(s) = self.derived.get(&(base.id, detected)) {
            return Ok(s.clone());
        }
        let key = self.keys[base.id].clone();
        let lang = self.fetch(py, &key, detected, Some(base.id))?;
        self.derived.insert((base.id, detected), lang.clone());
        Ok(lang)
    }
}

/// `tokens(text)`: what `_TOKEN_RE.findall(text)` returns ('' for a URL, domain or mention); `None`
/// for a text that is not valid Unicode (a lone surrogate: the rules then run in Python).
#[pyfunction]
fn tokens(text: &Bound<'_, pyo3::types::PyString>) -> Option<Vec<String>> {
    let text = text.to_str().ok()?;
    let c: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    scan(&c, &mut spans);
    Some(spans
        .into_iter()
        .map(|s| s.map(|(a, b)| c[a..b].iter().collect()).unwrap_or_default())
        .collect())
}

/// The rules every kernel class takes first: one typed object, read by attribute name
/// (trendlab.core.kernels.KernelRules, built by KeywordExtractor.kernel_rules()): `min_length`,
/// `max_length`; `language(key)` → (stop words, ja, zh, …) of a language key; `ja(run)` → MeCab's
/// output, `zh(run)` → jieba's words; `prepare(text)` → the text the rules read
/// (trendlab.core.extract.prepare); `mecab`: (library path, tagger arguments) for calling MeCab
/// directly, or None; `evidence`: word → mask of the languages it is a function word of, for the
/// language detection of trendlab.core.extract.detected_languages; `lang_codes`: language tag →
/// its number (trendlab.core.langtags.LANG_CODES), for a post's language code.
#[derive(FromPyObject)]
struct RuleArgs {
    min_length: usize,
    max_length: usize,
    language: Py<PyAny>,
    ja: Py<PyAny>,
    zh: Py<PyAny>,
    prepare: Py<PyAny>,
    mecab: Option<(String, Vec<String>)>,
    evidence: HashMap<String, u32>,
    lang_codes: HashMap<String, i64>,
}

/// The version of this module's interface: trendlab.core.kernels.KERNEL_VERSION must equal it (a
/// kernel of another version is refused, with how to rebuild). Raise both with any change of an entry.
const KERNEL_VERSION: u32 = 6;

/// The keyword rules with their Python side and scratch buffers: what `Extractor` and `Reader` share.
struct Kernel {
    rules: Rules,
    lang: LangCache,
    seg: Segmenters,
    buf: Vec<char>,
    spans: Vec<Option<(usize, usize)>>,
    /// scratch: a post's candidate phrases
    pairs: Vec<(String, usize)>,
}

impl Kernel {
    fn new(rules: RuleArgs) -> PyResult<Self> {
        let RuleArgs { min_length, max_length, language, ja, zh, prepare, mecab, evidence, .. } = rules;
        let evidence: HashMap<String, (u32, u16)> = {
            let mut words: Vec<(String, u32)> = evidence.into_iter().collect();
            words.sort();
            if words.len() > MAX_EVIDENCE_WORDS {
                return Err(PyValueError::new_err("more evidence words than the kernel can tell apart"));
            }
            words.into_iter().enumerate().map(|(i, (w, m))| (w, (m, i as u16))).collect()
        };
        let mecab = match mecab {
            Some((path, args)) => Some(mecab::Mecab::open(&path, &args).map_err(PyValueError::new_err)?),
            None => None,
        };
        Ok(Kernel {
            rules: Rules { min_length, max_length },
            lang: LangCache { fetch: language, evidence, langs: HashMap::default(), keys: Vec::new(),
                              derived: HashMap::default() },
            seg: Segmenters { ja, mecab, zh, prepare },
            buf: Vec::new(),
            spans: Vec::new(),
            pairs: Vec::new(),
        })
    }

    /// KeywordExtractor.extract: the keywords of a raw text for the languages of `key` and those its
    /// words show (`detected`): the words, then the phrases; and how many of them are words.
    fn keywords(&mut self, py: Python<'_>, text: &str, key: &str) -> PyResult<(Vec<String>, usize)> {
        let lang = self.lang.get(py, key)?;
        let text = self.seg.prepare(py, text)?;
        // a tagged post's stop list only grows with what is detected, so its tagged stop words can
        // go at once; an untagged post's English fallback is replaced by a detected language's list
        let tagged = lang.tagged_key;
        let mut ev = Evidence { seen: [0; MAX_EVIDENCE_WORDS / 64], hits: [0; 32] };
        let mut pairs = std::mem::take(&mut self.pairs);
        pairs.clear();
        let mut words = self.rules.candidates(py, &text, &lang, &self.seg, &mut self.buf, &mut self.spans,
                                              &mut ev, tagged, &mut pairs)?;
        let found = ev.detected(lang.min_hits, lang.tagged);
        let applied = if found != 0 { self.lang.with_detected(py, &lang, found)? } else { lang.clone() };
        if found != 0 || !tagged {
            words.retain(|w| w.starts_with('#') || !applied.words.get(w.as_str()).is_some_and(|e| e.stop));
        }
        let n = words.len();
        if !pairs.is_empty() {
            let boundary = |w: &str| applied.words.get(w).is_some_and(|e| e.boundary());
            // each once, after the words, in order of first appearance (a phrase is never a word)
            let mut phrases = Seen { out: words, set: HashSet::default() };
            for (pair, k) in pairs.drain(..) {
                if !boundary(&pair[..k]) && !boundary(&pair[k + 1..]) {
                    phrases.add_owned(pair);
                }
            }
            words = phrases.out;
        }
        self.pairs = pairs;
        Ok((words, n))
    }
}

#[pyclass(module = "trendlab_native")]
struct Extractor {
    kernel: Kernel,
}

#[pymethods]
impl Extractor {
    /// `Extractor(rules)`: `rules` as `RuleArgs` (KeywordExtractor.kernel_rules()).
    #[new]
    fn new(rules: RuleArgs) -> PyResult<Self> {
        Ok(Extractor { kernel: Kernel::new(rules)? })
    }

    /// The keywords of a text (normalised here) for the languages of `key`; `None` for a text that is
    /// not valid Unicode (a lone surrogate: the caller runs the rules in Python).
    fn extract(&mut self, py: Python<'_>, text: &Bound<'_, pyo3::types::PyString>, key: &str)
               -> PyResult<Option<Vec<String>>> {
        let Ok(text) = text.to_str() else { return Ok(None) };
        self.kernel.keywords(py, text, key).map(|(k, _)| Some(k))
    }

    /// `prepare(text)` as the kernel does it (for the tests).
    fn prepare(&self, py: Python<'_>, text: &str) -> PyResult<String> {
        Ok(self.kernel.seg.prepare(py, text)?.into_owned())
    }
}

// -- Scanner: stream lines → coded occurrences ---------------------------------------------------

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    did: Option<Cow<'a, str>>,
    time_us: Option<i64>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    commit: Option<Commit<'a>>,
}

#[derive(Deserialize)]
struct Commit<'a> {
    #[serde(borrow)]
    operation: Option<Cow<'a, str>>,
    #[serde(borrow)]
    collection: Option<Cow<'a, str>>,
    #[serde(borrow)]
    rkey: Option<Cow<'a, str>>,
    #[serde(borrow)]
    record: Option<Record<'a>>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    langs: Option<Vec<Cow<'a, str>>>,
    // links (trendlab.models.PostData.from_jetstream): any shape other than these is Python's
    #[serde(borrow)]
    facets: Option<Vec<Facet<'a>>>,
    #[serde(borrow)]
    embed: Option<Embed<'a>>,
}

#[derive(Deserialize)]
struct Facet<'a> {
    #[serde(borrow)]
    features: Option<Vec<Feature<'a>>>,
}

#[derive(Deserialize)]
struct Feature<'a> {
    #[serde(borrow, rename = "$type")]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uri: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Embed<'a> {
    #[serde(borrow)]
    external: Option<External<'a>>,
    #[serde(borrow)]
    media: Option<Media<'a>>,
}

#[derive(Deserialize)]
struct Media<'a> {
    #[serde(borrow)]
    external: Option<External<'a>>,
}

#[derive(Deserialize)]
struct External<'a> {
    #[serde(borrow)]
    uri: Option<Cow<'a, str>>,
}

impl Record<'_> {
    /// The link facets' URIs, then the external embed's (trendlab.models: `PostData.links`).
    fn link_uris(&self) -> Vec<&str> {
        let mut uris: Vec<&str> = Vec::new();
        for facet in self.facets.iter().flatten() {
            for feature in facet.features.iter().flatten() {
                if let (Some(ty), Some(uri)) = (&feature.ty, &feature.uri) {
                    if ty.ends_with("#link") {
                        uris.push(uri);
                    }
                }
            }
        }
        if let Some(embed) = &self.embed {
            let external = match (&embed.external, &embed.media) {
                (Some(e), _) => Some(e),
                (None, Some(m)) => m.external.as_ref(),
                _ => None,
            };
            if let Some(uri) = external.and_then(|e| e.uri.as_deref()) {
                uris.push(uri);
            }
        }
        uris
    }
}

enum Line {
    Skip,
    Post { author: String, event_ms: i64, keywords: Vec<String>, langs: i64 },
    /// Python decides (flat posts, dead letters, CJK, anything unusual)
    Python,
}

/// Reads one message: the common case of trendlab.core.parse.MessageParser and the extractor.
struct Reader {
    kernel: Kernel,
    lang_codes: HashMap<String, i64>,
    max_bytes: usize,
    max_keywords: usize,
    earliest_us: i64,
}

#[pyclass(module = "trendlab_native")]
struct Scanner {
    reader: Reader,
    /// `fallback(number, line, size)` → None (skip), a DeadLetter, or (author, event_ms, keywords, language code)
    fallback: Py<PyAny>,
    latest_us: i64,
    /// what the lines read so far gave: a new scanner's, and a restarted one's, is `Scanned::default()`
    read: Scanned,
}

/// What a scanner accumulates over the lines it reads (all of it let go by `Scanner.restart`).
#[derive(Default)]
struct Scanned {
    kw_index: HashMap<String, i64>,
    keywords: Vec<String>,
    au_index: HashMap<String, i64>,
    authors: Vec<String>,
    event_ms: Vec<i64>,
    author_code: Vec<i64>,
    keyword_code: Vec<i64>,
    lengths: Vec<i64>,
    lang_code: Vec<i64>,
    lines: i64,
    skipped: i64,
    python_lines: i64,
    dead: Vec<(i64, Py<PyAny>)>,
}

const POST_COLLECTION: &str = "app.bsky.feed.post";

impl Reader {
    fn new(mut rules: RuleArgs, max_bytes: usize, max_keywords: usize, earliest_us: i64) -> PyResult<Self> {
        let lang_codes = std::mem::take(&mut rules.lang_codes);
        Ok(Reader {
            kernel: Kernel::new(rules)?,
            lang_codes,
            max_bytes,
            max_keywords,
            earliest_us,
        })
    }

    /// A skip, a post, or `Python` (the total parser decides) for one message of `size` bytes, with
    /// event times accepted up to `latest_us`.
    fn classify(&mut self, py: Python<'_>, line: &[u8], size: usize, latest_us: i64) -> PyResult<Line> {
        if size > self.max_bytes || line.starts_with(b"\xef\xbb\xbf") {
            return Ok(Line::Python);
        }
        let Ok(text) = std::str::from_utf8(line) else { return Ok(Line::Python) };
        let Ok(ev) = serde_json::from_str::<Event>(text) else { return Ok(Line::Python) };
        match (&ev.kind, &ev.commit) {
            (Some(kind), _) if kind != "commit" => return Ok(Line::Skip),
            (Some(_), Some(commit)) => {
                if commit.collection.as_deref() != Some(POST_COLLECTION) || commit.operation.as_deref() != Some("create") {
                    return Ok(Line::Skip);
                }
            }
            _ => return Ok(Line::Python),
        }
        let commit = ev.commit.as_ref().unwrap();
        let (Some(did), Some(_rkey), Some(record), Some(time_us)) = (&ev.did, &commit.rkey, &commit.record, ev.time_us)
        else {
            return Ok(Line::Python);
        };
        let Some(post_text) = &record.text else { return Ok(Line::Python) };
        if !did.starts_with("did:") || time_us < self.earliest_us || time_us > latest_us {
            return Ok(Line::Python);
        }
        let lang = record.langs.as_ref().and_then(|l| l.first()).map(|s| s.as_ref()).unwrap_or("");
        let mut key = String::with_capacity(lang.len() + 2);
        key.push_str("r:");
        key.push_str(lang);
        // the cap (trendlab.core.parse: MessageParser.keyword_cap, cap_phrases): over it in words, the
        // total parser makes the dead letter; phrases beyond it are dropped (they follow the words)
        let (mut keywords, words) = self.kernel.keywords(py, post_text, &key)?;
        if words > self.max_keywords {
            return Ok(Line::Python);
        }
        keywords.truncate(words + self.max_keywords);
        let uris = record.link_uris();
        if !uris.is_empty() || post_text.contains("://") {
            keywords.extend(links::post_links(uris, post_text)); // last, never counted toward the cap
        }
        let langs = langs_code(record.langs.as_deref().unwrap_or(&[]), &self.lang_codes);
        Ok(Line::Post { author: did.to_string(), event_ms: time_us.div_euclid(1000), keywords, langs })
    }
}

/// trendlab.core.langtags.langs_code: the numbers of the first three distinct known primary subtags
/// (ASCII case-folded; `_` reads as `-`), 8 bits each in tag order; 0 when none is known.
fn langs_code<S: AsRef<str>>(langs: &[S], table: &HashMap<String, i64>) -> i64 {
    let (mut code, mut n) = (0i64, 0usize);
    let mut head = String::new();
    for tag in langs {
        let tag = tag.as_ref();
        let end = tag.find(|c| c == '-' || c == '_').unwrap_or(tag.len());
        if !tag[..end].is_ascii() {
            continue;
        }
        head.clear();
        head.push_str(&tag[..end]);
        head.make_ascii_lowercase();
        let Some(&c) = table.get(head.as_str()) else { continue };
        if (0..n).any(|i| (code >> (8 * i)) & 0xff == c) {
            continue;
        }
        code |= c << (8 * n);
        n += 1;
        if n == 3 {
            break;
        }
    }
    code
}

impl Scanner {
    fn add_post(&mut self, author: String, event_ms: i64, keywords: impl IntoIterator<Item = String>, langs: i64) {
        self.read.lang_code.push(langs);
        let next = self.read.authors.len() as i64;
        let code = *self.read.au_index.entry(author).or_insert_with_key(|a| {
            self.read.authors.push(a.clone());
            next
        });
        self.read.author_code.push(code);
        self.read.event_ms.push(event_ms);
        let mut n = 0;
        for kw in keywords {
            let next = self.read.keywords.len() as i64;
            let kws = &mut self.read.keywords;
            let code = *self.read.kw_index.entry(kw).or_insert_with_key(|k| {
                kws.push(k.clone());
                next
            });
            self.read.keyword_code.push(code);
            n += 1;
        }
        self.read.lengths.push(n);
    }
}

fn trim_cr(mut line: &[u8]) -> &[u8] {
    while let [head @ .., b'\r'] = line {
        line = head;
    }
    line
}

impl Scanner {
    /// One line of a file (its line end removed): trailing CRs dropped; a blank line is numbered but
    /// is not a message; one longer than `max_bytes` is passed on as its head and size.
    fn text_line(&mut self, py: Python<'_>, number: i64, line: &[u8]) -> PyResult<()> {
        let line = trim_cr(line);
        let size = line.len();
        if size > self.reader.max_bytes {
            return self.line(py, number, &line[..4096.min(size)], size);
        }
        if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)) {
            return Ok(()); // blank (or empty)
        }
        self.line(py, number, line, size)
    }

    /// One message (a non-blank line; `line` is only the head of one longer than `max_bytes`).
    fn line(&mut self, py: Python<'_>, number: i64, line: &[u8], size: usize) -> PyResult<()> {
        self.read.lines += 1;
        match self.reader.classify(py, line, size, self.latest_us)? {
            Line::Skip => self.read.skipped += 1,
            Line::Post { author, event_ms, keywords, langs } => self.add_post(author, event_ms, keywords, langs),
            Line::Python => {
                self.read.python_lines += 1;
                let out = self.fallback.bind(py).call1((number, PyBytes::new(py, line), size))?;
                if out.is_none() {
                    self.read.skipped += 1;
                } else if let Ok(t) = out.cast::<PyTuple>() {
                    let (author, event_ms, keywords, langs): (String, i64, Vec<String>, i64) = t.extract()?;
                    self.add_post(author, event_ms, keywords, langs);
                } else {
                    self.read.dead.push((number, out.unbind()));
                }
            }
        }
        Ok(())
    }
}

/// The bytes of an int64 array in native order (one copy).
fn ne_bytes(v: &[i64]) -> &[u8] {
    // SAFETY: any i64 is 8 initialised bytes; u8 has no alignment requirement
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

fn i64_bytes<'py>(py: Python<'py>, v: &[i64]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, ne_bytes(v))
}

#[pymethods]
impl Scanner {
    /// See the class documentation in trendlab/occurrences.py (`_scan_range`).
    #[new]
    fn new(rules: RuleArgs, fallback: Py<PyAny>, max_bytes: usize, max_keywords: usize, earliest_us: i64,
           latest_us: i64) -> PyResult<Self> {
        Ok(Scanner {
            reader: Reader::new(rules, max_bytes, max_keywords, earliest_us)?,
            fallback,
            latest_us,
            read: Scanned::default(),
        })
    }

    /// Starts over for another part of a file (or another file) read with the same rules: what was
    /// read is let go; the languages already looked up are kept (trendlab.occurrences keeps one
    /// scanner per worker process, so a part does not pay for them again).
    fn restart(&mut self, fallback: Py<PyAny>, latest_us: i64) {
        self.fallback = fallback;
        self.latest_us = latest_us;
        self.read = Scanned::default();
    }

    /// One block of `(number, line, size)` from trendlab.postfile.read_line_blocks (compressed files).
    fn feed(&mut self, py: Python<'_>, block: &Bound<'_, PyList>) -> PyResult<()> {
        for item in block.iter() {
            let (number, line, size): (i64, Bound<'_, PyBytes>, usize) = item.extract()?;
            self.line(py, number, line.as_bytes(), size)?;
        }
        Ok(())
    }

    /// The lines of an uncompressed file that start in `[start, end)` (cut at line ends; the whole
    /// file when `end` is None), read as trendlab.postfile.read_line_blocks reads them: in blocks (a
    /// file that changes while it is read gives other lines, never a crash), a byte-order mark at the
    /// file's start dropped, lines numbered from 1 within the range (blank ones count but are not
    /// messages), trailing CRs removed, a line longer than `max_bytes` never held whole: it is passed
    /// on as its first 4096 bytes and its size. Returns how many lines the range holds.
    #[pyo3(signature = (path, start=0, end=None))]
    fn scan_file(&mut self, py: Python<'_>, path: std::path::PathBuf, start: u64, end: Option<u64>) -> PyResult<i64> {
        use std::io::{Read, Seek, SeekFrom};
        const BLOCK: usize = 4 << 20;
        let mut file = std::fs::File::open(&path)?;
        file.seek(SeekFrom::Start(start))?;
        let mut left: u64 = end.map(|e| e.saturating_sub(start)).unwrap_or(u64::MAX);
        let max = self.reader.max_bytes;
        let mut buf: Vec<u8> = Vec::new();
        let mut first = start == 0;
        let mut number: i64 = 0;
        let mut skipping: Option<(Vec<u8>, usize)> = None; // an over-long line: its head, its size so far
        while left > 0 {
            let want = (BLOCK as u64).min(left) as usize;
            let old = buf.len();
            buf.resize(old + want, 0);
            let mut got = 0;
            while got < want {
                let n = file.read(&mut buf[old + got..])?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            buf.truncate(old + got);
            if got == 0 {
                break;
            }
            left -= got as u64;
            if first {
                first = false;
                if buf.starts_with(b"\xef\xbb\xbf") {
                    buf.drain(..3);
                }
            }
            let mut pos = 0;
            if let Some((head, size)) = skipping.as_mut() {
                match memchr(b'\n', &buf) {
                    None => {
                        *size += buf.len();
                        buf.clear();
                        continue;
                    }
                    Some(i) => {
                        let size = *size + trim_cr(&buf[..i]).len();
                        let head = std::mem::take(head);
                        skipping = None;
                        number += 1;
                        self.line(py, number, &head, size)?;
                        pos = i + 1;
                    }
                }
            }
            while let Some(i) = memchr(b'\n', &buf[pos..]) {
                number += 1;
                self.text_line(py, number, &buf[pos..pos + i])?;
                pos += i + 1;
            }
            buf.drain(..pos);
            if buf.len() > max {
                skipping = Some((buf[..4096.min(buf.len())].to_vec(), buf.len()));
                buf.clear();
            }
        }
        if let Some((head, size)) = skipping {
            number += 1;
            self.line(py, number, &head, size)?;
        } else if !buf.is_empty() {
            number += 1;
            self.text_line(py, number, &buf)?;
        }
        Ok(number)
    }

    /// Everything read so far: a dict of counts, lists and native-endian int64 arrays (as bytes).
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        if self.read.lengths.len() != self.read.event_ms.len() || self.read.lang_code.len() != self.read.event_ms.len() {
            return Err(PyValueError::new_err("scanner state is inconsistent"));
        }
        let d = PyDict::new(py);
        d.set_item("lines", self.read.lines)?;
        d.set_item("skipped", self.read.skipped)?;
        d.set_item("python_lines", self.read.python_lines)?;
        let dead = PyList::empty(py);
        for (n, dl) in &self.read.dead {
            dead.append((n, dl.bind(py)))?;
        }
        d.set_item("dead_letters", dead)?;
        d.set_item("keywords", &self.read.keywords)?;
        d.set_item("authors", &self.read.authors)?;
        d.set_item("event_ms", i64_bytes(py, &self.read.event_ms))?;
        d.set_item("author_code", i64_bytes(py, &self.read.author_code))?;
        d.set_item("keyword_code", i64_bytes(py, &self.read.keyword_code))?;
        d.set_item("lengths", i64_bytes(py, &self.read.lengths))?;
        d.set_item("lang_code", i64_bytes(py, &self.read.lang_code))?;
        Ok(d)
    }
}

/// `union(lists)`: the strings of consecutive lists coded in order of first appearance, as
/// `(distinct strings, [int64 map of each list as bytes])` (list i's string j has code maps[i][j]).
#[pyfunction]
fn union<'py>(py: Python<'py>, lists: Vec<Vec<Bound<'py, pyo3::types::PyString>>>)
              -> PyResult<(Bound<'py, PyList>, Vec<Bound<'py, PyBytes>>)> {
    let mut index: HashMap<String, i64> = HashMap::default();
    let out = PyList::empty(py);
    let mut maps = Vec::with_capacity(lists.len());
    for list in &lists {
        let mut map: Vec<i64> = Vec::with_capacity(list.len());
        for s in list {
            let key = s.to_str()?;
            let next = index.len() as i64;
            let code = match index.get(key) {
                Some(&c) => c,
                None => {
                    index.insert(key.to_owned(), next);
                    out.append(s)?;
                    next
                }
            };
            map.push(code);
        }
        maps.push(i64_bytes(py, &map));
    }
    Ok((out, maps))
}

fn i64s(data: &[u8], name: &str) -> PyResult<Vec<i64>> {
    if data.len() % 8 != 0 {
        return Err(PyValueError::new_err(format!("{name} is not an int64 array")));
    }
    Ok(data.chunks_exact(8).map(|c| i64::from_ne_bytes(c.try_into().unwrap())).collect())
}

/// `window_counts(keyword_codes, author_codes, slots, n)` (native-endian int64 arrays as bytes; slots
/// >= 0; `n` windows per occurrence) → one int64 bytearray holding the columns keyword_code, end_slot,
/// count and unique_authors one after the other, rows sorted by end slot, then keyword:
/// trendlab.windows' aggregation (see windows.rs).
#[pyfunction]
fn window_counts<'py>(py: Python<'py>, keyword_codes: &[u8], author_codes: &[u8], slots: &[u8], n: i64)
                      -> PyResult<Bound<'py, pyo3::types::PyByteArray>> {
    let (kw, au, rel) = (i64s(keyword_codes, "keyword_codes")?, i64s(author_codes, "author_codes")?,
                         i64s(slots, "slots")?);
    if kw.len() != au.len() || kw.len() != rel.len() {
        return Err(PyValueError::new_err("keyword_codes, author_codes and slots differ in length"));
    }
    if n < 1 || rel.iter().any(|&s| s < 0) {
        return Err(PyValueError::new_err("n must be >= 1 and slots >= 0"));
    }
    let columns = py.detach(|| windows::window_counts(&kw, &au, &rel, n));
    Ok(pyo3::types::PyByteArray::new(py, ne_bytes(&columns)))
}

/// CRC-32 (IEEE, zlib's) of `data`.
fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, entry) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *entry = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// `keyword_hashes(strings, phrase_hash)`: trendlab.content.keyword_hash of each string (CRC-32 of its
/// UTF-8 bytes, a lone surrogate as `surrogatepass`, 31 bits), as native-endian int64 bytes; with
/// `phrase_hash`, a string holding a space (a phrase) or a link gets that value instead
/// (trendlab.core.content.keyword_hashes).
#[pyfunction]
#[pyo3(signature = (strings, phrase_hash=None))]
fn keyword_hashes<'py>(py: Python<'py>, strings: &Bound<'py, PyList>, phrase_hash: Option<i64>)
                       -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(strings.len());
    for item in strings.iter() {
        let s = item.cast::<pyo3::types::PyString>()?;
        let hash = |bytes: &[u8]| -> i64 {
            match phrase_hash {
                // a phrase or a link is no word of a content key (trendlab.content.is_word)
                Some(p) if bytes.contains(&b' ') || bytes.starts_with(links::PREFIX.as_bytes()) => p,
                _ => (crc32(bytes) & 0x7FFF_FFFF) as i64,
            }
        };
        out.push(match s.to_str() {
            Ok(text) => hash(text.as_bytes()),
            Err(_) => {
                let raw = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
                hash(raw.cast::<PyBytes>()?.as_bytes())
            }
        });
    }
    Ok(i64_bytes(py, &out))
}

fn buffer<'a, T: pyo3::buffer::Element + Copy>(buf: &'a pyo3::buffer::PyBuffer<T>, name: &str) -> PyResult<&'a [T]> {
    let ptr = buf.as_slice_ptr()
        .ok_or_else(|| PyValueError::new_err(format!("{name} is not a contiguous array")))?;
    // SAFETY: the buffer is contiguous, of T, and held (not released) while the slice is used; the
    // arrays are the caller's own, not changed during the call (the GIL is held throughout)
    Ok(unsafe { &*ptr.as_ptr() })
}

/// `post_window_counts(keyword_codes, post_index, post_slots, post_authors, post_contents, min_count, n)`:
/// the occurrences' keyword codes and post indices (int32 arrays), each post's slot (int64, >= 0),
/// author and content code (int32, >= 0; `post_contents` `None`: no distinct contents), each keyword
/// code's least count for a window to be reported (int32; shorter: 1), `n` windows per post → one
/// int64 bytearray holding the columns keyword_code, end_slot, count, unique_authors[, unique_contents]
/// one after the other, rows sorted by end slot, then keyword (see windows.rs).
#[pyfunction]
#[pyo3(signature = (keyword_codes, post_index, post_slots, post_authors, post_contents, min_count, n))]
#[allow(clippy::too_many_arguments)]
fn post_window_counts<'py>(py: Python<'py>, keyword_codes: &Bound<'py, PyAny>, post_index: &Bound<'py, PyAny>,
                           post_slots: &Bound<'py, PyAny>, post_authors: &Bound<'py, PyAny>,
                           post_contents: Option<&Bound<'py, PyAny>>, min_count: &Bound<'py, PyAny>, n: i64)
                           -> PyResult<Bound<'py, pyo3::types::PyByteArray>> {
    use pyo3::buffer::PyBuffer;
    let (kw_buf, post_buf) = (PyBuffer::<i32>::get(keyword_codes)?, PyBuffer::<i32>::get(post_index)?);
    let (slot_buf, au_buf) = (PyBuffer::<i64>::get(post_slots)?, PyBuffer::<i32>::get(post_authors)?);
    let min_buf = PyBuffer::<i32>::get(min_count)?;
    let co_buf = post_contents.map(PyBuffer::<i32>::get).transpose()?;
    let (kw, post) = (buffer(&kw_buf, "keyword_codes")?, buffer(&post_buf, "post_index")?);
    let (slot, author) = (buffer(&slot_buf, "post_slots")?, buffer(&au_buf, "post_authors")?);
    let min_count = buffer(&min_buf, "min_count")?;
    let content = co_buf.as_ref().map(|b| buffer(b, "post_contents")).transpose()?;
    let posts = slot.len();
    if kw.len() != post.len() || author.len() != posts || content.is_some_and(|c| c.len() != posts) {
        return Err(PyValueError::new_err(
            "keyword_codes and post_index, or post_slots, post_authors and post_contents differ in length"));
    }
    if n < 1 || slot.iter().any(|&s| s < 0) || kw.iter().any(|&k| k < 0) || author.iter().any(|&a| a < 0)
        || content.is_some_and(|c| c.iter().any(|&x| x < 0)) || post.iter().any(|&p| p < 0 || p as usize >= posts) {
        return Err(PyValueError::new_err("n must be >= 1, codes and slots >= 0, post indices below the posts"));
    }
    let posts = windows::Posts { slot, author, content };
    let layout = windows::layout(kw, post, &posts, min_count, n);
    let columns = if content.is_some() { 5 } else { 4 };
    pyo3::types::PyByteArray::new_with(py, layout.rows() * columns * 8, |out| {
        windows::fill(layout, kw, post, &posts, min_count, n, columns, out);
        Ok(())
    })
}

/// One message at a time, for the Flink job's table function: `post(raw)` → `False` for a non-post
/// event, `(author, keywords)` for a post, `None` when the total parser must decide (anything else).
/// Event times are accepted up to the clock at each call plus `ahead_us`.
#[pyclass(module = "trendlab_native")]
struct Parser {
    reader: Reader,
    ahead_us: i64,
}

#[pymethods]
impl Parser {
    #[new]
    fn new(rules: RuleArgs, max_bytes: usize, max_keywords: usize, earliest_us: i64, ahead_us: i64)
           -> PyResult<Self> {
        Ok(Parser {
            reader: Reader::new(rules, max_bytes, max_keywords, earliest_us)?,
            ahead_us,
        })
    }

    fn post<'py>(&mut self, py: Python<'py>, raw: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let Ok(bytes) = raw.cast::<PyBytes>() else { return Ok(py.None().into_bound(py)) };
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        let data = bytes.as_bytes();
        Ok(match self.reader.classify(py, data, data.len(), now_us + self.ahead_us)? {
            Line::Skip => pyo3::types::PyBool::new(py, false).to_owned().into_any(),
            Line::Post { author, keywords, langs, .. } => (author, keywords, langs).into_pyobject(py)?.into_any(),
            Line::Python => py.None().into_bound(py),
        })
    }
}

/// `trendlab.core.links.normalise_url` (for the twin tests; the scanner calls the Rust function directly).
#[pyfunction]
fn normalise_url(uri: &str) -> Option<String> {
    links::normalise_url(uri)
}

/// `trendlab.core.links.post_links`.
#[pyfunction]
fn post_links(uris: Vec<String>, text: &str) -> Vec<String> {
    links::post_links(uris.iter().map(String::as_str), text)
}

#[pymodule]
fn trendlab_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(tokens, m)?)?;
    m.add_function(wrap_pyfunction!(normalise_url, m)?)?;
    m.add_function(wrap_pyfunction!(post_links, m)?)?;
    m.add_function(wrap_pyfunction!(union, m)?)?;
    m.add_function(wrap_pyfunction!(window_counts, m)?)?;
    m.add_function(wrap_pyfunction!(post_window_counts, m)?)?;
    m.add_function(wrap_pyfunction!(keyword_hashes, m)?)?;
    m.add_class::<Extractor>()?;
    m.add_class::<Scanner>()?;
    m.add_class::<Parser>()?;
    m.add("UNICODE_VERSION", tables::UNICODE_VERSION)?;
    m.add("KERNEL_VERSION", KERNEL_VERSION)?;
    Ok(())
}
