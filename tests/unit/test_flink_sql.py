"""The job's SQL and configuration, without starting Flink."""

from __future__ import annotations

import json

import pytest

from trendlab.config import Settings
from trendlab.params_files import load_params
from trendlab.flink import sql
from trendlab.flink.job import _extra_conf, job_configuration, parse_args


@pytest.mark.parametrize(
    "ms, literal",
    [
        (0, "INTERVAL '0 00:00:00.000' DAY TO SECOND(3)"),
        (5_000, "INTERVAL '0 00:00:05.000' DAY TO SECOND(3)"),
        (60_000, "INTERVAL '0 00:01:00.000' DAY TO SECOND(3)"),
        (600_000, "INTERVAL '0 00:10:00.000' DAY TO SECOND(3)"),
        (90_061_001, "INTERVAL '1 01:01:01.001' DAY TO SECOND(3)"),
    ],
)
def test_interval_literal(ms, literal):
    assert sql.interval(ms) == literal


@pytest.mark.parametrize("bad", [-1, 1.5, "10m", True])
def test_interval_refuses_non_ms(bad):
    with pytest.raises(ValueError, match="milliseconds"):
        sql.interval(bad)


def test_quote_escapes_single_quotes():
    assert sql.quote("it's") == "'it''s'"


def test_hop_view_uses_slide_then_size():
    view = sql.window_counts_view(600_000, 60_000)
    hop = view[view.index("HOP(") :]
    assert hop.index(sql.interval(60_000)) < hop.index(sql.interval(600_000))
    assert "COUNT(DISTINCT author_did)" in view and "COUNT(*)" in view
    assert "window_time" in view  # the rowtime the detector's timers need


def test_hop_view_refuses_window_not_multiple_of_slide():
    with pytest.raises(ValueError, match="multiple"):
        sql.window_counts_view(90_000, 60_000)


def test_posts_ddl_watermark_bound():
    io = sql.file_io("file:///tmp/in.jsonl", "file:///tmp/out")
    ddl = sql.posts_ddl(io, 5000)
    assert f"WATERMARK FOR event_time AS event_time - {sql.interval(5000)}" in ddl
    assert "'connector' = 'filesystem'" in ddl
    assert "WATERMARK FOR event_time AS event_time\n" in sql.posts_ddl(io, 0)


def test_kafka_io_is_exactly_once_with_the_payload_as_event_time():
    """Issue 21: the rowtime and the watermark come from the message (time_us, else createdAt), never
    from the record's Kafka timestamp (which only the bench's ceiling, whose messages are no posts, uses)."""
    io = sql.kafka_io("127.0.0.1:9092", "posts", "counts", "alerts", "dlq", transaction_timeout_ms=600_000,
                      topic_late="late")
    ddl = sql.posts_ddl(io, 5000)
    rowtime = ddl[ddl.index("event_time AS"):ddl.index("WATERMARK")]
    assert "record_ts" not in rowtime and "JSON_QUERY" in rowtime and "'$.time_us'" in rowtime
    assert "createdAt" in rowtime and "created_at" in rowtime
    assert f"COALESCE(" in rowtime and f", {sql.UNUSABLE_MS}), 3)" in rowtime
    ceiling = sql.posts_ddl(io, 5000, record_time=True)
    assert "event_time AS record_ts" in ceiling
    assert io.late_options["format"] == "raw" and io.late_options["topic"] == "late"
    assert "'format' = 'raw'" in ddl  # malformed messages never fail deserialisation
    sinks = (io.counts_options, io.alerts_options, io.dead_letter_options, io.late_options)
    for options in sinks:
        assert options["sink.delivery-guarantee"] == "exactly-once"
        assert options["properties.transaction.timeout.ms"] == "600000"
    prefixes = {o["sink.transactional-id-prefix"] for o in sinks}
    assert len(prefixes) == 4  # one per sink
    assert io.posts_options["properties.isolation.level"] == "read_committed"


