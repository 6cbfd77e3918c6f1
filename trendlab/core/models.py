"""The three records trendlab moves around, and their JSON forms.

* :class:`PostData` — one Bluesky post. Built from a Jetstream event (``kind: commit``,
  ``collection: app.bsky.feed.post``, ``operation: create``) or from its own flat JSON.
* :class:`WindowedKeywordCount` — how often a keyword occurred in one sliding window.
* :class:`TrendAlert` — a keyword whose window count burst above its own baseline.

Times are timezone-aware UTC ``datetime`` objects in Python and ISO 8601 strings ending in ``Z`` in
JSON. A malformed post raises :class:`MalformedPost`, whose message names the field and the value.
"""

from __future__ import annotations

import reprlib
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from trendlab.core.links import is_link

from trendlab.errors import InputError

POST_COLLECTION = "app.bsky.feed.post"


class MalformedPost(InputError):
    """A record that should be a post but cannot be read as one. The message names the field."""

    def __init__(self, field_name: str, value: Any, reason: str = "is invalid") -> None:
        shown = _SHORT.repr(value)  # bounded in time and size whatever the value (a 200 MB string, deep nesting)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field_name} {reason}: {shown}")
        self.field = field_name
        self.value = value


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 3, 80, 80, 40


# -- time helpers -------------------------------------------------------------------------------

