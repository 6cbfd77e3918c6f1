//! trendlab.windows' aggregation (sliding-window counts and distinct authors) over integer-coded
//! occurrences, in linear time: occurrences bucketed by keyword, then one sliding window per keyword
//! over its end slots, instead of dense keyword × slot arrays or sorts.
//!
//! The semantics are trendlab/windows.py's: an occurrence in slot `s` counts in the windows whose end
//! slots are `s + 1 … s + n`; `count` is the occurrences of a keyword in a window, `unique_authors` the
//! distinct authors among them; only windows with `count >= 1` exist; rows come sorted by
//! `(end slot, keyword)`. tests/unit/test_native.py holds it to the numpy paths.

/// Positions `0..keys.len()` grouped by key (`0..=max`), stable: `(order, start)` with group `k` at
/// `order[start[k]..start[k + 1]]`.
fn buckets(keys: &[i64], max: usize) -> (Vec<u32>, Vec<usize>) {
    let mut start = vec![0usize; max + 2];
    for &k in keys {
        start[k as usize + 1] += 1;
    }
    for j in 1..start.len() {
        start[j] += start[j - 1];
    }
    let mut next = start.clone();
    let mut order = vec![0u32; keys.len()];
    for (i, &k) in keys.iter().enumerate() {
        order[next[k as usize]] = i as u32;
        next[k as usize] += 1;
    }
    (order, start)
}

/// Every (keyword, end, count, authors) row, keyword by keyword (ascending), each keyword's rows by end.
fn sweep(kw: &[i64], au: &[i64], rel: &[i64], n: i64, mut emit: impl FnMut(i64, i64, i64, i64)) {
    let max_kw = *kw.iter().max().unwrap() as usize;
    let max_au = *au.iter().max().unwrap() as usize;
    let (order, start) = buckets(kw, max_kw);
    let mut held = vec![0u32; max_au + 1]; // occurrences of each author in the current window
    let mut group: Vec<(i64, i64)> = Vec::new(); // (slot, author) of one keyword, by slot
    for k in 0..=max_kw {
        let (a, b) = (start[k], start[k + 1]);
        if a == b {
            continue;
        }
        group.clear();
        group.extend(order[a..b].iter().map(|&i| (rel[i as usize], au[i as usize])));
        if group.windows(2).any(|w| w[1].0 < w[0].0) {
            group.sort_by_key(|g| g.0); // a recorded stream is in time order: rarely taken
        }
        // the window ending at `end` holds slots end-n … end-1: add slot end-1, drop slot end-n-1
        let (mut added, mut dropped) = (0usize, 0usize);
        let (mut count, mut authors) = (0i64, 0i64);
        let mut end = group[0].0 + 1;
        loop {
            while added < group.len() && group[added].0 < end {
                let who = group[added].1 as usize;
                if held[who] == 0 {
                    authors += 1;
                }
                held[who] += 1;
                count += 1;
                added += 1;
            }
            while dropped < added && group[dropped].0 < end - n {
                let who = group[dropped].1 as usize;
                held[who] -= 1;
                if held[who] == 0 {
                    authors -= 1;
                }
                count -= 1;
                dropped += 1;
            }
            if count > 0 {
                emit(k as i64, end, count, authors);
                end += 1;
            } else if added < group.len() {
                end = group[added].0 + 1; // skip the empty windows
            } else {
                break;
            }
        }
    }
}