def test_statements_and_hub_columns_line_up():
    io = sql.file_io("file:///in", "file:///out")
    statements = sql.job_statements(io, 600_000, 60_000, 5000)
    assert [s.split()[3] for s in statements] == [
        sql.POSTS, sql.COUNTS_SINK, sql.ALERTS_SINK, sql.EXTRACTED, sql.OCCURRENCES, sql.WINDOW_COUNTS,
        sql.DEAD_LETTER_SINK, sql.LATE_SINK,
    ]
    hub = sql.hub_query()
    first = hub.split("UNION ALL")[0]
    # the detector reads columns by their index in HUB_COLUMNS: the query selects them in that order
    select = first.split("FROM")[0]
    spelled = {"count": "`count`", "window_start": "AS window_start", "window_end": "AS window_end",
               "message": "AS message", "error": "AS error", "event_time": "AS event_time", "rowtime": "AS rowtime"}
    at = [select.index(spelled.get(c, c)) for c in sql.HUB_COLUMNS]
    assert at == sorted(at), list(zip(sql.HUB_COLUMNS, at))
    assert select.count(",") == len(sql.HUB_COLUMNS) - 1 + select.count("DATE_FORMAT(")
    assert "'yyyy-MM-dd''T''HH:mm:ss''Z'''" in hub


def test_utc_session_time_zone():
    assert sql.TABLE_OPTIONS["table.local-time-zone"] == "UTC"


def test_job_configuration_defaults():
    settings = Settings(checkpoint_interval_ms=30_000, flink_parallelism=3)
    conf = job_configuration(settings)
    assert conf["execution.checkpointing.interval"] == "30000 ms"
    assert conf["execution.checkpointing.mode"] == "EXACTLY_ONCE"
    assert conf["state.backend.type"] == "rocksdb"
    assert conf["execution.checkpointing.incremental"] == "true"
    assert conf["restart-strategy.type"] == "exponential-delay"
    assert conf["parallelism.default"] == "3"
    assert conf["execution.checkpointing.dir"] == settings.checkpoint_dir


def test_params_precedence(tmp_path):
    settings = Settings(window_size_minutes=20, slide_minutes=2)
    assert (load_params(None, settings).window, load_params(None, settings).slide) == ("20m", "2m")
    path = tmp_path / "p.yaml"
    path.write_text("window: 30m\nslide: 5m\nmin_count: 7\n")
    params = load_params(str(path), settings)
    assert (params.window, params.slide, params.min_count) == ("30m", "5m", 7)
    params = load_params(str(path), settings, window="60m", slide="10m")
    assert (params.window, params.slide) == ("1h", "10m")
    params = load_params({"window": "4m", "slide": "2m", "min_score": 2.5}, settings)
    assert (params.window, params.min_score) == ("4m", 2.5)


def test_params_errors_name_the_problem(tmp_path):
    from trendlab.errors import InputError

    with pytest.raises(InputError, match="params file not found"):
        load_params(str(tmp_path / "missing.yaml"), Settings())
    with pytest.raises(ValueError, match="window"):
        load_params(None, Settings(), window="7x")