def parse_time(value: Any, field_name: str = "created_at") -> datetime:
    """Parse an ISO 8601 time (``Z`` or offset; naive means UTC) into an aware UTC datetime."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise MalformedPost(field_name, value, "is not an ISO 8601 time") from None
    else:
        raise MalformedPost(field_name, value, "is not an ISO 8601 time")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise MalformedPost(field_name, value, "is out of range") from None


def format_time(dt: datetime) -> str:
    """ISO 8601 UTC with ``Z``; milliseconds only when present."""
    dt = dt.astimezone(timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def micros_to_datetime(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc)


def datetime_to_micros(dt: datetime) -> int:
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def normalize_keyword(keyword: str) -> str:
    """The comparable form of a keyword: NFKC, lower-case, surrounding whitespace removed."""
    return unicodedata.normalize("NFKC", keyword).strip().lower()


def _text_field(obj: dict, key: str, field_name: str, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise MalformedPost(field_name, value, "is missing")
        return None
    if not isinstance(value, str):
        raise MalformedPost(field_name, value, "must be a string")
    return value


def _str_list(value: Any, field_name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedPost(field_name, value, "must be a list of strings")
    return list(value)


def _more_langs(language: str | None, langs: list[str]) -> list[str]:
    """:attr:`PostData.more_langs`: ``langs`` when they say more than ``language`` alone, else ``[]``."""
    if not langs or langs == ([language] if language else []):
        return []
    return langs if langs[0] == language else ([language] if language else []) + langs


# -- PostData -----------------------------------------------------------------------------------

@dataclass(slots=True)
class PostData:
    uri: str
    author_did: str
    text: str
    created_at: datetime
    language: str | None = None
    reply_to: str | None = None
    mentions: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    #: Jetstream ``time_us`` (when the relay saw the event); the event time when present.
    time_us: int | None = None
    #: the URLs the post links to, as written: its link facets' ``uri``, then its external embed's
    #: (:func:`trendlab.core.links.post_links` adds the text's and normalises them)
    links: list[str] = field(default_factory=list)
    #: every language tag of the post as tagged (Jetstream ``langs``; Bluesky allows three), when it has
    #: more than ``language`` (the first, which picks the stop words); see :attr:`languages`
    more_langs: list[str] = field(default_factory=list)

    @property
    def languages(self) -> list[str]:
        """Every language tag of the post (a board per language counts the post for each)."""
        return self.more_langs or self.langs

    @property
    def event_time_us(self) -> int:
        """Event time in microseconds since the epoch: ``time_us`` when present, else ``created_at``."""
        if self.time_us is not None:
            return self.time_us
        return datetime_to_micros(self.created_at)

    @property
    def event_time(self) -> datetime:
        return micros_to_datetime(self.event_time_us)

    @property
    def langs(self) -> list[str]:
        return [self.language] if self.language else []

    # JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {
            "uri": self.uri,
            "author_did": self.author_did,
            "text": self.text,
            "created_at": format_time(self.created_at),
            "language": self.language,
            "reply_to": self.reply_to,
            "mentions": list(self.mentions),
            "hashtags": list(self.hashtags),
        }
        if self.time_us is not None:
            d["time_us"] = self.time_us
        if self.links:
            d["links"] = list(self.links)
        if self.more_langs:
            d["langs"] = list(self.more_langs)
        return d

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, obj: Any) -> PostData:
        """From the flat JSON form written by :meth:`to_json`."""
        if not isinstance(obj, dict):
            raise MalformedPost("post", obj, "must be a JSON object")
        time_us = _time_us(obj)
        language = obj.get("language")
        if language is not None and not isinstance(language, str):
            raise MalformedPost("language", language, "must be a string")
        langs = _str_list(obj.get("langs"), "langs")
        language = language or (langs[0] if langs else None)
        return cls(
            uri=_text_field(obj, "uri", "uri"),  # type: ignore[arg-type]
            author_did=_require_did(_text_field(obj, "author_did", "author_did")),  # type: ignore[arg-type]
            text=_text_field(obj, "text", "text"),  # type: ignore[arg-type]
            created_at=_created_at(obj.get("created_at"), time_us, "created_at"),
            language=language or None,
            reply_to=_text_field(obj, "reply_to", "reply_to", required=False),
            mentions=_str_list(obj.get("mentions"), "mentions"),
            hashtags=_str_list(obj.get("hashtags"), "hashtags"),
            time_us=time_us,
            links=_str_list(obj.get("links"), "links"),
            more_langs=_more_langs(language or None, langs),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> PostData:
        post = parse_post(text)
        if post is None:
            raise MalformedPost("kind", "non-post event", "is not a post")
        return post

    @classmethod
    def from_jetstream(cls, event: Any) -> PostData | None:
        """A post from a Jetstream event; ``None`` when the event is not a post creation.

        Likes, follows, deletes, identity and account events are not posts and give ``None``;
        an event that claims to create a post but lacks what a post needs raises
        :class:`MalformedPost`.
        """
        if not isinstance(event, dict):
            raise MalformedPost("event", event, "must be a JSON object")
        if event.get("kind") != "commit":
            return None
        commit = event.get("commit")
        if not isinstance(commit, dict):
            raise MalformedPost("commit", commit, "must be a JSON object")
        if commit.get("collection") != POST_COLLECTION or commit.get("operation") != "create":
            return None
        did = _require_did(_text_field(event, "did", "did"))  # type: ignore[arg-type]
        record = commit.get("record")
        if not isinstance(record, dict):
            raise MalformedPost("commit.record", record, "must be a JSON object")
        text = _text_field(record, "text", "commit.record.text")
        rkey = _text_field(commit, "rkey", "commit.rkey")
        time_us = _time_us(event)
        created_at = _created_at(record.get("createdAt"), time_us, "commit.record.createdAt")
        langs = _str_list(record.get("langs"), "commit.record.langs")
        reply = record.get("reply")
        reply_to = None
        if isinstance(reply, dict) and isinstance(reply.get("parent"), dict):
            parent_uri = reply["parent"].get("uri")
            reply_to = parent_uri if isinstance(parent_uri, str) else None
        mentions: list[str] = []
        hashtags: list[str] = []
        links: list[str] = []
        facets = record.get("facets")
        if isinstance(facets, list):  # facets are decoration: odd shapes are ignored, never fatal
            for facet in facets:
                features = facet.get("features") if isinstance(facet, dict) else None
                if not isinstance(features, list):
                    continue
                for feature in features:
                    if not isinstance(feature, dict):
                        continue
                    ftype = feature.get("$type")
                    if not isinstance(ftype, str):
                        continue
                    if ftype.endswith("#mention") and isinstance(feature.get("did"), str):
                        mentions.append(feature["did"])
                    elif ftype.endswith("#tag") and isinstance(feature.get("tag"), str):
                        hashtags.append(feature["tag"])
                    elif ftype.endswith("#link") and isinstance(feature.get("uri"), str):
                        links.append(feature["uri"])
        external = _embedded_link(record.get("embed"))
        if external is not None:
            links.append(external)
        return cls(
            uri=f"at://{did}/{POST_COLLECTION}/{rkey}",
            author_did=did,
            text=text,  # type: ignore[arg-type]
            created_at=created_at,
            language=langs[0] if langs else None,
            more_langs=_more_langs(langs[0] if langs else None, langs),
            reply_to=reply_to,
            mentions=mentions,
            hashtags=hashtags,
            time_us=time_us,
            links=links,
        )


def _embedded_link(embed: Any) -> str | None:
    """The ``external.uri`` of an external embed, or of the media of a record with media; ``None`` for
    any other embed or shape (embeds are decoration: odd shapes are ignored, never fatal)."""
    if not isinstance(embed, dict):
        return None
    external = embed.get("external")
    if external is None and isinstance(embed.get("media"), dict):
        external = embed["media"].get("external")
    uri = external.get("uri") if isinstance(external, dict) else None
    return uri if isinstance(uri, str) else None


#: the largest ``time_us`` a datetime can hold (year 9999); larger ones are malformed, not an overflow
_MAX_TIME_US = 253_402_300_799_999_999


def _time_us(obj: dict) -> int | None:
    time_us = obj.get("time_us")
    if time_us is not None and (not isinstance(time_us, int) or isinstance(time_us, bool)
                                or not 0 <= time_us <= _MAX_TIME_US):
        raise MalformedPost("time_us", time_us, "must be a microsecond time between year 1970 and 9999")
    return time_us


def _created_at(value: Any, time_us: int | None, field_name: str) -> datetime:
    """``createdAt`` as a datetime; with ``time_us`` (the server's clock, which wins) a missing or
    unreadable ``createdAt`` (whatever a client wrote) costs nothing: it becomes ``time_us``."""
    if time_us is None:
        return parse_time(value, field_name)
    try:
        return parse_time(value, field_name)
    except MalformedPost:
        return micros_to_datetime(time_us)


def _require_did(value: str) -> str:
    if not value.startswith("did:"):
        raise MalformedPost("author_did" if value else "did", value, "is not a DID")
    return value


def parse_post(line: str | bytes | dict) -> PostData | None:
    """One input line (Jetstream event or flat PostData JSON) → ``PostData``, or ``None`` when the
    line is a valid event that is not a post. Raises :class:`MalformedPost` otherwise."""
    if isinstance(line, dict):
        obj = line
    else:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise MalformedPost("line", line if isinstance(line, str) else line.decode("utf-8", "replace"),
                                f"is not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise MalformedPost("line", obj, "must be a JSON object")
    if "kind" in obj or "commit" in obj:
        return PostData.from_jetstream(obj)
    return PostData.from_dict(obj)


# -- window counts and alerts -------------------------------------------------------------------

@dataclass(slots=True)
class WindowedKeywordCount:
    keyword: str
    count: int
    window_start: datetime
    window_end: datetime
    unique_authors: int
    normalized_keyword: str = ""
    #: distinct contents among the keyword's posts (:mod:`trendlab.core.content`); ``None`` when unknown
    unique_contents: int | None = None
    #: the MinHash sketch of the window's posts holding the keyword (:mod:`trendlab.core.cooccur`); not serialised
    sketch: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not self.normalized_keyword:
            self.normalized_keyword = normalize_keyword(self.keyword)

    def to_dict(self) -> dict[str, Any]:
        return {
            "keyword": self.keyword,
            "normalized_keyword": self.normalized_keyword,
            "window_start": format_time(self.window_start),
            "window_end": format_time(self.window_end),
            "count": self.count,
            "unique_authors": self.unique_authors,
            **({} if self.unique_contents is None else {"unique_contents": self.unique_contents}),
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> WindowedKeywordCount:
        return cls(
            keyword=obj["keyword"],
            count=int(obj["count"]),
            window_start=parse_time(obj["window_start"], "window_start"),
            window_end=parse_time(obj["window_end"], "window_end"),
            unique_authors=int(obj["unique_authors"]),
            normalized_keyword=obj.get("normalized_keyword", ""),
            unique_contents=None if obj.get("unique_contents") is None else int(obj["unique_contents"]),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> WindowedKeywordCount:
        return cls.from_dict(orjson.loads(text))


@dataclass(slots=True)
class TrendAlert:
    keyword: str
    window_start: datetime
    window_end: datetime
    count: int
    unique_authors: int
    baseline: float
    score: float
    #: keywords that burst in the same window and co-occur with this one in posts
    related_keywords: list[str] = field(default_factory=list)
    #: the most common post language among the keyword's posts in the window, when known
    language: str | None = None
    #: the keyword that opened the trend this alert belongs to (itself for a new trend)
    trend: str | None = None
    #: what the trend is about: its phrase with the most posts, else its first keyword
    topic: str | None = None
    #: the topic as people write it
    display_name: str | None = None
    #: ``"link"`` for a trending link (:mod:`trendlab.core.links`; a board of its own), else ``"topic"``
    kind: str = "topic"
    #: the share of the keyword's posts in each language (a post tagged with several counts for each),
    #: when the engine that wrote the alert knows them; left out of the JSON when unknown
    languages: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["languages"] is None:
            del d["languages"]
        d["window_start"] = format_time(self.window_start)
        d["window_end"] = format_time(self.window_end)
        d["baseline"] = round(float(self.baseline), 6)
        d["score"] = round(float(self.score), 6)
        return d

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> TrendAlert:
        return cls(
            keyword=obj["keyword"],
            window_start=parse_time(obj["window_start"], "window_start"),
            window_end=parse_time(obj["window_end"], "window_end"),
            count=int(obj["count"]),
            unique_authors=int(obj["unique_authors"]),
            baseline=float(obj["baseline"]),
            score=float(obj["score"]),
            related_keywords=list(obj.get("related_keywords") or []),
            language=obj.get("language"),
            trend=obj.get("trend"),
            topic=obj.get("topic"),
            display_name=obj.get("display_name"),
            kind=obj.get("kind") or ("link" if is_link(obj["keyword"]) else "topic"),
            languages=_language_shares(obj.get("languages")),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> TrendAlert:
        return cls.from_dict(orjson.loads(text))


def _language_shares(value: Any) -> dict[str, float] | None:
    """An alert's ``languages``: ``{"ja": 0.7, "en": 0.4}`` (shares of its posts; a post tagged with
    several languages counts for each, so they may sum past 1); anything else is malformed."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and k and isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v
            for k, v in value.items()):
        raise ValueError(f"languages must map language tags to shares, got {str(value)[:80]}")
    return {k: float(v) for k, v in value.items()}
