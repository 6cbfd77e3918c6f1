"""The job's event time (SQL, :func:`trendlab.flink.sql.payload_event_ms`) equals the event-time policy of
:mod:`trendlab.core.parse` on a table of hostile cases, run in a PyFlink table environment (no cluster).

The job's windows and watermark use the SQL; replay uses the parser. For every message the parser
accepts as a post, the SQL must give the same event time (ms); for every message whose event time the
parser refuses (out of bounds, unreadable, a string or float ``time_us``, over the size cap, not JSON),
the SQL must give none (NULL: such a message never moves the watermark).
"""

from __future__ import annotations

import time

import orjson
import pytest

from trendlab.flink import sql
from trendlab.core.models import PostData
from trendlab.core.parse import BLUESKY_START_US, DeadLetter, Limits, parse_message

pytest.importorskip("pyflink")

NOW_US = time.time_ns() // 1000
T = 1_739_131_201_084_477  # 2025-02-09T20:00:01.084477Z
LIMITS = Limits()


def jet(time_us=..., created_at=..., text="zebras and lions", **extra) -> bytes:
    record = {"$type": "app.bsky.feed.post", "text": text}
    if created_at is not ...:
        record["createdAt"] = created_at
    event = {"did": "did:plc:abc", "kind": "commit",
             "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "r1", "record": record},
             **extra}
    if time_us is not ...:
        event["time_us"] = time_us
    return orjson.dumps(event)


def flat(created_at=..., time_us=...) -> bytes:
    post = {"uri": "at://did:plc:abc/app.bsky.feed.post/r1", "author_did": "did:plc:abc", "text": "zebras and lions"}
    if created_at is not ...:
        post["created_at"] = created_at
    if time_us is not ...:
        post["time_us"] = time_us
    return orjson.dumps(post)


CASES: dict[str, bytes] = {
    "time_us": jet(T),
    "time_us and createdAt disagree (time_us wins)": jet(T, "2024-01-01T00:00:00Z"),
    "time_us with a bad createdAt": jet(T, "0001-01-01T00:00:00+01:00"),
    "time_us null, createdAt Z": jet(None, "2025-02-09T19:59:58.895Z"),
    "missing time_us, createdAt Z": jet(created_at="2025-02-09T19:59:58.895Z"),
    "createdAt with offset": jet(created_at="2025-02-09T21:59:58.123456+02:00"),
    "createdAt negative offset": jet(created_at="2025-02-09T19:59:58-05:30"),
    "createdAt naive (UTC)": jet(created_at="2025-02-09T19:59:58"),
    "createdAt lower-case z": jet(created_at="2025-02-09t19:59:58.5z"),
    "createdAt space separator": jet(created_at="2025-02-09 19:59:58Z"),
    "createdAt with surrounding spaces": jet(created_at="  2025-02-09T19:59:58Z "),
    "createdAt 9 fraction digits": jet(created_at="2025-02-09T19:59:58.123456789Z"),
    "createdAt Feb 30": jet(created_at="2025-02-30T10:00:00Z"),
    "createdAt month 13": jet(created_at="2025-13-01T10:00:00Z"),
    "createdAt leap second": jet(created_at="2016-12-31T23:59:60Z"),
    "createdAt not a time": jet(created_at="yesterday"),
    "createdAt a number": jet(created_at=1739131201),
    "createdAt 0001 +01:00": jet(created_at="0001-01-01T00:00:00+01:00"),
    "createdAt 9999 -23:59": jet(created_at="9999-12-31T23:59:59-23:59"),
    "createdAt before Bluesky": jet(created_at="2019-06-01T00:00:00Z"),
    "createdAt a day ahead": jet(created_at="2999-01-01T00:00:00Z"),
    "no time at all": jet(),
    "time_us a string": jet(str(T)),
    "time_us a float": jet(float(T)),
    "time_us 1.5e15": b'{"did":"did:plc:abc","time_us":1.5e15,"kind":"commit","commit":{"operation":"create",'
                      b'"collection":"app.bsky.feed.post","rkey":"r","record":{"text":"zebras"}}}',
    "time_us true": jet(True),
    "time_us negative": jet(-5),
    "time_us 0": jet(0),
    "time_us before Bluesky": jet(BLUESKY_START_US - 1),
    "time_us at Bluesky's start": jet(BLUESKY_START_US),
    "time_us 2^64-1": jet(2**64 - 1),
    "time_us 2^63": jet(2**63),
    "time_us year 3000": jet(32_503_680_000_000_000),
    "time_us a year ahead": jet(NOW_US + 365 * 86_400_000_000),
    "time_us 1 min ahead (within max_future_s)": jet(NOW_US + 60_000_000),
    "time_us 20 min ahead": jet(NOW_US + 1_200_000_000),
    "time_us duplicated key (last wins)": jet(T)[:-1] + b',"time_us":' + str(T + 5_000_000).encode() + b"}",
    "byte-order mark": b"\xef\xbb\xbf" + jet(T),
    "flat PostData, created_at": flat("2025-02-09T19:59:58.895Z"),
    "flat PostData, time_us": flat("2025-02-09T19:59:58Z", T),
    "flat PostData, bad created_at": flat("nope"),
    "flat PostData, no time": flat(),
    "non-post event with time_us": b'{"did":"did:plc:abc","time_us":%d,"kind":"identity","identity":{}}' % T,
    "over the size cap": jet(T, text="word " * 60_000),
    "just over the size cap, multi-byte": jet(T, text="é" * 131_010),
    "just under the size cap, multi-byte": jet(T, text="é" * 130_990),
    "not JSON": b'{"kind": "commit", "did": "broken',
    "JSON array": b"[1, 2, 3]",
    "JSON string": b'"text"',
    "empty": b"",
}


