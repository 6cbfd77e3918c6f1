"""Operating the job through the REST service on the real stack, as an operator would.

One job for the module, deployed with ``POST /flink/deploy`` to a real ``trendlab serve`` (uvicorn on an
ephemeral port) on this module's own topics; a labelled 1 h stream goes into Kafka. Then:

* the contract answers: ``/flink/status`` lists the job, ``/metrics`` has the five names with values;
* ``/trends`` and ``getTrends`` show the job's trends, and ``/trends/live`` shows them in Chromium;
* Flink's Prometheus reporter serves the job's records in/out, back-pressure, checkpoint and trendlab
  metrics, and every metric of the Grafana dashboard in ``docker/grafana/dashboards`` exists;
* ``POST /flink/stop`` stops it with a savepoint, which a job on other topics may not resume from.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from trendlab.config import Settings
from waiting import chromium, free_port, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "trendlab.json"
PARAMS = dict(window="10m", slide="1m", baseline_windows=10, min_count=4, min_authors=3, min_ratio=2.0,
              min_score=2.0, cooldown_windows=10)
TIMEOUT_S = 240
JSON_LOCAL = {"Host": "127.0.0.1", "Content-Type": "application/json"}


def _wait(what: str, check, timeout: float = TIMEOUT_S, every: float = 1.0):
    return wait_for(what, check, timeout, every)


class Service:
    """``trendlab serve``'s app under uvicorn in a thread, on an ephemeral port."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from trendlab.service import create_app

        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Service:
        self.thread.start()
        _wait("the service starting", lambda: self.server.started, timeout=30, every=0.1)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def operated(live_stack, stack_settings: Settings, tmp_path_factory, add_malformed):
    """(settings, service, job id, http client): the job deployed through the service, the stream sent."""
    from trendlab.flink.rest_client import TERMINAL_STATES, FlinkClient, FlinkError
    from trendlab.flink.deploy import stop_job
    from trendlab.kafka import advance_watermark, delete_topics, ensure_topics, job_topics, produce, read_stream
    from trendlab.samples import generate

    suffix = uuid.uuid4().hex[:8]
    settings = stack_settings.with_own_topics(f"op-{suffix}").replace(checkpoint_interval_ms=2000, api_token="")
    ensure_topics(settings, job_topics(settings), partitions=settings.flink_parallelism)
    sample = tmp_path_factory.mktemp("operate") / "stream"
    generate(sample, hours=1.0, rate=3, seed=11)
    add_malformed(sample / "posts.jsonl")
    job_id = None
    with Service(settings) as service, httpx.Client(base_url=service.url, timeout=300) as http:
        try:
            r = http.post("/flink/deploy", json={"params": PARAMS}, headers=JSON_LOCAL)
            assert r.status_code == 200, r.text
            job_id = r.json()["job_id"]
            produce(settings, sample / "posts.jsonl")
            records, _ = read_stream(sample / "posts.jsonl")
            advance_watermark(settings, settings.kafka_topic_posts, max(r.timestamp_ms for r in records) + 24 * 3600_000)
            yield settings, service, job_id, http
        finally:
            if job_id:
                try:
                    with FlinkClient.from_settings(settings) as client:
                        running = client.job_state(job_id) not in TERMINAL_STATES
                    if running:
                        stop_job(settings, job_id, savepoint=False)
                except FlinkError:
                    pass
            delete_topics(settings, job_topics(settings))


@pytest.fixture(scope="module")
def trends(operated):
    """``/trends`` once the job's alerts reached the service."""
    _, _, _, http = operated
    return _wait("trends on /trends", lambda: http.get("/trends").json()["trends"])


