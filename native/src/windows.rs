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

/// One row per (keyword, end slot) with a count: `[keyword, end, count, authors]` as four columns,
/// sorted by end slot, then keyword. Codes and slots are >= 0 (and fewer than 2^32 occurrences), `n`
/// windows per occurrence >= 1.
pub fn window_counts(kw: &[i64], au: &[i64], rel: &[i64], n: i64) -> [Vec<i64>; 4] {
    let mut cols: [Vec<i64>; 4] = Default::default();
    if kw.is_empty() {
        return cols;
    }
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
                cols[0].push(k as i64);
                cols[1].push(end);
                cols[2].push(count);
                cols[3].push(authors);
                end += 1;
            } else if added < group.len() {
                end = group[added].0 + 1; // skip the empty windows
            } else {
                break;
            }
        }
    }
    // rows are by keyword, then end: a stable bucketing by end gives (end, keyword) order (or a
    // stable sort, when the ends span far more slots than there are rows: a post years later)
    let lo = *cols[1].iter().min().unwrap();
    let shifted: Vec<i64> = cols[1].iter().map(|e| e - lo).collect();
    let span = *shifted.iter().max().unwrap() as usize;
    let by_end = if span <= 4 * shifted.len() + 4096 {
        buckets(&shifted, span).0
    } else {
        let mut order: Vec<u32> = (0..shifted.len() as u32).collect();
        order.sort_by_key(|&i| shifted[i as usize]);
        order
    };
    cols.map(|col| by_end.iter().map(|&i| col[i as usize]).collect())
}
