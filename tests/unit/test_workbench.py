"""The workbench engines: live tuning on cached window counts, alert review into labels, and the CLI path."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from trendlab import explore
from trendlab.cli import main
from trendlab.core.detect import DetectionParams
from trendlab.evaluate import load_labels
from trendlab.replay import PostTable, extract_stream, replay_occurrences
from trendlab.tune import tune
from trendlab.workbench import ReviewWidget, TuningPanel, TuningSession, labels_from_review, review_table, write_labels
from trendlab.params_files import read_params

T0 = pd.Timestamp("2025-03-01T12:00:00Z")
PARAMS = DetectionParams(window="5m", slide="1m", baseline_windows=10, cooldown_windows=10, min_score=4.0)


@pytest.fixture(scope="module")
def stream():
    """Two hours, a post a second; 'eclipse' (+ 'totality') bursts at 12:40 and 'volcano' at 13:30."""
    rng = np.random.default_rng(1)
    texts, authors, times = [], [], []
    for i in range(7200):
        t = T0 + pd.Timedelta(seconds=i)
        words = list(rng.choice(["coffee", "music", "weather", "garden", "movie", "#art"], size=3))
        if T0 + pd.Timedelta(minutes=40) <= t < T0 + pd.Timedelta(minutes=50) and i % 3 == 0:
            words += ["eclipse", "totality"]
        if T0 + pd.Timedelta(minutes=90) <= t < T0 + pd.Timedelta(minutes=98) and i % 4 == 0:
            words.append("volcano")
        texts.append(" ".join(words))
        authors.append(f"did:plc:u{rng.integers(300)}")
        times.append(int(t.value // 1_000_000))
    table = PostTable(uri=[f"at://x/{i}" for i in range(7200)], author=authors, text=texts,
                      langs=[("en",)] * 7200, event_ms=np.asarray(times, dtype=np.int64))
    labels = load_labels({
        "generator": {"start": "2025-03-01T12:00:00Z", "end": "2025-03-01T14:00:00Z"},
        "trends": [{"id": "t1", "kind": "burst", "keywords": ["eclipse", "totality"],
                    "start": "2025-03-01T12:40:00Z", "end": "2025-03-01T12:50:00Z"}],
        "decoys": [{"id": "d1", "kind": "steady", "keywords": ["coffee"], "start": "2025-03-01T12:00:00Z",
                    "end": "2025-03-01T14:00:00Z"}],
    })
    return table, extract_stream(table, workers=1), labels


def test_session_detects_like_a_replay_and_caches_window_counts(stream):
    table, occ, labels = stream
    session = TuningSession(occ, labels)
    for params in (PARAMS, PARAMS.replace(min_score=6.0), PARAMS.replace(window="10m")):
        run = session.run(params)
        assert run.alerts == replay_occurrences(occ, params).alerts
        assert run.evaluation is not None and run.evaluation.trends == 1
    assert len(session._shapes) == 2  # 5m and 10m: one aggregation each
    replayed = replay_occurrences(occ, PARAMS)
    phrase = next(k for k in replayed.counts["keyword"] if " " in k)  # a phrase: its words' chance too
    for keyword in ("eclipse", phrase):
        mine = session.series(keyword, PARAMS)
        theirs = explore.count_vs_baseline(replayed.counts, keyword, PARAMS, replayed.volume)
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs.reset_index(drop=True))


def test_panel_redraws_on_a_control_and_saves_what_it_shows(stream, tmp_path):
    _, occ, labels = stream
    panel = TuningPanel(TuningSession(occ, labels), PARAMS, save_to=tmp_path / "params.yaml")
    n_traces = len(panel.figure.data)
    before = len(panel.run.alerts)
    panel.set(min_score=1.5, min_ratio=1.0, false_alarm_rate=1.0)  # far below the shipped bar: noise alerts too
    assert len(panel.run.alerts) > before and panel.redraws == 1
    assert f"{len(panel.run.alerts)} alerts" in panel.alerts_html.value
    assert len(panel.figure.data) == n_traces and panel.last_redraw_s > 0
    assert f"{len(panel.run.alerts)} alerts against" in panel.figure.layout.annotations[1].text
    panel.controls["slide"].value = "2m"  # 5m is not a multiple of 2m: refused, nothing redrawn
    assert "multiple" in panel.status.value and panel.params.slide == "1m" and panel.redraws == 1
    panel.controls["slide"].value = "1m"
    path = panel.save()
    assert read_params(path) == panel.params == PARAMS.replace(min_score=1.5, min_ratio=1.0, false_alarm_rate=1.0)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "image/png" in bundle or "text/html" in bundle  # a static picture for nbconvert and GitHub


def test_review_into_labels_that_tune_accepts(stream, tmp_path):
    table, occ, labels = stream
    alerts = replay_occurrences(occ, PARAMS).alerts
    review = review_table(alerts, table, occ, examples=2)
    assert len(review) == len(alerts) and set(review["verdict"]) == {""}
    eclipse = review.index[review["keyword"].isin(["eclipse", "totality"])][0]
    assert "eclipse" in review.loc[eclipse, "examples"] and review.loc[eclipse, "authors"] >= 2
    widget = ReviewWidget(review, save_to=tmp_path / "labels.json")
    for i in range(len(review)):
        widget.go(i)
        words = {review.loc[i, "keyword"], *review.loc[i, "related_keywords"].split(", ")}
        if words & {"eclipse", "totality"}:
            widget.judge(True, merge=i != eclipse)
        elif "volcano" in words:
            widget.judge(True)
        else:
            widget.judge(False)
    path = widget.write()
    written = json.loads(path.read_text())
    assert {t["id"] for t in written["trends"]} >= {review.loc[eclipse, "alert"]}
    eclipse_trend = next(t for t in written["trends"] if "eclipse" in t["keywords"])
    assert set(eclipse_trend["keywords"]) >= {"eclipse", "totality"}
    assert not any("eclipse" in d["keywords"] for d in written["decoys"])
    result = tune(table, path, grid={"min_score": [4.0, 6.0]}, base=PARAMS)  # tune reads them
    assert result.best_evaluation.trends == len(written["trends"]) and result.best_evaluation.recall == 1.0
    assert (path.with_suffix(".review.csv")).exists()


def test_review_verdicts_are_checked():
    rows = pd.DataFrame([{"alert": "a1", "keyword": "x", "related_keywords": "", "window_start": "2025-03-01T12:00:00Z",
                          "window_end": "2025-03-01T12:05:00Z", "verdict": "maybe", "trend": ""}])
    with pytest.raises(ValueError, match="line 2 .*verdict must be yes or no"):
        labels_from_review(rows)
    rows.loc[0, "verdict"] = ""
    assert labels_from_review(rows)["trends"] == []


def test_cli_review_export_then_import(tmp_path, capsys):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "data" / "samples" / "small"
    out_csv = tmp_path / "alerts.csv"
    assert main(["review", "export", str(sample / "posts.jsonl"), "--out", str(out_csv), "--workers", "1"]) == 0
    with open(out_csv, encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and rows[0]["examples"]
    for row in rows:  # judge in a "spreadsheet": everything real, each alert its own trend
        row["verdict"] = "yes"
    with open(out_csv, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    labels_path = tmp_path / "labels.json"
    assert main(["review", "import", str(out_csv), "--out", str(labels_path)]) == 0
    assert "trends" in capsys.readouterr().out
    assert len(load_labels(labels_path).trends) == len(rows)
    assert main(["tune", str(sample / "posts.jsonl"), "--labels", str(labels_path), "--workers", "1",
                 "--out", str(tmp_path / "p.yaml")]) == 0
    assert yaml.safe_load((tmp_path / "p.yaml").read_text())["window"]
