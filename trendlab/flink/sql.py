"""The Flink SQL of the job, as pure functions (no PyFlink import, so they are unit-testable).

The pipeline, top to bottom::

    posts (message BYTES, event_time rowtime, watermark)            -- Kafka topic or a staged file
      └─ LATERAL extract_keywords(message)                           -- Python UDTF: parse + KeywordExtractor
           ├─ error IS NOT NULL ─► dead_letters (excerpt, error)     -- dead letters (trendlab.core.parse)
           └─ keyword_occurrences (keyword, author_did, event_time)
                └─ HOP(event_time, slide, window)  COUNT(*), COUNT(DISTINCT author_did)
                     └─ window_counts ─► counts sink (WindowedKeywordCount JSON)
                                      └─► (DataStream) alert detector ─► alerts sink (TrendAlert JSON)

Event time comes from the **message itself**, never from whoever stamped the Kafka record: the source's
computed columns ``event_ms`` / ``event_time`` (:func:`payload_event_ms`) read the payload's ``time_us``,
else its ``createdAt`` (``created_at`` in flat PostData JSON), within the same bounds as the total parser
(:mod:`trendlab.core.parse`: ``Limits.min_event_time_us``, ``max_future_s``, ``max_message_bytes``), in SQL
so that the Kafka source computes the watermark per partition. The same columns serve both profiles
(Kafka: the raw value; file: the staged ``message``; the Kafka timestamp and the staged ``ts`` are
ignored). A message without a usable payload time gets ``event_ms`` NULL and the rowtime
:data:`UNUSABLE_MS` (before any watermark: it never moves one) and is a dead letter (the table function
checks that the SQL and :mod:`trendlab.core.parse` agree, see :mod:`trendlab.flink.udfs`).

A post whose first window has already closed when it reaches the job (``late``: its slice end ≤ the
current watermark) is not counted in any window: it goes whole to the late-posts sink
(``TRENDLAB_TOPIC_LATE``) and the detector counts it (``trendlab.late_posts``), so nothing is dropped
silently.

Windows are aligned to the epoch in UTC because the session time zone is set to UTC
(:data:`TABLE_OPTIONS`); ``TIMESTAMP_LTZ`` rowtimes would otherwise align to the local zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from trendlab.core import cooccur
from trendlab.flink_kafka_conf import JOB_TRANSACTION_TIMEOUT_MS
from trendlab.errors import ConfigError
from trendlab.core.links import LINK_PREFIX
from trendlab.core.windows import MIN_PHRASE_COUNT

#: Names of the tables and views the job registers.
POSTS = "posts"
EXTRACTED = "extracted"
OCCURRENCES = "keyword_occurrences"
WINDOW_COUNTS = "window_counts"
COUNTS_SINK = "window_counts_sink"
ALERTS_SINK = "trend_alerts_sink"
DEAD_LETTER_SINK = "dead_letters_sink"
LATE_SINK = "late_posts_sink"
EXTRACT_FUNCTION = "extract_keywords"

#: Table options of every profile. Measured choices are explained in docs/flink-job.md.
TABLE_OPTIONS: dict[str, str] = {
    "table.local-time-zone": "UTC",
    # a partition (split) without records for this long is idle: the watermark follows the others, so
    # a silent partition does not stall the output; its later records are late only if they are older
    # than the watermark by then (counted and routed, see LATE_SINK). The idle clock pauses while the
    # source is back-pressured, so a backlog is never idle. Overridden by TRENDLAB_SOURCE_IDLE_TIMEOUT_S.
    "table.exec.source.idle-timeout": "30 s",
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

    ``posts_columns`` are the physical columns and must include ``message BYTES`` (the raw message); the
    event-time columns and the watermark are added by :func:`posts_ddl`. ``record_time`` is the source's
    column of the record's own timestamp, used only by the bench's ceiling (:func:`presplit_view`), whose
    messages are not posts.
    """

    posts_columns: tuple[str, ...]
    posts_options: dict[str, str]
    counts_options: dict[str, str]
    alerts_options: dict[str, str]
    dead_letter_options: dict[str, str] | None = None
    late_options: dict[str, str] | None = None
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    record_time: str = "TO_TIMESTAMP_LTZ(ts, 3)"


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
    topic_late: str | None = None,
    group_id: str = "trendlab-job",
    transactional_id_prefix: str = "trendlab",
    transaction_timeout_ms: int = JOB_TRANSACTION_TIMEOUT_MS,
    startup_mode: str = "group-offsets",
) -> TableIO:
    """Kafka source (``raw`` format; event time from the payload, :func:`posts_ddl`) and exactly-once sinks.

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
        # the value's bytes as they are: decoding is the total parser's job (trendlab.core.parse), so no
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
    late = {**sink(topic_late, "late", None), "format": "raw"} if topic_late else None
    return TableIO(
        posts_columns=(
            "message BYTES",
            "record_ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL",  # only the bench's ceiling reads it
        ),
        posts_options=source,
        counts_options=counts,
        alerts_options=alerts,
        dead_letter_options=dead,
        late_options=late,
        description=f"Kafka {bootstrap_servers}: {topic_posts} -> {topic_counts}, {topic_alerts}",
        record_time="record_ts",
    )


def file_io(staged_posts: str, out_dir: str) -> TableIO:
    """Filesystem source over a staged stream file and filesystem sinks under ``out_dir``.

    The staged file has JSON lines ``{"ts": <event ms>, "message": "<original line, base64>"}``
    (:func:`trendlab.staging.stage_stream`; Flink's JSON format reads ``BYTES`` from base64). ``ts`` only
    orders the staged file (and times the ceiling's messages); the event time comes from ``message``
    by the same SQL as in Kafka (:func:`posts_ddl`).
    """
    out = out_dir.rstrip("/")
    return TableIO(
        posts_columns=("message BYTES", "ts BIGINT"),
        posts_options={"connector": "filesystem", "path": staged_posts, "format": "json"},
        counts_options={"connector": "filesystem", "path": f"{out}/_counts", "format": "json"},
        alerts_options={"connector": "filesystem", "path": f"{out}/_alerts", "format": "raw"},
        dead_letter_options={"connector": "filesystem", "path": f"{out}/_dead_letters", "format": "json"},
        late_options={"connector": "filesystem", "path": f"{out}/_late", "format": "raw"},
        description=f"files: {staged_posts} -> {out}",
    )


# -- statements ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventTimeBounds:
    """The event-time bounds of :class:`trendlab.core.parse.Limits`, as the SQL needs them (no import of parse
    here: this module stays free of anything heavy)."""

    min_event_time_us: int
    max_future_s: int
    max_message_bytes: int

    @classmethod
    def of(cls, limits) -> EventTimeBounds:
        return cls(limits.min_event_time_us, limits.max_future_s, limits.max_message_bytes)


#: The rowtime of a message without a usable payload time: before every watermark, so it never moves one
#: (no accepted event time is negative: ``Limits.min_event_time_us`` >= 0).
UNUSABLE_MS = -1

_ISO_RE = (r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
           r"(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$")


def _iso_us(c: str) -> str:
    """SQL: the ISO 8601 time ``c`` (a STRING expression, already trimmed and matched by :data:`_ISO_RE`)
    as µs since 1970, UTC; NULL for a date that does not exist (Feb 30: the round trip differs)."""
    secs = f"UNIX_TIMESTAMP(SUBSTRING({c} FROM 1 FOR 10) || ' ' || SUBSTRING({c} FROM 12 FOR 8), 'yyyy-MM-dd HH:mm:ss')"
    # the fraction (from position 20 when it starts with '.') as µs: its first six digits, right-padded
    frac = (f"CASE WHEN SUBSTRING({c} FROM 20 FOR 1) = '.' THEN CAST(RPAD(SUBSTRING(REGEXP_EXTRACT({c}, '\\.([0-9]+)', 1) "
            "FROM 1 FOR 6), 6, '0') AS BIGINT) ELSE 0 END")
    zone = f"REGEXP_EXTRACT({c}, '([+-])([0-9]{{2}}):([0-9]{{2}})$', 0)"
    offset_s = (f"CASE WHEN {zone} IS NULL OR {zone} = '' THEN 0 ELSE "
                f"(CASE WHEN SUBSTRING({zone} FROM 1 FOR 1) = '-' THEN -1 ELSE 1 END) * "
                f"(CAST(SUBSTRING({zone} FROM 2 FOR 2) AS BIGINT) * 3600 + CAST(SUBSTRING({zone} FROM 5 FOR 2) AS BIGINT) * 60) END")
    exists = (f"FROM_UNIXTIME({secs}, 'yyyy-MM-dd HH:mm:ss') = "
              f"SUBSTRING({c} FROM 1 FOR 10) || ' ' || SUBSTRING({c} FROM 12 FOR 8)")
    return f"CASE WHEN {exists} THEN ({secs} - {offset_s}) * 1000000 + {frac} END"


def _over_bytes(message: str, text: str, limit: int) -> str:
    """SQL (BOOLEAN): the message (BYTES) has more than ``limit`` bytes. Flink SQL has no length of BYTES:
    the decoded text's length bounds it (a UTF-16 unit is 1 to 3 bytes, a pair 4), and only when that
    cannot decide is the exact size taken from the base64 form (4 characters per 3 bytes, less padding)."""
    b64 = f"TO_BASE64({message})"
    exact = f"(CHAR_LENGTH({b64}) / 4 * 3 - (CHAR_LENGTH({b64}) - CHAR_LENGTH(TRIM(TRAILING '=' FROM {b64}))))"
    return (f"(CASE WHEN CHAR_LENGTH({text}) > {limit} THEN TRUE WHEN CHAR_LENGTH({text}) * 3 <= {limit} THEN FALSE "
            f"ELSE {exact} > {limit} END)")


def payload_event_ms(bounds: EventTimeBounds, message: str = "message") -> str:
    """SQL (BIGINT, NULL when unusable): the event time in ms of the raw message ``message`` (BYTES) under
    the event-time policy of :mod:`trendlab.core.parse` (``MessageParser._in_time`` and ``models._time_us`` /
    ``_created_at``): a message over ``max_message_bytes`` has none; the top-level ``time_us`` when it is
    present and not null (then it must be a JSON integer of at most 18 digits, else none: a string, a
    float, a boolean is malformed, ``createdAt`` is not used); else ``commit.record.createdAt`` (a
    Jetstream event) or ``created_at`` (flat PostData JSON), an ISO 8601 time (``Z``, an offset, or none:
    UTC); then it must lie in ``[min_event_time_us, now + max_future_s]``.

    ``tests/unit/test_event_time_sql.py`` runs this SQL in a PyFlink table environment over a table of
    hostile cases and requires it to equal :func:`trendlab.core.parse.parse_message`'s event time; the job's
    table function checks every post against it as well (a disagreement is a dead letter, never a
    mis-timed count).
    """
    text = f"CAST({message} AS STRING)"
    doc = f"(CASE WHEN SUBSTRING({text} FROM 1 FOR 1) = U&'\\FEFF' THEN SUBSTRING({text} FROM 2) ELSE {text} END)"
    tus = f"JSON_QUERY({doc}, '$.time_us' WITH CONDITIONAL ARRAY WRAPPER NULL ON ERROR)"
    from_tus = (f"CASE WHEN REGEXP({tus}, '^\\[[0-9]{{1,18}}\\]$') "
                f"THEN CAST(SUBSTRING({tus} FROM 2 FOR CHAR_LENGTH({tus}) - 2) AS BIGINT) END")
    created = (f"TRIM(COALESCE(JSON_VALUE({doc}, '$.commit.record.createdAt' NULL ON ERROR), "
               f"JSON_VALUE({doc}, '$.created_at' NULL ON ERROR)))")
    from_created = f"CASE WHEN REGEXP({created}, '{_ISO_RE}') THEN {_iso_us(created)} END"
    us = (f"CASE WHEN {_over_bytes(message, text, bounds.max_message_bytes)} THEN CAST(NULL AS BIGINT) "
          f"WHEN {tus} IS NOT NULL THEN {from_tus} ELSE {from_created} END")
    latest = f"TIMESTAMPADD(SECOND, {bounds.max_future_s}, CURRENT_TIMESTAMP)"
    return (f"(CASE WHEN ({us}) >= {bounds.min_event_time_us} AND TO_TIMESTAMP_LTZ(({us}) / 1000, 3) <= {latest} "
            f"THEN ({us}) / 1000 END)")


def posts_ddl(io: TableIO, max_out_of_orderness_ms: int, bounds: EventTimeBounds | None = None, *,
              record_time: bool = False) -> str:
    """The posts table: the physical columns, ``event_ms`` (BIGINT, the payload's event time, NULL when
    unusable), ``event_time`` (the rowtime: ``event_ms``, or :data:`UNUSABLE_MS`) and the watermark
    (``event_time`` minus the bound). ``record_time``: the bench's ceiling, whose messages are not posts,
    times them by the record (``io.record_time``)."""
    if record_time:
        event = [f"event_ms AS CAST(NULL AS BIGINT)", f"event_time AS {io.record_time}"]
    else:
        if bounds is None:
            from trendlab.core.parse import Limits

            bounds = EventTimeBounds.of(Limits())
        ms = payload_event_ms(bounds)
        event = [f"event_ms AS {ms}", f"event_time AS TO_TIMESTAMP_LTZ(COALESCE({ms}, {UNUSABLE_MS}), 3)"]
    delay = f"event_time - {interval(max_out_of_orderness_ms)}" if max_out_of_orderness_ms else "event_time"
    columns = ",\n  ".join([*io.posts_columns, *event, f"WATERMARK FOR event_time AS {delay}"])
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


def late_flag(slide_ms: int) -> str:
    """SQL (BOOLEAN): the post's first window has closed, i.e. the end of its slice, minus 1 ms (when the
    window operator fires it), is at or before the current watermark. Such a post would be counted in
    none or only some of its windows (Flink's window operator drops it silently), so the job counts it in
    none and sends it to the late-posts sink instead. Evaluated in the source's chain, whose watermark is
    at or ahead of the window operator's: a post that is not late here is on time there."""
    slice_end = f"p.event_ms - MOD(p.event_ms, {slide_ms}) + {slide_ms} - 1"
    return (f"(p.event_ms IS NOT NULL AND CURRENT_WATERMARK(p.event_time) IS NOT NULL AND "
            f"TO_TIMESTAMP_LTZ({slice_end}, 3) <= CURRENT_WATERMARK(p.event_time))")


def extracted_view(slide_ms: int = 60_000) -> str:
    """One row per (post, keyword) and one volume row per post (keyword :data:`VOLUME_KEY`), or one
    row with ``error`` (and ``excerpt``, a bounded excerpt of the message) set for a dead letter; ``late``
    (:func:`late_flag`) and the raw message (``raw_message``, for the late-posts sink) on every row."""
    return (
        f"CREATE TEMPORARY VIEW {EXTRACTED} AS\n"
        f"SELECT x.excerpt AS message, p.event_time, x.keyword, x.normalized_keyword, x.author_did, x.content_key,\n"
        f"       x.post_hash, x.post_langs, x.error, {late_flag(slide_ms)} AS late, p.message AS raw_message\n"
        f"FROM {POSTS} AS p, LATERAL TABLE({EXTRACT_FUNCTION}(p.message, p.event_ms))"
        " AS x(keyword, normalized_keyword, author_did, content_key, post_hash, post_langs, error, excerpt)"
    )


#: The keyword of a post's volume row: every post gives one, so its window "count" is the window's
#: posts (the detector's volume, :func:`trendlab.core.windows.window_volume`). No keyword is empty, and
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
    :class:`trendlab.core.extract.KeywordExtractor`; only the bench produces such messages. A message without
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
        f" ELSE CAST(SPLIT_INDEX({text}, {sep}, 2) AS BIGINT) END AS post_hash,\n"
        f"       CASE WHEN k.keyword = {quote(VOLUME_KEY)} THEN CAST(NULL AS BIGINT) ELSE CAST(0 AS BIGINT) END"
        " AS post_langs, CAST(NULL AS STRING) AS error,\n"
        "       FALSE AS late, CAST(NULL AS BYTES) AS raw_message\n"
        f"FROM {POSTS} AS p CROSS JOIN UNNEST(SPLIT({text}, {sep})) WITH ORDINALITY AS k(keyword, pos)\n"
        "WHERE k.pos > 3"
    )


def occurrences_view() -> str:
    return (
        f"CREATE TEMPORARY VIEW {OCCURRENCES} AS\n"
        f"SELECT keyword, normalized_keyword, author_did, content_key, post_hash, post_langs, event_time FROM {EXTRACTED}\n"
        "WHERE error IS NULL AND NOT late"
    )


def window_counts_view(window_ms: int, slide_ms: int) -> str:
    """``HOP`` windows of ``window_ms`` every ``slide_ms``; keeps ``window_time`` (the rowtime). A phrase's
    or a link's window exists from :data:`~trendlab.core.windows.MIN_PHRASE_COUNT` posts, a word's from one."""
    if window_ms <= 0 or slide_ms <= 0 or window_ms % slide_ms:
        raise ConfigError(f"window ({window_ms} ms) must be a positive whole multiple of slide ({slide_ms} ms)")
    return (
        f"CREATE TEMPORARY VIEW {WINDOW_COUNTS} AS\n"
        "SELECT keyword, normalized_keyword, window_start, window_end, window_time,\n"
        "       COUNT(*) AS `count`, COUNT(DISTINCT author_did) AS unique_authors,\n"
        "       COUNT(DISTINCT content_key) AS unique_contents,\n"
        f"       {', '.join(cooccur.sql_columns())}\n"
        f"FROM TABLE(HOP(TABLE {OCCURRENCES}, DESCRIPTOR(event_time), {interval(slide_ms)}, {interval(window_ms)}))\n"
        "GROUP BY keyword, normalized_keyword, window_start, window_end, window_time\n"
        # a phrase's or a link's window exists from MIN_PHRASE_COUNT posts (trendlab.core.windows.phrase_codes)
        f"HAVING COUNT(*) >= {MIN_PHRASE_COUNT} OR (POSITION(' ' IN keyword) = 0 AND keyword NOT LIKE '{LINK_PREFIX}%')"
    )


_ISO = "'yyyy-MM-dd''T''HH:mm:ss''Z'''"
_ISO_MS = "'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''"

#: The job's outputs as one stream (window counts and dead letters; see :func:`hub_query`).
HUB = "job_outputs"
HUB_COLUMNS = (
    "keyword", "normalized_keyword", "window_start", "window_end", "count", "unique_authors", "unique_contents",
    *cooccur.SKETCH_COLUMNS, "message", "error", "event_time", "late_message", "rowtime",
)


def hub_query() -> str:
    """Window counts, dead letters and late posts as one stream, so that one plan feeds every sink.

    Flink optimises each Table -> DataStream conversion on its own: converting the window counts for
    the (Python) detector and also inserting them into the counts sink from SQL would run the source
    and the extraction twice. So the job converts this one union to a DataStream once, and the SQL
    sinks and the detector all read that stream. ``rowtime`` is the window's ``window_time``
    (``window_end - 1 ms``) for a count, the message's event time for a dead letter (its ``event_time``
    column is NULL when the payload had no usable one) and for a late post (``late_message``: the raw
    message, one row per post: its volume row).
    """
    null = "CAST(NULL AS STRING)"
    nums = ", ".join(["CAST(NULL AS BIGINT)"] * (3 + len(cooccur.SKETCH_COLUMNS)))
    usable = f"CASE WHEN event_time >= TO_TIMESTAMP_LTZ(0, 3) THEN DATE_FORMAT(event_time, {_ISO_MS}) END"
    return (
        f"SELECT keyword, normalized_keyword, DATE_FORMAT(window_start, {_ISO}) AS window_start,\n"
        f"       DATE_FORMAT(window_end, {_ISO}) AS window_end, `count`, unique_authors, unique_contents,\n"
        f"       {', '.join(cooccur.SKETCH_COLUMNS)},\n"
        f"       {null} AS message, {null} AS error, {null} AS event_time, CAST(NULL AS BYTES) AS late_message,\n"
        "       window_time AS rowtime\n"
        f"FROM {WINDOW_COUNTS}\n"
        "UNION ALL\n"
        f"SELECT {null}, {null}, {null}, {null}, {nums},\n"
        f"       message, error, {usable}, CAST(NULL AS BYTES), event_time\n"
        f"FROM {EXTRACTED} WHERE error IS NOT NULL\n"
        "UNION ALL\n"
        f"SELECT {null}, {null}, {null}, {null}, {nums},\n"
        f"       {null}, {null}, DATE_FORMAT(event_time, {_ISO_MS}), raw_message, event_time\n"
        f"FROM {EXTRACTED} WHERE error IS NULL AND late AND keyword = {quote(VOLUME_KEY)}"
    )


def insert_counts() -> str:
    """Window counts as :class:`~trendlab.core.models.WindowedKeywordCount` JSON (whole-second windows)."""
    return (
        f"INSERT INTO {COUNTS_SINK}\n"
        "SELECT keyword, normalized_keyword, window_start, window_end, `count`, unique_authors, unique_contents\n"
        f"FROM {HUB} WHERE error IS NULL AND late_message IS NULL AND keyword <> {quote(VOLUME_KEY)}"
    )


def late_sink_ddl(io: TableIO) -> str | None:
    if io.late_options is None:
        return None
    return f"CREATE TEMPORARY TABLE {LATE_SINK} (\n  message BYTES\n) {with_clause(io.late_options)}"


def insert_late_posts() -> str:
    """Late posts (see :func:`late_flag`) as they came: the raw message, one record per post."""
    return f"INSERT INTO {LATE_SINK}\nSELECT late_message FROM {HUB} WHERE late_message IS NOT NULL"


def insert_dead_letters() -> str:
    return f"INSERT INTO {DEAD_LETTER_SINK}\nSELECT message, error, event_time FROM {HUB} WHERE error IS NOT NULL"


def job_statements(io: TableIO, window_ms: int, slide_ms: int, max_out_of_orderness_ms: int,
                   bounds: EventTimeBounds | None = None, *, presplit: bool = False) -> list[str]:
    """Every DDL statement and view of the job, in order (the INSERTs are added by the job).
    ``bounds``: the event-time bounds (:class:`trendlab.core.parse.Limits`; the defaults when ``None``).
    ``presplit``: the bench's ceiling, keywords extracted before Kafka (:func:`presplit_view`)."""
    statements = [
        posts_ddl(io, max_out_of_orderness_ms, bounds, record_time=presplit),
        counts_sink_ddl(io),
        alerts_sink_ddl(io),
        presplit_view() if presplit else extracted_view(slide_ms),
        occurrences_view(),
        window_counts_view(window_ms, slide_ms),
    ]
    for ddl in (dead_letter_sink_ddl(io), late_sink_ddl(io)):
        if ddl:
            statements.append(ddl)
    return statements
