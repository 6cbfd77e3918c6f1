"""The four notebooks of the workbench, in order: what each one is given and what the report shows of it.

A notebook's special parameters and its extra report section live with its :class:`Step`, so the
runner (:mod:`trendlab.pipeline.runner`) and the report (:mod:`trendlab.pipeline.report`) treat
every step alike.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trendlab.config import Profile
from trendlab.pipeline.job_record import JOB_RECORD

__all__ = ["NOTEBOOKS", "STEPS", "RunInputs", "Step"]


@dataclass(frozen=True)
class RunInputs:
    """What one pipeline run was asked for (the knobs of :func:`~trendlab.pipeline.runner.run_pipeline`)."""

    profile: Profile
    out_dir: Path
    sample_dir: Path
    grid: Mapping[str, Sequence[Any]] | str | None
    params_path: str | None

    def relative(self, path: str | Path) -> str:
        """``path`` relative to ``out_dir`` (``..`` where needed). The kernels run in ``out_dir`` and
        every path they get is relative to it: outputs name no directory of this machine, and an
        executed notebook shared with its ``out_dir`` still makes sense."""
        return os.path.relpath(Path(path).resolve(), self.out_dir.resolve())


def _kv_table(rows: Mapping[str, Any]) -> str:
    cells = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(json.dumps(v, default=str))}</td></tr>"
                    for k, v in rows.items())
    return f"<table class='kv'>{cells}</table>"


def _tuned_params_html(out: Path) -> str:
    path = out / "params.yaml"
    text = path.read_text() if path.exists() else "(none)"
    return f"<p>Tuned parameters (<code>params.yaml</code>):</p><pre>{html.escape(text)}</pre>"


def _job_record_html(out: Path) -> str:
    path = out / JOB_RECORD
    if not path.exists():
        return ""
    record = json.loads(path.read_text())
    return _kv_table({k: v for k, v in record.items() if k != "params"})


@dataclass(frozen=True)
class Step:
    name: str  # the notebook's file name without .ipynb
    title: str  # its section title in the report
    parameters: Callable[[RunInputs], dict[str, Any]] = lambda run: {}  # its own papermill parameters
    report_html: Callable[[Path], str] = lambda out: ""  # an extra report section (before its figures)

    @property
    def prefix(self) -> str:
        """``01`` for ``01_explore_samples``: how :class:`trendlab.plots.FigureSaver` tags figures."""
        return self.name.split("_", 1)[0]


STEPS: tuple[Step, ...] = (
    Step("01_explore_samples", "01 · Explore the sample stream"),
    Step("02_tune_windows_thresholds", "02 · Tune windows and thresholds",
         parameters=lambda run: {"grid": run.relative(run.grid) if isinstance(run.grid, (str, Path)) else
                                 dict(run.grid) if isinstance(run.grid, Mapping) else None},
         report_html=_tuned_params_html),
    Step("03_deploy_job", "03 · Deploy the job",
         parameters=lambda run: {"profile": run.profile.value,
                                 "params_path": run.relative(run.params_path) if run.params_path else None},
         report_html=_job_record_html),
    Step("04_monitor_trends", "04 · Monitor trends", parameters=lambda run: {"profile": run.profile.value}),
)

NOTEBOOKS = [step.name for step in STEPS]
