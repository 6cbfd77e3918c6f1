"""Run the workbench end to end: the four notebooks through papermill, then the report.

Each notebook writes into ``out_dir`` what the next one reads (:mod:`trendlab.pipeline.steps`);
a failing cell stops the run with :class:`PipelineError` naming the notebook and the cell.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trendlab.flink_kafka_conf import PYFLINK_RUNTIME_VARIABLES
from trendlab.config import Profile
from trendlab.errors import ConfigError, MissingFile, TrendlabError
from trendlab.pipeline.report import write_report
from trendlab.pipeline.steps import STEPS, RunInputs, Step

__all__ = ["PROFILES", "PipelineError", "PipelineResult", "notebook_parameters", "run_pipeline"]

ROOT = Path(__file__).resolve().parents[2]
#: The profiles a pipeline runs with (``remote`` is the job's entry point on a cluster, not a pipeline).
PROFILES = (Profile.EMBEDDED.value, Profile.LOCAL.value)


class PipelineError(TrendlabError, RuntimeError):
    """A notebook of the pipeline failed; the message names it and the cell's error."""


def default_notebooks_dir() -> Path:
    return Path(os.environ.get("TRENDLAB_NOTEBOOKS", ROOT / "notebooks"))


def default_sample_dir() -> Path:
    return ROOT / "data" / "samples" / "small"


@dataclass
class PipelineResult:
    out_dir: Path
    notebooks: list[Path]
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        times = ", ".join(f"{k} {v:.0f}s" for k, v in self.seconds.items())
        return f"executed {len(self.notebooks)} notebooks into {self.out_dir} ({times}); report: {self.report}"


def notebook_parameters(step: Step, run: RunInputs, extra: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The papermill parameters of one notebook (only those it declares; never a secret)."""
    params = {"out_dir": ".", "sample_dir": run.relative(run.sample_dir)}  # the kernel runs in out_dir
    params.update({k: v for k, v in step.parameters(run).items() if v is not None})
    params.update(extra.get(step.name, {}))
    return params


@contextmanager
def _kernel_environ():
    """Kernels start without PyFlink's runtime variables (:data:`trendlab.flink_kafka_conf.PYFLINK_RUNTIME_VARIABLES`)."""
    saved = {k: os.environ.pop(k) for k in PYFLINK_RUNTIME_VARIABLES if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _profile(value: str | Profile) -> Profile:
    if str(value) not in PROFILES:
        raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, got {value!r}")
    return Profile(str(value))


def run_pipeline(
    profile: str | Profile = Profile.EMBEDDED,
    out_dir: str | Path = "out",
    sample_dir: str | Path | None = None,
    grid: Mapping[str, Sequence[Any]] | str | None = None,
    params_path: str | None = None,
    *,
    notebooks_dir: str | Path | None = None,
    kernel_name: str | None = None,
    extra_parameters: Mapping[str, Mapping[str, Any]] | None = None,
    timeout: float | None = 1800,
    progress: bool = True,
) -> PipelineResult:
    """Execute the four notebooks in order into ``out_dir`` and write ``out_dir/report.html``.

    ``grid`` (02: a mapping or a YAML file; default :data:`trendlab.tune.DEFAULT_GRID`) and
    ``params_path`` (03: default the ``params.yaml`` 02 writes) are the usual knobs;
    ``extra_parameters`` maps a notebook name to more of its parameters. A failing cell stops the
    pipeline with :class:`PipelineError` naming the notebook; its executed copy stays in ``out_dir``.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    chosen = _profile(profile)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    source = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    sample = Path(sample_dir).resolve() if sample_dir else default_sample_dir()
    if not (sample / "posts.jsonl").exists():
        raise MissingFile(f"sample not found: {sample / 'posts.jsonl'}")
    if isinstance(grid, (str, Path)):
        grid = str(Path(grid).resolve())
    run = RunInputs(chosen, out, sample, grid, str(Path(params_path).resolve()) if params_path else None)
    figures = out / "figures"
    if figures.is_dir():  # figures of an earlier run must not end up in this report
        for old in figures.iterdir():
            if old.is_file():
                old.unlink()
    executed: list[Path] = []
    seconds: dict[str, float] = {}
    for step in STEPS:
        notebook = source / f"{step.name}.ipynb"
        if not notebook.exists():
            raise MissingFile(f"notebook not found: {notebook}")
        target = out / f"{step.name}.ipynb"
        params = notebook_parameters(step, run, extra_parameters or {})
        if progress:
            print(f"== {step.name} ({chosen})", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            with _kernel_environ():
                pm.execute_notebook(
                    str(notebook), str(target), parameters=params, kernel_name=kernel_name, cwd=str(out),
                    progress_bar=progress, execution_timeout=timeout, log_output=False,
                    # Widget state of a kernel that is gone cannot be interactive; without it, nbconvert,
                    # GitHub and nbviewer show each widget's static fallback (a chart's PNG or HTML).
                    store_widget_state=False,
                    **_kernel_transport(),
                )
        except PapermillExecutionError as exc:
            raise PipelineError(
                f"{step.name} failed in cell {exc.exec_count}: {exc.ename}: "
                f"{str(exc.evalue).splitlines()[0] if exc.evalue else ''} (executed copy: {target})"
            ) from None
        seconds[step.name] = time.perf_counter() - t0
        executed.append(target)
    report = write_report(out, seconds=seconds, profile=chosen.value)
    return PipelineResult(out, executed, report, seconds)


def _kernel_transport() -> dict:
    """The kernel talks to papermill over local sockets (IPC) where there are any: a kernel on TCP
    without CurveZMQ keys prints a warning about plain-text traffic for every notebook, and a local run
    needs no network port anyway."""
    if os.name != "posix":
        return {}
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        transport = "ipc"

    return {"kernel_manager_class": IPCKernelManager}
