"""The workbench's charts: plotly figures as functions, so notebook cells stay one line long.

Every function takes a tidy frame (most come from :mod:`trendlab.explore`, the sweep table from
:func:`trendlab.tune.sweep`) and returns a ``plotly.graph_objects.Figure`` with labelled axes and a
title. One colour language throughout:

* posts and window counts: blue; the baseline a keyword is compared with: grey; the count the ratio
  test needs: dashed orange; **trend alerts: red**;
* labelled bursts (trends): green bands; decoys (must not alert): grey bands.

PNG export, static fallbacks and :class:`FigureSaver` (which keeps every figure a notebook shows for
the pipeline's report) are in :mod:`trendlab.figure_export` and re-exported here, so notebooks need
one import.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from trendlab.figure_export import (  # re-exported: notebooks import every chart name from here
    CAPTIONS, FigureSaver, StaticFigure, figure_png, png_export_available, save_png, static_bundle,
)
from trendlab.core.windows import DEFAULT_WINDOW

log = logging.getLogger(__name__)

__all__ = [
    "CAPTIONS",
    "COLORS",
    "posts_per_minute_figure",
    "language_shares_figure",
    "top_keywords_figure",
    "bursts_timeline_figure",
    "alerts_vs_bursts_figure",
    "sweep_heatmap",
    "precision_recall_figure",
    "count_vs_baseline_figure",
    "tuning_figure",
    "update_tuning_figure",
    "static_bundle",
    "top_trends_table",
    "save_png",
    "png_export_available",
    "FigureSaver",
    "StaticFigure",
    "figure_png",
]

COLORS = {
    "posts": "#1f5fa8",
    "count": "#1f5fa8",
    "baseline": "#8c8c8c",
    "threshold": "#f28e2b",
    "alert": "#d62728",
    "trend": "#2ca02c",
    "decoy": "#9e9e9e",
    "best": "#d62728",
}
#: Distinct colours for categories (languages, window shapes).
PALETTE = ["#1f5fa8", "#f28e2b", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#bcbd22", "#7f7f7f"]

LAYOUT = dict(
    template="plotly_white",
    font=dict(size=13),
    title=dict(x=0.01, xanchor="left"),
    margin=dict(l=70, r=30, t=70, b=60),
    legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="right", x=1),
)
TIME_AXIS = "time (UTC)"


def _figure(fig: go.Figure, title: str, height: int = 420, **layout) -> go.Figure:
    fig.update_layout(**LAYOUT)
    fig.update_layout(title_text=title, height=height, **layout)
    return fig


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=16), x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _figure(fig, title, height=300)


# -- the stream ---------------------------------------------------------------------------------

def posts_per_minute_figure(ppm: pd.DataFrame, title: str = "Posts per minute") -> go.Figure:
    """Posts per event-time minute (:func:`trendlab.explore.posts_per_minute`); stacked by language
    when the frame has a ``language`` column."""
    if ppm.empty:
        return _empty(title, "no posts")
    fig = go.Figure()
    if "language" in ppm.columns:
        totals = ppm.groupby("language")["posts"].sum().sort_values(ascending=False)
        order = [lang for lang in totals.index if lang != "other"] + (["other"] if "other" in totals.index else [])
        for i, lang in enumerate(order):  # the biggest language at the bottom of the stack
            part = ppm[ppm["language"] == lang]
            fig.add_trace(go.Scatter(
                x=part["minute"], y=part["posts"], name=str(lang), mode="lines", stackgroup="posts",
                line=dict(width=0.5, color=PALETTE[i % len(PALETTE)]),
                hovertemplate="%{x|%H:%M} UTC<br>" + str(lang) + ": %{y} posts<extra></extra>",
            ))
    else:
        fig.add_trace(go.Scatter(
            x=ppm["minute"], y=ppm["posts"], name="posts", mode="lines", line=dict(color=COLORS["posts"], width=2),
            fill="tozeroy", hovertemplate="%{x|%H:%M} UTC: %{y} posts<extra></extra>",
        ))
    fig.update_xaxes(title_text=TIME_AXIS)
    fig.update_yaxes(title_text="posts per minute", rangemode="tozero")
    return _figure(fig, title)


def language_shares_figure(shares: pd.DataFrame, title: str = "Languages of the posts") -> go.Figure:
    """Horizontal bars of :func:`trendlab.explore.language_shares`, largest on top, share as a label."""
    if shares.empty:
        return _empty(title, "no posts")
    data = shares.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=data["posts"], y=data["language"], orientation="h", marker_color=COLORS["posts"],
        text=[f"{s:.0%}" for s in data["share"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:,} posts<extra></extra>",
    ))
    fig.update_xaxes(title_text="posts")
    fig.update_yaxes(title_text="language (first of the post's langs)")
    return _figure(fig, title, height=max(300, 45 * len(data) + 120))


def top_keywords_figure(top: pd.DataFrame, title: str = "Top keywords", color: str | None = None) -> go.Figure:
    """Horizontal bars of :func:`trendlab.explore.top_keywords`: posts per keyword, most on top."""
    if top.empty:
        return _empty(title, "no keywords")
    data = top.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=data["posts"], y=data["keyword"], orientation="h", marker_color=color or COLORS["posts"],
        customdata=data[["authors"]].to_numpy(),
        hovertemplate="%{y}: %{x:,} posts by %{customdata[0]:,} authors<extra></extra>",
    ))
    fig.update_xaxes(title_text="posts containing the keyword")
    fig.update_yaxes(title_text="keyword", automargin=True)
    return _figure(fig, title, height=max(320, 24 * len(data) + 130))


# -- labels and alerts on one timeline ----------------------------------------------------------

def _label_rows(labels: pd.DataFrame) -> list[str]:
    """``id · keywords`` per label, wrapped onto lines of about 40 characters (never cut)."""
    return [_wrap(f"{r.id} · {r.keywords}") for r in labels.itertuples()]


def _wrap(text: str, width: int = 40) -> str:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join(lines + [line])


def bursts_timeline_figure(labels: pd.DataFrame, title: str = "Labelled bursts and decoys") -> go.Figure:
    """The labels (:func:`trendlab.explore.labels_frame`) as bands on a time axis: trends green,
    decoys grey; one row per label."""
    return alerts_vs_bursts_figure(labels, None, title=title)


def _match_row(alert, labels: list[tuple[str, str, set[str], pd.Timestamp, pd.Timestamp]],
               window: pd.Timedelta) -> str | None:
    """The timeline row of the label ``alert`` matches (``labels`` from :func:`_label_list`), or None."""
    mentions = {alert.keyword, *(alert.related_keywords or [])}
    for row, kind, words, start, end in labels:
        if kind == "decoy" and mentions & words:
            return row
        if mentions & words and start <= alert.window_end <= end + window:
            return row
    return None


def _label_list(labels: pd.DataFrame) -> list[tuple[str, str, set[str], pd.Timestamp, pd.Timestamp]]:
    return [(row, lab.label, {w.strip() for w in lab.keywords.split(",")}, lab.start, lab.end)
            for row, lab in zip(_label_rows(labels), labels.itertuples())]


def alerts_vs_bursts_figure(
    labels: pd.DataFrame,
    alerts: pd.DataFrame | None,
    window: str | pd.Timedelta = DEFAULT_WINDOW,
    title: str = "Trend alerts against labelled bursts",
) -> go.Figure:
    """Labelled bursts (green) and decoys (grey) as bands, alerts as red diamonds at their window end:
    on the row of the burst they match (same rule as :mod:`trendlab.evaluate`), else on the
    ``unmatched alerts`` row. An alert left of its band's end is early; right of it, late."""
    if labels.empty and (alerts is None or alerts.empty):
        return _empty(title, "no labels and no alerts")
    traces, category_order = _timeline_traces(labels, alerts, window)
    fig = go.Figure(traces)
    fig.update_xaxes(type="date", title_text=TIME_AXIS)
    fig.update_yaxes(categoryorder="array", categoryarray=category_order, automargin=True, title_text="")
    return _figure(fig, title, height=max(300, 38 * len(category_order) + 150), barmode="overlay")