/// One row per (keyword, end slot) with a count: the columns keyword, end, count and authors one
/// after the other in one array (`4 × rows`), rows sorted by end slot, then keyword. Codes and slots
/// are >= 0 (and fewer than 2^32 occurrences), `n` windows per occurrence >= 1.
pub fn window_counts(kw: &[i64], au: &[i64], rel: &[i64], n: i64) -> Vec<i64> {
    if kw.is_empty() {
        return Vec::new();
    }
    let lo = rel.iter().min().unwrap() + 1; // the first and last end slots
    let span = (rel.iter().max().unwrap() + n - lo + 1) as usize;
    if span <= 4 * kw.len() * n as usize + 4096 {
        // two sweeps: rows per end slot, then each row written where the (end, keyword) order puts it
        let mut start = vec![0usize; span + 1];
        sweep(kw, au, rel, n, |_, end, _, _| start[(end - lo) as usize + 1] += 1);
        for j in 1..start.len() {
            start[j] += start[j - 1];
        }
        let rows = start[span];
        let mut out = vec![0i64; 4 * rows];
        sweep(kw, au, rel, n, |k, end, count, authors| {
            let at = &mut start[(end - lo) as usize];
            out[*at] = k;
            out[rows + *at] = end;
            out[2 * rows + *at] = count;
            out[3 * rows + *at] = authors;
            *at += 1;
        });
        return out;
    }
    // ends spread over far more slots than there are rows (a post years later): collect, then sort
    let mut found: Vec<(i64, i64, i64, i64)> = Vec::new();
    sweep(kw, au, rel, n, |k, end, count, authors| found.push((end, k, count, authors)));
    found.sort_by_key(|r| (r.0, r.1));
    let rows = found.len();
    let mut out = vec![0i64; 4 * rows];
    for (i, (end, k, count, authors)) in found.into_iter().enumerate() {
        out[i] = k;
        out[rows + i] = end;
        out[2 * rows + i] = count;
        out[3 * rows + i] = authors;
    }
    out
}

/// Per-post columns of a stream, indexed by an occurrence's post: its slot (>= 0), author code and,
/// when distinct contents are asked for, content code (codes >= 0).
pub struct Posts<'a> {
    pub slot: &'a [i64],
    pub author: &'a [i32],
    pub content: Option<&'a [i32]>,
}

/// [`sweep`] over occurrences that name their post (`post[i]`) instead of carrying its slot and
/// author: one pass gives count, distinct authors and distinct contents; a keyword `k` whose windows
/// need `min_count[k]` occurrences (a phrase; missing: 1) emits only those, and one seen fewer times
/// than that in the whole stream is skipped unswept.
fn sweep_posts(kw: &[i32], post: &[i32], posts: &Posts, min_count: &[i32], n: i64,
               mut emit: impl FnMut(i64, i64, i64, i64, i64)) {
    let max_kw = kw.iter().copied().max().unwrap() as usize;
    let (order, start) = buckets_by(kw.len(), max_kw, |i| kw[i] as usize);
    let max_au = posts.author.iter().copied().max().unwrap_or(0) as usize;
    let mut held = vec![0u32; max_au + 1]; // posts of each author in the current window
    let content = posts.content.unwrap_or(&[]);
    let with_content = posts.content.is_some();
    let max_co = content.iter().copied().max().unwrap_or(0) as usize;
    let mut held_co = vec![0u32; if with_content { max_co + 1 } else { 0 }];
    let mut group: Vec<(i64, u32, u32)> = Vec::new(); // (slot, author, content) of one keyword, by slot
    for k in 0..=max_kw {
        let (a, b) = (start[k], start[k + 1]);
        let least = min_count.get(k).copied().unwrap_or(1).max(1) as i64;
        if ((b - a) as i64) < least {
            continue; // no window of this keyword can reach its minimum (also: no occurrence)
        }
        group.clear();
        group.extend(order[a..b].iter().map(|&i| {
            let p = post[i as usize] as usize;
            (posts.slot[p], posts.author[p] as u32, if with_content { content[p] as u32 } else { 0 })
        }));
        if group.windows(2).any(|w| w[1].0 < w[0].0) {
            group.sort_by_key(|g| g.0);
        }
        let (mut added, mut dropped) = (0usize, 0usize);
        let (mut count, mut authors, mut contents) = (0i64, 0i64, 0i64);
        let mut end = group[0].0 + 1;
        loop {
            while added < group.len() && group[added].0 < end {
                let (_, who, what) = group[added];
                if held[who as usize] == 0 {
                    authors += 1;
                }
                held[who as usize] += 1;
                if with_content {
                    if held_co[what as usize] == 0 {
                        contents += 1;
                    }
                    held_co[what as usize] += 1;
                }
                count += 1;
                added += 1;
            }
            while dropped < added && group[dropped].0 < end - n {
                let (_, who, what) = group[dropped];
                held[who as usize] -= 1;
                if held[who as usize] == 0 {
                    authors -= 1;
                }
                if with_content {
                    held_co[what as usize] -= 1;
                    if held_co[what as usize] == 0 {
                        contents -= 1;
                    }
                }
                count -= 1;
                dropped += 1;
            }
            if count > 0 {
                if count >= least {
                    emit(k as i64, end, count, authors, contents);
                }
                end += 1;
            } else if added < group.len() {
                end = group[added].0 + 1;
            } else {
                break;
            }
        }
    }
}

