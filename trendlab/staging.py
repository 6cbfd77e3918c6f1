"""A posts file as timestamped records in event-time order, and its staged copy for the embedded job.

:func:`read_stream` reads a posts file through the one reader (:mod:`trendlab.postfile`) and the total
parser into :class:`StreamRecord` s: what ``trendlab produce`` sends to Kafka (:mod:`trendlab.kafka`)
and what :func:`stage_stream` writes as the Kafka-free embedded job's source (``{"ts", "message"}``
JSON lines), so both profiles read the same records.

* **value**: the input line exactly as it was (Jetstream event or flat PostData JSON);
* **timestamp**: the post's event time in ms (:attr:`trendlab.core.models.PostData.event_time_us` // 1000);
* **key**: the author DID;
* **order**: event-time order (a stable sort of the file).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from trendlab.core.models import PostData
from trendlab.core.parse import DeadLetter, MessageParser
from trendlab.env_defaults import parser_limits
from trendlab.postfile import ReadCounts, read_messages

__all__ = ["StreamRecord", "StreamStats", "read_stream", "stage_stream"]


@dataclass(frozen=True, slots=True)
class StreamRecord:
    timestamp_ms: int
    key: bytes | None
    value: bytes
    malformed: bool = False
    #: the input line number (0 when the record does not come from a file)
    line: int = 0
    #: the parser's reason when the line is a dead letter
    reason: str | None = None
    #: the value is already a dead-letter record (a line too large to send): it goes to the dead-letter topic
    dlq: bool = False


#: What a read counts (one definition for replay and produce): lines, posts, skipped, dead letters.
StreamStats = ReadCounts


def read_stream(path: str | Path, *, keep_malformed: bool = True, parser: MessageParser | None = None,
                ) -> tuple[list[StreamRecord], ReadCounts]:
    """Read a posts file into Kafka records in event-time order (see the module docstring), through
    the one reader (:func:`trendlab.postfile.read_messages`).

    Posts get their event time as timestamp (inside the event-time policy, so the broker's timestamp
    bounds cannot refuse them). Dead letters (``malformed``) get the timestamp of the record before
    them and carry their line as read — or, for a line over ``TRENDLAB_MAX_MESSAGE_BYTES``, which
    cannot be sent whole, the dead-letter record (reason + bounded excerpt) for the dead-letter topic.
    """
    counts = ReadCounts()
    records: list[StreamRecord] = []
    last_ts: int | None = None
    pending: list[tuple[int, bytes, DeadLetter]] = []  # dead letters before the first post get its timestamp
    parser = parser or MessageParser(parser_limits(), now_us=time.time_ns() // 1000)
    limit = parser.limits.max_message_bytes

    def dead_record(ts: int, number: int, line: bytes, dead: DeadLetter) -> StreamRecord:
        if dead.size <= limit:
            return StreamRecord(ts, None, line, True, number, dead.reason)
        return StreamRecord(ts, None, dead.to_json(line=number), True, number, dead.reason, dlq=True)

    for number, line, outcome in read_messages(path, parser, counts):
        if outcome.__class__ is DeadLetter:
            if keep_malformed:
                if last_ts is None:
                    pending.append((number, line, outcome))  # type: ignore[arg-type]
                else:
                    records.append(dead_record(last_ts, number, line, outcome))  # type: ignore[arg-type]
            continue
        if outcome.__class__ is not PostData:
            continue
        post: PostData = outcome  # type: ignore[assignment]
        ts = post.event_time_us // 1000
        if last_ts is None and pending:
            records.extend(dead_record(ts, *p) for p in pending)
            pending.clear()
        last_ts = ts
        records.append(StreamRecord(ts, post.author_did.encode(), line, False, number))
    now_ms = time.time_ns() // 1_000_000
    records.extend(dead_record(now_ms, *p) for p in pending)
    records.sort(key=lambda r: r.timestamp_ms)  # stable: file order within one millisecond
    return records, counts


def stage_stream(path: str | Path, target: str | Path) -> StreamStats:
    """Write ``path`` as the embedded job's source: JSON lines ``{"ts": <event ms>, "message": "<base64>"}``
    (the line's bytes as they are, base64 as Flink's JSON format wants ``BYTES``: the job decodes them
    itself, like a Kafka message)."""
    records, stats = read_stream(path)
    with open(target, "wb") as out:
        for r in records:
            out.write(orjson.dumps({"ts": r.timestamp_ms, "message": base64.b64encode(r.value).decode()}) + b"\n")
    return stats
