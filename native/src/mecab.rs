//! MeCab called directly: the library fugashi loaded (found by Python, opened here) and the same
//! dictionary, read node by node instead of through MeCab's text output.
//!
//! trendlab.core.extract._ja_nouns reads the output fugashi's `Tagger.parse` writes with unidic-lite's
//! format (`surface TAB … TAB %F-[0,1,2,3] …`: the first four part-of-speech fields joined by `-`,
//! `*` left out). Formatting that text and reading it back took more time than the analysis itself;
//! `Mecab::nouns` builds the same part-of-speech column from each node's features and keeps the
//! same nouns. tests/unit/test_kernel_twins.py compares the two on every Japanese run of the long sample
//! and on generated text.

use std::ffi::{c_char, c_long, c_void, CStr, CString};
use std::sync::{Arc, Mutex};

use libloading::Library;

/// `mecab_node_t` of mecab.h (MeCab 0.996, the ABI fugashi's library has).
#[repr(C)]
struct Node {
    prev: *const Node,
    next: *const Node,
    enext: *const Node,
    bnext: *const Node,
    rpath: *const c_void,
    lpath: *const c_void,
    surface: *const c_char,
    feature: *const c_char,
    id: u32,
    length: u16,
    rlength: u16,
    rc_attr: u16,
    lc_attr: u16,
    posid: u16,
    char_type: u8,
    stat: u8,
    isbest: u8,
    alpha: f32,
    beta: f32,
    prob: f32,
    wcost: i16,
    cost: c_long,
}

const BOS_NODE: u8 = 2;
const EOS_NODE: u8 = 3;

type New = unsafe extern "C" fn(i32, *mut *mut c_char) -> *mut c_void;
type ToNode2 = unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> *const Node;
type StrError = unsafe extern "C" fn(*mut c_void) -> *const c_char;

/// A tagger (not thread-safe in MeCab: calls are serialised by the lock).
struct Tagger(*mut c_void);
unsafe impl Send for Tagger {}

pub struct Mecab {
    tonode: ToNode2,
    strerror: StrError,
    tagger: Mutex<Tagger>,
    _lib: Library,
}

/// Taggers made in this process, by (library, arguments): one each, shared by every kernel (a
/// worker forked from a parent that made one inherits it).
static OPEN: Mutex<Vec<(String, Vec<String>, Arc<Mecab>)>> = Mutex::new(Vec::new());

impl Mecab {
    /// The tagger of `mecab_new(argc, argv)` (argv: "mecab" and `args`) from the library at `path`.
    pub fn open(path: &str, args: &[String]) -> Result<Arc<Mecab>, String> {
        let mut open = OPEN.lock().map_err(|_| "MeCab tagger cache poisoned".to_string())?;
        if let Some((_, _, m)) = open.iter().find(|(p, a, _)| p == path && a.as_slice() == args) {
            return Ok(m.clone());
        }
        let argv: Vec<CString> = std::iter::once("mecab")
            .chain(args.iter().map(String::as_str))
            .map(CString::new)
            .collect::<Result<_, _>>()
            .map_err(|_| "MeCab arguments contain NUL".to_string())?;
        let mut ptrs: Vec<*mut c_char> = argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
        // SAFETY: a MeCab library (the one fugashi already loaded); the symbols have mecab.h's types
        let mecab = unsafe {
            let lib = Library::new(path).map_err(|e| format!("cannot load {path}: {e}"))?;
            let new: New = *lib.get::<New>(b"mecab_new\0").map_err(|e| e.to_string())?;
            let tonode: ToNode2 = *lib.get::<ToNode2>(b"mecab_sparse_tonode2\0").map_err(|e| e.to_string())?;
            let strerror: StrError = *lib.get::<StrError>(b"mecab_strerror\0").map_err(|e| e.to_string())?;
            let tagger = new(ptrs.len() as i32, ptrs.as_mut_ptr());
            if tagger.is_null() {
                let why = CStr::from_ptr(strerror(std::ptr::null_mut())).to_string_lossy().into_owned();
                return Err(format!("MeCab refused {args:?}: {why}"));
            }
            Mecab { tonode, strerror, tagger: Mutex::new(Tagger(tagger)), _lib: lib }
        };
        let mecab = Arc::new(mecab);
        open.push((path.to_owned(), args.to_vec(), mecab.clone()));
        Ok(mecab)
    }