def _timeline_traces(labels: pd.DataFrame, alerts: pd.DataFrame | None,
                     window: str | pd.Timedelta, always: bool = False) -> tuple[list, list[str]]:
    """The bands and alert markers of :func:`alerts_vs_bursts_figure`, and its rows (top last).
    ``always``: one trace per kind even when it is empty (the live panel only swaps data)."""
    rows = _label_rows(labels)
    traces = []
    for kind in ("trend", "decoy"):
        part = labels[labels["label"] == kind]
        if part.empty and not always:
            continue
        names = [rows[i] for i in np.flatnonzero((labels["label"] == kind).to_numpy())]
        duration_ms = ((part["end"] - part["start"]).dt.total_seconds() * 1000).to_numpy()
        traces.append(go.Bar(
            base=part["start"], x=duration_ms, y=names, orientation="h", name="labelled burst" if kind == "trend" else "decoy",
            marker=dict(color=COLORS[kind], opacity=0.55), width=0.6,
            customdata=np.stack([part["start"].dt.strftime("%H:%M"), part["end"].dt.strftime("%H:%M"), part["kind"]], axis=1)
            if len(part) else None,
            hovertemplate="%{y}<br>%{customdata[2]} %{customdata[0]}–%{customdata[1]} UTC<extra></extra>",
        ))
    x, ys, custom, order = _alert_rows(labels, alerts, window)
    if len(x) or always:
        traces.append(go.Scatter(
            x=x, y=ys, mode="markers", name="trend alert",
            marker=dict(symbol="diamond", size=13, color=COLORS["alert"], line=dict(color="white", width=1)),
            customdata=custom,
            hovertemplate="alert %{customdata[0]} (+ %{customdata[1]})<br>window end %{x|%H:%M} UTC<br>"
                          "%{customdata[2]} posts, score %{customdata[3]}<extra></extra>",
        ))
    return traces, order


