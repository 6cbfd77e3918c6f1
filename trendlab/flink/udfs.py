"""The only per-record Python of the job: parse a raw message and extract its keywords.

:class:`ExtractKeywords` is a table function: one row ``(keyword, normalized_keyword, author_did,
NULL)`` per keyword of a post, nothing for a valid event that is not a post (a like, a delete…), and
one row ``(NULL, NULL, NULL, error)`` for a malformed message, which the job routes to the
dead-letter sink. Counters in the function's metric group (``trendlab.posts``, ``trendlab.malformed``,
``trendlab.non_posts``, ``trendlab.keywords``) show up in the Flink web UI and REST API.
"""

from __future__ import annotations

from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, TableFunction, udtf

from trendlab.extract import KeywordExtractor
from trendlab.models import MalformedPost, normalize_keyword, parse_post

RESULT_TYPES = [DataTypes.STRING(), DataTypes.STRING(), DataTypes.STRING(), DataTypes.STRING()]


class ExtractKeywords(TableFunction):
    def __init__(self, extractor: KeywordExtractor | None = None) -> None:
        self.extractor = extractor or KeywordExtractor()
        self._posts = self._malformed = self._non_posts = self._keywords = None

    def open(self, function_context: FunctionContext) -> None:
        try:
            group = function_context.get_metric_group().add_group("trendlab")
            self._posts = group.counter("posts")
            self._malformed = group.counter("malformed")
            self._non_posts = group.counter("non_posts")
            self._keywords = group.counter("keywords")
        except Exception:  # metrics disabled (python.metric.enabled=false)
            self._posts = self._malformed = self._non_posts = self._keywords = None

    def eval(self, raw: str | None):
        try:
            post = parse_post(raw if raw is not None else "")
        except (MalformedPost, UnicodeError) as exc:
            if self._malformed is not None:
                self._malformed.inc()
            yield None, None, None, str(exc)
            return
        if post is None:
            if self._non_posts is not None:
                self._non_posts.inc()
            return
        keywords = self.extractor.extract(post.text, post.langs)
        if self._posts is not None:
            self._posts.inc()
            self._keywords.inc(len(keywords))
        author = post.author_did
        for keyword in keywords:
            yield keyword, normalize_keyword(keyword), author, None


def extract_keywords_udtf(extractor: KeywordExtractor | None = None):
    return udtf(ExtractKeywords(extractor), result_types=RESULT_TYPES)
