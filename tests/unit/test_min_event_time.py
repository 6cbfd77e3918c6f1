"""Older data on request (issue 19, point 5): event times before Bluesky existed are dead letters by
default; ``TRENDLAB_MIN_EVENT_TIME`` / ``--min-event-time`` move that bound, in the Python parser, in
the compiled kernels' Scanner and Parser, on every command that reads posts and in the deployed
job's settings. A bad value is one line naming the flag or variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pandas as pd
import pytest

from trendlab.config import Settings
from trendlab.errors import ConfigError
from trendlab.core.extract import KeywordExtractor
from trendlab.core.kernels import native_module
from trendlab.core.models import PostData
from trendlab.core.parse import (BLUESKY_START_US, DeadLetter, Limits, MessageParser,
                                 min_event_time_us)
from trendlab.replay import replay
from trendlab.env_defaults import limits_from_flags, parser_limits

T2015_US = int(datetime(2015, 2, 20, 9, 0, tzinfo=timezone.utc).timestamp()) * 1_000_000
OLD = "2006-01-01"


def jet(i: int, text: str, time_us: int) -> dict:
    return {"did": f"did:plc:a{i % 7}", "time_us": time_us, "kind": "commit",
            "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"r{i}",
                       "record": {"text": text, "createdAt": "2015-02-20T09:00:00Z", "langs": ["en"]}}}


def flat(i: int, text: str, created: str) -> dict:
    return {"uri": f"at://did:plc:f{i}/app.bsky.feed.post/{i}", "author_did": f"did:plc:f{i % 5}", "text": text,
            "created_at": created, "langs": ["en"]}


@pytest.fixture()
def airline_2015(tmp_path: Path) -> Path:
    """Forty posts from February 2015: thirty Jetstream events (time_us) and ten flat PostData lines
    (created_at), over ten minutes."""
    lines = [jet(i, f"flight delayed again at gate {i % 3} airline", T2015_US + i * 20_000_000) for i in range(30)]
    lines += [flat(i, "lost luggage airline", f"2015-02-20T09:0{i % 10}:30Z") for i in range(10)]
    path = tmp_path / "tweets.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return path


def test_a_2015_post_is_a_dead_letter_by_default_and_a_post_with_the_bound_moved():
    raw = orjson.dumps(jet(1, "hello airline", T2015_US))
    default = MessageParser(Limits())(raw)
    assert isinstance(default, DeadLetter) and "before Bluesky existed" in default.reason
    assert "TRENDLAB_MIN_EVENT_TIME" in default.reason  # says how to accept older data
    older = MessageParser(Limits(min_event_time_us=min_event_time_us(OLD)))(raw)
    assert isinstance(older, PostData) and older.event_time_us == T2015_US
    created = MessageParser(Limits(min_event_time_us=min_event_time_us(OLD)))(
        orjson.dumps(flat(1, "hello", "2015-02-20T09:00:00Z")))
    assert isinstance(created, PostData)
    # the moved bound is still a bound
    before = MessageParser(Limits(min_event_time_us=min_event_time_us("2016-01-01")))(raw)
    assert isinstance(before, DeadLetter) and "earliest accepted event time (2016-01-01T00:00:00Z" in before.reason


def test_the_value_forms_and_the_default():
    assert min_event_time_us(None) == min_event_time_us("") == BLUESKY_START_US
    assert min_event_time_us("2022-11-01") == BLUESKY_START_US
    assert min_event_time_us("2006-01-01") == 1_136_073_600_000_000
    assert min_event_time_us("2006-01-01T01:00:00+01:00") == 1_136_073_600_000_000
    assert min_event_time_us("2006-01-01T00:00:00Z") == 1_136_073_600_000_000
    assert Settings().min_event_time_us == Limits().min_event_time_us == BLUESKY_START_US


@pytest.mark.parametrize("value, why", [
    ("yesterday", "must be a date like 2006-01-01"),
    ("2006-13-01", "must be a date like 2006-01-01"),
    ("2999-01-01", "must not be in the future"),
    ("1969-12-31", "must not be before 1970-01-01"),
])
def test_bad_values_are_one_line_naming_the_setting(value, why):
    for name, call in (("--min-event-time", lambda: limits_from_flags(value)),
                       ("TRENDLAB_MIN_EVENT_TIME", lambda: Settings.from_env({"TRENDLAB_MIN_EVENT_TIME": value}))):
        with pytest.raises(ConfigError) as info:
            call()
        message = str(info.value)
        assert message.startswith(name) and why in message and repr(value) in message and "\n" not in message


def test_the_environment_flows_into_limits_and_the_flag_wins(monkeypatch):
    monkeypatch.setenv("TRENDLAB_MIN_EVENT_TIME", "2010-01-01")
    assert parser_limits().min_event_time_us == min_event_time_us("2010-01-01")
    assert limits_from_flags(None).min_event_time_us == min_event_time_us("2010-01-01")
    assert limits_from_flags(OLD).min_event_time_us == min_event_time_us(OLD)
    monkeypatch.setenv("TRENDLAB_MIN_EVENT_TIME", "not a date")  # the flag replaces the variable
    assert limits_from_flags(OLD).min_event_time_us == min_event_time_us(OLD)


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "python"])
def test_replay_of_2015_posts(kernel, airline_2015, monkeypatch):
    if kernel and native_module() is None:
        pytest.skip("compiled kernels not installed")
    monkeypatch.setenv("TRENDLAB_NATIVE", "1" if kernel else "0")
    monkeypatch.delenv("TRENDLAB_MIN_EVENT_TIME", raising=False)
    refused = replay(airline_2015, workers=1, progress=False)
    assert len(refused.posts) == 0 and refused.posts.malformed == 40 and refused.counts.empty
    assert all("before Bluesky existed" in d.reason for _, d in refused.posts.dead_letters)
    accepted = replay(airline_2015, workers=1, progress=False, limits=limits_from_flags(OLD))
    assert len(accepted.posts) == 40 and accepted.posts.malformed == 0
    airline = accepted.counts[accepted.counts["keyword"] == "airline"]
    assert airline["count"].max() > 0 and airline["window_start"].min().year == 2015
    monkeypatch.setenv("TRENDLAB_MIN_EVENT_TIME", OLD)  # the variable alone does the same
    assert len(replay(airline_2015, workers=1, progress=False).posts) == 40


def test_the_kernel_scanner_takes_old_posts_itself(airline_2015):
    """The compiled scanner gets the bound from the same Limits: with it moved, the old Jetstream
    events are read by the kernel (not handed back to Python), and they are the same posts."""
    native = native_module()
    if native is None:
        pytest.skip("compiled kernels not installed")
    extractor = KeywordExtractor()
    limits = Limits(min_event_time_us=min_event_time_us(OLD))
    parser = MessageParser(limits, now_us=T2015_US)
    handed = []

    def fallback(number, line, size):
        handed.append(number)
        out = parser.post_keywords(line, extractor, size)
        return out if out is None or isinstance(out, DeadLetter) else (out[0].author_did, out[0].event_time_us // 1000,
                                                                        out[1], 0)

    scanner = native.Scanner(extractor.kernel_rules(), fallback, limits.max_message_bytes, limits.max_keywords,
                             limits.min_event_time_us, parser.latest_us() + 10**13)
    scanner.scan_file(str(airline_2015))
    out = scanner.result()
    assert out["python_lines"] == 10 and handed == list(range(31, 41))  # only the flat PostData lines
    assert out["dead_letters"] == [] and len(out["lengths"]) // 8 == 40


class _Registered(Exception):
    pass


def test_the_deployed_job_gets_the_bound_through_its_settings(monkeypatch):
    """deploy → --settings-json → trendlab.flink.job.main → Settings → the table function's Limits."""
    from trendlab.core.detect import DetectionParams
    from trendlab.flink import job, sql
    from trendlab.flink.deploy import program_args

    args = program_args(Settings(min_event_time=OLD), "{}")
    shipped = json.loads(args[args.index("--settings-json") + 1])
    assert shipped["min_event_time"] == OLD
    seen = {}
    monkeypatch.setattr(job, "create_table_environment", lambda conf, settings=None: (None, None))
    monkeypatch.setattr(job, "run", lambda t_env, env, settings, *a, **k: seen.setdefault("settings", settings))
    assert job.main(["--profile", "remote", "--settings-json", args[args.index("--settings-json") + 1]]) == 0
    assert seen["settings"].min_event_time == OLD

    class TableEnv:  # stops build_job at the table function's registration
        def create_temporary_function(self, name, function):
            seen["function"] = function._func
            raise _Registered

    with pytest.raises(_Registered):
        job.build_job(TableEnv(), seen["settings"], DetectionParams(), sql.file_io("file:///in", "file:///out"))
    assert seen["function"].limits.min_event_time_us == min_event_time_us(OLD)


