"""Live tuning: move a threshold, see the alerts change, in well under a second.

:class:`TuningSession` is the engine, with no widgets: it keeps a stream's keyword occurrences and
aggregates windows **once per window shape** (the cache), so a new parameter set costs one
:func:`~trendlab.core.detect.detect_frame` and one evaluation — the same two calls a sweep makes per
point, so what the panel shows is what ``trendlab replay``/``tune`` would report.

:class:`TuningPanel` puts a control on every :class:`~trendlab.core.detect.DetectionParams` field (window
and slide too) over one plotly ``FigureWidget``: the chosen keyword's count against its baseline, and
every alert against the labelled bursts. A change re-runs detection and redraws; a button writes
``params.yaml``. Without a frontend (papermill) the panel is built from the notebook's parameters,
shows a static picture of its figure, and :meth:`TuningPanel.save` writes the same file a click
would.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trendlab.core.detect import DetectionParams, detect_frame
from trendlab.errors import ConfigError
from trendlab.evaluate import Evaluation, evaluate
from trendlab.explore import keyword_series, labels_frame
from trendlab.labels import Labels
from trendlab.core.models import TrendAlert
from trendlab.replay import Occurrences, alerts_to_frame
from trendlab.core.windows import WindowSpec
from trendlab.params_files import write_params

__all__ = ["TuningSession", "TuningRun", "TuningPanel"]


@dataclass
class _Shape:
    """The window counts of one window shape, with a per-keyword index for fast series lookups."""

    spec: WindowSpec
    raw: pd.DataFrame  # keyword_code, end_slot, count, unique_authors (window_counts' frame)
    first_slot: int
    last_slot: int
    by_keyword: np.ndarray  # row order sorted by keyword code
    keyword_sorted: np.ndarray  # keyword codes in that order
    volume: pd.DataFrame | None = None  # posts per window (window_volume's frame)
    sketches: object = None  # the keywords' post sketches (trendlab.core.cooccur.ReplaySketches), kept across runs
    #: detect_frame's dense matrices, kept while only thresholds move (see detect_frame's ``cache``)
    dense: dict = field(default_factory=dict)


@dataclass
class TuningRun:
    """One parameter set's result: alerts, their evaluation against the labels, how long it took."""

    params: DetectionParams
    alerts: list[TrendAlert]
    evaluation: Evaluation | None
    seconds: dict[str, float] = field(default_factory=dict)

    def alerts_frame(self) -> pd.DataFrame:
        return alerts_to_frame(self.alerts)

    def summary(self) -> str:
        text = f"{len(self.alerts)} alerts"
        ev = self.evaluation
        if ev is not None:
            lat = "n/a" if ev.latency_median_slides is None else f"{ev.latency_median_slides:.1f}"
            text += (f"; recall {ev.recall:.2f} ({ev.detected}/{ev.trends}), keyword precision "
                     f"{ev.keyword_precision:.2f}, decoy alerts {ev.decoy_alerts}, median latency {lat} slides, "
                     f"false alerts/h {ev.false_alerts_per_hour:.2f}")
        return text


