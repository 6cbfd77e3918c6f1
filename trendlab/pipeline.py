"""The workbench end to end: the four notebooks through papermill, then one HTML report.

::

    01_explore_samples ─► 02_tune_windows_thresholds ─► 03_deploy_job ─► 04_monitor_trends ─► report.html
      figures              params.yaml, replay/          job/ (+ job.json)   figures
                           (counts, alerts)

Each notebook writes into ``out_dir`` what the next one reads: 02 writes ``params.yaml``, 03 runs the
job with it (profile ``embedded``: a PyFlink mini-cluster on the sample, outputs in ``job/``; profile
``local``: the Flink cluster of ``trendlab stack up`` through its REST API, checkpoints on MinIO) and
records the run in ``job/job.json``; 04 reads the job's window counts and alerts (files, or the Kafka
topics) and its status. Every chart a notebook shows is kept in ``figures/`` (see
:class:`trendlab.plots.FigureSaver`); :func:`write_report` puts them into ``report.html``.

The notebooks also call the few step helpers below (job records, checkpoint listing, job status), so
a cell stays a line or two. No secret is ever a notebook parameter: the notebooks read MinIO keys and
the API token from the environment (:class:`trendlab.config.Settings`) and show settings only through
:meth:`~trendlab.config.Settings.public_dict`.
"""

from __future__ import annotations

import html
import json
import os
import sys
import time
from contextlib import contextmanager
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trendlab.config import Settings
from trendlab.errors import ConfigError, MissingFile, TrendlabError

__all__ = [
    "NOTEBOOKS",
    "PROFILES",
    "PipelineResult",
    "run_pipeline",
    "write_report",
    "write_job_record",
    "read_job_record",
    "checkpoint_objects",
    "job_status",
    "add_cli",
]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["01_explore_samples", "02_tune_windows_thresholds", "03_deploy_job", "04_monitor_trends"]
PROFILES = ("embedded", "local")
JOB_RECORD = Path("job") / "job.json"
TITLES = {
    "01": "01 · Explore the sample stream",
    "02": "02 · Tune windows and thresholds",
    "03": "03 · Deploy the job",
    "04": "04 · Monitor trends",
}


class PipelineError(TrendlabError, RuntimeError):
    """A notebook of the pipeline failed; the message names it and the cell's error."""


def default_notebooks_dir() -> Path:
    return Path(os.environ.get("TRENDLAB_NOTEBOOKS", ROOT / "notebooks"))


def default_sample_dir() -> Path:
    return ROOT / "data" / "samples" / "small"


# -- step helpers the notebooks call ------------------------------------------------------------

def write_job_record(out_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """``out_dir/job/job.json``: what 03 started (profile, job id, checkpoint, outputs), for 04."""
    path = Path(out_dir) / JOB_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(record), indent=2, default=str))
    return path


def read_job_record(out_dir: str | Path) -> dict[str, Any]:
    path = Path(out_dir) / JOB_RECORD
    if not path.exists():
        raise MissingFile(f"no job record at {path}: run notebooks/03_deploy_job first (same out_dir)")
    return json.loads(path.read_text())


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith(("s3://", "s3a://", "s3p://")):
        raise ConfigError(f"checkpoint path must be an s3:// URI, got {uri!r}")
    bucket, _, prefix = uri.split("://", 1)[1].partition("/")
    return bucket, prefix.rstrip("/") + "/"


def checkpoint_objects(settings: Settings, external_path: str) -> pd.DataFrame:
    """The objects of a checkpoint on MinIO: ``object, bytes, last_modified`` (``_metadata`` first)."""
    from trendlab.stack.minio import client

    bucket, prefix = _split_s3(external_path)
    rows = [
        {"object": f"s3://{bucket}/{o.object_name}", "bytes": o.size, "last_modified": o.last_modified}
        for o in client(settings).list_objects(bucket, prefix=prefix, recursive=True)
    ]
    frame = pd.DataFrame(rows, columns=["object", "bytes", "last_modified"])
    return frame.sort_values("object", key=lambda s: ~s.str.endswith("/_metadata")).reset_index(drop=True)


