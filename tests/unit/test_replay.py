from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import orjson
import numpy as np
import pandas as pd
import pytest

from trendlab.cli import main
from trendlab.core.detect import DetectionParams
from trendlab.evaluate import TARGETS, Targets, evaluate, load_labels, pool
from trendlab.core.extract import KeywordExtractor
from trendlab.core.links import is_link, post_links
from trendlab.core.models import TrendAlert, parse_post
from trendlab.replay import (extract_stream, read_alerts, read_and_extract, read_occurrences, read_posts, replay,
                             write_outputs)
from trendlab.samples import generate
from trendlab.tune import load_grid, stream_paths
from trendlab.core.windows import MIN_PHRASE_COUNT, WindowSpec, windows_of
from trendlab.params_files import read_params

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "data" / "samples" / "small"
LONG = ROOT / "data" / "samples" / "long"


def reference(path: Path, spec: WindowSpec) -> dict:
    """DESIGN.md's semantics the slow way: every post, every keyword, every window."""
    x = KeywordExtractor()
    posts, authors = defaultdict(int), defaultdict(set)
    for line in path.read_bytes().splitlines():
        post = parse_post(line)
        if post is None:
            continue
        t = post.event_time_us // 1000
        for kw in x.extract(post.text, post.langs or None) + post_links(post.links, post.text):
            for _, end in windows_of(t, spec):
                posts[(kw, end)] += 1
                authors[(kw, end)].add(post.author_did)
    # a phrase's or a link's window exists from MIN_PHRASE_COUNT posts, a word's from one
    return {k: (posts[k], len(a)) for k, a in authors.items()
            if (" " not in k[0] and not is_link(k[0])) or posts[k] >= MIN_PHRASE_COUNT}


@pytest.fixture(scope="module")
def small_result():
    return replay(SMALL / "posts.jsonl", DetectionParams(window="5m", slide="1m"), progress=False)


def test_replay_counts_equal_the_reference(small_result):
    spec = WindowSpec.parse("5m", "1m")
    got = {
        (k, int(e.timestamp() * 1000)): (c, u)
        for k, e, c, u in small_result.counts[["keyword", "window_end", "count", "unique_authors"]].itertuples(index=False)
    }
    assert got == reference(SMALL / "posts.jsonl", spec)
    frame = small_result.counts
    assert str(frame["window_end"].dt.tz) == "UTC"
    assert ((frame["window_end"] - frame["window_start"]) == pd.Timedelta("5min")).all()


def test_parallel_read_equals_serial_read(tmp_path):
    lines = (SMALL / "posts.jsonl").read_bytes().splitlines()
    for at in (5, 4000, 9000):  # malformed lines in different parts: numbered in the whole file
        lines.insert(at, b"{broken json")
    src = tmp_path / "posts.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    table, lists = read_and_extract(src, workers=2)
    serial = read_posts(src)
    assert table.text == serial.text and table.author == serial.author and table.lines == serial.lines
    assert table.malformed == serial.malformed == 3
    assert table.dead_letters == serial.dead_letters
    assert [(n, dl.excerpt) for n, dl in table.dead_letters] == [(6, "{broken json"), (4001, "{broken json"),
                                                                (9001, "{broken json")]
    x = KeywordExtractor()
    assert lists == [x.extract(t, l or None) + post_links(u, t) for t, l, u in zip(serial.text, serial.langs, serial.links)]

    # replay's path: the workers code their part (no texts come back); the same occurrences and counts
    lean, occ = read_occurrences(src, workers=2)
    expected = extract_stream(serial, keyword_lists=lists)
    assert len(lean) == len(serial) and lean.text == [] and lean.read == table.read
    for name in ("keywords", "authors", "keyword_code", "author_code", "event_ms", "post_index", "post_event_ms",
                 "post_author_code", "post_content_code", "post_hash", "content_code"):
        assert np.array_equal(getattr(occ, name), getattr(expected, name)), name
    assert occ.posts == expected.posts


