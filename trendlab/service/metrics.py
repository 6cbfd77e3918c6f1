"""The service's Prometheus registry: the original service's five metrics plus trendlab's own.

=================================  ========================================================================
``flink_job_submissions_total``    deploys through this service, by ``result`` (``success``/``failure``)
``flink_active_jobs``              RUNNING trendlab jobs on the cluster
``flink_job_duration_seconds``     how long a deploy (submission until its tasks run) or a stop took, by ``action``
``trends_detected_total``          trend alerts seen on the alerts topic (``TRENDLAB_TOPIC_ALERTS``)
``trend_processing_seconds``       from an alert's window end to the service seeing the alert (event time to
                                   wall clock: meaningful for live streams; a replayed old stream shows its age)
``trendlab_flink_up``              1 when Flink's REST API answered the last poll
``trendlab_flink_jobs``            jobs by state; ``trendlab_flink_job_running_seconds`` run time of running jobs
``trendlab_flink_last_checkpoint_timestamp_seconds``  latest completed checkpoint of each running job
``trendlab_late_posts_total``     posts each running trendlab job received after their first window had closed
                                  (not counted in any window; sent whole to ``TRENDLAB_TOPIC_LATE``), from the
                                  job's ``trendlab.late_posts`` counter
``trendlab_http_requests_total``, ``trendlab_http_request_seconds``  requests by route and status, latency
``trendlab_board_evicted_total``   trends evicted from the trend board to keep it within ``TRENDLAB_BOARD_MAX_TRENDS``
``trendlab_board_trends``          trends on the board now
``trendlab_deploy_conflicts_total``  deploys and stops refused (409) because another one was in progress or a
                                   trendlab job of the same topics was running, by ``action``
=================================  ========================================================================

Flink is asked at most every :data:`FLINK_POLL_S` seconds (:class:`FlinkWatch`), by one background thread
at a time, with a short timeout; a scrape takes the snapshot there is: ``/metrics`` stays fast when Flink
hangs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from trendlab.config import Settings
from trendlab.flink.rest_client import CheckpointInfo, FlinkClient, FlinkError, JobInfo

#: the job's counter of late posts (trendlab/flink/alerts.py), one per post
LATE_POSTS_METRIC = "trendlab.late_posts"
FLINK_POLL_S = 5.0
FLINK_TIMEOUT_S = 2.0
TRENDLAB_JOB_PREFIX = "trendlab"
PROCESSING_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800, 3600, 6 * 3600, 86400)
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


@dataclass
class FlinkSnapshot:
    up: bool = False
    jobs: list[JobInfo] = field(default_factory=list)
    checkpoints: dict[str, CheckpointInfo] = field(default_factory=dict)
    late_posts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    at: float = 0.0


class FlinkWatch:
    """Flink's jobs and their latest checkpoints, polled on demand at most every ``max_age`` seconds."""

    def __init__(self, settings: Settings, max_age: float = FLINK_POLL_S, timeout: float = FLINK_TIMEOUT_S) -> None:
        self.settings = settings
        self.max_age = max_age
        self.timeout = timeout
        self._lock = threading.Lock()
        self._snapshot: FlinkSnapshot | None = None

    def snapshot(self) -> FlinkSnapshot:
        """The latest snapshot. Only the very first call waits for Flink (at most ``timeout``); a stale one
        is returned as it is while one background thread refreshes it, so a scrape never waits on a hung
        Flink."""
        current = self._snapshot
        if current is None:
            with self._lock:
                if self._snapshot is None:
                    self._snapshot = self._poll()
                return self._snapshot
        if time.monotonic() - current.at >= self.max_age and self._lock.acquire(blocking=False):
            threading.Thread(target=self._refresh, name="flink-watch", daemon=True).start()
        return current

    def _refresh(self) -> None:
        try:
            self._snapshot = self._poll()
        finally:
            self._lock.release()

    def _poll(self) -> FlinkSnapshot:
        snap = FlinkSnapshot()
        try:
            with FlinkClient.from_settings(self.settings, timeout=self.timeout) as client:
                snap.jobs = client.jobs()
                for job in snap.jobs:
                    if job.state == "RUNNING":
                        cp = client.latest_checkpoint(job.id)
                        if cp is not None:
                            snap.checkpoints[job.id] = cp
                        if job.name.startswith(TRENDLAB_JOB_PREFIX):
                            snap.late_posts[job.id] = client.counter_total(job.id, LATE_POSTS_METRIC)
            snap.up = True
        except FlinkError as exc:
            snap.error = str(exc)
        snap.at = time.monotonic()
        return snap