UNMATCHED_ROW = "unmatched alerts"


def _alert_rows(labels: pd.DataFrame, alerts: pd.DataFrame | None, window: str | pd.Timedelta):
    """Where each alert goes on the timeline: x (window end), its row, its hover data, and the rows
    from bottom to top (``unmatched alerts`` at the bottom when an alert matches no label)."""
    rows = _label_rows(labels)
    order = list(reversed(rows))
    if alerts is None or alerts.empty:
        return [], [], None, order
    grace = pd.Timedelta(window) if not isinstance(window, pd.Timedelta) else window
    listed = _label_list(labels)
    ys = [_match_row(a, listed, grace) or UNMATCHED_ROW for a in alerts.itertuples()]
    if UNMATCHED_ROW in ys:
        order = [UNMATCHED_ROW] + order
    related = alerts["related_keywords"].map(lambda r: ", ".join(r) if isinstance(r, (list, tuple)) and r else "—")
    custom = np.stack([alerts["keyword"], related, alerts["count"], alerts["score"].round(1)], axis=1)
    return alerts["window_end"], ys, custom, order


# -- the sweep ----------------------------------------------------------------------------------

_METRIC_LABELS = {
    "recall": "recall",
    "keyword_precision": "keyword precision",
    "f1": "F1 of recall and keyword precision",
    "latency_median_slides": "median latency (slides)",
    "latency_median_s": "median latency (s)",
    "false_alerts_per_hour": "false alerts per hour",
    "decoy_alerts": "decoy alerts",
}
_LOWER_IS_BETTER = {"latency_median_slides", "latency_median_s", "latency_p90_s", "latency_p90_slides",
                    "false_alerts_per_hour", "decoy_alerts", "false_alerts"}


def with_f1(table: pd.DataFrame) -> pd.DataFrame:
    """The sweep table with an ``f1`` column: harmonic mean of recall and keyword precision."""
    out = table.copy()
    p, r = out["keyword_precision"].astype(float), out["recall"].astype(float)
    out["f1"] = np.where(p + r > 0, 2 * p * r / (p + r).where(p + r > 0, 1), 0.0)
    return out