def job_status(record: Mapping[str, Any], settings: Settings | None = None) -> pd.DataFrame:
    """The job's state and its latest checkpoint, as a two-column table.

    Embedded runs are finished when 03 returns, so their record is their status; for ``local`` the
    Flink REST API is asked now.
    """
    rows: list[tuple[str, Any]] = [("profile", record.get("profile")), ("job id", record.get("job_id"))]
    if record.get("profile") == "embedded":
        rows += [("state", record.get("state")), ("engine", record.get("engine")),
                 ("posts", record.get("posts")), ("window counts", record.get("counts")),
                 ("alerts", record.get("alerts")), ("seconds", record.get("seconds"))]
    else:
        from trendlab.flink.client import FlinkClient

        settings = settings or Settings.from_env()
        with FlinkClient.from_settings(settings) as client:
            rows.append(("state", client.job_state(record["job_id"])))
            cp = client.latest_checkpoint(record["job_id"])
            counts = client.checkpoints(record["job_id"]).get("counts", {})
        rows += [("checkpoints completed", counts.get("completed")), ("checkpoints failed", counts.get("failed")),
                 ("latest checkpoint", f"#{cp.id} {cp.external_path}" if cp else "none yet")]
    return pd.DataFrame(rows, columns=["what", "value"])


# -- the pipeline -------------------------------------------------------------------------------

@dataclass
class PipelineResult:
    out_dir: Path
    notebooks: list[Path]
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        times = ", ".join(f"{k} {v:.0f}s" for k, v in self.seconds.items())
        return f"executed {len(self.notebooks)} notebooks into {self.out_dir} ({times}); report: {self.report}"