def test_the_contract_on_the_real_stack(operated, trends):
    settings, _, job_id, http = operated
    assert http.get("/").json()["service"] == "trendlab"
    # every part answers (a probe may miss its 2 s on a machine this busy: asked again until it answers)
    health = _wait("GET /health answering 200", lambda: (r := http.get("/health")).status_code == 200 and r, 60, 2)
    assert all(p["up"] for p in health.json()["parts"].values()), health.text
    status = http.get("/flink/status").json()
    assert status["cluster"]["taskmanagers"] >= 1
    [job] = [j for j in status["jobs"] if j["job_id"] == job_id]
    assert job["state"] == "RUNNING" and job["name"] == status["job_name"] and job["running_seconds"] > 0

    def metrics_ready():
        text = http.get("/metrics").text
        return text if "trendlab_flink_up 1.0" in text else None

    text = _wait("/metrics seeing Flink", metrics_ready, timeout=30)
    values = {line.split(" ")[0]: float(line.split(" ")[-1]) for line in text.splitlines()
              if line and not line.startswith("#")}
    assert values['flink_job_submissions_total{result="success"}'] == 1.0
    assert values["flink_active_jobs"] >= 1
    assert values['flink_job_duration_seconds_count{action="deploy"}'] == 1.0
    assert values["trends_detected_total"] >= len(trends)
    assert values["trend_processing_seconds_count"] == values["trends_detected_total"]


def test_trends_of_the_running_job_in_both_shapes(operated, trends):
    _, _, _, http = operated
    for trend in trends:
        assert trend["count"] >= 1 and trend["unique_authors"] >= 1 and trend["started_at"].endswith("Z")
        assert trend["status"] in {"hot", "cooling"} and trend["topic"] in trend["keywords"]

    def one_board():
        """getTrends between two equal ``/trends`` answers: one state of the board (the job's counts keep
        arriving, and a new count can reorder the board between two requests)."""
        before = http.get("/trends", params={"limit": 25}).json()["trends"]
        views = http.get("/xrpc/app.bsky.unspecced.getTrends", params={"limit": 25}).json()["trends"]
        after = http.get("/trends", params={"limit": 25}).json()["trends"]
        return (views, after) if before == after else None

    views, rows = _wait("a board that holds still for three requests", one_board, 120, 1)
    assert [v["topic"] for v in views] == [t["topic"] for t in rows]
    assert [v["postCount"] for v in views] == [t["count"] for t in rows]
    for view in views:
        assert {"topic", "displayName", "link", "startedAt", "postCount", "actors"} <= set(view)


def test_live_page_shows_the_trends_in_chromium(operated, trends, tmp_path):
    from playwright.sync_api import sync_playwright

    _, service, _, http = operated
    executable = chromium()
    shot = tmp_path / "trends-live.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # every board the page fetched, in order (one fetch at a time, one render per fetch): the
            # board keeps changing while counts arrive (two trends of close counts swap places), so
            # the page is compared with the response it rendered, not with a later read of /trends
            served: list[list[str]] = []

            def record(route) -> None:
                try:
                    response = route.fetch()
                except Exception:  # noqa: BLE001 - the page sees a failed fetch: no render, nothing recorded
                    route.abort()
                    return
                if response.ok:  # a failed answer is not rendered either
                    served.append([t["topic"] for t in response.json()["trends"] if t.get("kind", "topic") != "link"])
                route.fulfill(response=response)

            page.route("**/trends?kind=all*", record)
            page.goto(f"{service.url}/trends/live")
            # two refreshes: the page keeps itself up to date (polled from here: the page's CSP forbids eval)
            _wait("the page refreshing itself twice",
                  lambda: int(page.get_attribute("#trends", "data-updated") or 0) >= 2, timeout=30, every=0.25)

            def refreshed() -> int:
                return int(page.get_attribute("#trends", "data-updated") or 0)

            def a_render_with_trends():
                """The rows of one render that holds trends (the page's n-th render shows its n-th board)."""
                n = refreshed()
                shown = page.eval_on_selector_all("#trends tbody tr", "rows => rows.map(r => r.dataset.topic)")
                if refreshed() != n or not shown or page.text_content("#error"):
                    return None
                return shown, served[n - 1]

            shown, expected = _wait("the page showing a board with trends", a_render_with_trends, 120, 0.5)
            board = [t["topic"] for t in http.get("/trends").json()["trends"]]
            cells = page.eval_on_selector_all("#trends tbody tr", "rows => rows.map(r => r.innerText)")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shown == expected and shown, (shown, expected)
    assert set(shown) & set(board), (shown, board)  # the service's own board, read after
    assert all(re.search(r"\b(hot|cooling)\b", c) for c in cells)
    assert not errors, errors
    assert shot.stat().st_size > 10_000
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    shutil.copyfile(shot, out / "trends-live.png")