class TuningSession:
    """A stream's occurrences (and labels) ready to be detected on with any parameter set."""

    def __init__(self, occurrences: Occurrences, labels: Labels | None = None) -> None:
        self.occurrences = occurrences
        self.labels = labels
        self._shapes: dict[tuple[int, int], _Shape] = {}
        self._code = {str(k): i for i, k in enumerate(occurrences.keywords)}

    def shape(self, spec: WindowSpec) -> _Shape:
        """The window counts of ``spec``: aggregated on first use, then cached."""
        key = (spec.window_ms, spec.slide_ms)
        if key not in self._shapes:
            occ = self.occurrences
            raw = occ.window_counts(spec)
            order = np.argsort(raw["keyword_code"].to_numpy(), kind="stable")
            self._shapes[key] = _Shape(
                spec, raw,
                int(raw["end_slot"].min()) if len(raw) else 0, int(raw["end_slot"].max()) if len(raw) else -1,
                order, raw["keyword_code"].to_numpy()[order], occ.window_volume(spec), occ.sketches(spec),
            )
        return self._shapes[key]

    def run(self, params: DetectionParams) -> TuningRun:
        t0 = time.perf_counter()
        shape = self.shape(params.spec)
        t1 = time.perf_counter()
        alerts = detect_frame(shape.raw, self.occurrences.keywords, params, shape.dense, shape.volume, shape.sketches)
        t2 = time.perf_counter()
        ev = None
        if self.labels is not None:
            ev = evaluate(alerts, self.labels, params.spec.window_ms, params.spec.slide_ms)
        t3 = time.perf_counter()
        return TuningRun(params, alerts, ev, {"windows": t1 - t0, "detect": t2 - t1, "evaluate": t3 - t2})

    def series(self, keyword: str, params: DetectionParams) -> pd.DataFrame:
        """The keyword's count, authors, baseline and ratio threshold at every window end
        (:func:`trendlab.explore.keyword_series`), from the cached counts."""
        shape = self.shape(params.spec)
        slots = np.arange(shape.first_slot, shape.last_slot + 1)

        def series(kw: str) -> tuple[np.ndarray, np.ndarray] | None:
            code = self._code.get(kw)
            if code is None:
                return None
            dense = np.zeros(slots.size, dtype=np.int64)
            authors = np.zeros(slots.size, dtype=np.int64)
            lo, hi = np.searchsorted(shape.keyword_sorted, [code, code + 1])
            rows = shape.by_keyword[lo:hi]
            idx = shape.raw["end_slot"].to_numpy()[rows] - shape.first_slot
            dense[idx] = shape.raw["count"].to_numpy()[rows]
            authors[idx] = shape.raw["unique_authors"].to_numpy()[rows]
            return dense, authors

        return keyword_series(slots, keyword, series, params, shape.volume)

    def keywords_to_offer(self, limit: int = 60) -> list[str]:
        """Keywords worth a look: those of the labelled bursts and decoys, then the most frequent."""
        words: list[str] = []
        if self.labels is not None:
            for item in (*self.labels.trends, *self.labels.decoys):
                words += [k for k in item.keywords if k in self._code]
        occ = self.occurrences
        if len(occ):
            freq = np.bincount(occ.keyword_code, minlength=len(occ.keywords))
            words += [str(occ.keywords[i]) for i in np.argsort(-freq, kind="stable")[:limit]]
        return list(dict.fromkeys(words))[: max(limit, len(words) if self.labels else limit)]


# -- the widget ---------------------------------------------------------------------------------

#: Slider ranges per parameter: (min, max, step); window and slide are drop-downs.
RANGES: dict[str, tuple[float, float, float]] = {
    "baseline_windows": (5, 120, 1),
    "baseline_floor": (0.05, 3.0, 0.05),
    "min_count": (1, 30, 1),
    "min_authors": (1, 20, 1),
    "min_ratio": (1.0, 10.0, 0.1),
    "min_score": (1.0, 12.0, 0.1),
    "cooldown_windows": (0, 120, 1),
    "group_cooccurrence": (0.0, 1.0, 0.05),
    "group_share": (0.0, 1.0, 0.05),
    "false_alarm_rate": (0.00001, 1.0, 0.00001),
    "min_distinct": (0.05, 1.0, 0.05),
}
WINDOWS = ["2m", "3m", "4m", "5m", "6m", "8m", "10m", "12m", "15m", "20m", "30m"]
SLIDES = ["30s", "1m", "2m", "5m"]
#: slider readouts other than two decimals (d3-format)
READOUT = {"false_alarm_rate": ".0e"}

HELP = {
    "window": "window length",
    "slide": "how often a window starts",
    "baseline_windows": "windows averaged for a keyword's baseline",
    "baseline_floor": "smallest baseline a count is compared with",
    "min_count": "posts a window needs",
    "min_authors": "distinct authors a window needs",
    "min_ratio": "count / baseline a window needs",
    "min_score": "Poisson z-score a window needs at least (the false-alarm rate may ask more)",
    "cooldown_windows": "quiet windows before a keyword alerts again",
    "group_cooccurrence": "share of the smaller keyword's posts that hold the other: joins keywords into one trend",
    "group_share": "smaller rise over baseline / larger rise that still makes one trend (0: off)",
    "false_alarm_rate": "odds per window that noise alerts some keyword: the score needed grows with the keywords a window holds",
    "min_distinct": "share of a rise that must be distinct contents (copy-paste campaigns count once)",
}