/// Positions `0..len` grouped by `key(i)` (`0..=max`), stable.
fn buckets_by(len: usize, max: usize, key: impl Fn(usize) -> usize) -> (Vec<u32>, Vec<usize>) {
    let mut start = vec![0usize; max + 2];
    for i in 0..len {
        start[key(i) + 1] += 1;
    }
    for j in 1..start.len() {
        start[j] += start[j - 1];
    }
    let mut next = start.clone();
    let mut order = vec![0u32; len];
    for i in 0..len {
        let k = key(i);
        order[next[k]] = i as u32;
        next[k] += 1;
    }
    (order, start)
}

/// Where [`fill`] puts each row: dense (rows per end slot counted in a first sweep, so the second
/// writes each row in place) or, for ends spread over far more slots than there are rows, the rows
/// themselves, sorted.
pub enum Layout {
    Dense { lo: i64, start: Vec<usize> },
    Sparse(Vec<[i64; 5]>),
}

impl Layout {
    pub fn rows(&self) -> usize {
        match self {
            Layout::Dense { start, .. } => *start.last().unwrap_or(&0),
            Layout::Sparse(found) => found.len(),
        }
    }
}

/// The first step of [`post_window_counts`]: how many rows, and where each goes.
pub fn layout(kw: &[i32], post: &[i32], posts: &Posts, min_count: &[i32], n: i64) -> Layout {
    if kw.is_empty() {
        return Layout::Sparse(Vec::new());
    }
    let lo = posts.slot.iter().min().unwrap() + 1;
    let span = (posts.slot.iter().max().unwrap() + n - lo + 1) as usize;
    if span <= 4 * kw.len() * n as usize + 4096 {
        let mut start = vec![0usize; span + 1];
        sweep_posts(kw, post, posts, min_count, n, |_, end, _, _, _| start[(end - lo) as usize + 1] += 1);
        for j in 1..start.len() {
            start[j] += start[j - 1];
        }
        return Layout::Dense { lo, start };
    }
    let mut found: Vec<[i64; 5]> = Vec::new();
    sweep_posts(kw, post, posts, min_count, n, |k, end, count, authors, contents| {
        found.push([k, end, count, authors, contents])
    });
    found.sort_by_key(|r| (r[1], r[0]));
    Layout::Sparse(found)
}

/// The second step: the rows' first `columns` columns (keyword, end, count, authors[, contents]) one
/// after the other into `out` (native-endian int64, `columns × rows`), rows sorted by end slot, then
/// keyword.
pub fn fill(layout: Layout, kw: &[i32], post: &[i32], posts: &Posts, min_count: &[i32], n: i64,
            columns: usize, out: &mut [u8]) {
    let rows = layout.rows();
    let mut put = |at: usize, row: [i64; 5]| {
        for (c, v) in row.iter().take(columns).enumerate() {
            let i = (c * rows + at) * 8;
            out[i..i + 8].copy_from_slice(&v.to_ne_bytes());
        }
    };
    match layout {
        Layout::Dense { lo, mut start } => {
            sweep_posts(kw, post, posts, min_count, n, |k, end, count, authors, contents| {
                let at = &mut start[(end - lo) as usize];
                put(*at, [k, end, count, authors, contents]);
                *at += 1;
            });
        }
        Layout::Sparse(found) => {
            for (i, row) in found.into_iter().enumerate() {
                put(i, row);
            }
        }
    }
}