def _varying(table: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
    return [c for c in candidates if c in table.columns and table[c].nunique() > 1]


#: which varying parameters become heatmap axes first
_AXIS_ORDER = ["min_score", "min_ratio", "baseline_floor", "window", "min_count", "min_authors", "baseline_windows",
               "slide", "cooldown_windows", "group_cooccurrence", "group_share"]
_PARAMS = ["window", "slide", "baseline_windows", "baseline_floor", "min_count", "min_authors", "min_ratio",
           "min_score", "cooldown_windows", "group_cooccurrence", "group_share"]


def sweep_heatmap(
    table: pd.DataFrame,
    metric: str = "f1",
    x: str | None = None,
    y: str | None = None,
    facet: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """``metric`` over the ``x`` × ``y`` grid, one panel per value of ``facet``.

    Axes are parameters the grid varies (a parameter with one value is not an axis): by default the
    first varying ones in the order ``min_score, min_ratio, baseline_floor, window, …``, the next one
    the facet. The other swept parameters are held at the best point's values (a slice through the
    best point, not a maximum over hidden parameters); the best point is outlined in red.
    """
    if metric == "f1" and "f1" not in table.columns:
        table = with_f1(table)
    varying = _varying(table, _AXIS_ORDER)
    free = [c for c in varying if c not in (x, y, facet)]
    x = x or (free.pop(0) if free else "min_score")
    y = y or (free.pop(0) if free else "min_ratio")
    if facet is None and free and table[free[0]].nunique() <= 4:
        facet = free.pop(0)
    label = _METRIC_LABELS.get(metric, metric.replace("_", " "))
    title = title or f"{label[0].upper() + label[1:]} over {x} × {y}"
    if table.empty:
        return _empty(title, "empty sweep")
    best = table[table["best"]].iloc[0] if "best" in table.columns and table["best"].any() else table.iloc[0]
    facet = facet if facet and facet in table.columns and facet not in (x, y) else None
    held = [c for c in _varying(table, _PARAMS) if c not in (x, y, facet)]
    data = table
    for col in held:
        data = data[data[col] == best[col]]
    facets = list(dict.fromkeys(data[facet])) if facet else [None]
    fig = make_subplots(rows=1, cols=len(facets), shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=[f"{facet} = {v}" for v in facets] if facet else None)
    values = data[metric].astype(float)
    zmin, zmax = (float(values.min()), float(values.max())) if values.notna().any() else (0.0, 1.0)
    if metric in ("recall", "keyword_precision", "f1"):
        zmin, zmax = 0.0, 1.0
    scale = "Viridis_r" if metric in _LOWER_IS_BETTER else "Viridis"
    for i, value in enumerate(facets, start=1):
        part = data if value is None else data[data[facet] == value]
        grid = part.pivot_table(index=y, columns=x, values=metric, aggfunc="mean").sort_index().sort_index(axis=1)
        fig.add_trace(go.Heatmap(
            z=grid.to_numpy(), x=[str(v) for v in grid.columns], y=[str(v) for v in grid.index],
            zmin=zmin, zmax=zmax, colorscale=scale, showscale=(i == 1),
            colorbar=dict(title=dict(text=label, side="right")),
            text=[[("" if pd.isna(v) else f"{v:.2f}") for v in row] for row in grid.to_numpy()],
            texttemplate="%{text}", textfont=dict(size=13),
            hovertemplate=f"{x} %{{x}}<br>{y} %{{y}}<br>{label} %{{z:.3f}}<extra></extra>",
        ), row=1, col=i)
        if value is None or value == best.get(facet):
            fig.add_trace(go.Scatter(
                x=[str(best[x])], y=[str(best[y])], mode="markers", name="best point", showlegend=(i == 1),
                marker=dict(symbol="square-open", size=34, color=COLORS["best"], line=dict(width=3)),
                hoverinfo="skip",
            ), row=1, col=i)
        fig.update_xaxes(title_text=x, type="category", row=1, col=i)
    fig.update_yaxes(title_text=y, type="category", row=1, col=1)
    note = "red square: the best point (written to params.yaml)"
    held_text = ", ".join(f"{c} = {best[c]}" for c in held)
    if held_text:
        note += f"; other parameters held at the best point: {held_text}"
    fig.add_annotation(text=note, showarrow=False, xref="paper", yref="paper", x=0, y=-0.3, xanchor="left",
                       yanchor="top", font=dict(size=11, color="#555"))
    return _figure(fig, title, height=440, showlegend=False, margin=dict(l=70, r=30, t=90, b=110))


def precision_recall_figure(table: pd.DataFrame, color: str = "window",
                            title: str = "Precision against recall, one point per parameter set") -> go.Figure:
    """Every grid point as (keyword precision, recall); colour by ``color``, the best point a red star.

    Points overlap when parameters change nothing; the hover lists each point's parameters.
    """
    if table.empty:
        return _empty(title, "empty sweep")
    varying = _varying(table, _PARAMS) or ["window"]
    hover = table[varying].astype(str).apply(lambda r: "<br>".join(f"{k} {v}" for k, v in r.items()), axis=1)
    groups = list(dict.fromkeys(table[color])) if color in table.columns else [None]
    fig = go.Figure()
    rng = np.random.default_rng(0)
    for i, value in enumerate(groups):
        part = table if value is None else table[table[color] == value]
        jitter = rng.uniform(-0.006, 0.006, size=(2, len(part)))  # overlapping points stay visible
        fig.add_trace(go.Scatter(
            x=part["keyword_precision"] + jitter[0], y=part["recall"] + jitter[1], mode="markers",
            name=f"{color} {value}" if value is not None else "grid point",
            marker=dict(size=11, color=PALETTE[i % len(PALETTE)], opacity=0.75, line=dict(color="white", width=1)),
            text=hover[part.index], customdata=part[["decoy_alerts"]].to_numpy() if "decoy_alerts" in part else None,
            hovertemplate="precision %{x:.2f}, recall %{y:.2f}<br>%{text}<extra></extra>",
        ))
    if "best" in table.columns and table["best"].any():
        best = table[table["best"]].iloc[0]
        fig.add_trace(go.Scatter(
            x=[best["keyword_precision"]], y=[best["recall"]], mode="markers", name="best (written to params.yaml)",
            marker=dict(symbol="star", size=22, color=COLORS["best"], line=dict(color="black", width=1)),
            hovertemplate="best: precision %{x:.2f}, recall %{y:.2f}<extra></extra>",
        ))
    fig.update_xaxes(title_text="keyword precision (share of alerted keywords that belong to a labelled burst)",
                     range=_zoom(table["keyword_precision"]))
    fig.update_yaxes(title_text="recall (share of labelled bursts detected)", range=_zoom(table["recall"]))
    return _figure(fig, title, height=480)


def _zoom(values: pd.Series, pad: float = 0.04) -> list[float]:
    """An axis range around the data (shares: within [0, 1] plus a margin), at least 0.1 wide."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 0.1:
        mid = (lo + hi) / 2
        lo, hi = mid - 0.05, mid + 0.05
    lo, hi = max(lo, 0.0), min(hi, 1.0)
    return [lo - pad, hi + pad]


# -- one keyword against its baseline -----------------------------------------------------------

def count_vs_baseline_figure(
    frames: Mapping[str, pd.DataFrame],
    alerts: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    title: str = "Window count against the keyword's own baseline",
) -> go.Figure:
    """One panel per keyword (frames from :func:`trendlab.explore.count_vs_baseline`): the window
    count (blue), the baseline (grey), the count the ratio test needs (dashed orange), the alerts of
    that keyword (red diamonds), and the labelled bursts it belongs to (green bands)."""
    if not frames:
        return _empty(title, "no alerts, so no keyword to show")
    keywords = list(frames)
    fig = make_subplots(rows=len(keywords), cols=1, shared_xaxes=True, vertical_spacing=0.1 / max(1, len(keywords) - 1) + 0.04,
                        subplot_titles=[f"“{k}”" for k in keywords])
    for i, kw in enumerate(keywords, start=1):
        _add_series(fig, frames[kw], kw, alerts, labels, row=i, first=i == 1)
        fig.update_yaxes(title_text="posts / window", rangemode="tozero", row=i, col=1)
    fig.update_xaxes(title_text=TIME_AXIS, row=len(keywords), col=1)
    legend = dict(LAYOUT["legend"], y=1.0 + 60 / (180 + 230 * len(keywords)))
    return _figure(fig, title, height=180 + 230 * len(keywords), legend=legend, margin=dict(l=70, r=30, t=120, b=60))


def _add_series(fig: go.Figure, f: pd.DataFrame, kw: str, alerts: pd.DataFrame | None, labels: pd.DataFrame | None,
                row: int, first: bool) -> None:
    """One keyword's count, baseline, threshold, alerts and labelled bursts into subplot ``row``."""
    fig.add_trace(go.Scatter(x=f["window_end"], y=f["count"], name="window count", legendgroup="count",
                             showlegend=first, mode="lines", line=dict(color=COLORS["count"], width=2),
                             hovertemplate="%{x|%H:%M} UTC: %{y} posts<extra></extra>"), row=row, col=1)
    fig.add_trace(go.Scatter(x=f["window_end"], y=f["baseline"], name="baseline", legendgroup="baseline",
                             showlegend=first, mode="lines", line=dict(color=COLORS["baseline"], width=2),
                             hovertemplate="baseline %{y:.1f}<extra></extra>"), row=row, col=1)
    fig.add_trace(go.Scatter(x=f["window_end"], y=f["threshold"], name="ratio threshold", legendgroup="threshold",
                             showlegend=first, mode="lines",
                             line=dict(color=COLORS["threshold"], width=1.5, dash="dash"),
                             hovertemplate="needs ≥ %{y:.1f}<extra></extra>"), row=row, col=1)
    mine = None
    if alerts is not None and not alerts.empty:
        mine = alerts[(alerts["keyword"] == kw) | alerts["related_keywords"].map(lambda r, k=kw: k in (r or []))]
    if mine is None or mine.empty:
        mine = pd.DataFrame({"window_end": pd.Series([], dtype="datetime64[ns, UTC]"), "count": []})
    at = f.set_index("window_end")["count"].reindex(mine["window_end"]).to_numpy()
    fig.add_trace(go.Scatter(x=mine["window_end"], y=np.where(np.isnan(at.astype(float)), mine["count"], at),
                             name="trend alert", legendgroup="alert", showlegend=first, mode="markers",
                             marker=dict(symbol="diamond", size=14, color=COLORS["alert"],
                                         line=dict(color="white", width=1)),
                             hovertemplate="ALERT at %{x|%H:%M} UTC: %{y} posts<extra></extra>"), row=row, col=1)
    if labels is not None and not labels.empty:
        for lab in labels.itertuples():
            if kw in {w.strip() for w in lab.keywords.split(",")}:
                fig.add_vrect(x0=lab.start, x1=lab.end, fillcolor=COLORS[lab.label], opacity=0.15,
                              line_width=0, row=row, col=1)
        if first:  # bands have no legend of their own: one entry per kind of band
            for kind, name in (("trend", "labelled burst"), ("decoy", "decoy")):
                if (labels["label"] == kind).any():
                    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                             marker=dict(symbol="square", size=14, color=COLORS[kind], opacity=0.35)),
                                  row=row, col=1)


