"""The REST service, against nothing: addresses where nothing listens, or a socket that never answers."""

import asyncio
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient

from trendlab.config import Settings
from trendlab.errors import ConfigError
from trendlab.core.models import TrendAlert, format_time
from trendlab.service import create_app
from hung_server import HungServer
from waiting import free_port

TOKEN = "tok-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def settings():
    port = free_port()
    return Settings(flink_jobmanager_port=port, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
                    minio_endpoint=f"127.0.0.1:{free_port()}", minio_secret_key="s3cr3t-value-xyz",
                    api_token=TOKEN)


def app_client(settings, **kwargs) -> TestClient:
    return TestClient(create_app(settings, follow_trends=False), **kwargs)


@pytest.fixture()
def hung():
    server = HungServer()
    yield server
    server.close()


@pytest.fixture()
def hung_settings(hung):
    address = f"127.0.0.1:{hung.port}"
    return Settings(flink_jobmanager_port=hung.port, kafka_bootstrap_servers=address, minio_endpoint=address,
                    api_token=TOKEN)


# -- the contract ---------------------------------------------------------------------------------

def test_root_names_the_service_and_links_every_route(settings):
    client = app_client(settings)
    body = client.get("/").json()
    assert body["service"] == "trendlab" and body["version"]
    # the routes live in routers (an included router has no path of its own): the schema lists them all
    paths = {getattr(route, "path", None) for route in client.app.routes} | set(client.app.openapi()["paths"])
    for link in body["links"].values():
        assert link in paths, link


def test_live_and_config_masks_secrets(settings):
    client = app_client(settings)
    assert client.get("/health/live").json() == {"status": "ok"}
    config = client.get("/config").json()
    assert config["MINIO_SECRET_KEY"] == "***" and config["TRENDLAB_API_TOKEN"] == "***"
    assert "s3cr3t-value-xyz" not in client.get("/config").text


def test_health_reports_each_part_down(settings):
    response = app_client(settings).get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert {p: v["up"] for p, v in body["parts"].items()} == {"flink": False, "kafka": False, "minio": False}


@pytest.mark.parametrize("path", ["/flink/jobs", "/flink/status"])
def test_flink_down_is_a_one_line_502(settings, path):
    response = app_client(settings).get(path)
    assert response.status_code == 502
    error = response.json()["error"]
    assert "\n" not in error and str(settings.flink_jobmanager_port) in error


def test_metrics_have_the_five_names_and_count_requests(settings):
    client = app_client(settings)
    client.get("/health/live")
    text = client.get("/metrics").text
    assert "trendlab_flink_up 0.0" in text
    assert 'trendlab_http_requests_total{method="GET",route="/health/live",status="200"} 1.0' in text
    for name in ("flink_job_submissions_total", "flink_active_jobs", "flink_job_duration_seconds",
                 "trends_detected_total", "trend_processing_seconds"):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


def test_a_failed_deploy_is_counted_and_timed(settings):
    client = app_client(settings)
    assert client.post("/flink/deploy", json={"window": "5m"}, headers=AUTH).status_code == 502
    text = client.get("/metrics").text
    assert 'flink_job_submissions_total{result="failure"} 1.0' in text
    assert 'flink_job_submissions_total{result="success"} 0.0' in text
    assert 'flink_job_duration_seconds_count{action="deploy"} 1.0' in text


def test_bad_parameters_are_refused_naming_them(settings):
    client = app_client(settings)
    r = client.post("/flink/deploy", json={"window": "7m", "slide": "2m"}, headers=AUTH)
    assert r.status_code == 422 and "window (7m) must be a whole multiple of slide (2m)" in r.json()["error"]
    r = client.post("/flink/deploy", json={"params": {"threshold": 3}}, headers=AUTH)
    assert r.status_code == 422 and "unknown parameter 'threshold'" in r.json()["error"]
    r = client.post("/flink/deploy", json={"window": "5m"}, headers=AUTH)
    assert r.status_code == 502  # valid request, but no Flink to deploy to


# -- every error is {"error": …} --------------------------------------------------------------------