class FlinkCollector:
    def __init__(self, watch: FlinkWatch) -> None:
        self.watch = watch

    def collect(self):
        snap = self.watch.snapshot()
        up = GaugeMetricFamily("trendlab_flink_up", "1 when the Flink REST API answers")
        up.add_metric([], 1 if snap.up else 0)
        yield up
        active = GaugeMetricFamily("flink_active_jobs", "RUNNING trendlab jobs on the Flink cluster")
        by_state = GaugeMetricFamily("trendlab_flink_jobs", "Flink jobs by state", labels=["state"])
        running = GaugeMetricFamily("trendlab_flink_job_running_seconds", "run time of each running job",
                                    labels=["job_id", "job_name"])
        checkpoint = GaugeMetricFamily(
            "trendlab_flink_last_checkpoint_timestamp_seconds",
            "trigger time of the latest completed checkpoint of each running job", labels=["job_id", "job_name"],
        )
        late = CounterMetricFamily(
            "trendlab_late_posts", "posts a running job received after their first window had closed "
            "(counted in no window, sent to TRENDLAB_TOPIC_LATE)", labels=["job_id", "job_name"])
        states: dict[str, int] = {}
        now_ms = time.time() * 1000
        n_active = 0
        for job in snap.jobs:
            states[job.state] = states.get(job.state, 0) + 1
            if job.state == "RUNNING":
                n_active += job.name.startswith(TRENDLAB_JOB_PREFIX)
                if job.start_time:
                    running.add_metric([job.id, job.name], max(0.0, (now_ms - job.start_time) / 1000))
                cp = snap.checkpoints.get(job.id)
                if cp is not None and cp.trigger_timestamp:
                    checkpoint.add_metric([job.id, job.name], cp.trigger_timestamp / 1000)
                if job.id in snap.late_posts:
                    late.add_metric([job.id, job.name], snap.late_posts[job.id])
        if snap.up:
            active.add_metric([], n_active)
        for state, n in sorted(states.items()):
            by_state.add_metric([state], n)
        yield active
        yield by_state
        yield running
        yield checkpoint
        yield late


class ServiceMetrics:
    """Every metric of one app, in its own registry (several apps in one process do not collide)."""

    def __init__(self, watch: FlinkWatch) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter("trendlab_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=registry)
        self.latency = Histogram("trendlab_http_request_seconds", "HTTP request latency", ["route"], registry=registry)
        self.submissions = Counter("flink_job_submissions", "trendlab job submissions through this service",
                                   ["result"], registry=registry)
        for result in ("success", "failure"):
            self.submissions.labels(result)
        self.job_duration = Histogram("flink_job_duration_seconds",
                                      "duration of a job submission (until its tasks run) or of a stop",
                                      ["action"], buckets=DURATION_BUCKETS, registry=registry)
        self.trends_detected = Counter("trends_detected", "trend alerts seen on the alerts topic", registry=registry)
        self.trend_processing = Histogram("trend_processing_seconds",
                                          "seconds from an alert's window end to the service seeing it",
                                          buckets=PROCESSING_BUCKETS, registry=registry)
        self.board_evicted = Counter("trendlab_board_evicted", "trends evicted from the trend board to keep it "
                                     "within TRENDLAB_BOARD_MAX_TRENDS", registry=registry)
        self.board_trends = Gauge("trendlab_board_trends", "trends on the trend board", registry=registry)
        self.deploy_conflicts = Counter("trendlab_deploy_conflicts", "deploys and stops refused (409): another "
                                        "was in progress or a trendlab job of the same topics runs", ["action"],
                                        registry=registry)
        for action in ("deploy", "stop"):
            self.deploy_conflicts.labels(action)
        self.moderation_decisions = Counter("trendlab_moderation_decisions", "moderators' decisions through this "
                                            "service", ["decision"], registry=registry)
        for decision in ("approved", "rejected"):
            self.moderation_decisions.labels(decision)
        registry.register(FlinkCollector(watch))