def test_the_flink_table_function_honours_the_bound_with_and_without_the_kernel():
    from trendlab.flink.udfs import ExtractKeywords, native_parser

    raw = orjson.dumps(jet(3, "flight airline", T2015_US))
    for limits, kept in ((Limits(min_event_time_us=min_event_time_us(OLD)), True), (Limits(), False)):
        for kernel in (True, False):
            udtf = ExtractKeywords(KeywordExtractor(), limits)
            udtf._native = native_parser(udtf.extractor, limits) if kernel else None
            if kernel and udtf._native is None:
                continue  # compiled kernels not installed
            rows = udtf._rows(raw)
            if kept:
                # the keywords (words, then the phrase), then the post's volume row (keyword '')
                assert [r[0] for r in rows] == ["flight", "airline", "flight airline", ""] and rows[0][2] == "did:plc:a3"
            else:
                assert len(rows) == 1 and rows[0][0] is None and "before Bluesky existed" in rows[0][6]
            if kernel:  # the kernel reads the post itself when the bound allows it, else hands it back
                assert (udtf._native.post(raw) is not None) == kept


def _trendlab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "TRENDLAB_MIN_EVENT_TIME"}
    return subprocess.run([sys.executable, "-m", "trendlab.cli", *args], capture_output=True, text=True,
                          env={**environ, **(env or {})}, timeout=300)