def test_a_table_extracted_after_reading_counts_what_replay_counts(tmp_path):
    """The notebooks' path (read_posts, then extract_stream) gives replay's occurrences: links included
    and a post over the keyword cap a dead letter, as the Flink job makes them (it once left links out,
    and notebook 03 found 65 link windows only in the job)."""
    lines = (SMALL / "posts.jsonl").read_bytes().splitlines()
    over = next(m for m in map(orjson.loads, lines) if m.get("commit", {}).get("record", {}).get("text"))
    over["commit"]["record"]["text"] = " ".join(f"word{i}" for i in range(400))
    lines.insert(7, orjson.dumps(over))
    src = tmp_path / "posts.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    table = read_posts(src)
    occ = extract_stream(table, workers=1)
    lean, expected = read_occurrences(src, workers=1)
    assert len(table) == len(lean) and table.read.dead_letters == lean.read.dead_letters
    assert [r for _, r in table.read.dead_letters] and any(k.startswith("https://") for k in occ.keywords)
    for name in ("keywords", "authors", "keyword_code", "post_index", "post_event_ms", "post_content_code", "post_hash"):
        assert np.array_equal(getattr(occ, name), getattr(expected, name)), name


def test_reading_with_the_heap_handed_back_reads_the_same(monkeypatch):
    """A day's read hands the freed heap back (malloc_trim) in the replay and its workers; forced on a
    small stream, the occurrences are the same."""
    import trendlab.occurrences as occurrences

    path = SMALL / "posts.jsonl"
    table, before = read_occurrences(path, workers=1)
    monkeypatch.setattr(occurrences, "_TRIM_POSTS", 0)
    monkeypatch.setattr(occurrences, "_TRIM_PART_BYTES", 0)
    _, after = read_occurrences(path, workers=2)  # the replay's own heap handed back after the read
    for name in ("keyword_code", "post_index", "post_event_ms", "post_author_code", "post_content_code", "post_hash"):
        assert np.array_equal(getattr(after, name), getattr(before, name)), name
    # a worker's part, in this process: the heap handed back before it is read
    part, coded, _ = occurrences._read_code_range(
        (str(path), 0, path.stat().st_size, KeywordExtractor(), occurrences._file_parser()))
    assert part.read == table.read and np.array_equal(coded.lengths, np.bincount(before.post_index,
                                                                                 minlength=before.posts))


def test_outputs_round_trip(small_result, tmp_path):
    paths = write_outputs(small_result, tmp_path)
    assert pd.read_parquet(paths["counts"]).shape == small_result.counts.shape
    assert [a.to_dict() for a in read_alerts(paths["alerts"])] == [a.to_dict() for a in small_result.alerts]
    assert read_params(paths["params"]) == small_result.params


