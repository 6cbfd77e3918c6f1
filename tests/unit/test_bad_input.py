"""Real input, hostile input: every command answers a bad file in one line (exit 2), one bad post never
costs a good one, and no timestamp or window shape makes replay allocate by it (issue 10)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import orjson
import pytest
import zstandard

from trendlab.cli import main
from trendlab.replay import read_posts, replay

SMALL = Path(__file__).resolve().parents[2] / "data" / "samples" / "small"
NOW_US = 1_767_225_600_000_000


def post(i: int, time_us: int | None = NOW_US - 3_600_000_000, text: str = "hello world", **record) -> dict:
    e = {"did": f"did:plc:u{i}", "kind": "commit",
         "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"r{i}",
                    "record": {"text": text, "createdAt": "2025-12-31T23:00:00Z", **record}}}
    if time_us is not None:
        e["time_us"] = time_us
    return e


def one_line_error(capsys, argv: list[str], expected: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and expected in err, err
    return err


@pytest.fixture
def good_lines() -> list[bytes]:
    return (SMALL / "posts.jsonl").read_bytes().splitlines()[:600]


# -- files every command may be given ----------------------------------------------------------

def test_posts_files_of_the_wrong_kind(tmp_path, capsys, good_lines):
    out = str(tmp_path / "out")
    one_line_error(capsys, ["replay", str(tmp_path), "--out", out], "is a directory")
    one_line_error(capsys, ["replay", str(tmp_path / "none.jsonl"), "--out", out], "input file not found")
    truncated = tmp_path / "t.jsonl.gz"
    truncated.write_bytes(gzip.compress(b"\n".join(good_lines) + b"\n")[:-200])
    one_line_error(capsys, ["replay", str(truncated), "--out", out], "truncated")
    notgz = tmp_path / "plain.jsonl.gz"
    notgz.write_bytes(b"\n".join(good_lines))
    one_line_error(capsys, ["replay", str(notgz), "--out", out], "is not valid gzip data")
    notzst = tmp_path / "plain.jsonl.zst"
    notzst.write_bytes(b"\n".join(good_lines))
    one_line_error(capsys, ["replay", str(notzst), "--out", out], "zstd")
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked.jsonl"
        locked.write_bytes(b"{}\n")
        locked.chmod(0)
        one_line_error(capsys, ["replay", str(locked), "--out", out], "cannot be read")
    labels = str(SMALL / "labels.json")
    one_line_error(capsys, ["tune", str(truncated), "--labels", labels, "--out", str(tmp_path / "p.yaml")], "truncated")
    one_line_error(capsys, ["produce", str(tmp_path)], "is a directory")


def test_compressed_and_bom_files_read_like_plain(tmp_path, good_lines):
    data = b"\n".join(good_lines) + b"\n"
    plain = read_posts(_write(tmp_path / "a.jsonl", data))
    for path in (_write(tmp_path / "b.jsonl.gz", gzip.compress(data)),
                 _write(tmp_path / "c.jsonl.zst", zstandard.ZstdCompressor().compress(data)),
                 _write(tmp_path / "d.jsonl", b"\xef\xbb\xbf" + data)):
        table = read_posts(path)
        assert (table.text, table.lines, table.malformed) == (plain.text, plain.lines, 0), path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_labels_params_and_grid_of_the_wrong_shape(tmp_path, capsys):
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("")
    cases = [
        ([1, 2], "labels must be a JSON object"),
        ({"trends": 5}, "trends must be a list"),
        ({"trends": [5]}, "trends[0] must be an object"),
        ({"trends": [{"keywords": ["a"], "start": "2025-01-01T01:00:00Z", "end": "2025-01-01T00:00:00Z"}]},
         "trends[0] ends (2025-01-01T00:00:00Z) before it starts"),
        ({"trends": [{"keywords": ["a"], "start": "2025-01-01T00:00:00Z", "end": "2025-01-01T01:00:00Z",
                      "strat": 1}]}, "trends[0] has unknown key 'strat'"),
        ({"trend": []}, "unknown key 'trend'"),
        ({"decoys": [{"keywords": "a", "start": "2025-01-01T00:00:00Z", "end": "2025-01-01T01:00:00Z"}]},
         "decoys[0].keywords must be a non-empty list"),
        ({"trends": [{"keywords": ["a"], "start": "yesterday", "end": "2025-01-01T01:00:00Z"}]},
         "trends[0].start is not an ISO 8601 time"),
        ({"generator": {"start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"}}, "generator ends"),
    ]
    for data, expected in cases:
        labels = tmp_path / "labels.json"
        labels.write_text(json.dumps(data))
        one_line_error(capsys, ["evaluate", "--alerts", str(alerts), "--labels", str(labels)], expected)
    one_line_error(capsys, ["evaluate", "--alerts", str(alerts), "--labels", str(tmp_path)], "is a directory")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe")
    one_line_error(capsys, ["evaluate", "--alerts", str(alerts), "--labels", str(tmp_path / "bad.json")],
                   "is not UTF-8 text")
    out = str(tmp_path / "out")
    one_line_error(capsys, ["replay", str(SMALL / "posts.jsonl"), "--params", str(tmp_path), "--out", out],
                   "params file")
    grid = tmp_path / "grid.yaml"
    grid.write_text("min_score: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nmin_count: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                    "min_ratio: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n")
    tune = ["tune", str(SMALL / "posts.jsonl"), "--labels", str(SMALL / "labels.json"), "--out", str(tmp_path / "p.yaml")]
    one_line_error(capsys, [*tune, "--grid", str(grid)], "the grid has 1,100 points")
    one_line_error(capsys, [*tune, "--grid", str(grid), "--max-points", "50"], "more than 50")
    grid.write_text("- 1\n- 2\n")
    one_line_error(capsys, [*tune, "--grid", str(grid)], "must map parameter names")
    one_line_error(capsys, [*tune, "--grid", str(tmp_path)], "is a directory")


# -- posts that used to crash or blow up replay -------------------------------------------------

def test_one_bad_post_never_costs_a_good_one(tmp_path, good_lines):
    bad = [
        orjson.dumps(post(1, time_us=None, createdAt="9999-12-31T23:59:59-23:59")),
        orjson.dumps(post(2, time_us=None, createdAt="0001-01-01T00:00:00+01:00")),
        orjson.dumps(post(3, facets=[{"features": [{"$type": 5}]}])),  # odd facets: still a post
        orjson.dumps(post(4, facets=[{"features": 5}])),                  # still a post
        orjson.dumps(post(5, time_us=0)),
        orjson.dumps(post(6, time_us=2**64 - 1)),
        orjson.dumps(post(7, time_us=32_503_680_000_000_000)),              # year 3000
        b'{"did": "did:plc:x", "text": "caf\xe9"}',
        b"x" * 300_000,
        b"[1]",
    ]
    lines = list(good_lines)
    for i, b in enumerate(bad):
        lines.insert(37 * (i + 1), b)
    path = _write(tmp_path / "posts.jsonl", b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    clean = read_posts(_write(tmp_path / "clean.jsonl", b"\n".join(good_lines) + b"\n"))
    table = read_posts(path)
    assert table.malformed == 8 and len(table) == len(clean) + 2
    assert set(clean.uri) <= set(table.uri)
    reasons = " | ".join(dl.reason for _, dl in table.dead_letters)
    for phrase in ("out of range", "before Bluesky existed", "time_us must be", "ahead of now", "not valid UTF-8",
                   "more than the 262,144-byte limit", "must be a JSON object"):
        assert phrase in reasons
    assert all(len(dl.excerpt) <= 300 for _, dl in table.dead_letters)


def test_a_post_a_year_ahead_costs_no_memory_and_huge_windows_are_refused(tmp_path, capsys, good_lines, monkeypatch):
    first = orjson.loads(good_lines[0])
    year_ahead = post(9, time_us=first["time_us"] + 365 * 86_400_000_000, text="future words here")
    path = _write(tmp_path / "posts.jsonl", b"\n".join([*good_lines, orjson.dumps(year_ahead)]) + b"\n")
    monkeypatch.setenv("TRENDLAB_REPLAY_MEMORY_MB", "256")  # the year-long span must fit in a small budget
    result = replay(path, progress=False, workers=1)
    assert result.posts.malformed == 0 and result.counts["window_end"].dt.year.max() == 2026
    err = one_line_error(capsys, ["replay", str(path), "--window", "100000h", "--slide", "1m", "--out",
                                  str(tmp_path / "o")], "window (100000h) every slide (1m) puts each post in")
    assert "TRENDLAB_REPLAY_MEMORY_MB" in err


def test_keyword_cap_makes_a_dead_letter_in_replay(tmp_path, good_lines, monkeypatch):
    words = " ".join(f"word{i}x" for i in range(50))
    lines = [*good_lines[:100], orjson.dumps(post(1, time_us=orjson.loads(good_lines[0])["time_us"], text=words))]
    monkeypatch.setenv("TRENDLAB_MAX_KEYWORDS", "40")
    result = replay(_write(tmp_path / "p.jsonl", b"\n".join(lines) + b"\n"), progress=False, workers=1)
    assert [(n, "50 keywords, more than the limit of 40" in dl.reason) for n, dl in result.posts.dead_letters] == [
        (101, True)]
    assert "word1x" not in set(result.counts["keyword"])


def test_a_huge_line_is_never_loaded_whole(tmp_path, good_lines):
    """A 64 MB line costs the reader a bounded buffer (the cap plus 1 MB), not its size."""
    import tracemalloc

    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as fh:
        fh.write(b"\n".join(good_lines[:50]) + b"\n")
        fh.write(b'{"text": "' + b"a" * (64 * 1024 * 1024) + b'"}\n')
        fh.write(b"\n".join(good_lines[50:100]) + b"\n")
    tracemalloc.start()
    try:
        table = read_posts(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak:,} bytes"
    [(number, letter)] = table.dead_letters
    assert number == 51 and letter.size == 64 * 1024 * 1024 + 12 and "67,108,876 bytes" in letter.reason
    assert table.lines == 101
