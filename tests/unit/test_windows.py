from collections import defaultdict

import numpy as np
import pytest

from trendlab.core.windows import WindowSpec, format_duration, parse_duration, window_counts, windows_of


def reference_counts(kw, au, ts, spec):
    """DESIGN.md's semantics, written the slow obvious way."""
    posts = defaultdict(int)
    authors = defaultdict(set)
    for k, a, t in zip(kw, au, ts):
        for start, end in windows_of(int(t), spec):
            assert start <= t < end
            posts[(k, end)] += 1
            authors[(k, end)].add(a)
    return {key: (posts[key], len(authors[key])) for key in posts}


@pytest.mark.parametrize("window,slide", [("10m", "1m"), ("60s", "10s"), ("5m", "5m"), ("2h", "30m")])
def test_window_counts_match_reference(window, slide):
    rng = np.random.default_rng(7)
    spec = WindowSpec.parse(window, slide)
    n = 3000
    kw = rng.integers(0, 40, n)
    au = rng.integers(0, 25, n)
    ts = 1_700_000_000_000 + rng.integers(0, 3 * 3_600_000, n)
    frame = window_counts(kw, au, ts, spec)
    got = {
        (int(k), int(e) * spec.slide_ms): (int(c), int(u))
        for k, e, c, u in frame[["keyword_code", "end_slot", "count", "unique_authors"]].itertuples(index=False)
    }
    assert got == reference_counts(kw, au, ts, spec)
    assert (frame["count"] >= 1).all()
    assert (frame["unique_authors"] <= frame["count"]).all()


def test_windows_are_aligned_half_open_and_utc_epoch():
    spec = WindowSpec.parse("10m", "1m")
    t = 60_000 * 100  # exactly on a slide boundary
    wins = windows_of(t, spec)
    assert len(wins) == 10
    assert wins[0] == (t - 9 * 60_000, t + 60_000)
    assert wins[-1] == (t, t + 600_000)  # start is inclusive
    assert all(end != t for _, end in wins)  # end is exclusive
    assert all(start % 60_000 == 0 for start, _ in wins)


def test_empty_input():
    assert window_counts([], [], [], WindowSpec()).empty


@pytest.mark.parametrize(
    "window,slide,message",
    [("7m", "2m", "window (7m) must be a whole multiple of slide (2m)"),
     ("-5m", "1m", "window must be a duration"),
     ("10m", "0s", "slide must be positive"),
     ("ten", "1m", "window must be a duration like 10m")],
)
def test_bad_window_refused_with_named_parameter(window, slide, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        WindowSpec.parse(window, slide)


def test_durations_round_trip():
    for text, ms in [("10m", 600_000), ("90s", 90_000), ("1h", 3_600_000), ("250ms", 250)]:
        assert parse_duration(text) == ms
        assert parse_duration(format_duration(ms)) == ms
    assert parse_duration(5) == 300_000


@pytest.mark.parametrize("dense_cells", [0, 20_000_000])
def test_dense_and_sparse_paths_agree(monkeypatch, dense_cells):
    import trendlab.core.windows as w

    rng = np.random.default_rng(11)
    spec = WindowSpec.parse("10m", "1m")
    kw = rng.integers(0, 30, 5000)
    au = rng.integers(0, 40, 5000)
    ts = 1_700_000_000_000 + rng.integers(0, 2 * 3_600_000, 5000)
    monkeypatch.setattr(w, "DENSE_CELLS", dense_cells)
    frame = window_counts(kw, au, ts, spec)
    got = {(int(k), int(e) * spec.slide_ms): (int(c), int(u))
           for k, e, c, u in frame[["keyword_code", "end_slot", "count", "unique_authors"]].itertuples(index=False)}
    assert got == reference_counts(kw, au, ts, spec)
    assert list(frame["end_slot"]) == sorted(frame["end_slot"])


@pytest.mark.parametrize("chunk_bytes,dense_cells", [(64 * 10 * 300, 20_000_000), (64 * 10 * 300, 0),
                                                     (64 * 10 * 1, 20_000_000)])
def test_chunked_aggregation_equals_the_reference(monkeypatch, chunk_bytes, dense_cells):
    """A stream too big for one pass is aggregated in runs of end slots (each from the occurrences its
    windows hold): the same counts, in the same order, whatever the run length (down to one end slot
    a run) and whatever the order of the input (a file is not sorted by time)."""
    import trendlab.core.windows as w

    rng = np.random.default_rng(5)
    spec = WindowSpec.parse("10m", "1m")
    size = 4000
    kw = rng.integers(0, 60, size)
    au = rng.integers(0, 30, size)
    ts = 1_700_000_000_000 + rng.integers(0, 5 * 3_600_000, size)  # unsorted, with gaps between bursts
    ts[:500] += 40 * 3_600_000
    monkeypatch.setattr(w, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(w, "DENSE_CELLS", dense_cells)
    frame = window_counts(kw, au, ts, spec)
    got = {(int(k), int(e) * spec.slide_ms): (int(c), int(u))
           for k, e, c, u in frame[["keyword_code", "end_slot", "count", "unique_authors"]].itertuples(index=False)}
    assert got == reference_counts(kw, au, ts, spec)
    assert list(zip(frame["end_slot"], frame["keyword_code"])) == sorted(zip(frame["end_slot"], frame["keyword_code"]))


def test_chunked_aggregation_of_a_stream_in_time_order(monkeypatch):
    """The common case of a recorded file (already in time order) takes the path without a sort."""
    import trendlab.core.windows as w

    rng = np.random.default_rng(9)
    spec = WindowSpec.parse("6m", "1m")
    ts = np.sort(1_700_000_000_000 + rng.integers(0, 3 * 3_600_000, 3000))
    kw = rng.integers(0, 50, ts.size)
    au = rng.integers(0, 20, ts.size)
    monkeypatch.setattr(w, "CHUNK_BYTES", 64 * 6 * 200)
    frame = window_counts(kw, au, ts, spec)
    got = {(int(k), int(e) * spec.slide_ms): (int(c), int(u))
           for k, e, c, u in frame[["keyword_code", "end_slot", "count", "unique_authors"]].itertuples(index=False)}
    assert got == reference_counts(kw, au, ts, spec)