def test_cli_replay_with_the_flag_end_to_end(airline_2015, tmp_path):
    out = tmp_path / "out"
    done = _trendlab("replay", str(airline_2015), "--min-event-time", OLD, "--out", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    counts = pd.read_parquet(out / "counts.parquet")
    assert set(counts["keyword"]) >= {"airline", "flight", "delayed", "luggage"}
    assert counts["window_start"].min().year == 2015
    default = _trendlab("replay", str(airline_2015), "--out", str(tmp_path / "default"), "--workers", "1")
    assert default.returncode == 0 and pd.read_parquet(tmp_path / "default" / "counts.parquet").empty


@pytest.mark.parametrize("argv", [
    ["replay", "{input}", "--min-event-time", "last tuesday", "--out", "{out}"],
    ["tune", "{input}", "--labels", "{input}", "--min-event-time", "3000-01-01", "--out", "{out}/p.yaml"],
    ["produce", "{input}", "--min-event-time", "1900-01-01"],
    ["deploy", "--min-event-time", "2006-02-30"],
])
def test_cli_bad_flag_is_exit_2_and_one_line(argv, airline_2015, tmp_path):
    done = _trendlab(*(a.format(input=airline_2015, out=tmp_path) for a in argv))
    err = done.stderr.strip()
    assert done.returncode == 2 and "\n" not in err and "--min-event-time" in err, (done.returncode, err)


def test_cli_bad_variable_is_exit_2_and_one_line(airline_2015, tmp_path):
    done = _trendlab("replay", str(airline_2015), "--out", str(tmp_path / "o"),
                     env={"TRENDLAB_MIN_EVENT_TIME": "2006/01/01"})
    err = done.stderr.strip()
    assert done.returncode == 2 and "\n" not in err and err.count("TRENDLAB_MIN_EVENT_TIME") == 1
    assert "'2006/01/01'" in err
