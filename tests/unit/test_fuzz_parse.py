"""Property-based (Hypothesis) fuzzing of the total parser and of replay (issue 10).

Invariants: the parser never raises and returns exactly one of post / skip / dead letter (a dead
letter with a reason and a bounded excerpt); replay accounts for every non-blank line exactly once
(posts + skipped + dead letters = lines) and a file's good posts count the same with junk mixed in.

Example counts are kept moderate for CI (see ``EXAMPLES``); ``HYPOTHESIS_PROFILE=long`` runs 20x more.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

from trendlab.core.models import PostData
from trendlab.core.parse import EXCERPT_CHARS, DeadLetter, Limits, MessageParser, Skip
from trendlab.replay import read_posts, replay

SMALL = Path(__file__).resolve().parents[2] / "data" / "samples" / "small"
SCALE = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1
#: examples per property (CI): parser on bytes, parser on Jetstream-shaped JSON, replay on mixed files
EXAMPLES = {"bytes": 400 * SCALE, "events": 400 * SCALE, "replay": 40 * SCALE}
PARSER = MessageParser(Limits(max_message_bytes=4096))

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_any = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=12)
times = st.one_of(st.integers(min_value=1_600_000_000_000_000, max_value=1_800_000_000_000_000),
                  st.integers(min_value=-(2**63), max_value=2**64 - 1), json_any)
iso = st.one_of(st.datetimes().map(lambda d: d.isoformat()),
                st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2025-02-09T20:00:00Z",
                                 "2025-02-09T20:00:00", "garbage", ""]), json_any)
#: URL-ish text: what links are made of, with the characters that normalising looks at
url_text = st.one_of(
    st.builds(lambda scheme, host, rest: scheme + host + rest,
              st.sampled_from(["https://", "http://", "HTTPS://", "hTtP://", "ftp://", "", "https:/"]),
              st.text(alphabet="aZ.-:@1İ", max_size=12),
              st.text(alphabet="/?&=#_utmsifbclid.é \u3000x", max_size=24)),
    st.text(max_size=30))
feature = st.fixed_dictionaries({}, optional={
    "$type": st.one_of(st.sampled_from(["app.bsky.richtext.facet#tag", "app.bsky.richtext.facet#mention",
                                        "app.bsky.richtext.facet#link"]), json_any),
    "tag": json_any, "did": json_any, "uri": st.one_of(url_text, json_any)})
external = st.one_of(st.fixed_dictionaries({}, optional={"uri": st.one_of(url_text, json_any)}), json_any)
embed = st.one_of(st.fixed_dictionaries({}, optional={
    "$type": st.sampled_from(["app.bsky.embed.external", "app.bsky.embed.recordWithMedia", "app.bsky.embed.images"]),
    "external": external, "media": st.one_of(st.fixed_dictionaries({}, optional={"external": external}), json_any)}),
    json_any)
record = st.fixed_dictionaries({}, optional={
    "text": st.one_of(st.text(max_size=60), st.builds(lambda a, u, b: a + u + b, st.text(max_size=10), url_text,
                                                      st.text(max_size=10)), json_any), "createdAt": iso,
    "langs": st.one_of(st.lists(st.sampled_from(["en", "ja", "pt", "de"]), max_size=2), json_any),
    "facets": st.one_of(st.lists(st.fixed_dictionaries({}, optional={"features": st.one_of(st.lists(feature, max_size=3), json_any)}), max_size=3), json_any),
    "reply": json_any, "embed": embed})
commit = st.fixed_dictionaries({}, optional={
    "operation": st.one_of(st.sampled_from(["create", "update", "delete"]), json_any),
    "collection": st.one_of(st.sampled_from(["app.bsky.feed.post", "app.bsky.feed.like"]), json_any),
    "rkey": st.one_of(st.text(max_size=10), json_any), "record": st.one_of(record, json_any)})
event = st.fixed_dictionaries({}, optional={
    "did": st.one_of(st.text(max_size=12).map(lambda s: "did:plc:" + s), json_any),
    "time_us": times, "kind": st.one_of(st.sampled_from(["commit", "identity", "account"]), json_any),
    "commit": st.one_of(commit, json_any)})
flat = st.fixed_dictionaries({}, optional={
    "uri": json_any, "author_did": st.one_of(st.just("did:plc:f"), json_any), "text": st.one_of(st.text(max_size=30), json_any),
    "created_at": iso, "time_us": times, "hashtags": json_any, "language": json_any})
message = st.one_of(st.binary(max_size=300), event.map(orjson.dumps), flat.map(orjson.dumps),
                    st.builds(lambda e, cut: orjson.dumps(e)[:cut], event, st.integers(0, 200)))


def check(outcome) -> None:
    assert isinstance(outcome, (PostData, Skip, DeadLetter)), outcome
    if isinstance(outcome, DeadLetter):
        assert outcome.reason and "\n" not in outcome.reason and len(outcome.excerpt) <= EXCERPT_CHARS


@settings(max_examples=EXAMPLES["bytes"], deadline=None)
@given(st.one_of(st.binary(max_size=5000), st.text(max_size=500)))
def test_parser_is_total_on_arbitrary_bytes_and_text(data):
    check(PARSER(data))


@settings(max_examples=EXAMPLES["events"], deadline=None)
@given(st.one_of(event, flat))
def test_parser_is_total_on_jetstream_shaped_json(obj):
    outcome = PARSER(orjson.dumps(obj))
    check(outcome)
    if isinstance(outcome, PostData):  # accepted posts are inside the event-time policy
        assert 1_667_260_800_000_000 <= outcome.event_time_us <= PARSER.latest_us()


GOOD = (SMALL / "posts.jsonl").read_bytes().splitlines()[:150]


def _counts(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["keyword", "window_end"]).reset_index(drop=True)


@settings(max_examples=EXAMPLES["replay"], deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                                  HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(GOOD)), message), max_size=12))
def test_replay_accounts_for_every_line_and_keeps_good_posts(tmp_path, junk):
    lines = list(GOOD)
    for at, msg in sorted(junk, key=lambda x: -x[0]):
        lines.insert(at, msg.replace(b"\n", b" ").replace(b"\r", b" "))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b"\n".join(lines) + b"\n")
    table = read_posts(mixed)
    non_blank = sum(1 for line in lines if line.strip())
    assert table.lines == non_blank == len(table) + table.non_posts + table.malformed
    # the good posts, plus whatever junk happens to be a post, count the same as on their own
    accepted = [line for line in lines if isinstance(PARSER(line), PostData) or line in GOOD]
    alone = tmp_path / "alone.jsonl"
    alone.write_bytes(b"\n".join(accepted) + b"\n")
    a, b = replay(mixed, progress=False, workers=1), replay(alone, progress=False, workers=1)
    pd.testing.assert_frame_equal(_counts(a.counts), _counts(b.counts))