def notebook_parameters(
    name: str,
    profile: str,
    out_dir: Path,
    sample_dir: Path,
    grid: Mapping[str, Sequence[Any]] | str | None,
    params_path: str | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """The papermill parameters of one notebook (only those it declares; never a secret)."""
    # The kernels run in out_dir, and every path they get is relative to it: outputs name no
    # directory of this machine, and an executed notebook shared with its out_dir still makes sense.
    common = {"out_dir": ".", "sample_dir": _relative(sample_dir, out_dir)}
    per = {
        "01_explore_samples": {},
        "02_tune_windows_thresholds": {"grid": _relative(grid, out_dir) if isinstance(grid, (str, Path)) else
                                       dict(grid) if isinstance(grid, Mapping) else None},
        "03_deploy_job": {"profile": profile, "params_path": _relative(params_path, out_dir) if params_path else None},
        "04_monitor_trends": {"profile": profile},
    }[name]
    params = {**common, **{k: v for k, v in per.items() if v is not None}}
    params.update(extra.get(name, {}))
    return params


def _relative(path: str | Path, start: str | Path) -> str:
    """``path`` relative to ``start`` (``..`` where needed); both are made absolute first."""
    return os.path.relpath(Path(path).resolve(), Path(start).resolve())


#: Variables PyFlink writes into a process that has run a job in-process (its Python UDF launcher's).
#: A kernel that inherits them refuses to start its own Java gateway ("launching the
#: PythonGatewayServer during Python UDF execution"), so kernels start without them.
_PYFLINK_RUNTIME_VARIABLES = ("PYFLINK_GATEWAY_DISABLED", "PYFLINK_GATEWAY_PORT", "_PYFLINK_CONN_INFO_PATH")


@contextmanager
def _kernel_environ():
    saved = {k: os.environ.pop(k) for k in _PYFLINK_RUNTIME_VARIABLES if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def run_pipeline(
    profile: str = "embedded",
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

    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    source = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    sample = Path(sample_dir).resolve() if sample_dir else default_sample_dir()
    if not (sample / "posts.jsonl").exists():
        raise MissingFile(f"sample not found: {sample / 'posts.jsonl'}")
    if isinstance(grid, (str, Path)):
        grid = str(Path(grid).resolve())
    if params_path:
        params_path = str(Path(params_path).resolve())
    figures = out / "figures"
    if figures.is_dir():  # figures of an earlier run must not end up in this report
        for old in figures.iterdir():
            if old.is_file():
                old.unlink()
    executed: list[Path] = []
    seconds: dict[str, float] = {}
    for name in NOTEBOOKS:
        notebook = source / f"{name}.ipynb"
        if not notebook.exists():
            raise MissingFile(f"notebook not found: {notebook}")
        target = out / f"{name}.ipynb"
        params = notebook_parameters(name, profile, out, sample, grid, params_path, extra_parameters or {})
        if progress:
            print(f"== {name} ({profile})", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            with _kernel_environ():
                pm.execute_notebook(
                    str(notebook), str(target), parameters=params, kernel_name=kernel_name, cwd=str(out),
                    progress_bar=progress, execution_timeout=timeout, log_output=False,
                    # Widget state of a kernel that is gone cannot be interactive; without it, nbconvert,
                    # GitHub and nbviewer show each widget's static fallback (a chart's PNG or HTML).
                    store_widget_state=False,
                )
        except PapermillExecutionError as exc:
            raise PipelineError(
                f"{name} failed in cell {exc.exec_count}: {exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}"
                f" (executed copy: {target})"
            ) from None
        seconds[name] = time.perf_counter() - t0
        executed.append(target)
    report = write_report(out, seconds=seconds, profile=profile)
    return PipelineResult(out, executed, report, seconds)


# -- the report ---------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; padding-bottom: .3rem; }
.meta { color: #666; } pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; }
table.kv td { padding: .15rem .8rem .15rem 0; vertical-align: top; } .figure { margin: 1.2rem 0; }
.caption { color: #555; font-size: .9rem; }
"""


def _figure_html(entry: Mapping[str, Any], figures: Path) -> str:
    import plotly.io as pio

    path = figures / entry["json"]
    try:
        fig = pio.from_json(path.read_text())
        body = pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False})
    except (OSError, ValueError) as exc:
        body = f"<p>figure {html.escape(entry['name'])} could not be read: {html.escape(str(exc))}</p>"
    caption = f"<div class='caption'>{html.escape(entry.get('caption') or '')}</div>" if entry.get("caption") else ""
    return f"<div class='figure'>{body}{caption}</div>"


def write_report(out_dir: str | Path, seconds: Mapping[str, float] | None = None, profile: str | None = None) -> Path:
    """``out_dir/report.html``: every figure the notebooks kept, interactive, plotly.js inlined once
    (the report works offline), plus the tuned parameters and the job record."""
    from plotly.offline import get_plotlyjs

    out = Path(out_dir)
    figures = out / "figures"
    index = json.loads((figures / "index.json").read_text()) if (figures / "index.json").exists() else []
    params_text = (out / "params.yaml").read_text() if (out / "params.yaml").exists() else "(none)"
    record = json.loads((out / JOB_RECORD).read_text()) if (out / JOB_RECORD).exists() else {}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>trendlab report</title>",
        f"<style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        "<h1>trendlab report</h1>",
        f"<p class='meta'>profile <b>{html.escape(str(profile or record.get('profile', '?')))}</b> · "
        f"written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}</p>",
    ]
    if seconds:
        rows = "".join(f"<tr><td><a href='{html.escape(n)}.ipynb'>{html.escape(n)}.ipynb</a></td><td>{s:.1f} s</td></tr>"
                       for n, s in seconds.items())
        parts.append(f"<table class='kv'>{rows}</table>")
    for prefix, title in TITLES.items():
        entries = [e for e in index if e["notebook"] == prefix]
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if prefix == "02":
            parts.append(f"<p>Tuned parameters (<code>params.yaml</code>):</p><pre>{html.escape(params_text)}</pre>")
        if prefix == "03" and record:
            rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(json.dumps(v, default=str))}</td></tr>"
                           for k, v in record.items() if k != "params")
            parts.append(f"<table class='kv'>{rows}</table>")
        parts.extend(_figure_html(e, figures) for e in entries)
        if not entries and not (prefix == "03" and record):
            parts.append("<p class='meta'>no figures</p>")
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path


# -- CLI ----------------------------------------------------------------------------------------

def cmd_pipeline(args) -> int:
    result = run_pipeline(args.profile, args.out, args.sample, args.grid, args.params,
                          kernel_name=args.kernel, progress=not args.quiet)
    print(result.summary())
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("pipeline", help="run the four notebooks with papermill and write report.html")
    p.add_argument("--profile", choices=PROFILES, default="embedded",
                   help="embedded: PyFlink mini-cluster on the sample; local: the stack of `trendlab stack up`")
    p.add_argument("--out", required=True, help="output directory (executed notebooks, params.yaml, report.html)")
    p.add_argument("--sample", help="sample directory with posts.jsonl and labels.json (default data/samples/small)")
    p.add_argument("--grid", help="grid YAML for 02 (default: trendlab tune's built-in grid)")
    p.add_argument("--params", help="params.yaml for 03 instead of the one 02 tunes")
    p.add_argument("--kernel", help="Jupyter kernel name (default: the notebooks' own, python3)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_pipeline)
