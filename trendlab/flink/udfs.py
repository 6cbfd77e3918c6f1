"""The only per-record Python of the job: parse a raw message and extract its keywords.

:class:`ExtractKeywords` is a table function over the message's **raw bytes** (the Kafka value as it
is; the job decodes it itself through the total parser :class:`trendlab.core.parse.MessageParser`, so
invalid UTF-8 or any other bad input never reaches a decoder that could raise). It yields one row
``(keyword, normalized_keyword, author_did, content_key, post_hash, post_langs, NULL, NULL)`` per keyword of
a post (its words, then its phrases: at most ``max_keywords`` of those, see :func:`trendlab.core.parse.cap_phrases`;
the post's content key, :func:`trendlab.core.content.content_key`, reads its words; its hash for the
co-occurrence sketches, :func:`trendlab.core.cooccur.post_hash`, and its language tags' code for them,
:func:`trendlab.core.langtags.langs_code`) plus one volume row ``('', '', author_did, NULL, NULL, NULL, NULL,
NULL)`` per post (:data:`trendlab.flink.sql.VOLUME_KEY`), nothing for a valid event that is not a post (a
like, a delete…), and one row ``(NULL, NULL, NULL, NULL, NULL, NULL, reason, excerpt)`` for a
dead letter (malformed, out of the event-time range, over a cap), which the job routes to the
dead-letter sink. It never raises: a failing record would put the job into a restart loop.

Its second argument is the event time (ms) the source read from the same message in SQL
(:func:`trendlab.flink.sql.payload_event_ms`, the rowtime of the windows), or ``None`` when the source
found no usable one. A post the total parser accepts must have exactly that time: one without a source
time, or with another one, is a dead letter that says so (never a post counted at a wrong time); the
SQL and :mod:`trendlab.core.parse` are held equal by ``tests/unit/test_event_time_sql.py``.

With the compiled kernels installed (``trendlab_native``, see trendlab/core/extract.py) a message that is
plainly a Jetstream post creation or a non-post event is read by ``trendlab_native.Parser`` (the same
outcome, several times faster); every other message goes through the total parser as before.

Counters in the function's metric group (``trendlab.posts``, ``trendlab.malformed``,
``trendlab.non_posts``, ``trendlab.keywords``) show up in the Flink web UI and REST API.
"""

from __future__ import annotations

from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, TableFunction, udtf

from trendlab.core.content import content_key
from trendlab.core.cooccur import post_hash
from trendlab.core.extract import KeywordExtractor
from trendlab.core.langtags import langs_code
from trendlab.core.kernels import native_module
from trendlab.flink.sql import VOLUME_KEY
from trendlab.core.models import normalize_keyword
from trendlab.core.parse import DeadLetter, Limits, MessageParser, excerpt

#: ``event_ms`` when a caller (a test) gives none: the post's time is not checked against the source's
UNCHECKED = object()

#: (keyword, normalized_keyword, author_did, content_key, post_hash, post_langs, error, excerpt)
RESULT_TYPES = [DataTypes.STRING()] * 4 + [DataTypes.BIGINT()] * 2 + [DataTypes.STRING()] * 2


class ExtractKeywords(TableFunction):
    def __init__(self, extractor: KeywordExtractor | None = None, limits: Limits | None = None) -> None:
        self.extractor = extractor or KeywordExtractor()
        self.limits = limits or Limits()
        self.parser = MessageParser(self.limits)  # live clock: "now" is the time a message is processed
        self._posts = self._malformed = self._non_posts = self._keywords = None
        self._native = None  # made in open(), in the Python worker (not pickled)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_native"] = None
        return state

    def open(self, function_context: FunctionContext) -> None:
        try:
            group = function_context.get_metric_group().add_group("trendlab")
            self._posts = group.counter("posts")
            self._malformed = group.counter("malformed")
            self._non_posts = group.counter("non_posts")
            self._keywords = group.counter("keywords")
        except Exception:  # metrics disabled (python.metric.enabled=false)
            self._posts = self._malformed = self._non_posts = self._keywords = None
        self._native = native_parser(self.extractor, self.limits)

    def _dead(self, letter: DeadLetter):
        if self._malformed is not None:
            self._malformed.inc()
        return None, None, None, None, None, None, letter.reason, letter.excerpt

    def eval(self, raw, event_ms=UNCHECKED):
        try:
            rows = self._rows(raw, event_ms)
        except Exception as exc:  # noqa: BLE001 — never fail the job over one message
            rows = [self._dead(DeadLetter(f"could not be processed ({type(exc).__name__}: {str(exc)[:200]})",
                                          excerpt(raw or b""), len(raw or b"")))]
        yield from rows

    def _rows(self, raw, event_ms=UNCHECKED) -> list[tuple]:
        fast = self._native.post(raw) if self._native and event_ms is not None else None
        if fast is not None:
            if fast is False:
                if self._non_posts is not None:
                    self._non_posts.inc()
                return []
            author, keywords, langs = fast
            return self._post_rows(author, keywords, langs)
        outcome = self.parser.post_keywords(raw, self.extractor)
        if outcome is None:
            if self._non_posts is not None:
                self._non_posts.inc()
            return []
        if outcome.__class__ is DeadLetter:
            return [self._dead(outcome)]  # type: ignore[arg-type]
        post, keywords = outcome  # type: ignore[misc]
        policy_ms = post.event_time_us // 1000
        if event_ms is not UNCHECKED and event_ms != policy_ms:
            return [self._dead(DeadLetter(time_disagreement(policy_ms, event_ms), excerpt(raw or b""),
                                          len(raw or b"")))]
        return self._post_rows(post.author_did, keywords, langs_code(post.languages))

    def _post_rows(self, author: str, keywords: list[str], langs: int) -> list[tuple]:
        if self._posts is not None:
            self._posts.inc()
            self._keywords.inc(len(keywords))
        # a keyword is already NFKC and lower-case without surrounding spaces (a phrase's one space is
        # inside it): an ASCII one is its own normal form
        content, post = content_key(keywords, author), post_hash(author, keywords)
        rows = [(keyword, keyword if keyword.isascii() else normalize_keyword(keyword), author, content, post, langs,
                 None, None) for keyword in keywords]
        rows.append((VOLUME_KEY, VOLUME_KEY, author, None, None, None, None, None))  # the post counts in its windows' volume
        return rows


def time_disagreement(policy_ms: int, source_ms: int | None) -> str:
    """The dead-letter reason of a post whose event time the job's source read differently (a gap between
    trendlab.flink.sql.payload_event_ms and trendlab.core.parse: a bug to report, never a silent miscount)."""
    read = "no usable event time" if source_ms is None else f"event time {source_ms} ms"
    return (f"event time {policy_ms} ms (the event-time policy) but the job's source read {read} "
            "from this message; not counted (report it: the two must agree)")


def native_parser(extractor: KeywordExtractor, limits: Limits):
    """``trendlab_native.Parser`` for ``extractor`` and ``limits`` (live clock), or ``None`` without the kernels."""
    module = native_module() if extractor._native() else None
    if module is None:
        return None
    return module.Parser(extractor.kernel_rules(), limits.max_message_bytes, limits.max_keywords,
                         limits.min_event_time_us, limits.max_future_s * 1_000_000)


def extract_keywords_udtf(extractor: KeywordExtractor | None = None, limits: Limits | None = None):
    return udtf(ExtractKeywords(extractor, limits), result_types=RESULT_TYPES)