def test_malformed_lines_are_counted_and_reported(tmp_path, capsys):
    lines = (SMALL / "posts.jsonl").read_bytes().splitlines()[:400]
    lines.insert(10, b"{broken json")
    lines.insert(20, b'{"uri": "at://x", "author_did": "nobody", "text": "hi", "created_at": "2025-01-01T00:00:00Z"}')
    src = tmp_path / "posts.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    table = read_posts(src)
    assert table.malformed == 2
    assert [n for n, _ in table.malformed_examples] == [11, 21]
    assert "author_did is not a DID: 'nobody'" in table.malformed_examples[1][1]
    assert main(["replay", str(src), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "2 dead letters — first: line 11: message is not valid JSON" in out
    assert (tmp_path / "out" / "counts.parquet").exists()
    # nothing is lost: every malformed line, as read, with its reason and line number
    dead = [orjson.loads(x) for x in (tmp_path / "out" / "dead_letters.jsonl").read_bytes().splitlines()]
    assert [(d["line"], d["message"].encode()) for d in dead] == [(11, lines[10]), (21, lines[20])]
    assert "author_did is not a DID" in dead[1]["error"] and f"2 dead letters to {tmp_path / 'out'}" in out
    # a clean replay into the same directory leaves no stale dead letters behind
    assert main(["replay", str(SMALL / "posts.jsonl"), "--out", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out" / "dead_letters.jsonl").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--window", "7m", "--slide", "2m"], "window (7m) must be a whole multiple of slide (2m)"),
        (["--window=-5m"], "window must be a duration like 10m"),
        (["--params", "missing.yaml"], "params file not found: missing.yaml"),
    ],
)
def test_bad_parameters_get_one_line(args, message, tmp_path, capsys):
    assert main(["replay", str(SMALL / "posts.jsonl"), "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_unknown_yaml_key(tmp_path, capsys):
    (tmp_path / "p.yaml").write_text("window: 5m\nthreshhold: 2\n")
    assert main(["replay", str(SMALL / "posts.jsonl"), "--out", str(tmp_path), "--params", str(tmp_path / "p.yaml")]) == 2
    assert "unknown parameter 'threshhold'" in capsys.readouterr().err


def _alert(kw, end, related=()):
    return TrendAlert(kw, end - timedelta(minutes=5), end, 10, 10, 0.0, 5.0, list(related))


def test_evaluate_counts_recall_precision_latency_and_decoys():
    labels = load_labels({
        "generator": {"start": "2025-01-01T00:00:00Z", "end": "2025-01-01T02:00:00Z"},
        "trends": [
            {"id": "t1", "keywords": ["#a", "b"], "start": "2025-01-01T01:00:00Z", "end": "2025-01-01T01:20:00Z"},
            {"id": "t2", "keywords": ["c"], "start": "2025-01-01T01:30:00Z", "end": "2025-01-01T01:40:00Z"},
        ],
        "decoys": [{"id": "d1", "keywords": ["spam"], "start": "2025-01-01T00:00:00Z", "end": "2025-01-01T02:00:00Z"}],
    })
    start = labels.trends[0].start
    alerts = [
        _alert("b", start + timedelta(minutes=2), related=["#a"]),  # t1 after 2 slides
        _alert("spam", start + timedelta(minutes=5)),  # a decoy
        _alert("zzz", start + timedelta(minutes=6)),  # unlabelled: false
        _alert("c", start - timedelta(minutes=30)),  # before t2 started: false
    ]
    ev = evaluate(alerts, labels, 300_000, 60_000)
    assert ev.recall == 0.5 and ev.detected == 1
    assert ev.keyword_precision == pytest.approx(2 / 5)
    assert ev.latency_median_s == 120 and ev.latency_median_slides == 2
    assert ev.decoy_alerts == 1 and ev.false_alerts == 3 and ev.false_alerts_per_hour == 1.5


def test_evaluate_matches_phrases_and_counts_one_row_per_story():
    labels = load_labels({
        "generator": {"start": "2025-01-01T00:00:00Z", "end": "2025-01-01T02:00:00Z"},
        "trends": [{"id": "t1", "keywords": ["war", "plans", "hegseth"], "phrases": ["group chat"],
                    "start": "2025-01-01T01:00:00Z", "end": "2025-01-01T01:20:00Z"}],
        "decoys": [],
    })
    start = labels.trends[0].start

    def alert(kw, minutes, related=(), trend=None):
        a = _alert(kw, start + timedelta(minutes=minutes), related)
        a.trend = trend or kw
        return a

    # a phrase of the label's words and a labelled phrase belong to the story; one row: grouping 1
    one = evaluate([alert("war plans", 2, ["hegseth", "group chat"])], labels, 300_000, 60_000)
    assert one.recall == 1.0 and one.keyword_precision == 1.0 and one.grouping == 1.0
    assert one.stories == 1 and one.story_rows == 1
    # the same story split over two rows of the board counts half
    two = evaluate([alert("war plans", 2), alert("hegseth", 3)], labels, 300_000, 60_000)
    assert two.keyword_precision == 1.0 and two.story_rows == 2 and two.grouping == pytest.approx(0.5)
    # a later alert joining the same trend is still one row
    joined = evaluate([alert("war plans", 2), alert("hegseth", 3, ["war plans"], trend="war plans")], labels,
                      300_000, 60_000)
    assert joined.grouping == 1.0
    # a phrase with a word of another story does not belong
    assert evaluate([alert("war games", 2)], labels, 300_000, 60_000).keyword_precision == 0.0


def test_targets_and_pooling_of_several_streams():
    labels = load_labels({
        "generator": {"start": "2025-01-01T00:00:00Z", "end": "2025-01-01T01:00:00Z"},
        "trends": [{"id": "t1", "keywords": ["a"], "start": "2025-01-01T00:30:00Z", "end": "2025-01-01T00:40:00Z"},
                   {"id": "t2", "keywords": ["b"], "start": "2025-01-01T00:45:00Z", "end": "2025-01-01T00:50:00Z"}],
        "decoys": [],
    })
    t1, t2 = (t.start for t in labels.trends)
    both = evaluate([_alert("a", t1 + timedelta(minutes=1)), _alert("b", t2 + timedelta(minutes=3))], labels)
    one = evaluate([_alert("a", t1 + timedelta(minutes=5), related=["zzz"])], labels)
    assert both.meets() and TARGETS.misses(both) == []
    assert TARGETS.misses(one) == ["recall 0.50 < 0.9", "precision 0.50 < 0.9", "latency 5.0 > 2 slides"]
    assert Targets(recall=0.5, keyword_precision=0.5, latency_median_slides=5).misses(one) == []
    p = pool([both, one])
    assert (p.trends, p.detected, p.alerts, p.mentions, p.matched_mentions) == (4, 3, 3, 4, 3)
    assert p.recall == 0.75 and p.keyword_precision == 0.75 and p.hours == 2.0
    assert p.latency_median_slides == 3.0  # median of 1, 3 and 5 minutes
    assert p.false_alerts == 0 and p.false_alerts_per_hour == 0.0


def test_tune_over_several_streams_scores_each_and_pools(tmp_path, capsys):
    other = tmp_path / "other"
    generate(other, hours=1.5, rate=2.0, seed=5, progress=False, version=1)
    grid = tmp_path / "grid.yaml"
    grid.write_text("window: [5m]\nmin_score: [2.0, 5.5]\nfalse_alarm_rate: [1.0]\n")
    out = tmp_path / "params.yaml"
    # a directory stands for its posts.jsonl + labels.json
    assert main(["tune", str(SMALL), str(other), "--grid", str(grid), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out.with_suffix(".results.csv"))
    assert list(table["streams_meeting_targets"]) == [0, 2]  # z >= 2 alerts on noise everywhere
    assert table["best"].tolist() == [False, True] and read_params(out).min_score == 5.5
    assert f"{SMALL / 'posts.jsonl'}: targets met" in printed and "2 stream(s), targets met on 2/2" in out.read_text()
    with pytest.raises(ValueError, match="one labels file per input"):
        stream_paths([SMALL, other], [SMALL / "labels.json"])
    with pytest.raises(ValueError, match="--labels is required"):
        stream_paths([SMALL / "posts.jsonl"], None)


def test_shipped_params_file_holds_the_defaults():
    assert read_params(ROOT / "params.yaml") == DetectionParams()


def test_shipped_params_meet_the_targets_on_the_long_sample():
    params = read_params(ROOT / "params.yaml")
    result = replay(LONG / "posts.jsonl", params, progress=False)
    ev = evaluate(result.alerts, load_labels(LONG / "labels.json"), params.spec.window_ms, params.spec.slide_ms)
    assert TARGETS.misses(ev) == [], ev.per_trend


def test_tune_writes_best_params_and_table(tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text("window: [5m, 10m]\nmin_score: [4.0, 4.5]\n")
    out = tmp_path / "params.yaml"
    assert main(["tune", str(SMALL / "posts.jsonl"), "--labels", str(SMALL / "labels.json"),
                 "--grid", str(grid), "--out", str(out)]) == 0
    best = read_params(out)
    table = pd.read_csv(out.with_suffix(".results.csv"))
    assert len(table) == 4 and table["best"].sum() == 1
    row = table[table["best"]].iloc[0]
    assert (row["window"], row["min_score"]) == (best.window, best.min_score)
    with pytest.raises(ValueError, match="unknown grid parameter 'windw'"):
        load_grid({"windw": ["5m"]})


def test_shipped_params_find_the_small_samples_trends():
    params = read_params(ROOT / "params.yaml")
    result = replay(SMALL / "posts.jsonl", params, progress=False)
    ev = evaluate(result.alerts, load_labels(SMALL / "labels.json"), params.spec.window_ms, params.spec.slide_ms)
    assert ev.decoy_alerts == 0
    assert ev.recall == 1.0, ev.per_trend
