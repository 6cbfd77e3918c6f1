"""The chart functions and their data helpers, on a tiny synthetic stream (no sample files)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from trendlab import explore, figure_export, plots
from trendlab.core.detect import DetectionParams, TrendDetector
from trendlab.evaluate import load_labels
from trendlab.replay import PostTable, extract_stream, replay_occurrences

T0 = pd.Timestamp("2025-03-01T12:00:00Z")


@pytest.fixture(scope="module")
def stream():
    rng = np.random.default_rng(0)
    texts, authors, langs, times = [], [], [], []
    for i in range(3600):  # one post a second for an hour; "eclipse" bursts 12:40-12:50
        t = T0 + pd.Timedelta(seconds=i)
        words = list(rng.choice(["coffee", "music", "weather", "garden", "movie", "#art"], size=3))
        if T0 + pd.Timedelta(minutes=40) <= t < T0 + pd.Timedelta(minutes=50) and i % 3 == 0:
            words.append("eclipse")
        texts.append(" ".join(words))
        authors.append(f"did:plc:u{rng.integers(200)}")
        langs.append(("en",) if i % 4 else ("pt",))
        times.append(int(t.value // 1_000_000))
    table = PostTable(uri=[f"at://x/{i}" for i in range(3600)], author=authors, text=texts, langs=langs,
                      event_ms=np.asarray(times, dtype=np.int64))
    params = DetectionParams(window="5m", slide="1m", baseline_windows=10, cooldown_windows=10)
    occ = extract_stream(table, workers=1)
    result = replay_occurrences(occ, params)
    labels = load_labels({
        "generator": {"start": "2025-03-01T12:00:00Z", "end": "2025-03-01T13:00:00Z"},
        "trends": [{"id": "t1", "kind": "burst", "keywords": ["eclipse"], "start": "2025-03-01T12:40:00Z",
                    "end": "2025-03-01T12:50:00Z"}],
        "decoys": [{"id": "d1", "kind": "steady_common", "keywords": ["coffee"], "start": "2025-03-01T12:00:00Z",
                    "end": "2025-03-01T13:00:00Z"}],
    })
    return table, occ, params, result, labels


def test_stream_helpers(stream):
    table, occ, *_ = stream
    ppm = explore.posts_per_minute(table)
    assert len(ppm) == 60 and ppm["posts"].sum() == 3600
    by_lang = explore.posts_per_minute(table, by_language=True)
    assert set(by_lang["language"]) == {"en", "pt"} and by_lang["posts"].sum() == 3600
    shares = explore.language_shares(table)
    assert shares.iloc[0]["language"] == "en" and shares["share"].sum() == pytest.approx(1.0)
    top = explore.top_keywords(occ, 3, hashtags=False)
    assert len(top) == 3 and not top["keyword"].str.startswith("#").any()
    assert list(explore.top_keywords(occ, 3, hashtags=True)["keyword"]) == ["#art"]


def test_count_vs_baseline_is_the_detectors_baseline(stream):
    _, occ, params, result, _ = stream
    assert result.alerts, "the burst must alert"
    alert = next(a for a in result.alerts if a.keyword == "eclipse")
    frame = explore.count_vs_baseline(result.counts, "eclipse", params, result.volume)
    row = frame[frame["window_end"] == pd.Timestamp(alert.window_end)].iloc[0]
    # the alert reports the expectation with the floor applied (what its score was tested against)
    assert row["count"] == alert.count and max(row["baseline"], params.baseline_floor) == pytest.approx(alert.baseline)
    assert row["threshold"] == pytest.approx(params.min_ratio * max(alert.baseline, params.baseline_floor))
    assert frame["baseline"].isna().iloc[0], "no baseline before the stream is warm"
    assert (frame["window_end"].diff().dropna() == pd.Timedelta(minutes=1)).all()


def test_a_phrases_baseline_is_the_detectors_with_its_words_chance(stream):
    """A phrase of two common words: the plotted baseline is the detector's expectation, its words'
    chance of meeting included, window for window (TrendDetector fed the same rows)."""
    _, occ, params, result, _ = stream
    phrase = "coffee music"
    frame = explore.count_vs_baseline(result.counts, phrase, params, result.volume)
    words = [explore.count_vs_baseline(result.counts, w, params, result.volume) for w in ("coffee", "music")]
    det = TrendDetector(params)
    volume = dict(zip(result.volume["end_slot"], result.volume["volume"]))
    slide = params.spec.slide_ms
    checked = 0
    for end, rows in result.counts.groupby("window_end", sort=True):
        e = int(end.value // 1_000_000) // slide
        det.process_window(e * slide, rows.to_dict("records"), int(volume[e]))
        at = frame["window_end"] == end
        if det.is_warm(e) and at.any():
            assert frame.loc[at, "baseline"].iloc[0] == pytest.approx(det._expected_of([phrase], e)[0])
            checked += 1
    assert checked > 20
    chance = words[0]["baseline"] * words[1]["baseline"] / frame["window_end"].map(
        lambda t: volume.get(int(t.value // 1_000_000) // slide, 0))
    warm = frame["baseline"].notna()
    assert (frame["baseline"][warm] >= chance[warm] - 1e-9).all()
    # three words of six a post: the two words meet in far more posts than they stand side by side
    assert np.isclose(frame["baseline"][warm], chance[warm]).mean() > 0.9


def test_compare_runs_and_top_trends(stream):
    *_, result, _ = stream
    alerts = result.alerts_frame()
    same = explore.compare_runs(result.counts, alerts, result.counts.copy(), alerts.copy())
    assert (same["only in replay"] == 0).all() and (same["equal"] == same["replay"]).all()
    fewer = explore.compare_runs(result.counts, alerts, result.counts.iloc[1:], alerts)
    assert fewer.loc[0, "only in replay"] == 1
    top = explore.top_trends(alerts)
    assert list(top.columns)[:3] == ["window_end", "name", "keyword"] and len(top) == len(explore.trend_rows(alerts))
    from trendlab.core.detect import display_name
    assert (top["name"] == top["keyword"].map(display_name)).all()  # each named by its own keyword here
    # a trend reported in two alerts a minute apart (a late companion word joins it) is one row
    first = alerts.iloc[[0]].assign(keyword="#eclipse2026", related_keywords=[["eclipse"]], trend="#eclipse2026")
    later = first.assign(keyword="totality", related_keywords=[["eclipse", "#eclipse2026"]], score=first["score"] + 1,
                         window_end=first["window_end"] + pd.Timedelta(minutes=1))
    rows = explore.top_trends(pd.concat([first, later]))
    assert len(rows) == 1 and rows.loc[0, "keyword"] == "#eclipse2026" and rows.loc[0, "alerts"] == 2
    assert rows.loc[0, "related"] == "eclipse, totality" and rows.loc[0, "score"] == round(later["score"].iloc[0], 2)
    # a later alert naming the trend by a phrase gives the row its name
    named = later.assign(topic="total eclipse", display_name="Total Eclipse")
    assert explore.top_trends(pd.concat([first, named])).loc[0, "name"] == "Total Eclipse"


def test_read_counts_jsonl_and_parquet(stream, tmp_path):
    *_, result, _ = stream
    result.counts.to_parquet(tmp_path / "counts.parquet")
    records = result.counts.assign(window_start=result.counts["window_start"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   window_end=result.counts["window_end"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    (tmp_path / "counts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records.to_dict("records")))
    a, b = explore.read_counts(tmp_path / "counts.parquet"), explore.read_counts(tmp_path / "counts.jsonl")
    assert len(a) == len(b) == len(result.counts)
    assert (a["window_end"] == b["window_end"]).all() and (a["count"] == b["count"]).all()
    with pytest.raises(FileNotFoundError, match="counts file not found"):
        explore.read_counts(tmp_path / "missing.jsonl")


def _sweep_table():
    rows = []
    for window in ("5m", "10m"):
        for ratio in (2.0, 3.0):
            for score in (2.5, 3.0):
                rows.append({"window": window, "slide": "1m", "min_ratio": ratio, "min_score": score,
                             "min_authors": 3, "recall": ratio / 3, "keyword_precision": score / 3,
                             "latency_median_slides": 2.0, "decoy_alerts": 0, "false_alerts_per_hour": 0.5})
    table = pd.DataFrame(rows)
    table.insert(0, "best", [i == 3 for i in range(len(table))])
    return table


def test_figures_have_titles_and_labelled_axes(stream):
    table, occ, params, result, labels = stream
    alerts = result.alerts_frame()
    label_table = explore.labels_frame(labels)
    frames = {kw: explore.count_vs_baseline(result.counts, kw, params) for kw in explore.keywords_to_watch(alerts)}
    figures = [
        plots.posts_per_minute_figure(explore.posts_per_minute(table, by_language=True)),
        plots.language_shares_figure(explore.language_shares(table)),
        plots.top_keywords_figure(explore.top_keywords(occ, 5)),
        plots.bursts_timeline_figure(label_table),
        plots.alerts_vs_bursts_figure(label_table, alerts, params.window),
        plots.sweep_heatmap(_sweep_table(), "f1"),
        plots.precision_recall_figure(_sweep_table()),
        plots.count_vs_baseline_figure(frames, alerts, label_table),
    ]
    for fig in figures:
        assert isinstance(fig, go.Figure) and fig.layout.title.text
        # the time axis is titled once, under the bottom panel of a figure with several
        assert any(ax.title.text for ax in fig.select_xaxes()), fig.layout.title.text
        if fig.layout.title.text != "Labelled bursts and decoys" and "against labelled" not in fig.layout.title.text:
            assert fig.layout.yaxis.title.text, fig.layout.title.text
    assert isinstance(plots.top_trends_table(explore.top_trends(alerts)), go.Figure)


def test_alerts_land_on_their_burst_and_alert_colour_differs_from_baseline(stream):
    *_, params, result, labels = stream
    fig = plots.alerts_vs_bursts_figure(explore.labels_frame(labels), result.alerts_frame(), params.window)
    alerts = next(t for t in fig.data if t.name == "trend alert")
    assert all(str(y).startswith("t1") for y in alerts.y)
    assert plots.COLORS["alert"] not in (plots.COLORS["baseline"], plots.COLORS["count"], plots.COLORS["threshold"])


def test_empty_inputs_give_a_figure_not_an_error():
    assert plots.top_trends_table(explore.top_trends(pd.DataFrame())).layout.annotations
    assert plots.count_vs_baseline_figure({}).layout.annotations
    assert plots.sweep_heatmap(pd.DataFrame(columns=["recall", "keyword_precision"])).layout.annotations


def test_figure_saver_keeps_json_and_index(tmp_path, monkeypatch):
    monkeypatch.setattr(figure_export, "png_export_available", lambda: False)
    save = plots.FigureSaver(tmp_path, "01")
    fig = go.Figure(go.Bar(x=[1], y=[2]))
    shown = save(fig, "Posts per minute")
    assert shown.figure is fig
    bundle = shown._repr_mimebundle_()  # JupyterLab's plotly JSON, and HTML for nbconvert/GitHub (no PNG here)
    assert bundle["application/vnd.plotly.v1+json"]["data"][0]["type"] == "bar"
    assert "image/png" not in bundle and "Plotly.newPlot" in bundle["text/html"]
    index = json.loads((tmp_path / "index.json").read_text())
    assert index == [{"name": "01_posts_per_minute", "notebook": "01", "title": "Posts per minute",
                      "caption": plots.CAPTIONS["posts per minute"],
                      "json": "01_posts_per_minute.json", "png": None}]
    with pytest.raises(RuntimeError, match="Chromium"):
        plots.save_png(fig, tmp_path / "x.png")


@pytest.mark.skipif(not plots.png_export_available(), reason="no Chromium for kaleido (apt-get install chromium)")
def test_save_png_writes_a_png(tmp_path):
    path = plots.save_png(plots.posts_per_minute_figure(pd.DataFrame({"minute": [T0], "posts": [3]})), tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kernels_start_without_pyflink_launcher_variables(monkeypatch):
    import os

    from trendlab.pipeline import _kernel_environ

    monkeypatch.setenv("PYFLINK_GATEWAY_DISABLED", "true")  # what an in-process PyFlink job leaves behind
    with _kernel_environ():
        assert "PYFLINK_GATEWAY_DISABLED" not in os.environ
    assert os.environ["PYFLINK_GATEWAY_DISABLED"] == "true"


@pytest.mark.skipif(not plots.png_export_available(), reason="no Chromium for kaleido (apt-get install chromium)")
def test_figure_saver_shows_a_png_fallback(tmp_path):
    import base64

    shown = plots.FigureSaver(tmp_path, "02")(go.Figure(go.Bar(x=[1], y=[2])), "bars")
    bundle = shown._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "text/html" not in bundle and "application/vnd.plotly.v1+json" in bundle


def test_tuning_figure_keeps_its_traces_when_redrawn(stream):
    labels = explore.labels_frame(stream[4])
    series = pd.DataFrame({"window_end": pd.date_range(T0, periods=3, freq="min"), "count": [1, 5, 9],
                           "baseline": [1.0, 1.0, 1.0], "threshold": [2.0, 2.0, 2.0]})
    fig = plots.tuning_figure(series, "x", pd.DataFrame(), labels, "10m")
    n = len(fig.data)
    plots.update_tuning_figure(fig, None, None, pd.DataFrame(), labels, "10m")
    assert len(fig.data) == n and list(fig.data[0].y) == []


def test_sweep_charts_use_the_parameters_that_vary_and_zoom_to_the_data():
    table = _sweep_table().assign(min_ratio=2.0)  # min_ratio no longer varies: it must not be an axis
    table["baseline_floor"] = [0.2, 0.5] * (len(table) // 2)
    fig = plots.sweep_heatmap(table, "f1")
    assert fig.layout.xaxis.title.text == "min_score" and fig.layout.yaxis.title.text == "baseline_floor"
    assert "window = 5m" in {a.text for a in fig.layout.annotations}
    pr = plots.precision_recall_figure(_sweep_table())
    lo, hi = pr.layout.xaxis.range
    assert lo > 0.7 and hi < 1.1  # precisions are 0.83-1.0 here: no empty half of the chart


def test_long_label_rows_are_wrapped_not_cut():
    rows = plots._label_rows(pd.DataFrame([{"id": "t1", "keywords": "#superbowllix, halftime, kendrick, touchdown, "
                                                                    "chiefs, eagles"}]))
    assert rows[0].replace("<br>", " ") == "t1 · #superbowllix, halftime, kendrick, touchdown, chiefs, eagles"