def test_404_405_422_are_error_objects(settings):
    client = app_client(settings)
    for response, status in [
        (client.get("/no/such/route"), 404),
        (client.delete("/health"), 405),
        (client.get("/trends?limit=abc"), 422),
        (client.post("/flink/deploy", json={"nope": 1}, headers=AUTH), 422),
        (client.post("/flink/deploy", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}), 422),
        (client.post("/flink/stop", json={"savepoint": "maybe"}, headers=AUTH), 422),
    ]:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"error"} and isinstance(body["error"], str) and "\n" not in body["error"], body


# -- authentication, authorization, limits --------------------------------------------------------

def test_mutations_need_the_token_before_their_body_is_read(settings):
    client = app_client(settings)
    assert client.post("/flink/deploy", json={}).status_code == 401
    assert client.post("/flink/stop", json={}).status_code == 401
    assert client.post("/flink/jobs/abc/stop", json={"savepoint": False}).status_code == 401
    # an invalid body does not tell an unauthenticated caller its field names
    r = client.post("/flink/deploy", json={"window": 5, "nope": [1]})
    assert r.status_code == 401 and "window" not in r.text and "nope" not in r.text
    # a token of the right length but wrong is still wrong (compared with hmac.compare_digest)
    r = client.post("/flink/deploy", json={}, headers={"Authorization": "Bearer tok-124"})
    assert r.status_code == 401
    r = client.post("/flink/deploy", json={}, headers={"Authorization": "Bearer tök-123".encode()})
    assert r.status_code == 401


