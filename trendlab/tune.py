"""Parameter sweeps: find the window shape and thresholds that work against labelled bursts.

A sweep extracts keywords once, aggregates windows once per window shape, and runs only detection
and evaluation per grid point, so a 20-point grid costs little more than one replay.

Grid files are YAML mappings from a parameter of :class:`~trendlab.detect.DetectionParams` to a
list of values; parameters not named keep their base value (the defaults, or ``--params``)::

    window: [5m, 10m]
    slide: [1m]
    min_ratio: [2.5, 3, 4]
    min_score: [2.5, 3]

The best point maximises :attr:`trendlab.evaluate.Evaluation.objective`: no decoy alerts first, then
recall, keyword precision, fewer false alerts, lower latency.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from tqdm.auto import tqdm

from trendlab.detect import DetectionParams, detect_frame, load_params
from trendlab.evaluate import Evaluation, Labels, evaluate, load_labels
from trendlab.replay import Occurrences, PostTable, load_stream
from trendlab.windows import window_counts

__all__ = ["DEFAULT_GRID", "load_grid", "grid_points", "sweep", "SweepResult", "tune"]

DEFAULT_GRID: dict[str, list[Any]] = {
    "window": ["5m", "10m"],
    "slide": ["1m"],
    "min_ratio": [2.0, 3.0],
    "min_score": [2.5, 3.0, 3.5],
    "min_authors": [3, 5],
}


def load_grid(source: str | Path | Mapping[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    if source is None:
        grid = DEFAULT_GRID
    elif isinstance(source, Mapping):
        grid = dict(source)
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"grid file not found: {path}")
        try:
            grid = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(grid, Mapping):
            raise ValueError(f"{path} must map parameter names to lists of values")
    known = {f.name for f in fields(DetectionParams)}
    out: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if key not in known:
            raise ValueError(f"unknown grid parameter {key!r} (known: {', '.join(sorted(known))})")
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"grid parameter {key!r} has no values")
        out[key] = values
    return out


def grid_points(grid: Mapping[str, Sequence[Any]], base: DetectionParams) -> list[DetectionParams]:
    """Every combination, validated; combinations the window rules refuse are skipped."""
    keys = list(grid)
    points = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        try:
            points.append(base.replace(**dict(zip(keys, combo))))
        except ValueError as exc:
            if "multiple of slide" in str(exc):
                continue
            raise
    if not points:
        raise ValueError("the grid has no valid point (every window must be a multiple of its slide)")
    return points


@dataclass
class SweepResult:
    table: pd.DataFrame  # one row per point: its parameters and its evaluation
    best: DetectionParams
    best_evaluation: Evaluation

    def write(self, params_path: str | Path) -> tuple[Path, Path]:
        params_path = Path(params_path)
        params_path.parent.mkdir(parents=True, exist_ok=True)
        ev = self.best_evaluation
        self.best.to_yaml(
            params_path,
            comment=(
                f"tuned by trendlab tune over {len(self.table)} points: recall {ev.recall:.2f}, "
                f"keyword precision {ev.keyword_precision:.2f}, decoy alerts {ev.decoy_alerts}, "
                f"median latency {ev.latency_median_slides} slides"
            ),
        )
        table_path = params_path.with_suffix(".results.csv")
        self.table.to_csv(table_path, index=False)
        return params_path, table_path


def sweep(
    occurrences: Occurrences,
    labels: Labels,
    points: Sequence[DetectionParams],
    progress: bool | None = None,
) -> SweepResult:
    cache: dict[tuple[int, int], pd.DataFrame] = {}
    rows = []
    evaluations = []
    show = len(points) > 4 if progress is None else progress
    for params in tqdm(points, desc="sweep", unit="point", disable=not show, file=sys.stderr):
        spec = params.spec
        key = (spec.window_ms, spec.slide_ms)
        if key not in cache:
            cache[key] = window_counts(occurrences.keyword_code, occurrences.author_code, occurrences.event_ms, spec)
        alerts = detect_frame(cache[key], occurrences.keywords, params)
        ev = evaluate(alerts, labels, spec.window_ms, spec.slide_ms)
        evaluations.append(ev)
        row = params.to_dict()
        row.update({k: v for k, v in ev.to_dict().items() if k != "per_trend"})
        rows.append(row)
    best_i = max(range(len(points)), key=lambda i: (evaluations[i].objective, -i))
    table = pd.DataFrame(rows)
    table.insert(0, "best", [i == best_i for i in range(len(points))])
    return SweepResult(table, points[best_i], evaluations[best_i])


def tune(
    source: str | Path | PostTable,
    labels: str | Path | Labels,
    grid: str | Path | Mapping[str, Sequence[Any]] | None = None,
    base: DetectionParams | str | Path | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> SweepResult:
    _table, occ = load_stream(source, workers=workers, progress=progress)
    labels = labels if isinstance(labels, Labels) else load_labels(labels)
    base = base if isinstance(base, DetectionParams) else load_params(base)
    return sweep(occ, labels, grid_points(load_grid(grid), base), progress=progress)


# -- CLI ----------------------------------------------------------------------------------------

def cmd_tune(args) -> int:
    result = tune(args.input, args.labels, args.grid, args.params, workers=args.workers)
    params_path, table_path = result.write(args.out)
    cols = ["window", "slide", "min_ratio", "min_score", "min_authors", "recall", "keyword_precision",
            "latency_median_slides", "false_alerts_per_hour", "decoy_alerts"]
    cols = [c for c in cols if c in result.table.columns]
    print(result.table[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    ev = result.best_evaluation
    print(
        f"best: {result.best.to_dict()}\n"
        f"  recall {ev.recall:.2f}, keyword precision {ev.keyword_precision:.2f}, decoy alerts {ev.decoy_alerts}, "
        f"median latency {ev.latency_median_slides} slides, false alerts/h {ev.false_alerts_per_hour:.2f}"
    )
    print(f"wrote {params_path} and {table_path}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("tune", help="sweep window and detection parameters against labels")
    p.add_argument("input", help="stream file (JSON lines)")
    p.add_argument("--labels", required=True, help="labels.json")
    p.add_argument("--grid", help="grid YAML: parameter -> list of values (default: a built-in grid)")
    p.add_argument("--params", help="base parameters for what the grid does not name")
    p.add_argument("--workers", type=int, default=None, help="extraction processes (default: all cores)")
    p.add_argument("--out", required=True, help="where to write the best params.yaml (+ .results.csv)")
    p.set_defaults(func=cmd_tune)
