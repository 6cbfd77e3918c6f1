"""``trendlab jetstream ingest`` on the real stack with decompression bombs among the events (issue 21).

A 200 MB and two 1 GB zstd frames (one claiming its size in the header, one not) arrive between good
events. Each becomes one dead letter with the reason, every post around them reaches the posts topic
once, and the ingester's peak RSS (a child process, the kernel's high-water mark) stays within 100 MB
of the same ingestion without the bombs — the cap's cost, not the bomb's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import orjson
import pytest
from jetstream_server import Faults, JetstreamServer, bomb_frame
from peak_rss import run_with_peak_rss
from test_flink_deployed import job_settings  # noqa: F401
from test_jetstream_ingest import assert_every_post_once, ingest_settings, topic_records  # noqa: F401

from trendlab.config import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "small" / "posts.jsonl"
POSTS = ["app.bsky.feed.post"]


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, **settings.to_env()}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_ingest_turns_200mb_and_1gb_bombs_into_dead_letters_in_bounded_memory(ingest_settings):
    from trendlab.jetstream.ingest import cursor_topic_for
    from trendlab.kafka import delete_topics
    from trendlab.core.models import PostData
    from trendlab.core.parse import MessageParser

    settings, _ = ingest_settings
    lines = SAMPLE.read_bytes().splitlines()
    bombs = {100: [bomb_frame(200 << 20, head=lines[0])],
             900: [bomb_frame(1 << 30, content_size=False, head=lines[1]), bomb_frame(1 << 30, head=lines[2])]}
    parse = MessageParser()
    expected_posts = [line for line in lines if parse(line).__class__ is PostData]
    baseline_topic = settings.kafka_topic_posts + "-baseline"
    peaks = {}
    try:
        for name, faults, topic in [("baseline", Faults(), baseline_topic),
                                    ("bombs", Faults(bad_frames_at=bombs), settings.kafka_topic_posts)]:
            with JetstreamServer(SAMPLE, faults=faults) as server:
                events = len(server.expected(POSTS))
                done = run_with_peak_rss([sys.executable, "-m", "trendlab.cli", "jetstream", "ingest", "--url",
                                          server.url, "--topic", topic, "--max-events", str(events),
                                          "--metrics-port", "0", "--progress", "0"], env=_env(settings), timeout=240)
            assert done.returncode == 0, done.stderr[-3000:]
            peaks[name] = done.peak_mb
    finally:
        delete_topics(settings, [baseline_topic, cursor_topic_for(baseline_topic)])
    assert "3 bad frames" in done.stderr and "3 dead letters" in done.stderr, done.stderr[-2000:]
    assert_every_post_once(settings, expected_posts)  # every good post around the bombs, once
    dead = [orjson.loads(r.value) for r in topic_records(settings, settings.kafka_topic_dead_letter)]
    assert len(dead) == 3, [d["error"] for d in dead]
    assert all(d["error"].startswith("bad Jetstream frame (size): zstd frame of") and
               "more than the 262,144-byte limit (TRENDLAB_MAX_MESSAGE_BYTES" in d["error"] for d in dead)
    assert sorted("claims no size" in d["error"] for d in dead) == [False, False, True]
    print(f"ingest peak RSS: {peaks['baseline']:.0f} MB without bombs, {peaks['bombs']:.0f} MB with a 200 MB "
          f"and two 1 GB bombs")
    assert peaks["bombs"] - peaks["baseline"] < 100, peaks
