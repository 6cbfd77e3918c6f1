"""Trend detection inside the job: window counts → :class:`~trendlab.core.detect.TrendDetector` → alerts.

Window counts are few (one row per keyword and window), so this part is plain Python with
parallelism 1. :class:`DetectTrends` is keyed by a constant; each count row arrives with its window's
rowtime (``window_end - 1 ms``) and is buffered in Flink state under its window end. An event-time timer
at that rowtime fires once the watermark has passed it — after the window operator has emitted every
row of that window — and the detector sees the whole window at once, in window order.

Both the pending rows and the detector's state live in Flink state (``MapState`` / ``ValueState``), so a
restore from a checkpoint or savepoint resumes detection exactly where it was.
"""

from __future__ import annotations

import orjson
from pyflink.common import Row, Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor

from trendlab.core.detect import DetectionParams, TrendDetector
from trendlab.core.cooccur import SKETCH_COLUMNS
from trendlab.flink.sql import VOLUME_KEY
from trendlab.core.models import WindowedKeywordCount, micros_to_datetime


#: the hub's columns (trendlab.flink.sql.HUB_COLUMNS) this function reads: rows arrive with their field
#: names and are read by name (tests/unit/test_flink_sql.py checks the hub gives each)
READ_COLUMNS = ("keyword", "count", "unique_authors", "unique_contents", "error", "late_message", *SKETCH_COLUMNS)


class DetectTrends(KeyedProcessFunction):
    """Input: rows of the job's output stream (count rows have rowtime ``window_end - 1``); output: TrendAlert JSON.
    Dead letters are skipped; late posts are counted (``trendlab.late_posts``, one per post)."""

    def __init__(self, params: DetectionParams) -> None:
        self.params = params
        self._pending = None
        self._detector_state = None
        self._detector: TrendDetector | None = None
        self._alerts = None
        self._late_posts = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self._pending = runtime_context.get_map_state(
            MapStateDescriptor("pending_window_counts", Types.LONG(), Types.PICKLED_BYTE_ARRAY())
        )
        self._detector_state = runtime_context.get_state(
            ValueStateDescriptor("trend_detector", Types.PICKLED_BYTE_ARRAY())
        )
        try:
            group = runtime_context.get_metrics_group().add_group("trendlab")
            self._alerts = group.counter("alerts")
            # posts that came after their first window had closed (trendlab.flink.sql.late_flag): counted
            # here, once per post, and sent whole to the late-posts sink (TRENDLAB_TOPIC_LATE)
            self._late_posts = group.counter("late_posts")
        except Exception:
            self._alerts = self._late_posts = None

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context):
        # a row of the job's output stream (trendlab.flink.sql.HUB_COLUMNS), read by field name; dead
        # letters are skipped
        if value["error"] is not None:
            return iter(())
        if value["late_message"] is not None:
            if self._late_posts is not None:
                self._late_posts.inc()
            return iter(())
        window_end_ms = ctx.timestamp() + 1
        rows = self._pending.get(window_end_ms)
        if rows is None:
            rows = []
            ctx.timer_service().register_event_time_timer(window_end_ms - 1)
        sketch = None if value[SKETCH_COLUMNS[0]] is None else tuple(int(value[c]) for c in SKETCH_COLUMNS)
        rows.append((value["keyword"], int(value["count"]), int(value["unique_authors"]), int(value["unique_contents"]),
                     sketch))
        self._pending.put(window_end_ms, rows)
        return iter(())

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        window_end_ms = timestamp + 1
        rows = self._pending.get(window_end_ms) or []
        self._pending.remove(window_end_ms)
        detector = self._load_detector()
        spec = self.params.spec
        start = micros_to_datetime((window_end_ms - spec.window_ms) * 1000)
        end = micros_to_datetime(window_end_ms * 1000)
        volume = sum(r[2] for r in rows if r[0] == VOLUME_KEY)  # the volume row's distinct authors
        counts = [
            WindowedKeywordCount(keyword=k, count=c, window_start=start, window_end=end, unique_authors=a,
                                 unique_contents=u, sketch=sk)
            for k, c, a, u, sk in sorted(rows, key=lambda r: r[0]) if k != VOLUME_KEY
        ]
        alerts = detector.process_window(window_end_ms, counts, volume)
        self._detector_state.update(detector.snapshot())
        for alert in alerts:
            if self._alerts is not None:
                self._alerts.inc()
            yield orjson.dumps(alert.to_dict()).decode()

    def _load_detector(self) -> TrendDetector:
        # The in-memory detector is a cache of the checkpointed snapshot; after a restore it is rebuilt.
        if self._detector is None:
            snapshot = self._detector_state.value()
            self._detector = (
                TrendDetector.restore(self.params, snapshot) if snapshot else TrendDetector(self.params)
            )
        return self._detector


def alert_stream(outputs, params: DetectionParams):
    """``outputs``: the job's output stream (:func:`trendlab.flink.sql.hub_query`) with its rowtimes."""
    return (
        outputs.key_by(lambda row: 0, key_type=Types.INT())
        .process(DetectTrends(params), output_type=Types.STRING())
        .name("detect trends")
        .uid("detect-trends")
        .set_parallelism(1)
    )