def tuning_figure(series: pd.DataFrame | None, keyword: str | None, alerts: pd.DataFrame,
                  labels: pd.DataFrame | None, window: str = "10m",
                  title: str = "Live tuning: one keyword against its baseline, every alert against the labels") -> go.Figure:
    """The live tuning panel's figure: on top, ``keyword``'s count against its baseline
    (as in :func:`count_vs_baseline_figure`); below, every alert against the labelled bursts (as in
    :func:`alerts_vs_bursts_figure`); one time axis. The traces are always the same seven, so
    :func:`update_tuning_figure` only swaps their data."""
    labels = labels if labels is not None else pd.DataFrame(
        {"id": [], "label": [], "kind": [], "language": [], "keywords": [],
         "start": pd.Series([], dtype="datetime64[ns, UTC]"), "end": pd.Series([], dtype="datetime64[ns, UTC]")})
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.45, 0.55],
                        subplot_titles=["keyword", "alerts"])
    for name, color, dash in (("window count", COLORS["count"], None), ("baseline", COLORS["baseline"], None),
                              ("ratio threshold", COLORS["threshold"], "dash")):
        fig.add_trace(go.Scatter(x=[], y=[], name=name, mode="lines", line=dict(color=color, width=2, dash=dash),
                                 hovertemplate="%{x|%H:%M} UTC: %{y:.1f}<extra>" + name + "</extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=[], y=[], name="trend alert", mode="markers",
                             marker=dict(symbol="diamond", size=14, color=COLORS["alert"], line=dict(color="white", width=1)),
                             hovertemplate="ALERT at %{x|%H:%M} UTC: %{y} posts<extra></extra>"), row=1, col=1)
    traces, _ = _timeline_traces(labels, None, window, always=True)
    for t in [t for t in traces if t.type == "bar"]:  # the alerts: the trace added below, in a fixed place
        if t.base is not None and len(t.base):
            t.base = _iso(pd.Series(t.base))
        fig.add_trace(t, row=2, col=1)
    fig.add_trace(go.Scatter(
        x=[], y=[], mode="markers", name="trend alert", showlegend=False,
        marker=dict(symbol="diamond", size=13, color=COLORS["alert"], line=dict(color="white", width=1)),
        hovertemplate="alert %{customdata[0]} (+ %{customdata[1]})<br>window end %{x|%H:%M} UTC<br>"
                      "%{customdata[2]} posts, score %{customdata[3]}<extra></extra>"), row=2, col=1)
    fig.update_yaxes(title_text="posts / window", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(categoryorder="array", automargin=True, row=2, col=1)
    fig.update_xaxes(title_text=TIME_AXIS, type="date", row=2, col=1)
    _figure(fig, title, barmode="overlay", margin=dict(l=70, r=30, t=70, b=120),
            legend=dict(orientation="h", x=0, xanchor="left", y=-0.16, yanchor="top"))
    update_tuning_figure(fig, series, keyword, alerts, labels, window)
    return fig


def update_tuning_figure(fig: go.Figure, series: pd.DataFrame | None, keyword: str | None, alerts: pd.DataFrame,
                         labels: pd.DataFrame, window: str = "10m") -> None:
    """Swap the data of a :func:`tuning_figure` in place (a ``FigureWidget`` then sends only that)."""
    with fig.batch_update() if hasattr(fig, "batch_update") else _nothing():
        if series is not None and len(series):
            x = _iso(series["window_end"])
            for i, col in enumerate(("count", "baseline", "threshold")):
                fig.data[i].x, fig.data[i].y = x, series[col].to_numpy(dtype=float)
        else:
            for i in range(3):
                fig.data[i].x, fig.data[i].y = [], []
        mine = alerts.iloc[0:0]
        if keyword and not alerts.empty:
            mine = alerts[(alerts["keyword"] == keyword) | alerts["related_keywords"].map(lambda r: keyword in (r or []))]
        if series is not None and len(mine):
            at = series.set_index("window_end")["count"].reindex(mine["window_end"]).to_numpy(dtype=float)
            fig.data[3].x = _iso(mine["window_end"])
            fig.data[3].y = np.where(np.isnan(at), mine["count"].to_numpy(dtype=float), at)
        else:
            fig.data[3].x, fig.data[3].y = [], []
        x, ys, custom, order = _alert_rows(labels, alerts, window)
        fig.data[6].x = _iso(pd.Series(x)) if len(x) else []
        fig.data[6].y, fig.data[6].customdata = ys, custom
        if list(fig.layout.yaxis2.categoryarray or []) != order:
            fig.layout.yaxis2.categoryarray = order
        height = 420 + max(220, 30 * len(order))
        if fig.layout.height != height:
            fig.layout.height = height
        shapes = [dict(type="rect", xref="x", yref="y domain", x0=lab.start.strftime(_ISO), x1=lab.end.strftime(_ISO),
                       y0=0, y1=1, fillcolor=COLORS[lab.label], opacity=0.15, line_width=0)
                  for lab in labels.itertuples() if keyword and keyword in {w.strip() for w in lab.keywords.split(",")}]
        if [(str(s.x0), str(s.x1)) for s in fig.layout.shapes] != [(str(s["x0"]), str(s["x1"])) for s in shapes]:
            fig.layout.shapes = shapes
        titles = (f"“{keyword}”: count against baseline (green: labelled bursts)" if keyword
                  else "no keyword chosen", f"{len(alerts)} alerts against the labelled bursts")
        for annotation, text in zip(fig.layout.annotations, titles):
            if annotation.text != text:
                annotation.text = text


_ISO = "%Y-%m-%d %H:%M:%S"


def _iso(times: pd.Series) -> list[str]:
    """UTC times as the strings plotly.js reads as dates (a FigureWidget sends numpy datetimes as numbers)."""
    return list(pd.to_datetime(times, utc=True).dt.strftime(_ISO))


@contextmanager
def _nothing():
    yield


# -- tables -------------------------------------------------------------------------------------

def top_trends_table(top: pd.DataFrame, title: str = "Top trends, one row per trend") -> go.Figure:
    """:func:`trendlab.explore.top_trends` as a plotly table (it goes into the report like a chart)."""
    if top.empty:
        return _empty(title, "no trend alerts")
    headers = {"window_end": "first alert (UTC)", "keyword": "trend", "related": "its other keywords",
               "posts": "posts", "authors": "authors", "baseline": "baseline", "score": "score", "alerts": "alerts"}
    cols = [c for c in headers if c in top.columns]
    fig = go.Figure(go.Table(
        columnwidth=[1.3, 1.3, 2.6, 0.6, 0.6, 0.7, 0.6, 0.6][: len(cols)],
        header=dict(values=[f"<b>{headers[c]}</b>" for c in cols], fill_color="#e8eef7", align="left",
                    font=dict(size=13)),
        cells=dict(values=[top[c] for c in cols], align="left", height=26, font=dict(size=12),
                   fill_color=[["#ffffff", "#f6f6f6"] * (len(top) // 2 + 1)]),
    ))
    return _figure(fig, title, height=130 + 27 * len(top), margin=dict(l=20, r=20, t=60, b=10))