def policy_ms(message: bytes) -> int | None:
    """The parser's event time of a post (ms), ``None`` for a message whose event time it refuses; a
    non-post event or a message refused for another reason: ``...`` (any SQL time is fine)."""
    outcome = parse_message(message, LIMITS)
    if isinstance(outcome, PostData):
        return outcome.event_time_us // 1000
    if isinstance(outcome, DeadLetter):
        if "event time" in outcome.reason or "time_us" in outcome.reason or "createdAt" in outcome.reason \
                or "created_at" in outcome.reason or "limit" in outcome.reason or "JSON" in outcome.reason \
                or "empty" in outcome.reason:
            return None
    return ...


@pytest.fixture(scope="module")
def sql_event_ms() -> dict[str, int | None]:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("table.local-time-zone", "UTC")
    t_env.get_config().set("parallelism.default", "1")
    from pyflink.table import DataTypes

    names = list(CASES)
    table = t_env.from_elements([(i, bytearray(CASES[n])) for i, n in enumerate(names)],
                                DataTypes.ROW([DataTypes.FIELD("id", DataTypes.INT()),
                                               DataTypes.FIELD("message", DataTypes.BYTES())]))
    t_env.create_temporary_view("cases", table)
    bounds = sql.EventTimeBounds.of(LIMITS)
    query = f"SELECT id, {sql.payload_event_ms(bounds)} AS event_ms FROM cases"
    with t_env.execute_sql(query).collect() as results:
        got = {names[row[0]]: row[1] for row in results}
    assert len(got) == len(names)
    return got


@pytest.mark.parametrize("case", list(CASES))
def test_sql_event_time_equals_the_policy(case, sql_event_ms):
    expected = policy_ms(CASES[case])
    if expected is ...:
        return  # not a post and not refused for its time: the SQL's answer does not decide anything
    assert sql_event_ms[case] == expected, (case, parse_message(CASES[case], LIMITS))


def test_the_cases_cover_both_outcomes(sql_event_ms):
    outcomes = [policy_ms(m) for m in CASES.values()]
    assert sum(isinstance(o, int) for o in outcomes) >= 15
    assert sum(o is None for o in outcomes) >= 20
    assert sql_event_ms["non-post event with time_us"] == T // 1000  # the watermark event of advance_watermark


def test_the_table_function_dead_letters_a_post_the_source_timed_differently():
    """A post whose source time is missing or differs from the policy's is a dead letter with a reason,
    never counted at a wrong time; with the source's time it counts (with and without the kernels)."""
    from trendlab.core.extract import KeywordExtractor
    from trendlab.flink.udfs import ExtractKeywords, native_parser

    raw = CASES["time_us"]
    for kernel in (False, True):
        udtf = ExtractKeywords(KeywordExtractor(), LIMITS)
        udtf._native = native_parser(udtf.extractor, LIMITS) if kernel else None
        counted = udtf._rows(raw, T // 1000)
        assert counted[-1][0] == "" and all(r[6] is None for r in counted)  # error: column 6
        # the kernel's fast path trusts a source time (the SQL is held equal above); without one it defers
        checks = [(None, "no usable event time")] + ([] if kernel else [(T // 1000 + 1, f"event time {T // 1000 + 1} ms")])
        for source_ms, phrase in checks:
            rows = udtf._rows(raw, source_ms)
            assert len(rows) == 1 and rows[0][0] is None and phrase in rows[0][6] and "not counted" in rows[0][6]
        assert udtf._rows(None, None)[0][6] == "message is empty (null)"  # a tombstone
        assert udtf._rows(CASES["non-post event with time_us"], None) == []
