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