    /// trendlab.core.extract._ja_nouns(run): the nouns of a Japanese run, not numerals nor adverb-like or
    /// counter nouns, in order.
    pub fn nouns(&self, run: &str, out: &mut Vec<String>) -> Result<(), String> {
        let tagger = self.tagger.lock().map_err(|_| "MeCab tagger lock poisoned".to_string())?;
        // SAFETY: the nodes belong to the tagger's lattice, valid until its next parse: read under the lock
        unsafe {
            let mut node = (self.tonode)(tagger.0, run.as_ptr().cast(), run.len());
            if node.is_null() {
                return Err(CStr::from_ptr((self.strerror)(tagger.0)).to_string_lossy().into_owned());
            }
            let mut pos = String::new();
            while !node.is_null() {
                let n = &*node;
                node = n.next;
                if n.stat == BOS_NODE {
                    continue;
                }
                if n.stat == EOS_NODE {
                    break;
                }
                pos_column(leading_fields(n.feature.cast::<u8>()), &mut pos);
                if is_kept_noun(&pos) {
                    let surface = std::slice::from_raw_parts(n.surface.cast::<u8>(), n.length as usize);
                    out.push(String::from_utf8_lossy(surface).into_owned());
                }
            }
        }
        Ok(())
    }
}

/// The start of a NUL-terminated feature string up to its fourth field's end (UniDic's features run
/// to 26 fields: no need to measure them all).
///
/// # Safety
/// `feature` points at a NUL-terminated string that outlives the slice.
unsafe fn leading_fields<'a>(feature: *const u8) -> &'a [u8] {
    let (mut len, mut fields, mut quoted) = (0usize, 0, false);
    loop {
        match *feature.add(len) {
            0 => break,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                fields += 1;
                if fields == 4 {
                    break;
                }
            }
            _ => {}
        }
        len += 1;
    }
    std::slice::from_raw_parts(feature, len)
}

/// MeCab's `%F-[0,1,2,3]` of a feature string: its first four CSV fields (MeCab's quoting) joined by
/// `-`, the ones that are `*` left out.
fn pos_column(feature: &[u8], out: &mut String) {
    out.clear();
    let mut field: Vec<u8> = Vec::new();
    let mut i = 0;
    let mut written = 0;
    for _ in 0..4 {
        if i > feature.len() {
            break;
        }
        field.clear();
        if feature.get(i) == Some(&b'"') {
            i += 1;
            while i < feature.len() {
                if feature[i] == b'"' {
                    if feature.get(i + 1) == Some(&b'"') {
                        field.push(b'"');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                field.push(feature[i]);
                i += 1;
            }
            while i < feature.len() && feature[i] != b',' {
                i += 1;
            }
        } else {
            while i < feature.len() && feature[i] != b',' {
                field.push(feature[i]);
                i += 1;
            }
        }
        i += 1; // past the comma (or the end)
        if field.as_slice() != b"*" {
            if written > 0 {
                out.push('-');
            }
            out.push_str(&String::from_utf8_lossy(&field));
            written += 1;
        }
    }
}

/// The part-of-speech test of trendlab.core.extract._ja_nouns on MeCab's `pos1-pos2-pos3…` column.
pub fn is_kept_noun(pos_column: &str) -> bool {
    let mut pos = pos_column.split('-');
    let (p1, p2, p3) = (pos.next(), pos.next(), pos.next());
    p1 == Some("名詞") && p2 != Some("数詞") && p3 != Some("副詞可能") && p3 != Some("助数詞可能")
}
