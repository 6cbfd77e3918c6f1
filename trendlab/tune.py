"""Parameter sweeps: find the window shape and thresholds that work against labelled bursts.

A sweep extracts keywords once, aggregates windows once per window shape, and runs only detection
and evaluation per grid point, so a 20-point grid costs little more than one replay.

Grid files are YAML mappings from a parameter of :class:`~trendlab.core.detect.DetectionParams` to a
list of values; parameters not named keep their base value (the defaults, or ``--params``)::

    window: [5m, 10m]
    slide: [1m]
    min_ratio: [2, 3]
    min_score: [5, 5.5, 6]

Several labelled streams can be swept at once (``trendlab tune A B C``, or :func:`sweep` with lists):
parameters that must hold at other rates and on other days should be chosen on several streams, and
checked on others still. Each point is then scored per stream and over all streams pooled
(:func:`trendlab.evaluate.pool`).

The best point first meets the targets (:data:`trendlab.evaluate.TARGETS`: recall, keyword
precision, no decoy alert, median latency) on the most streams, then maximises the pooled
:attr:`trendlab.evaluate.Evaluation.objective`: no decoy alerts first, then recall, keyword
precision, fewer false alerts, lower latency.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from trendlab.core.detect import DetectionParams, detect_frame
from trendlab.params_files import load_params, write_params
from trendlab.errors import ConfigError
from trendlab.evaluate import TARGETS, Evaluation, Targets, evaluate, pool
from trendlab.labels import Labels, load_labels
from trendlab.core.parse import Limits
from trendlab.replay import Occurrences, PostTable, load_stream
from trendlab.core.windows import WindowShapeError

__all__ = ["DEFAULT_GRID", "load_grid", "grid_points", "sweep", "SweepResult", "stream_paths", "tune"]

DEFAULT_GRID: dict[str, list[Any]] = {
    "window": ["5m", "6m", "8m"],
    "slide": ["1m"],
    "baseline_floor": [0.2, 0.5],
    "min_score": [4.5, 5.0, 5.5, 6.0],
}


def load_grid(source: str | Path | Mapping[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    if source is None:
        grid = DEFAULT_GRID
    elif isinstance(source, Mapping):
        grid = dict(source)
    else:
        from trendlab.postfile import read_yaml_mapping

        grid = read_yaml_mapping(source, "grid file", "map parameter names to lists of values")
    known = {f.name for f in fields(DetectionParams)}
    out: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if key not in known:
            raise ConfigError(f"unknown grid parameter {key!r} (known: {', '.join(sorted(known))})")
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ConfigError(f"grid parameter {key!r} has no values")
        if any(isinstance(v, (list, dict)) for v in values):
            raise ConfigError(f"grid parameter {key!r} must be a list of single values, got {str(values)[:60]}")
        out[key] = values
    return out


#: ``trendlab tune`` refuses larger grids unless ``--max-points`` allows them
MAX_GRID_POINTS = 1000


def check_grid_size(grid: Mapping[str, Sequence[Any]], max_points: int | None = None) -> int:
    """The number of points of ``grid``; more than ``max_points`` is refused in one line, before any work."""
    limit = MAX_GRID_POINTS if max_points is None else max_points
    points = math.prod(len(v) for v in grid.values())
    if points > limit:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in grid.items())
        raise ConfigError(f"the grid has {points:,} points ({sizes}), more than {limit:,}; narrow it or raise "
                          "--max-points")
    return points


def grid_points(grid: Mapping[str, Sequence[Any]], base: DetectionParams) -> list[DetectionParams]:
    """Every combination, validated; combinations the window rules refuse are skipped."""
    keys = list(grid)
    points = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        try:
            points.append(base.replace(**dict(zip(keys, combo))))
        except WindowShapeError:
            continue
    if not points:
        raise ConfigError("the grid has no valid point (every window must be a multiple of its slide)")
    return points


@dataclass
class SweepResult:
    table: pd.DataFrame  # one row per point: its parameters and its (pooled) evaluation
    best: DetectionParams
    best_evaluation: Evaluation  # pooled over the streams
    best_per_stream: list[Evaluation] = field(default_factory=list)
    targets: Targets = TARGETS

    def write(self, params_path: str | Path) -> tuple[Path, Path]:
        params_path = Path(params_path)
        params_path.parent.mkdir(parents=True, exist_ok=True)
        ev = self.best_evaluation
        streams = len(self.best_per_stream)
        met = sum(e.meets(self.targets) for e in self.best_per_stream)
        write_params(
            self.best, params_path,
            comment=(
                f"tuned by trendlab tune over {len(self.table)} points and {streams} stream(s), targets met on "
                f"{met}/{streams}: recall {ev.recall:.2f}, keyword precision {ev.keyword_precision:.2f}, "
                f"decoy alerts {ev.decoy_alerts}, median latency {_fmt(ev.latency_median_slides)} slides"
            ),
        )
        table_path = params_path.with_suffix(".results.csv")
        self.table.to_csv(table_path, index=False)
        return params_path, table_path


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def sweep(
    occurrences: Occurrences | Sequence[Occurrences],
    labels: Labels | Sequence[Labels],
    points: Sequence[DetectionParams],
    progress: bool | None = None,
    targets: Targets = TARGETS,
) -> SweepResult:
    """Detect and evaluate every point on one stream, or on several (``occurrences`` and ``labels``
    as parallel lists). Window counts are computed once per stream and window shape."""
    occs = [occurrences] if isinstance(occurrences, Occurrences) else list(occurrences)
    labs = [labels] if isinstance(labels, Labels) else list(labels)
    if len(occs) != len(labs) or not occs:
        raise ConfigError(f"sweep needs one labels per stream (got {len(occs)} streams, {len(labs)} labels)")
    cache: dict[tuple[int, int, int], tuple] = {}  # (counts, volume, sketches) per stream and window shape
    dense: dict[tuple[int, int, int], dict] = {}  # detect_frame's matrices per counts frame
    rows = []
    per_point: list[list[Evaluation]] = []
    pooled: list[Evaluation] = []
    show = len(points) * len(occs) > 4 if progress is None else progress
    for params in tqdm(points, desc="sweep", unit="point", disable=not show, file=sys.stderr):
        spec = params.spec
        evs = []
        for i, (occ, lab) in enumerate(zip(occs, labs)):
            key = (i, spec.window_ms, spec.slide_ms)
            if key not in cache:
                cache[key] = (occ.window_counts(spec), occ.window_volume(spec), occ.sketches(spec))
                dense[key] = {}
            raw, volume, sketches = cache[key]
            alerts = detect_frame(raw, occ.keywords, params, dense[key], volume, sketches)  # matrices kept
            evs.append(evaluate(alerts, lab, spec.window_ms, spec.slide_ms))
        ev = pool(evs) if len(evs) > 1 else evs[0]
        per_point.append(evs)
        pooled.append(ev)
        row = params.to_dict()
        row.update({k: v for k, v in ev.to_dict().items() if k != "per_trend"})
        row["streams_meeting_targets"] = sum(not targets.misses(e) for e in evs)
        rows.append(row)
    best_i = max(range(len(points)), key=lambda i: (rows[i]["streams_meeting_targets"], pooled[i].objective, -i))
    table = pd.DataFrame(rows)
    table.insert(0, "best", [i == best_i for i in range(len(points))])
    return SweepResult(table, points[best_i], pooled[best_i], per_point[best_i], targets)


def stream_paths(inputs: Sequence[str | Path], labels: Sequence[str | Path] | None) -> list[tuple[Path, Path]]:
    """(stream file, labels file) pairs: a directory stands for its ``posts.jsonl`` and
    ``labels.json``; otherwise ``labels`` names one labels file per input, in order."""
    pairs = []
    labels = list(labels or [])
    if labels and len(labels) != len(inputs):
        raise ConfigError(f"--labels: give one labels file per input ({len(inputs)} inputs, {len(labels)} labels)")
    for i, item in enumerate(inputs):
        path = Path(item)
        if path.is_dir():
            posts, lab = path / "posts.jsonl", Path(labels[i]) if labels else path / "labels.json"
        elif labels:
            posts, lab = path, Path(labels[i])
        else:
            raise ConfigError(f"--labels is required for {path} (or give a directory with posts.jsonl and labels.json)")
        pairs.append((posts, lab))
    return pairs


def tune(
    source: str | Path | PostTable | Sequence[str | Path],
    labels: str | Path | Labels | Sequence[str | Path | Labels],
    grid: str | Path | Mapping[str, Sequence[Any]] | None = None,
    base: DetectionParams | str | Path | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    max_points: int | None = None,
    limits: Limits | None = None,
) -> SweepResult:
    """Sweep ``grid`` on one stream (``source``, ``labels``) or on several (two parallel lists);
    a grid of more than ``max_points`` (default :data:`MAX_GRID_POINTS`) points is refused first.
    ``limits``: what the parser accepts (``None``: :func:`trendlab.env_defaults.parser_limits`)."""
    grid = load_grid(grid)
    check_grid_size(grid, max_points)
    many = isinstance(source, (list, tuple))
    sources = list(source) if many else [source]
    label_list = list(labels) if isinstance(labels, (list, tuple)) else [labels]
    labs = [lab if isinstance(lab, Labels) else load_labels(lab) for lab in label_list]  # small files first
    base = base if isinstance(base, DetectionParams) else load_params(base)
    occs = [load_stream(src, workers=workers, progress=progress, texts=False, limits=limits)[1] for src in sources]
    return sweep(occs, labs, grid_points(grid, base), progress=progress)