def test_job_cli_arguments():
    args = parse_args(["--profile", "embedded", "--input", "a", "--out", "b", "--conf", "x.y=1"])
    assert args.profile == "embedded" and _extra_conf(args.conf) == {"x.y": "1"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        _extra_conf(["nonsense"])


def test_each_topic_set_has_its_own_group_and_transactional_ids():
    a = sql.kafka_io("k:9092", "posts-a", "counts-a", "alerts-a", "dlq-a", **sql.kafka_ids("posts-a", "counts-a"))
    b = sql.kafka_io("k:9092", "posts-b", "counts-b", "alerts-b", "dlq-b", **sql.kafka_ids("posts-b", "counts-b"))
    assert a.posts_options["properties.group.id"] != b.posts_options["properties.group.id"]
    prefixes_a = {o["sink.transactional-id-prefix"] for o in (a.counts_options, a.alerts_options, a.dead_letter_options)}
    prefixes_b = {o["sink.transactional-id-prefix"] for o in (b.counts_options, b.alerts_options, b.dead_letter_options)}
    assert len(prefixes_a) == 3 and not prefixes_a & prefixes_b


def test_job_name_names_the_topics():
    from trendlab.flink.job import job_name

    settings = Settings(kafka_topic_posts="p1", kafka_topic_trends="c1")
    assert job_name(settings) == "trendlab: p1 -> c1"
    assert job_configuration(settings)["pipeline.name"] == job_name(settings)


def test_settings_json_and_parallelism_flag_together(monkeypatch):
    """The deployed job gets --settings-json with flink_parallelism; --parallelism must not clash with it."""
    from trendlab.flink import job

    seen = {}

    def fake_run(t_env, env, settings, params, source, wait=True, presplit=False):
        seen["settings"] = settings
        seen["presplit"] = presplit

    monkeypatch.setattr(job, "create_table_environment", lambda conf, settings=None: (None, None))
    monkeypatch.setattr(job, "run", fake_run)
    code = job.main(["--profile", "remote", "--settings-json", json.dumps({"flink_parallelism": 2}),
                     "--parallelism", "3"])
    assert code == 0 and seen["settings"].flink_parallelism == 3
    assert seen["presplit"] is False
    assert job.main(["--profile", "remote", "--presplit"]) == 0 and seen["presplit"] is True


def test_presplit_ceiling_has_the_same_views_and_columns():
    """bench/flink_job.py's ceiling: the same job with the Python UDTF replaced by a SQL split."""
    io = sql.file_io("file:///in", "file:///out")
    normal = sql.job_statements(io, 600_000, 60_000, 5000)
    ceiling = sql.job_statements(io, 600_000, 60_000, 5000, presplit=True)
    assert [s.split()[3] for s in ceiling] == [s.split()[3] for s in normal]
    view = ceiling[3]
    assert sql.EXTRACT_FUNCTION not in view and "SPLIT(CAST(p.message AS STRING)" in view
    select = view.split("SELECT", 1)[1].split("\nFROM", 1)[0]
    for column in ("p.message", "p.event_time", "k.keyword", "AS normalized_keyword", "AS author_did", "AS error",
                   "AS late", "AS raw_message"):
        assert column in select
    # the same but for the view and the ceiling's rowtime (its messages are not posts: timed by the record)
    assert [s for s in normal if s not in (normal[0], normal[3])] == [s for s in ceiling if s not in (ceiling[0], ceiling[3])]
    assert "event_time AS TO_TIMESTAMP_LTZ(ts, 3)" in ceiling[0] and "JSON_QUERY" in normal[0]


def test_thread_mode_puts_this_interpreters_packages_on_the_embedded_path():
    import os
    import pemja

    settings = Settings()
    assert "python.pythonpath" not in job_configuration(settings)
    conf = job_configuration(settings, python_mode="thread")
    assert conf["python.execution-mode"] == "thread"
    paths = conf["python.pythonpath"].split(os.pathsep)
    assert os.path.dirname(os.path.dirname(pemja.__file__)) in paths



def test_replay_and_deploy_without_a_params_file_use_one_default(tmp_path):
    """The default window shape is the shipped DetectionParams' unless WINDOW_SIZE_MINUTES/
    TRENDLAB_SLIDE_MINUTES say otherwise, for replay and deploy alike; the job on the cluster takes
    the parameters it is sent and does not look at its own environment's window."""
    from trendlab.core.detect import DetectionParams
    from trendlab.flink import job
    from trendlab.flink.deploy import program_args

    assert load_params(None, Settings.from_env({})) == DetectionParams()
    for environ, window in (({}, DetectionParams().window), ({"WINDOW_SIZE_MINUTES": "10"}, "10m")):
        client = Settings.from_env(environ)
        params = load_params(None, client)  # replay, tune, evaluate, deploy and POST /flink/deploy all call this
        assert params.window == window
        args = program_args(client, json.dumps(params.to_dict()))
        parsed = job.parse_args(args[args.index("--profile"):])
        cluster = Settings.from_env({"WINDOW_SIZE_MINUTES": "20", "TRENDLAB_SLIDE_MINUTES": "5"})
        assert load_params(job._params_json(parsed.params_json), cluster) == params


def test_the_detector_reads_columns_the_hub_gives():
    """flink/alerts.py reads the hub's rows by field name: every name it reads is a hub column."""
    from trendlab.flink.alerts import READ_COLUMNS
    from trendlab.flink.sql import HUB_COLUMNS

    assert set(READ_COLUMNS) <= set(HUB_COLUMNS), sorted(set(READ_COLUMNS) - set(HUB_COLUMNS))
