"""The four notebooks, executed by papermill through ``trendlab.pipeline.run_pipeline``.

* ``embedded`` profile on the small sample (marker ``notebooks``): no error cell, every step's
  outputs exist (params.yaml, replay and job outputs, figures, report.html), both engines agree, and
  no secret (MinIO keys, API token) appears in any parameter or output.
* ``local`` profile against the real stack (markers ``notebooks`` and ``integration``): deploy
  through REST, first checkpoint on MinIO, read the topics back; skipped when the stack is not up.
* Static checks of the committed notebooks (no marker: cheap): a ``parameters`` cell, short cells,
  outputs cleared.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import nbformat
import pytest

from trendlab import pipeline
from trendlab.params_files import read_params

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SECRETS = {
    "MINIO_ACCESS_KEY": "nb-access-" + uuid.uuid4().hex[:10],
    "MINIO_SECRET_KEY": "nb-secret-" + uuid.uuid4().hex,
    "TRENDLAB_API_TOKEN": "nb-token-" + uuid.uuid4().hex,
}


def _sample_dir(tmp_path_factory) -> Path:
    committed = ROOT / "data" / "samples" / "small"
    if (committed / "posts.jsonl").exists() and (committed / "labels.json").exists():
        return committed
    from trendlab.samples import generate

    out = tmp_path_factory.mktemp("sample")
    generate(out, hours=1.5, rate=3, seed=42)
    return out


def _error_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [
        f"{path.name} cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for o in cell.get("outputs", []) if o.get("output_type") == "error"
    ]


def _assert_no_secret(out: Path, secrets: dict[str, str]) -> None:
    leaks = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        leaks += [f"{name} in {path.relative_to(out)}" for name, value in secrets.items() if value.encode() in data]
    assert not leaks, f"secrets leaked: {leaks}"


# -- static checks of the committed notebooks ---------------------------------------------------

@pytest.mark.parametrize("name", pipeline.NOTEBOOKS)
def test_committed_notebook_is_thin_and_parameterised(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: exactly one cell tagged 'parameters'"
    assert "out_dir" in tagged[0].source
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3, f"{name}: narrative for a first-time reader"
    long = [c.source.splitlines()[0] for c in code if len(c.source.splitlines()) > 15]
    assert not long, f"{name}: cells longer than 15 lines (logic belongs in trendlab): {long}"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{name}: outputs not cleared"


# -- embedded profile ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory):
    sample = _sample_dir(tmp_path_factory)
    out = tmp_path_factory.mktemp("pipeline") / "out"
    saved = {k: os.environ.get(k) for k in SECRETS}
    os.environ.update(SECRETS)  # the kernels inherit them: they must not come out anywhere
    try:
        result = pipeline.run_pipeline("embedded", out, sample_dir=sample, progress=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return result, sample


@pytest.mark.notebooks
@pytest.mark.timeout(1200)
def test_embedded_pipeline_runs_without_errors(embedded_run):
    result, _ = embedded_run
    assert [p.name for p in result.notebooks] == [f"{n}.ipynb" for n in pipeline.NOTEBOOKS]
    errors = [e for p in result.notebooks for e in _error_cells(p)]
    assert not errors, errors


@pytest.mark.notebooks
def test_embedded_pipeline_outputs_feed_each_other(embedded_run):
    from trendlab.core.detect import DetectionParams

    result, _ = embedded_run
    out = result.out_dir
    params = read_params(out / "params.yaml")  # 02 -> 03
    record = pipeline.read_job_record(out)  # 03 -> 04
    assert record.profile == "embedded" and record.params == params.to_dict()
    for rel in ("replay/counts.parquet", "replay/alerts.jsonl", "job/counts.jsonl", "job/alerts.jsonl"):
        assert (out / rel).is_file(), rel
    assert (out / "job" / "counts.jsonl").stat().st_size > 0


@pytest.mark.notebooks
def test_embedded_job_agrees_with_replay(embedded_run):
    from trendlab import explore

    out = embedded_run[0].out_dir
    table = explore.compare_runs(
        explore.read_counts(out / "replay" / "counts.parquet"), explore.read_alerts_frame(out / "replay" / "alerts.jsonl"),
        explore.read_counts(out / "job" / "counts.jsonl"), explore.read_alerts_frame(out / "job" / "alerts.jsonl"),
    )
    assert (table["only in replay"] == 0).all() and (table["only in flink"] == 0).all(), table.to_string()


@pytest.mark.notebooks
def test_embedded_pipeline_figures_and_report(embedded_run):
    from trendlab.plots import png_export_available

    out = embedded_run[0].out_dir
    index = json.loads((out / "figures" / "index.json").read_text())
    names = {e["name"] for e in index}
    for expected in ("01_posts_per_minute", "01_labelled_bursts", "02_f1_heatmap", "02_precision_recall",
                     "02_alerts_vs_bursts", "04_top_trends", "04_count_vs_baseline"):
        assert expected in names, f"figure {expected} missing (have {sorted(names)})"
    for entry in index:
        assert (out / "figures" / entry["json"]).is_file()
        if png_export_available():
            assert entry["png"] and (out / "figures" / entry["png"]).stat().st_size > 5000, entry["name"]
    report = (out / "report.html").read_text()
    assert "Plotly.newPlot" in report and "02 · Tune windows and thresholds" in report
    assert "<nav class='toc'>" in report and "href='#02_f1_heatmap'" in report
    drawn = report.count("<div class='figure'")
    assert drawn == report.count("<div class='caption'>"), "every chart in the report has a caption"
    from trendlab.pipeline.report import _chart_key, _read_figure

    keys = [_chart_key(_read_figure(out / "figures" / e["json"])) for e in index]
    assert drawn == len(set(keys)), "each chart is drawn once (a repeat is named, not drawn)"


@pytest.mark.notebooks
def test_no_secret_in_parameters_or_outputs(embedded_run):
    result, _ = embedded_run
    for path in result.notebooks:
        params = nbformat.read(path, as_version=4).metadata.get("papermill", {}).get("parameters", {})
        assert not set(params) & {"minio_access_key", "minio_secret_key", "api_token"}
    _assert_no_secret(result.out_dir, SECRETS)


# -- local profile: the real stack ---------------------------------------------------------------

def _stack_up_or_skip():
    from trendlab.config import get_settings

    try:
        from trendlab import stack

        status = stack.status(get_settings())
    except Exception as exc:  # noqa: BLE001 — any failure to ask means: not up
        pytest.skip(f"local stack status unavailable ({exc}); start it with `trendlab stack up` (make test does)")
    if not status.running:
        down = [p.name for p in status.parts if not p.running]
        pytest.skip(f"local stack is not up ({', '.join(down) or 'no parts'} stopped); `trendlab stack up` first")


def _cancel_if_running(out: Path, settings) -> None:
    try:
        record = pipeline.read_job_record(out)
    except FileNotFoundError:
        return
    from trendlab.flink.rest_client import FlinkClient, FlinkError

    try:
        with FlinkClient.from_settings(settings) as client:
            if client.job_state(record.job_id) in {"RUNNING", "CREATED", "RESTARTING"}:
                client.cancel(record.job_id)
    except FlinkError:
        pass


@pytest.mark.notebooks
@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_local_pipeline_against_the_stack(tmp_path_factory, monkeypatch):
    _stack_up_or_skip()
    from trendlab.config import get_settings

    sample = _sample_dir(tmp_path_factory)
    out = tmp_path_factory.mktemp("pipeline-local") / "out"
    run = uuid.uuid4().hex[:8]  # own topics: the outputs read back are this run's only
    monkeypatch.setenv("KAFKA_TOPIC_POSTS", f"nb-posts-{run}")
    monkeypatch.setenv("KAFKA_TOPIC_TRENDS", f"nb-counts-{run}")
    monkeypatch.setenv("TRENDLAB_TOPIC_ALERTS", f"nb-alerts-{run}")
    monkeypatch.setenv("TRENDLAB_TOPIC_DEAD_LETTER", f"nb-dlq-{run}")
    settings = get_settings()
    secrets = {"MINIO_ACCESS_KEY": settings.minio_access_key, "MINIO_SECRET_KEY": settings.minio_secret_key}
    if settings.api_token:
        secrets["TRENDLAB_API_TOKEN"] = settings.api_token
    try:
        result = pipeline.run_pipeline(
            "local", out, sample_dir=sample, progress=False,
            extra_parameters={"04_monitor_trends": {"stop_job": True}},
        )
    finally:  # a failure after 03 must not leave the job holding the cluster's slots
        _cancel_if_running(out, settings)
    errors = [e for p in result.notebooks for e in _error_cells(p)]
    assert not errors, errors
    record = pipeline.read_job_record(out)
    assert record.profile == "local" and record.job_id
    assert record.checkpoint.path.startswith(f"s3://{settings.minio_bucket}/checkpoints/")
    assert (out / "report.html").is_file()
    # the dev default access key is "trendlab", the project's name: only distinctive values can be searched
    _assert_no_secret(out, {k: v for k, v in secrets.items() if len(v) >= 10 and v != "trendlab"})


@pytest.mark.notebooks
def test_executed_notebooks_show_their_charts_outside_jupyterlab(embedded_run):
    """nbconvert (like GitHub and nbviewer) does not run plotly's renderer: every chart must carry a
    static picture, and the HTML must show one per chart. No output names a directory of this machine."""
    from nbconvert import HTMLExporter

    from trendlab.plots import png_export_available

    result, sample = embedded_run
    machine_paths = {str(result.out_dir), str(ROOT), str(Path.home())}
    for path in result.notebooks:
        nb = nbformat.read(path, as_version=4)
        charts = 0
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if "application/vnd.plotly.v1+json" in data:
                    charts += 1
                    assert "image/png" in data or "text/html" in data, f"{path.name}: a chart without a fallback"
                text = json.dumps(out)
                leaked = [p for p in machine_paths if p in text]
                assert not leaked, f"{path.name}: output names {leaked}"
        assert "widgets" not in nb.metadata, f"{path.name}: stored widget state would hide the fallbacks"
        body, _ = HTMLExporter().from_notebook_node(nb)
        shown = body.count("data:image/png;base64") if png_export_available() else body.count("Plotly.newPlot")
        assert shown >= charts, f"{path.name}: {charts} charts, {shown} shown by nbconvert"