def _scrape_flink(settings: Settings, job_id: str) -> str:
    from trendlab.stack.flink_cluster import metrics_endpoints

    text = ""
    for url in metrics_endpoints(settings):
        text += httpx.get(url, timeout=10).text + "\n"
    return text


def _names(text: str, job_id: str | None = None) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#") and (job_id is None or f'job_id="{job_id}"' in line):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def _dashboard_metrics() -> set[str]:
    """Metric names in the dashboard's PromQL: identifiers that are neither functions nor label names."""
    dashboard = json.loads(DASHBOARD.read_text())
    found = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", target["expr"])  # matchers, ranges, strings
            expr = re.sub(r"\b(by|without)\s*\([^)]*\)", "", expr)  # grouping labels
            for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
                if not expr[match.end():].lstrip().startswith("("):  # a function, not a metric
                    found.add(match.group())
    return found


def test_flinks_reporter_serves_the_jobs_metrics_and_every_dashboard_panels(operated, trends):
    settings, _, job_id, http = operated

    def scraped():
        names = _names(_scrape_flink(settings, job_id), job_id)
        wanted = {"flink_taskmanager_job_task_operator_trendlab_posts", "flink_jobmanager_job_lastCheckpointDuration"}
        return names if wanted <= names else None

    flink = _wait("the job's trendlab counters and checkpoints on the Prometheus reporter", scraped, timeout=90, every=3)
    for name in ("flink_taskmanager_job_task_numRecordsInPerSecond", "flink_taskmanager_job_task_numRecordsOutPerSecond",
                 "flink_taskmanager_job_task_backPressuredTimeMsPerSecond",
                 "flink_taskmanager_job_task_operator_trendlab_malformed",
                 "flink_taskmanager_job_task_operator_trendlab_keywords"):
        assert name in flink, name
    text = _scrape_flink(settings, job_id)
    posts = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith("flink_taskmanager_job_task_operator_trendlab_posts{") and job_id in line)
    assert posts > 0
    service = _names(http.get("/metrics").text)
    available = flink | service
    panel_metrics = _dashboard_metrics()
    assert len(panel_metrics) >= 10
    missing = sorted(m for m in panel_metrics if m not in available)
    assert not missing, f"dashboard metrics that nothing serves: {missing}"


def test_stop_through_the_contract_and_no_restore_across_job_names(operated, trends):
    settings, _, job_id, http = operated
    r = http.post("/flink/stop", json={"savepoint": True}, headers=JSON_LOCAL)
    assert r.status_code == 200, r.text
    stopped = r.json()
    assert stopped["job_id"] == job_id and stopped["savepoint"].startswith(f"s3://{settings.minio_bucket}/savepoints/")
    assert http.post("/flink/stop", json={}, headers=JSON_LOCAL).status_code == 404  # nothing left running
    text = http.get("/metrics").text
    assert 'flink_job_duration_seconds_count{action="stop"} 1.0' in text

    from trendlab.service import create_app

    other = settings.replace(kafka_topic_posts=f"{settings.kafka_topic_posts}-other",
                             kafka_topic_trends=f"{settings.kafka_topic_trends}-other")
    from fastapi.testclient import TestClient

    client = TestClient(create_app(other, follow_trends=False))
    headers = {"Host": "localhost"}
    r = client.post("/flink/deploy", json={"from_savepoint": stopped["savepoint"]}, headers=headers)
    assert r.status_code == 422 and "is not a checkpoint or savepoint of a" in r.json()["error"], r.text
    r = client.post("/flink/deploy", json={"from_savepoint": "latest"}, headers=headers)
    assert r.status_code == 422 and "no completed checkpoint or savepoint" in r.json()["error"], r.text
    r = client.post("/flink/deploy", json={"from_savepoint": "file:///etc/passwd"}, headers=headers)
    assert r.status_code == 422