class TuningPanel:
    """Controls for every detection parameter over a live figure; ``save()`` writes ``params.yaml``.

    ``TuningPanel(session, params, save_to=out / "params.yaml")``; display it (the last expression
    of a cell). ``panel.params`` is the parameter set shown; ``panel.set(min_score=6)`` changes
    controls from code (as a slider would); ``panel.last_redraw_s`` is the last redraw's time.
    """

    def __init__(self, session: TuningSession, params: DetectionParams | None = None,
                 keyword: str | None = None, save_to: str | Path = "params.yaml", max_rows: int = 12) -> None:
        import ipywidgets as W
        import plotly.graph_objects as go

        self.session = session
        self.save_to = Path(save_to)
        self.max_rows = max_rows
        self._params = params or DetectionParams()
        self.run: TuningRun = session.run(self._params)
        offered = session.keywords_to_offer()
        keyword = keyword or self._strongest_keyword(offered)
        if keyword and keyword not in offered:
            offered = [keyword] + offered
        self.keyword = keyword
        self._labels = labels_frame(session.labels) if session.labels is not None else None
        self.last_redraw_s = 0.0
        self.redraws = 0

        style = {"description_width": "130px"}
        layout = W.Layout(width="380px")
        self.controls: dict[str, Any] = {}
        for f in fields(DetectionParams):
            value = getattr(self._params, f.name)
            if f.name in ("window", "slide"):
                options = WINDOWS if f.name == "window" else SLIDES
                options = sorted(set(options) | {value}, key=_duration_key)
                ctl = W.Dropdown(options=options, value=value, description=f.name, style=style, layout=layout)
            else:
                lo, hi, step = RANGES[f.name]
                cls = W.IntSlider if isinstance(value, int) else W.FloatSlider
                lo, hi = min(lo, value), max(hi, value)
                ctl = cls(value=value, min=lo, max=hi, step=step, description=f.name, style=style, layout=layout,
                          continuous_update=False,
                          readout_format=READOUT.get(f.name, ".2f") if cls is W.FloatSlider else "d")
            ctl.tooltip = HELP.get(f.name, "")
            ctl.add_class(f"trendlab-{f.name.replace('_', '-')}")
            ctl.observe(self._on_change, names="value")
            self.controls[f.name] = ctl
        self.keyword_box = W.Dropdown(options=offered or ["(none)"], value=keyword or "(none)",
                                      description="keyword", style=style, layout=layout)
        self.keyword_box.add_class("trendlab-keyword")
        self.keyword_box.observe(self._on_keyword, names="value")
        self.save_button = W.Button(description="Save params.yaml", icon="save", button_style="primary",
                                    layout=W.Layout(width="auto"))
        self.save_button.add_class("trendlab-save")
        self.save_button.on_click(lambda _b: self.save())
        self.status = W.HTML()
        self.status.add_class("trendlab-status")
        self.metrics = W.HTML()
        self.metrics.add_class("trendlab-metrics")
        self.alerts_html = W.HTML()
        self.alerts_html.add_class("trendlab-alerts")
        self.figure = go.FigureWidget(self._figure())
        self._write_texts()
        left = W.VBox([*self.controls.values(), self.keyword_box, self.save_button, self.status],
                      layout=W.Layout(min_width="400px"))
        # the figure column takes the rest of the row, and goes under the controls when the row is narrow
        right = W.VBox([self.metrics, self.figure, self.alerts_html],
                       layout=W.Layout(flex="1 1 520px", min_width="0", overflow="hidden"))
        self.widget = W.HBox([left, right], layout=W.Layout(flex_flow="row wrap", width="100%"))
        self.widget.add_class("trendlab-tuning-panel")

    # -- state ------------------------------------------------------------------------------------
    @property
    def params(self) -> DetectionParams:
        return self._params

    def set(self, **values: Any) -> None:
        """Change controls from code; one redraw for all of them."""
        unknown = set(values) - set(self.controls) - {"keyword"}
        if unknown:
            raise ConfigError(f"unknown parameter {sorted(unknown)[0]!r}")
        self._holding = True
        try:
            for name, value in values.items():
                (self.keyword_box if name == "keyword" else self.controls[name]).value = value
        finally:
            self._holding = False
        self._on_change(None)

    def save(self, path: str | Path | None = None) -> Path:
        """Write the parameters shown to ``path`` (default: ``save_to``)."""
        path = Path(path) if path is not None else self.save_to
        path.parent.mkdir(parents=True, exist_ok=True)
        write_params(self._params, path, comment=f"chosen in the live tuning panel: {self.run.summary()}")
        self.status.value = f"<span style='color:#2ca02c'>saved to {html.escape(path.name)}</span>"
        return path

    # -- events -----------------------------------------------------------------------------------
    _holding = False

    def _on_change(self, _change) -> None:
        if self._holding:
            return
        values = {name: ctl.value for name, ctl in self.controls.items()}
        try:
            params = DetectionParams(**values)
        except ValueError as exc:
            self.status.value = f"<span style='color:#d62728'>{html.escape(str(exc))}</span>"
            return
        self.status.value = ""
        self._params = params
        self.redraw()

    def _on_keyword(self, change) -> None:
        if self._holding:
            return
        self.keyword = change["new"] if change["new"] != "(none)" else None
        self.redraw(rerun=False)

    def redraw(self, rerun: bool = True) -> float:
        """Re-run detection (unless only the keyword changed) and update the figure and tables."""
        t0 = time.perf_counter()
        if rerun:
            self.run = self.session.run(self._params)
        self._draw(self.figure)
        self._write_texts()
        self.last_redraw_s = time.perf_counter() - t0
        self.redraws += 1
        return self.last_redraw_s

    # -- drawing ----------------------------------------------------------------------------------
    def _strongest_keyword(self, offered: list[str]) -> str | None:
        if self.run.alerts:
            return max(self.run.alerts, key=lambda a: a.score).keyword
        return offered[0] if offered else None

    def _figure(self):
        from trendlab import plots

        return plots.tuning_figure(self._series(), self.keyword, self.run.alerts_frame(), self._labels, self._params.window)

    def _draw(self, fig) -> None:
        from trendlab import plots

        plots.update_tuning_figure(fig, self._series(), self.keyword, self.run.alerts_frame(), self._labels,
                                   self._params.window)

    def _series(self) -> pd.DataFrame | None:
        return self.session.series(self.keyword, self._params) if self.keyword else None

    def _write_texts(self) -> None:
        self.metrics.value = f"<b>{html.escape(self.run.summary())}</b>"
        self.alerts_html.value = alerts_table_html(self.run.alerts, self.max_rows)

    # -- display ----------------------------------------------------------------------------------
    def static_figure(self):
        """The figure as shown now, as a plain plotly Figure (for the report and static fallbacks)."""
        import plotly.graph_objects as go

        return go.Figure(self.figure)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widget for JupyterLab, plus a static picture of the figure for nbconvert, GitHub and
        nbviewer (they skip widget views they hold no state for)."""
        from trendlab.plots import static_bundle

        bundle = dict(static_bundle(self.static_figure()))
        bundle.update(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/plain"] = f"TuningPanel: {self._params.to_dict()}; {self.run.summary()}"
        return bundle


#: the related keywords may wrap anywhere; the other columns keep their words whole
WRAP = " style='overflow-wrap:anywhere'"


def alerts_table_html(alerts: list[TrendAlert], max_rows: int = 12) -> str:
    """The alerts as a small HTML table (strongest first), with their number in the caption."""
    head = f"<div class='trendlab-alert-count'><b>{len(alerts)} alerts</b>"
    if len(alerts) > max_rows:
        head += f" (the {max_rows} strongest shown)"
    head += "</div>"
    if not alerts:
        return head
    rows = sorted(alerts, key=lambda a: -a.score)[:max_rows]
    cells = "".join(
        "<tr>" + "".join(f"<td{WRAP if i == 2 else ''}>{html.escape(str(v))}</td>" for i, v in enumerate((
            f"{a.window_end:%H:%M}", a.keyword, ", ".join(a.related_keywords), a.count, a.unique_authors,
            f"{a.baseline:.1f}", f"{a.score:.1f}"))) + "</tr>"
        for a in rows
    )
    header = "".join(f"<th>{h}</th>" for h in ("end (UTC)", "keyword", "related", "posts", "authors", "baseline", "score"))
    return (f"{head}<table class='trendlab-alert-table' style='font-size:12px;width:100%'><thead><tr>{header}</tr></thead>"
            f"<tbody>{cells}</tbody></table>")


def _duration_key(text: str) -> int:
    from trendlab.core.windows import parse_duration

    return parse_duration(text)
