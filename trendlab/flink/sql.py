"""The Flink SQL of the job, as pure functions (no PyFlink import, so they are unit-testable).

The pipeline, top to bottom::

    posts (message BYTES, event_time rowtime, watermark)            -- Kafka topic or a staged file
      └─ LATERAL extract_keywords(message)                           -- Python UDTF: parse + KeywordExtractor
           ├─ error IS NOT NULL ─► dead_letters (excerpt, error)     -- dead letters (trendlab.parse)
           └─ keyword_occurrences (keyword, author_did, event_time)
                └─ HOP(event_time, slide, window)  COUNT(*), COUNT(DISTINCT author_did)
                     └─ window_counts ─► counts sink (WindowedKeywordCount JSON)
                                      └─► (DataStream) alert detector ─► alerts sink (TrendAlert JSON)

Event time is the same as :attr:`trendlab.models.PostData.event_time_us` (truncated to ms):

* **Kafka**: the producer (:mod:`trendlab.kafka`) sets every record's Kafka timestamp to the post's event
  time, and the source reads it from the ``timestamp`` metadata column.
* **file** (embedded profile): the input is staged by the same producer code into JSON lines
  ``{"ts": <event ms>, "message": "<original line>"}`` and the source reads ``ts``.

Windows are aligned to the epoch in UTC because the session time zone is set to UTC
(:data:`TABLE_OPTIONS`); ``TIMESTAMP_LTZ`` rowtimes would otherwise align to the local zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from trendlab import cooccur
from trendlab.conf import JOB_TRANSACTION_TIMEOUT_MS
from trendlab.errors import ConfigError

#: Names of the tables and views the job registers.
POSTS = "posts"
EXTRACTED = "extracted"
OCCURRENCES = "keyword_occurrences"
WINDOW_COUNTS = "window_counts"
COUNTS_SINK = "window_counts_sink"
ALERTS_SINK = "trend_alerts_sink"
DEAD_LETTER_SINK = "dead_letters_sink"
EXTRACT_FUNCTION = "extract_keywords"

#: Table options of every profile. Measured choices are explained in the README of ``trendlab.flink``.
TABLE_OPTIONS: dict[str, str] = {
    "table.local-time-zone": "UTC",
    # Window TVF aggregates are sliced and already buffer per slice; split-distinct spreads a hot
    # keyword's distinct authors over buckets (see bench/flink_job.py for the measurements).
    "table.optimizer.agg-phase-strategy": "TWO_PHASE",
}


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def interval(ms: int) -> str:
    """A SQL day-time interval literal for ``ms`` milliseconds (``INTERVAL '0 00:10:00.000' DAY TO SECOND(3)``).

    ``INTERVAL '600' SECOND`` overflows the default precision of SECOND, so the full form is used.
    """
    if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
        raise ConfigError(f"interval must be a non-negative number of milliseconds, got {ms!r}")
    days, rest = divmod(ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}' DAY TO SECOND(3)"


def with_clause(options: Mapping[str, str]) -> str:
    return "WITH (\n" + ",\n".join(f"  {quote(k)} = {quote(v)}" for k, v in options.items()) + "\n)"


# -- sources and sinks --------------------------------------------------------------------------

@dataclass(frozen=True)
class TableIO:
    """Connector options of the job's four external tables; everything else is shared SQL.

    ``posts_columns`` must declare ``message BYTES`` (the raw message) and the rowtime column ``event_time``
    (the watermark is added by :func:`posts_ddl`).
    """

    posts_columns: tuple[str, ...]
    posts_options: dict[str, str]
    counts_options: dict[str, str]
    alerts_options: dict[str, str]
    dead_letter_options: dict[str, str] | None = None
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def kafka_ids(topic_posts: str, topic_counts: str) -> dict[str, str]:
    """Consumer group and transactional-id prefix of a job, derived from its topics.

    Two jobs with the same transactional-id prefix fence (abort) each other's transactions on start-up
    and restore, so jobs on different topic sets (tests, benchmarks, a notebook's job) get their own;
    a job resumed from a savepoint on the same topics keeps them.
    """
    return {"group_id": f"trendlab-job-{topic_posts}", "transactional_id_prefix": f"trendlab-{topic_counts}"}


def kafka_io(
    bootstrap_servers: str,
    topic_posts: str,
    topic_counts: str,
    topic_alerts: str,
    topic_dead_letter: str | None,
    *,
    group_id: str = "trendlab-job",
    transactional_id_prefix: str = "trendlab",
    transaction_timeout_ms: int = JOB_TRANSACTION_TIMEOUT_MS,
    startup_mode: str = "group-offsets",
) -> TableIO:
    """Kafka source (``raw`` format, event time from the record timestamp) and exactly-once sinks.

    ``transaction_timeout_ms`` must stay below the broker's ``transaction.max.timeout.ms``
    (15 min by default) and above the checkpoint interval plus the longest expected restart.
    """
    source = {
        "connector": "kafka",
        "topic": topic_posts,
        "properties.bootstrap.servers": bootstrap_servers,
        "properties.group.id": group_id,
        "properties.isolation.level": "read_committed",
        "scan.startup.mode": startup_mode,
        "properties.auto.offset.reset": "earliest",
        # the value's bytes as they are: decoding is the total parser's job (trendlab.parse), so no
        # message (invalid UTF-8 …) can fail deserialisation and restart the job
        "format": "raw",
    }

    def sink(topic: str, name: str, key: str | None) -> dict[str, str]:
        opts = {
            "connector": "kafka",
            "topic": topic,
            "properties.bootstrap.servers": bootstrap_servers,
            "sink.delivery-guarantee": "exactly-once",
            "sink.transactional-id-prefix": f"{transactional_id_prefix}-{name}",
            "properties.transaction.timeout.ms": str(transaction_timeout_ms),
        }
        if key:
            opts.update({"key.format": "raw", "key.fields": key, "value.fields-include": "ALL"})
        return opts

    counts = {**sink(topic_counts, "counts", "keyword"), "value.format": "json"}
    alerts = {**sink(topic_alerts, "alerts", None), "format": "raw"}
    dead = {**sink(topic_dead_letter, "dlq", None), "format": "json"} if topic_dead_letter else None
    return TableIO(
        posts_columns=(
            "message BYTES",
            "event_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL",
        ),
        posts_options=source,
        counts_options=counts,
        alerts_options=alerts,
        dead_letter_options=dead,
        description=f"Kafka {bootstrap_servers}: {topic_posts} -> {topic_counts}, {topic_alerts}",
    )


def file_io(staged_posts: str, out_dir: str) -> TableIO:
    """Filesystem source over a staged stream file and filesystem sinks under ``out_dir``.

    The staged file has JSON lines ``{"ts": <event ms>, "message": "<original line, base64>"}``
    (:func:`trendlab.kafka.stage_stream`; Flink's JSON format reads ``BYTES`` from base64).
    """
    out = out_dir.rstrip("/")
    return TableIO(
        posts_columns=("message BYTES", "ts BIGINT", "event_time AS TO_TIMESTAMP_LTZ(ts, 3)"),
        posts_options={"connector": "filesystem", "path": staged_posts, "format": "json"},
        counts_options={"connector": "filesystem", "path": f"{out}/_counts", "format": "json"},
        alerts_options={"connector": "filesystem", "path": f"{out}/_alerts", "format": "raw"},
        dead_letter_options={"connector": "filesystem", "path": f"{out}/_dead_letters", "format": "json"},
        description=f"files: {staged_posts} -> {out}",
    )


# -- statements ---------------------------------------------------------------------------------

def posts_ddl(io: TableIO, max_out_of_orderness_ms: int) -> str:
    delay = f"event_time - {interval(max_out_of_orderness_ms)}" if max_out_of_orderness_ms else "event_time"
    columns = ",\n  ".join([*io.posts_columns, f"WATERMARK FOR event_time AS {delay}"])
    return f"CREATE TEMPORARY TABLE {POSTS} (\n  {columns}\n) {with_clause(io.posts_options)}"


def counts_sink_ddl(io: TableIO) -> str:
    return (
        f"CREATE TEMPORARY TABLE {COUNTS_SINK} (\n"
        "  keyword STRING,\n  normalized_keyword STRING,\n  window_start STRING,\n  window_end STRING,\n"
        "  `count` BIGINT,\n  unique_authors BIGINT,\n  unique_contents BIGINT\n"
        f") {with_clause(io.counts_options)}"
    )


def alerts_sink_ddl(io: TableIO) -> str:
    return f"CREATE TEMPORARY TABLE {ALERTS_SINK} (\n  alert STRING\n) {with_clause(io.alerts_options)}"


def dead_letter_sink_ddl(io: TableIO) -> str | None:
    if io.dead_letter_options is None:
        return None
    return (
        f"CREATE TEMPORARY TABLE {DEAD_LETTER_SINK} (\n  message STRING,\n  error STRING,\n  event_time STRING\n"
        f") {with_clause(io.dead_letter_options)}"
    )


def extracted_view() -> str:
    """One row per (post, keyword) and one volume row per post (keyword :data:`VOLUME_KEY`), or one
    row with ``error`` (and ``excerpt``, a bounded excerpt of the message) set for a dead letter."""
    return (
        f"CREATE TEMPORARY VIEW {EXTRACTED} AS\n"
        f"SELECT x.excerpt AS message, p.event_time, x.keyword, x.normalized_keyword, x.author_did, x.content_key,\n"
        "       x.post_hash, x.error\n"
        f"FROM {POSTS} AS p, LATERAL TABLE({EXTRACT_FUNCTION}(p.message))"
        " AS x(keyword, normalized_keyword, author_did, content_key, post_hash, error, excerpt)"
    )


#: The keyword of a post's volume row: every post gives one, so its window "count" is the window's
#: posts (the detector's volume, :func:`trendlab.windows.window_volume`). No keyword is empty, and
#: the counts sink leaves it out.
VOLUME_KEY = ""


#: Separator of a pre-extracted message (``<author DID>\t<keyword>\t<keyword>…``, see :func:`presplit_view`).
PRESPLIT_SEPARATOR = "\t"


def presplit_view() -> str:
    """The bench's ceiling (``bench/flink_job.py``): the same rows as :func:`extracted_view` from messages
    whose keywords, content key and post hash were computed *before* Kafka,
    ``<author DID>\\t<content key>\\t<post hash>\\t\\t<keyword>…``
    (the empty field is the volume row's keyword), split in SQL with no Python in the job. Not a second
    definition of a keyword: the keywords in the messages come from
    :class:`trendlab.extract.KeywordExtractor`; only the bench produces such messages. A message without
    a tab (an empty one, the watermark event) gives no row."""
    sep = quote(PRESPLIT_SEPARATOR)
    text = "CAST(p.message AS STRING)"  # the source column holds the raw bytes (see kafka_io)
    return (
        f"CREATE TEMPORARY VIEW {EXTRACTED} AS\n"
        f"SELECT {text} AS message, p.event_time, k.keyword, LOWER(TRIM(k.keyword)) AS normalized_keyword,\n"
        f"       SPLIT_INDEX({text}, {sep}, 0) AS author_did,\n"
        f"       CASE WHEN k.keyword = {quote(VOLUME_KEY)} THEN CAST(NULL AS STRING) ELSE SPLIT_INDEX({text}, {sep}, 1) END"
        " AS content_key,\n"
        f"       CASE WHEN k.keyword = {quote(VOLUME_KEY)} THEN CAST(NULL AS BIGINT)"
        f" ELSE CAST(SPLIT_INDEX({text}, {sep}, 2) AS BIGINT) END AS post_hash, CAST(NULL AS STRING) AS error\n"
        f"FROM {POSTS} AS p CROSS JOIN UNNEST(SPLIT({text}, {sep})) WITH ORDINALITY AS k(keyword, pos)\n"
        "WHERE k.pos > 3"
    )


def occurrences_view() -> str:
    return (
        f"CREATE TEMPORARY VIEW {OCCURRENCES} AS\n"
        f"SELECT keyword, normalized_keyword, author_did, content_key, post_hash, event_time FROM {EXTRACTED}"
        " WHERE error IS NULL"
    )


def window_counts_view(window_ms: int, slide_ms: int) -> str:
    """``HOP`` windows of ``window_ms`` every ``slide_ms``; keeps ``window_time`` (the rowtime)."""
    if window_ms <= 0 or slide_ms <= 0 or window_ms % slide_ms:
        raise ConfigError(f"window ({window_ms} ms) must be a positive whole multiple of slide ({slide_ms} ms)")
    return (
        f"CREATE TEMPORARY VIEW {WINDOW_COUNTS} AS\n"
        "SELECT keyword, normalized_keyword, window_start, window_end, window_time,\n"
        "       COUNT(*) AS `count`, COUNT(DISTINCT author_did) AS unique_authors,\n"
        "       COUNT(DISTINCT content_key) AS unique_contents,\n"
        f"       {', '.join(cooccur.sql_columns())}\n"
        f"FROM TABLE(HOP(TABLE {OCCURRENCES}, DESCRIPTOR(event_time), {interval(slide_ms)}, {interval(window_ms)}))\n"
        "GROUP BY keyword, normalized_keyword, window_start, window_end, window_time"
    )


_ISO = "'yyyy-MM-dd''T''HH:mm:ss''Z'''"
_ISO_MS = "'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''"

#: The job's outputs as one stream (window counts and dead letters; see :func:`hub_query`).
HUB = "job_outputs"
HUB_COLUMNS = (
    "keyword", "normalized_keyword", "window_start", "window_end", "count", "unique_authors", "unique_contents",
    *cooccur.SKETCH_COLUMNS, "message", "error", "event_time", "rowtime",
)


def hub_query() -> str:
    """Window counts and dead letters as one stream, so that one plan feeds every sink.

    Flink optimises each Table -> DataStream conversion on its own: converting the window counts for
    the (Python) detector and also inserting them into the counts sink from SQL would run the source
    and the extraction twice. So the job converts this one union to a DataStream once, and the SQL
    sinks and the detector all read that stream. ``rowtime`` is the window's ``window_time``
    (``window_end - 1 ms``) for a count, the message's event time for a dead letter.
    """
    null = "CAST(NULL AS STRING)"
    return (
        f"SELECT keyword, normalized_keyword, DATE_FORMAT(window_start, {_ISO}) AS window_start,\n"
        f"       DATE_FORMAT(window_end, {_ISO}) AS window_end, `count`, unique_authors, unique_contents,\n"
        f"       {', '.join(cooccur.SKETCH_COLUMNS)},\n"
        f"       {null} AS message, {null} AS error, {null} AS event_time, window_time AS rowtime\n"
        f"FROM {WINDOW_COUNTS}\n"
        "UNION ALL\n"
        f"SELECT {null}, {null}, {null}, {null}, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),\n"
        f"       {', '.join(['CAST(NULL AS BIGINT)'] * len(cooccur.SKETCH_COLUMNS))},\n"
        f"       message, error, DATE_FORMAT(event_time, {_ISO_MS}), event_time\n"
        f"FROM {EXTRACTED} WHERE error IS NOT NULL"
    )


def insert_counts() -> str:
    """Window counts as :class:`~trendlab.models.WindowedKeywordCount` JSON (whole-second windows)."""
    return (
        f"INSERT INTO {COUNTS_SINK}\n"
        "SELECT keyword, normalized_keyword, window_start, window_end, `count`, unique_authors, unique_contents\n"
        f"FROM {HUB} WHERE error IS NULL AND keyword <> {quote(VOLUME_KEY)}"
    )


def insert_dead_letters() -> str:
    return f"INSERT INTO {DEAD_LETTER_SINK}\nSELECT message, error, event_time FROM {HUB} WHERE error IS NOT NULL"


def job_statements(io: TableIO, window_ms: int, slide_ms: int, max_out_of_orderness_ms: int, *,
                   presplit: bool = False) -> list[str]:
    """Every DDL statement and view of the job, in order (the INSERTs are added by the job).
    ``presplit``: the bench's ceiling, keywords extracted before Kafka (:func:`presplit_view`)."""
    statements = [
        posts_ddl(io, max_out_of_orderness_ms),
        counts_sink_ddl(io),
        alerts_sink_ddl(io),
        presplit_view() if presplit else extracted_view(),
        occurrences_view(),
        window_counts_view(window_ms, slide_ms),
    ]
    dead = dead_letter_sink_ddl(io)
    if dead:
        statements.append(dead)
    return statements