def test_a_large_body_is_refused_before_it_is_read(settings):
    client = app_client(settings)
    big = b'{"params": {"x": "' + b"a" * (20 * 1024 * 1024) + b'"}}'
    r = client.post("/flink/deploy", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(200):
            yield b"a" * 4096

    r = client.post("/flink/deploy", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 413


# (a literal ".." is resolved by the HTTP client before it is sent; encoded, it reaches the service)
@pytest.mark.parametrize("job_id", ["%2e%2e", "%2E%2E%2F%2E%2E", "abc", "0" * 31 + "G", "0" * 33, "A" * 32])
def test_job_ids_must_be_32_hex(settings, job_id):
    client = app_client(settings)
    # with Flink down, a call that reached the Flink client would answer 502: 422 means it never did
    r = client.get(f"/flink/jobs/{job_id}")
    assert r.status_code in (404, 422) and set(r.json()) == {"error"}
    r = client.post(f"/flink/jobs/{job_id}/stop", json={"savepoint": False}, headers=AUTH)
    assert r.status_code in (404, 422) and set(r.json()) == {"error"}
    assert client.get("/flink/jobs/" + "0" * 32).status_code == 502


def test_the_flink_client_refuses_other_job_ids():
    from trendlab.errors import ConfigError
    from trendlab.flink.rest_client import FlinkClient

    with FlinkClient("http://127.0.0.1:9") as client:
        for bad in ("..", "%2e%2e", "", "a" * 31):
            with pytest.raises(ConfigError, match="32 hexadecimal"):
                client.cancel(bad)


@pytest.mark.parametrize("path", [
    "file:///etc/passwd", "s3://other-bucket/savepoints/savepoint-abcdef-0123456789ab",
    "s3://trendlab/checkpoints/../../etc", "s3://trendlab/elsewhere/chk-1", "hdfs://trendlab/checkpoints/x",
    "s3://trendlab/checkpoints/" + "a" * 32 + "/chk-1/../../" + "b" * 32 + "/chk-2",
])
def test_from_savepoint_stays_in_the_bucket(settings, path):
    r = app_client(settings).post("/flink/deploy", json={"from_savepoint": path}, headers=AUTH)
    assert r.status_code == 422, r.text  # 502 would mean it went on towards Flink
    assert "from_savepoint" in r.json()["error"]


def test_restore_paths_of_the_bucket_are_accepted_by_syntax():
    from trendlab.flink.restore import relative_restore_path

    s = Settings()
    assert relative_restore_path(s, "s3://trendlab/checkpoints/" + "a" * 32 + "/chk-12") == \
        "checkpoints/" + "a" * 32 + "/chk-12"
    assert relative_restore_path(s, "s3://trendlab/savepoints/savepoint-abcdef-0123456789ab/") == \
        "savepoints/savepoint-abcdef-0123456789ab"


def test_tokenless_mutations_need_loopback_json_and_an_allowed_host(settings):
    open_settings = settings.replace(api_token="")
    client = app_client(open_settings)
    local = {"Host": "127.0.0.1:8000"}
    # a cross-site form post: not JSON
    r = client.post("/flink/stop", data={"savepoint": "false"}, headers=local)
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    r = client.post("/flink/stop", content=b'{"savepoint": false}', headers={**local, "Content-Type": "text/plain"})
    assert r.status_code == 415
    # DNS rebinding: a foreign name for the loopback address
    r = client.post("/flink/stop", json={"savepoint": False}, headers={"Host": "evil.example:8000"})
    assert r.status_code == 403 and "evil.example" in r.json()["error"]
    # loopback + JSON + allowed Host: authorized (then Flink is down)
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
        assert client.post("/flink/stop", json={"savepoint": False}, headers={"Host": host}).status_code == 502
    # another machine
    remote = TestClient(create_app(open_settings, follow_trends=False), client=("10.1.2.3", 5555))
    r = remote.post("/flink/stop", json={"savepoint": False}, headers=local)
    assert r.status_code == 403 and "TRENDLAB_API_TOKEN" in r.json()["error"]


# -- probes ---------------------------------------------------------------------------------------

def test_health_against_hung_parts_probes_in_parallel_and_closes_every_connection(hung, hung_settings):
    client = app_client(hung_settings)
    client.app.state.probe.timeout = 0.5
    r = client.get("/health")
    assert r.status_code == 503
    parts = r.json()["parts"]
    assert all(not p["up"] and "no answer" in p["error"] for p in parts.values()), parts
    assert hung.peak == 3  # the three probes were waiting at the same time
    assert hung.wait_all_closed(), f"{hung.accepted - hung.closed} of {hung.accepted} probe connections left open"


def test_liveness_answers_while_health_waits_on_hung_parts(hung, hung_settings):
    app = create_app(hung_settings, follow_trends=False, probe_timeout=1.0)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            health = asyncio.ensure_future(client.get("/health"))
            await asyncio.sleep(0)
            while hung.accepted < 3:  # the probes are waiting on the hung socket
                await asyncio.sleep(0.01)
            live = await client.get("/health/live")
            still_waiting = not health.done()
            return live.status_code, still_waiting, (await health).status_code

    live_status, still_waiting, health_status = asyncio.run(scenario())
    assert live_status == 200 and still_waiting and health_status == 503


def test_a_stale_flink_snapshot_is_served_while_one_thread_refreshes_it(hung, hung_settings):
    """A scrape never waits on a hung Flink once a first snapshot exists: the stale one is returned while a
    single background poll runs, and the next scrape after it ends sees the new one."""
    from trendlab.service.metrics import FlinkWatch

    watch = FlinkWatch(hung_settings, max_age=0.0, timeout=0.5)
    first = watch.snapshot()  # the only call that waits for Flink
    assert not first.up and first.error
    accepted = hung.accepted
    during = [watch.snapshot() for _ in range(50)]  # stale: each returns at once; one refresh starts
    assert all(s is first for s in during)
    deadline = time.monotonic() + 10
    while watch._snapshot is first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hung.accepted == accepted + 1, "more than one refresh ran at a time"
    assert watch.snapshot() is not first


def _threads_and_fds() -> tuple[int, int]:
    return threading.active_count(), len(os.listdir("/proc/self/fd"))


def test_many_health_calls_against_hung_parts_leak_nothing(hung, hung_settings):
    """Concurrent /health calls share one round of probes; threads and descriptors come back."""
    app = create_app(hung_settings, follow_trends=False, probe_timeout=0.3)

    async def burst(n: int, concurrency: int) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            gate = asyncio.Semaphore(concurrency)

            async def one():
                async with gate:
                    return (await client.get("/health")).status_code

            return await asyncio.gather(*(one() for _ in range(n)))

    asyncio.run(burst(5, 5))  # warm-up: imports, the first loop's resources
    assert hung.wait_all_closed()
    before = _threads_and_fds()
    statuses = asyncio.run(burst(200, 50))
    assert set(statuses) == {503}
    assert hung.wait_all_closed(), f"{hung.accepted - hung.closed} probe connections left open"
    after = _threads_and_fds()
    assert after[0] <= before[0] and after[1] <= before[1], f"threads/fds before {before}, after {after}"
    assert app.state.probe.rounds < 200 / 10  # shared rounds, not one per call


# -- live trends ----------------------------------------------------------------------------------

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def alert(keyword, end_min, count=9, authors=6, trend=None, related=(), language="en") -> TrendAlert:
    end = T0 + timedelta(minutes=end_min)
    return TrendAlert(keyword=keyword, window_start=end - timedelta(minutes=10), window_end=end, count=count,
                      unique_authors=authors, baseline=0.5, score=7.5, related_keywords=list(related),
                      language=language, trend=trend)


def count(keyword, end_min, n, authors) -> bytes:
    end = T0 + timedelta(minutes=end_min)
    return (f'{{"keyword": "{keyword}", "normalized_keyword": "{keyword}", "window_start": '
            f'"{format_time(end - timedelta(minutes=10))}", "window_end": "{format_time(end)}", '
            f'"count": {n}, "unique_authors": {authors}}}').encode()


def test_a_trend_is_served_by_its_topic_and_display_name(settings):
    """Issue 20: a trend named by its phrase on /trends and getTrends (topic, displayName, link)."""
    client = app_client(settings)
    board = client.app.state.board
    first = alert("hegseth", 30, related=["signal"])
    first.topic, first.display_name = "hegseth", "Hegseth"
    later = alert("war plans", 31, trend="hegseth", related=["hegseth", "signal"])
    later.topic, later.display_name = "war plans", "War Plans"
    for a in (first, later):
        board.add_record("alerts", a.to_json().encode())
    [row] = client.get("/trends").json()["trends"]
    assert (row["topic"], row["display_name"], row["trend"]) == ("war plans", "War Plans", "hegseth")
    [view] = client.get("/xrpc/app.bsky.unspecced.getTrends").json()["trends"]
    assert view["topic"] == "war plans" and view["displayName"] == "War Plans"
    assert view["link"].endswith("war%20plans")


def test_trends_follow_alerts_and_counts_and_expire(settings):
    client = app_client(settings)
    board = client.app.state.board
    board.add_record("alerts", alert("#eclipse", 30, related=["totality"]).to_json().encode())
    board.add_record("alerts", alert("totality", 31, trend="#eclipse").to_json().encode())
    board.add_record("counts", count("#eclipse", 32, 20, 11))
    board.add_record("counts", count("unrelated", 32, 50, 40))  # not trending: not on the board
    board.add_record("counts", b"{broken")
    body = client.get("/trends").json()
    assert body["stream_time"] == format_time(T0 + timedelta(minutes=32)) and body["malformed"] == 1
    [trend] = body["trends"]
    assert trend["topic"] == "#eclipse" and trend["keywords"] == ["#eclipse", "totality"]
    assert trend["related_keywords"] == []  # "totality" alerted itself
    assert (trend["count"], trend["unique_authors"], trend["status"]) == (20, 11, "hot")
    assert trend["started_at"] == format_time(T0 + timedelta(minutes=20))

    board.add_record("counts", count("#eclipse", 45, 5, 4))
    assert client.get("/trends").json()["trends"][0]["status"] == "cooling"
    board.add_record("counts", count("other", 90, 1, 1))  # the stream moves on: 3 window lengths later
    assert client.get("/trends").json()["trends"] == []
    text = client.get("/metrics").text
    assert "trends_detected_total 2.0" in text and "trend_processing_seconds_count 2.0" in text


def test_get_trends_has_the_lexicon_shape(settings):
    client = app_client(settings)
    board = client.app.state.board
    for i, word in enumerate(["#one", "two words?", "#three"]):
        board.add_alert(alert(word, 30 + i, count=10 + i))
    body = client.get("/xrpc/app.bsky.unspecced.getTrends", params={"limit": 2}).json()
    assert set(body) == {"trends"} and len(body["trends"]) == 2
    for view in body["trends"]:
        assert {"topic", "displayName", "link", "startedAt", "postCount", "actors"} <= set(view)
        assert isinstance(view["postCount"], int) and view["status"] == "hot" and view["category"] == "other"
        assert view["language"] == "en"  # the language has its own field (issue 23)
        assert view["startedAt"].endswith("Z") and view["link"].startswith("https://bsky.app/search?q=")
    assert body["trends"][0]["topic"] == "#three"
    assert "two%20words%3F" in client.get("/xrpc/app.bsky.unspecced.getTrends").text
    r = client.get("/xrpc/app.bsky.unspecced.getTrends", params={"limit": 26})
    assert r.status_code == 400 and r.json()["error"] == "InvalidRequest"


def test_the_board_is_bounded_evicts_the_least_recently_updated_and_counts_it(settings):
    """200,000 distinct alerts keep at most TRENDLAB_BOARD_MAX_TRENDS trends (and their keywords); the
    evictions are on /metrics; a trend kept alive by its counts survives, the stalest goes first."""
    client = app_client(settings.replace(board_max_trends=100))
    board = client.app.state.board
    board.add_alert(alert("#keeper", 30, count=500))
    for i in range(200_000):
        board.add_alert(alert(f"word{i}", 30 + i // 10_000, count=10, related=[f"rel{i}"]))
        if i % 50 == 0:
            board.add_record("counts", count("#keeper", 30 + i // 10_000, 500, 300))  # kept fresh
    assert len(board) == 100 and len(board._by_keyword) <= 100 and len(board._latest) <= 100
    body = client.get("/trends", params={"limit": 500}).json()
    assert body["alerts_seen"] == 200_001 and body["trends_kept"] == 100 and body["evicted"] == 200_001 - 100
    topics = [t["topic"] for t in body["trends"]]
    assert len(topics) == 100 and topics[-1] == "#keeper"  # kept by its counts; cooling: last
    assert set(topics[:-1]) == {f"word{i}" for i in range(200_000 - 99, 200_000)}  # the newest
    text = client.get("/metrics").text
    assert f"trendlab_board_evicted_total {200_001 - 100}.0" in text and "trendlab_board_trends 100.0" in text
    # one trend's keywords and related words are bounded too
    for i in range(500):
        board.add_alert(alert(f"kw{i}", 50, trend="#big", related=[f"r{i}"]))
    big = next(t for t in board.current() if t["topic"] == "#big")
    assert len(big["keywords"]) == 50 and len(big["related_keywords"]) == 10
    assert len(board._trends["#big"].related) <= 60
    with pytest.raises(ConfigError, match="TRENDLAB_BOARD_MAX_TRENDS"):
        Settings(board_max_trends=0)


def test_live_page_is_served_with_a_strict_policy(settings):
    client = app_client(settings)
    page = client.get("/trends/live")
    assert page.status_code == 200 and 'id="trends"' in page.text and '<script src="/trends/live.js">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/trends/live.js")
    assert "textContent" in script.text and "innerHTML" not in script.text


def test_links_have_a_board_of_their_own(settings):
    """Issue 23: /trends serves topics, /trends?kind=link the trending links; getTrends topics only."""
    client = app_client(settings)
    board = client.app.state.board
    link = alert("https://news.example/story", 31, count=12)
    link.kind, link.topic, link.display_name = "link", "https://news.example/story", "https://news.example/story"
    board.add_record("alerts", alert("#eclipse", 30).to_json().encode())
    board.add_record("alerts", link.to_json().encode())
    assert [t["topic"] for t in client.get("/trends").json()["trends"]] == ["#eclipse"]
    [row] = client.get("/trends", params={"kind": "link"}).json()["trends"]
    assert (row["topic"], row["kind"]) == ("https://news.example/story", "link")
    assert {t["kind"] for t in client.get("/trends", params={"kind": "all"}).json()["trends"]} == {"topic", "link"}
    assert [v["topic"] for v in client.get("/xrpc/app.bsky.unspecced.getTrends").json()["trends"]] == ["#eclipse"]
    r = client.get("/trends", params={"kind": "urls"})
    assert r.status_code == 422 and r.json()["error"] == "kind must be one of topic, link, all, got 'urls'"
