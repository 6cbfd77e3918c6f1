"""The posts' sketches are one definition in both engines: the replay engine's (``ReplaySketches``, from
its coded occurrences) equal the per-post definition the job's table function uses (``post_hash`` and
``langs_code`` of each parsed post, then the minimums that the job's ``MIN`` aggregates take)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trendlab.core import cooccur
from trendlab.core.cooccur import P, SKETCH_SIZE, post_hash, shared_share, sketch_of, sql_columns
from trendlab.core.extract import KeywordExtractor
from trendlab.core.langtags import CODE_BITS, langs_code, language_shares
from trendlab.core.parse import DeadLetter, MessageParser
from trendlab.replay import load_stream
from trendlab.core.windows import WindowSpec



@pytest.mark.parametrize("block", [1 << 17, 7])  # the hash values a run of rows at a time: any run
def test_replay_sketches_equal_the_job_definition_on_the_long_sample(block, monkeypatch):
    monkeypatch.setattr(cooccur, "_SKETCH_BLOCK", block)
    path = Path(__file__).resolve().parents[2] / "data/samples/long/posts.jsonl"
    spec = WindowSpec.parse("10m", "1m")
    _, occ = load_stream(path, texts=False)
    sketches = occ.sketches(spec)
    codes = {str(k): i for i, k in enumerate(occ.keywords)}
    parser, extractor = MessageParser(), KeywordExtractor()
    posts = []
    for line in open(path, "rb"):
        out = parser.post_keywords(line, extractor)
        if out is None or out.__class__ is DeadLetter:
            continue
        post, keywords = out
        posts.append((post.event_time_us // 1000 // spec.slide_ms, post_hash(post.author_did, keywords), set(keywords),
                      langs_code(post.languages)))
    first, last = min(p[0] for p in posts), max(p[0] for p in posts)
    checked = 0
    # words, hashtags, CJK, phrases: every 5th window end
    for keyword in ("#superbowllix", "halftime", "kendrick", "#地震", "radio halftime", "weather"):
        for end in range(first + 10, last + 11, 5):
            held = [(h, c) for t, h, kws, c in posts if keyword in kws and end - 10 <= t < end]
            got = sketches.get(codes[keyword], end)
            if not held:
                assert got is None
                continue
            hashes, langs = np.array(held).T
            assert (sketch_of(hashes, langs) == got).all(), (keyword, end)
            checked += 1
    assert checked > 40
    assert {c for *_, c in posts} >= {langs_code(["en"]), langs_code(["ja"]), 0}  # the sample's tags, and none


def test_shared_share_and_the_sql_of_the_minimums():
    rng = np.random.default_rng(1)
    story = rng.integers(0, P, 300)
    a, b = story[:200], np.concatenate([story[100:], rng.integers(0, P, 50)])  # 100 posts in common
    share = shared_share(sketch_of(a), a.size, sketch_of(b), b.size)
    assert 0.2 < share < 0.9  # 100 of the smaller's 200: 0.5, within the sketch's error
    other = rng.integers(0, P, 200)
    assert shared_share(sketch_of(a), a.size, sketch_of(other), other.size) < 0.15
    columns = sql_columns()
    assert len(columns) == SKETCH_SIZE and all(
        f"{P}) AS BIGINT) * {1 << CODE_BITS} + post_langs) AS mh{i}" in c for i, c in enumerate(columns))


def test_the_minimums_carry_their_posts_languages():
    """A sketch value is ``h << 24 | code``: the same minimum post as without the code (the code never
    decides between two posts), and the minimums sample the posts' languages."""
    rng = np.random.default_rng(7)
    hashes = rng.integers(0, P, 400)
    codes = np.array([langs_code(["ja"])] * 300 + [langs_code(["pt-BR", "en"])] * 60 + [0] * 40)
    plain, tagged = sketch_of(hashes), sketch_of(hashes, codes)
    assert ((tagged >> CODE_BITS) == plain >> CODE_BITS).all()
    assert shared_share(plain, 400, plain, 400) == shared_share(tagged, 400, tagged, 400) == 1.0
    shares = language_shares([tagged])
    assert set(shares) <= {"ja", "pt", "en"} and shares["ja"] > 0.5
    # more posts sampled (other keywords of the same posts): closer to the truth (300 of 360 tagged: 0.83)
    many = language_shares([sketch_of(rng.integers(0, P, 400), codes) for _ in range(30)])
    assert abs(many["ja"] - 300 / 360) < 0.06 and abs(many["pt"] - 60 / 360) < 0.06 and many["pt"] == many["en"]
    assert language_shares([sketch_of(hashes)]) is None and language_shares([None]) is None
