"""Detection on the failure classes of the real network (DESIGN.md, "What the real network carries"):
copy-paste campaigns and reply spam count once, a capture gap is missing data, a stream-wide bump is
not a rise, the score bar follows how many keywords a window tests, and organic stories still alert.
Each stream is posts (keyword lists, authors, times) run through the replay engine's own path
(content keys, window counts, volume, detect_frame) and, for parity, through TrendDetector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendlab.core.content import MIN_KEYWORDS, PHRASE_HASH, content_key, keyword_hashes, post_content_codes
from trendlab.core import detect
from trendlab.core.detect import DetectionParams, TrendDetector, score_threshold
from trendlab.core.models import WindowedKeywordCount
from trendlab.occurrences import _Coded
from trendlab.replay import replay_occurrences

MIN = 60_000
T0 = 1_736_000_000_000 - (1_736_000_000_000 % MIN)
VOCAB = [f"word{i}" for i in range(3000)]
WEIGHTS = 1.0 / np.arange(1, len(VOCAB) + 1) ** 1.05
WEIGHTS /= WEIGHTS.sum()


class Stream:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.lists: list[list[str]] = []
        self.authors: list[str] = []
        self.times: list[int] = []

    def post(self, t_ms: int, author: str, words: list[str]) -> None:
        self.lists.append(list(dict.fromkeys(words)))
        self.authors.append(author)
        self.times.append(int(t_ms))

    def background(self, minutes: int, per_min: float, *, skip=(), bump_at=(), bump=0.35) -> None:
        """Posts of 4-13 Zipf-drawn words at ``per_min`` a minute (none in ``skip`` ranges, +``bump`` in
        the ``bump_at`` minutes), from 5,000 authors."""
        rng = self.rng
        rate = np.array([0.0 if any(lo <= m < hi for lo, hi in skip) else per_min * (1 + bump if m in bump_at else 1)
                         for m in range(minutes)])
        per_minute = rng.poisson(rate)
        n = int(per_minute.sum())
        times = T0 + np.repeat(np.arange(minutes), per_minute) * MIN + rng.integers(0, MIN, n)
        sizes = rng.integers(4, 14, n)
        words = np.array(VOCAB, dtype=object)[rng.choice(len(VOCAB), size=int(sizes.sum()), p=WEIGHTS)]
        authors = rng.integers(0, 5000, n)
        at = 0
        for t, k, a in zip(times.tolist(), sizes.tolist(), authors.tolist()):
            self.post(t, f"did:plc:bg{a}", list(words[at:at + k]))
            at += k

    def occurrences(self):
        order = np.argsort(np.array(self.times), kind="stable")
        lists = [self.lists[i] for i in order]
        authors = [self.authors[i] for i in order]
        times = np.array(self.times, dtype=np.int64)[order]
        return _Coded.of(lists, authors).occurrences(times)


PARAMS = DetectionParams()


def alerted(occ, params=PARAMS) -> set[str]:
    result = replay_occurrences(occ, params)
    return {k for a in result.alerts for k in (a.keyword, *a.related_keywords)}


def campaign(stream: Stream, start: int, minutes: int, per_min: float, accounts: int, words: list[str],
             swaps: dict[int, list[str]], reply: bool = False) -> None:
    """One template from many accounts: other mentions (not keywords), a swapped word, hashtags reordered."""
    rng = stream.rng
    for m in range(start, start + minutes):
        for _ in range(rng.poisson(per_min)):
            text = list(words)
            for slot, options in swaps.items():
                text[slot] = options[int(rng.integers(0, len(options)))]
            tags = ["#freedomnow", "#act"]
            rng.shuffle(tags)
            stream.post(T0 + m * MIN + int(rng.integers(0, MIN)), f"did:plc:camp{rng.integers(0, accounts)}",
                        text + tags)


TEMPLATE = ("urgent campaignword sign petition today share everyone support cause justice "
            "families deserve answers now please help spread").split()


def test_a_campaign_of_many_accounts_never_alerts_but_an_organic_story_does():
    s = Stream(1)
    s.background(240, 120)
    # 110 accounts, 35 posts a minute, starting mid-stream (its words go from 0 to 35 a minute)
    campaign(s, 120, 120, 35, 110, TEMPLATE, {3: ["petition", "letter", "pledge"], 9: ["justice", "fairness"]})
    # a story: 300 people, their own words, around a name whose words are common in the background
    story = ["word40", "word41", "storyname"]
    for m in range(150, 170):
        for _ in range(s.rng.poisson(15)):
            own = list(s.rng.choice(VOCAB, size=int(s.rng.integers(5, 12)), p=WEIGHTS))
            s.post(T0 + m * MIN + int(s.rng.integers(0, MIN)), f"did:plc:story{s.rng.integers(0, 300)}",
                   list(s.rng.choice(story, size=2, replace=False)) + own)
    got = alerted(s.occurrences())
    assert not got & {*TEMPLATE, "#freedomnow", "#act", "letter", "pledge", "fairness"}, got
    assert "storyname" in got


def test_reply_spam_from_hundreds_of_accounts_never_alerts():
    s = Stream(2)
    s.background(200, 80)
    plea = "please help my family need money surgery hospital bills anything helps thank kindness".split()
    campaign(s, 100, 60, 40, 400, plea, {})
    got = alerted(s.occurrences())
    assert not got & set(plea), got


def test_without_contents_the_same_campaign_alerts(monkeypatch):
    """The campaign test above can fail: counted by authors alone (and with no template test), the
    campaign is a trend."""
    monkeypatch.setattr(detect, "TEMPLATE_WORDS", 10**9)
    s = Stream(1)
    s.background(240, 120)
    campaign(s, 120, 120, 35, 110, TEMPLATE, {3: ["petition", "letter", "pledge"]})
    occ = s.occurrences()
    occ.post_content_code = None  # every post its own content
    assert alerted(occ) & set(TEMPLATE)


def _small_hash_words(n: int, below: int) -> list[str]:
    """``n`` words whose hashes are below ``below``: when a template's swapped words are the smallest,
    its posts' content keys (bottom-2 MinHash) differ post by post."""
    out, i = [], 0
    while len(out) < n:
        word = f"swap{i}"
        if keyword_hashes([word])[0] < below:
            out.append(word)
        i += 1
    return out


_SMALL = _small_hash_words(8, min(keyword_hashes(TEMPLATE)))
ONSET_SWAPS = {3: _SMALL[:4], 9: _SMALL[4:]}


def onset_campaign() -> Stream:
    """A campaign that starts mid-stream and rises slowly: in its first windows a few posts, most of them
    keyed apart (two swapped slots of four words each, with the template's smallest hashes)."""
    s = Stream(4)
    s.background(240, 120)
    campaign(s, 150, 60, 3, 110, TEMPLATE, ONSET_SWAPS)
    return s


def test_a_campaign_at_its_start_is_a_template_not_a_trend():
    assert not alerted(onset_campaign().occurrences()) & {*TEMPLATE, "#freedomnow", "#act"}


def test_without_the_template_test_a_campaign_alerts_at_its_start(monkeypatch):
    """The test above can fail: its first windows hold enough content keys to pass the distinct test."""
    monkeypatch.setattr(detect, "TEMPLATE_WORDS", 10**9)
    assert alerted(onset_campaign().occurrences()) & {*TEMPLATE, "#freedomnow", "#act"}


@pytest.mark.parametrize("gap", [2, 20])
def test_a_capture_gap_is_missing_data_not_a_surge(gap):
    s = Stream(3)
    s.background(300, 150, skip=[(150, 150 + gap)])
    occ = s.occurrences()
    assert alerted(occ) == set()


def test_a_gap_counted_as_zeros_would_alert():
    """The gap test can fail: the same stream without the volume (every window weighs one, and the
    gap's windows are zeros in the baseline) alerts on common words after the gap."""
    from trendlab.core.detect import detect_frame

    s = Stream(3)
    s.background(300, 150, skip=[(150, 170)])
    occ = s.occurrences()
    raw = occ.window_counts(PARAMS.spec)
    slots = np.arange(raw["end_slot"].min(), raw["end_slot"].max() + 1)
    zeros = pd.DataFrame({"end_slot": slots, "volume": np.ones(slots.size, dtype=np.int64)})
    assert detect_frame(raw, occ.keywords, PARAMS, volume=zeros)


def test_a_top_of_the_hour_bump_of_every_word_does_not_alert():
    s = Stream(4)
    s.background(300, 150, bump_at=(60, 120, 180, 240), bump=0.35)
    assert alerted(s.occurrences()) == set()


def test_the_score_bar_rises_with_the_keywords_a_window_tests():
    params = DetectionParams(min_score=1.0)
    few, many = score_threshold(np.array([50, 500_000]), params)
    assert 4.0 < few < 5.0 and 6.0 < many < 6.5
    assert score_threshold(50, DetectionParams(min_score=5.0)) == 5.0  # never below min_score


def test_a_small_burst_in_a_one_post_a_minute_stream_alerts():
    s = Stream(5)
    s.background(24 * 60, 1.0)
    for i in range(9):  # 9 people within six minutes
        s.post(T0 + (600 * MIN) + i * 40_000, f"did:plc:flyer{i}", ["delayed", "gate", *s.rng.choice(VOCAB, 4)])
    got = alerted(s.occurrences())
    assert "delayed" in got or "gate" in got, got


def test_frame_and_incremental_agree_with_contents_gaps_and_volume():
    s = Stream(6)
    s.background(260, 90, skip=[(140, 152)], bump_at=(60, 120))
    campaign(s, 100, 100, 30, 120, TEMPLATE, {2: ["sign", "read"]})
    for m in range(200, 215):
        for _ in range(s.rng.poisson(8)):
            s.post(T0 + m * MIN + int(s.rng.integers(0, MIN)), f"did:plc:new{s.rng.integers(0, 200)}",
                   ["#newthing", *s.rng.choice(VOCAB, 9, p=WEIGHTS)])
    occ = s.occurrences()
    result = replay_occurrences(occ, PARAMS)
    raw, volume = occ.window_counts(PARAMS.spec), occ.window_volume(PARAMS.spec)
    det, got = TrendDetector(PARAMS), []
    vol = dict(zip(volume["end_slot"], volume["volume"]))
    by_end = {e: g for e, g in raw.groupby("end_slot")}
    T = pd.Timestamp(0, tz="UTC").to_pydatetime()
    for e in sorted(vol):
        group = by_end.get(e)
        rows = [] if group is None else [
            WindowedKeywordCount(str(occ.keywords[k]), int(c), T, T, int(a), unique_contents=int(u))
            for k, c, a, u in group[["keyword_code", "count", "unique_authors", "unique_contents"]].itertuples(index=False)]
        got += det.process_window(int(e) * MIN, rows, int(vol[e]))
    assert [a.to_dict() for a in got] == [a.to_dict() for a in result.alerts]
    assert any(a.keyword == "#newthing" or "#newthing" in a.related_keywords for a in got)


def test_content_key_is_one_definition_in_both_engines():
    rng = np.random.default_rng(7)
    lists = [list(dict.fromkeys(rng.choice(VOCAB[:60], size=int(rng.integers(0, 16))))) for _ in range(3000)]
    authors = [f"did:plc:a{rng.integers(0, 40)}" for _ in lists]
    coded = _Coded.of(lists, authors)
    codes = post_content_codes(coded.keyword_code, coded.lengths, keyword_hashes(coded.keywords), coded.author_code)
    keys = [content_key(k, a) for k, a in zip(lists, authors)]
    # equal codes exactly where the per-post keys (the job's column) are equal
    first_code: dict[str, int] = {}
    for key, code in zip(keys, codes.tolist()):
        assert first_code.setdefault(key, code) == code
    assert len(first_code) == len(set(codes.tolist()))
    assert all(k.startswith("a") == (len(l) < MIN_KEYWORDS) for k, l in zip(keys, lists))
    # edits that are not keywords, or reorder them, keep the key
    template = TEMPLATE + ["#freedomnow", "#act"]
    assert content_key(template, "x") == content_key(list(reversed(template)), "y")


def test_content_key_reads_single_words_only_in_both_engines():
    """Phrases (keywords with a space) are neither counted toward MIN_KEYWORDS nor hashed, in the
    per-post key and in the vectorised codes alike: a post's key is the key of its words alone."""
    rng = np.random.default_rng(11)
    lists, bare = [], []
    for _ in range(3000):
        words = list(dict.fromkeys(rng.choice(VOCAB[:60], size=int(rng.integers(0, 16)))))
        pairs = list(dict.fromkeys(f"{a} {b}" for a, b in zip(words, words[1:]) if rng.random() < 0.8))
        lists.append(words + pairs)
        bare.append(words)
    authors = [f"did:plc:a{rng.integers(0, 40)}" for _ in lists]
    keys = [content_key(k, a) for k, a in zip(lists, authors)]
    assert keys == [content_key(w, a) for w, a in zip(bare, authors)]  # the phrases change nothing
    # seven words and seven phrases: keyed by its author, not by content
    seven = VOCAB[:7] + [f"{a} {b}" for a, b in zip(VOCAB[:7], VOCAB[1:8])]
    assert content_key(seven, "did:plc:x") == "adid:plc:x"
    assert any(len(w) < MIN_KEYWORDS <= len(k) for w, k in zip(bare, lists))  # the case that matters is here
    coded = _Coded.of(lists, authors)
    hashes = keyword_hashes(coded.keywords)
    assert (hashes == PHRASE_HASH).sum() == sum(" " in k for k in coded.keywords) > 0
    codes = post_content_codes(coded.keyword_code, coded.lengths, hashes, coded.author_code)
    first_code: dict[str, int] = {}
    for key, code in zip(keys, codes.tolist()):
        assert first_code.setdefault(key, code) == code
    assert len(first_code) == len(set(codes.tolist()))
    # the same stream without its phrases: the same partition of posts
    plain = _Coded.of(bare, authors)
    again = post_content_codes(plain.keyword_code, plain.lengths, keyword_hashes(plain.keywords), plain.author_code)
    assert codes.tolist() == again.tolist()


def test_the_pairs_of_a_rising_word_do_not_alert_on_their_own():
    """A common word rising 5x lifts every pair it is written in ("album news"): the pairs' posts are
    the word's, so they are carried by it; the word alerts, its chance pairs do not."""
    s = Stream(12)
    s.background(240, 150)
    neighbours = VOCAB[:40]
    for m in range(200):
        rate = 4 if m < 140 else 20  # "album" is common, then rises 5x
        for _ in range(s.rng.poisson(rate)):
            other = str(s.rng.choice(neighbours))
            words = ["album", other, *s.rng.choice(VOCAB, 5, p=WEIGHTS)]
            s.post(T0 + m * MIN + int(s.rng.integers(0, MIN)), f"did:plc:fan{s.rng.integers(0, 3000)}",
                   words + [f"album {other}"])
    occ = s.occurrences()
    got = alerted(occ)
    assert "album" in got
    assert not {k for k in got if k.startswith("album ")}, got
    # the test can fail: without the carried rule (group_share 0) the pairs alert
    assert {k for k in alerted(occ, DetectionParams(group_share=0.0)) if k.startswith("album ")}


def test_a_shared_link_trends_on_a_board_of_its_own():
    """A story's people share one article: the link is a trend of kind "link", apart from the story's
    words; links posted all the time (a few sites' front pages, thousands of articles) are not."""
    s = Stream(7)
    s.background(240, 120)
    hosts = [f"https://site{i}.example" for i in range(10)]
    articles = [f"https://site{i % 10}.example/a/{i}" for i in range(3000)]
    for i in range(len(s.lists)):  # every 10th post links an article, every 40th a front page
        if i % 10 == 0:
            s.lists[i].append(articles[int(s.rng.integers(0, len(articles)))])
        if i % 40 == 0:
            s.lists[i].append(hosts[int(s.rng.integers(0, len(hosts)))])
    link = "https://news.example/2026/hegseth-chat"
    for m in range(150, 170):
        for _ in range(s.rng.poisson(15)):
            own = list(s.rng.choice(VOCAB, size=int(s.rng.integers(5, 12)), p=WEIGHTS))
            extra = [link] if s.rng.random() < 0.6 else []
            s.post(T0 + m * MIN + int(s.rng.integers(0, MIN)), f"did:plc:story{s.rng.integers(0, 300)}",
                   ["storyname", "word41"] + own + extra)
    alerts = replay_occurrences(s.occurrences(), PARAMS).alerts
    links = [a for a in alerts if a.kind == "link"]
    assert [a.keyword for a in links] == [link], [(a.keyword, a.kind) for a in alerts]
    assert links[0].topic == links[0].display_name == link and not links[0].related_keywords
    topics = [a for a in alerts if a.kind == "topic"]
    assert any("storyname" in (a.keyword, *a.related_keywords) for a in topics)
    assert not any(k.startswith("https://") for a in topics for k in a.related_keywords)


def _incremental(occ, params=PARAMS):
    """The window rows as the Flink job hands them to :class:`TrendDetector`, sketches included."""
    from test_detect import window_rows

    det, out = TrendDetector(params), []
    for e, rows, volume in window_rows(occ, params):
        out += det.process_window(int(e) * MIN, rows, int(volume))
    return out


def _story_after_a_gap(seed: int) -> Stream:
    """A big story that starts five minutes before a 15-minute capture gap and goes on after it, and a
    small, unrelated story (other posts, other authors) that starts the minute traffic comes back."""
    s = Stream(seed)
    s.background(260, 150, skip=[(150, 165)])
    rng = s.rng
    for per_min, tag, word, start in ((100, "#bigstory", "bigword", 145), (5, "#smallnews", "smallword", 166)):
        for m in range(start, 230):
            if 150 <= m < 165:
                continue
            for _ in range(rng.poisson(per_min)):
                s.post(T0 + m * MIN + int(rng.integers(0, MIN)), f"did:plc:{word}{rng.integers(0, 3000)}",
                       [tag, word, *rng.choice(VOCAB, 5, p=WEIGHTS)])
    return s


@pytest.mark.parametrize("seed", [8, 9])
def test_a_story_that_starts_after_a_gap_is_not_carried_by_one_going_on(seed):
    """After a gap every count rises at once, so the small story's counts follow the big one's (which
    has more than 16 times its posts: the sketches cannot tell). It is a trend of its own all the
    same: a gap's windows are missing data, and the few windows since it are too few to say that one
    series follows the other. Both engines agree."""
    occ = _story_after_a_gap(seed).occurrences()
    alerts = replay_occurrences(occ, PARAMS).alerts
    assert [a.to_dict() for a in alerts] == [a.to_dict() for a in _incremental(occ)]
    trends = {a.trend for a in alerts if "#smallnews" in (a.keyword, *a.related_keywords)}
    assert trends and "#bigstory" not in trends
    assert any(a.keyword == "#bigstory" for a in alerts)


def test_count_series_across_a_gap_would_carry_the_small_story(monkeypatch):
    """The test above can fail: correlating counts over every window, the gap's zeros included, the
    small story follows the big one and is taken for words the big story's posts carry (no alert)."""
    def counts_over_every_window(keywords, series, slots, volume, min_windows=2):
        m = np.stack([series(k, slots) for k in keywords]).astype(np.float64)
        m -= m.mean(axis=1, keepdims=True)
        norms = np.sqrt((m * m).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num((m @ m.T) / np.outer(norms, norms))

    monkeypatch.setattr(detect, "_correlations", counts_over_every_window)
    alerts = replay_occurrences(_story_after_a_gap(8).occurrences(), PARAMS).alerts
    assert not any("#smallnews" in (a.keyword, *a.related_keywords) for a in alerts)


def _chance_pair_and_story() -> Stream:
    """Two of the stream's commonest words written side by side in 9 posts of one minute, a pair never
    seen before (their own posts meet in dozens of posts a window by chance), and a story's phrase of
    two rare words in as many posts a little later."""
    s = Stream(12)
    s.background(240, 150)
    rng = s.rng
    for i in range(9):
        s.post(T0 + 200 * MIN + i * 6_000, f"did:plc:pair{i}", ["word0 word1", "word0", "word1",
                                                                   *rng.choice(VOCAB, 5, p=WEIGHTS)])
        s.post(T0 + 220 * MIN + i * 6_000, f"did:plc:story{i}", ["word2900 word2901", "word2900", "word2901",
                                                                    *rng.choice(VOCAB, 5, p=WEIGHTS)])
    return s


def test_a_pair_of_common_words_that_meet_by_chance_is_no_trend_a_storys_phrase_is():
    occ = _chance_pair_and_story().occurrences()
    alerts = replay_occurrences(occ, PARAMS).alerts
    assert [a.to_dict() for a in alerts] == [a.to_dict() for a in _incremental(occ)]
    named = {k for a in alerts for k in (a.keyword, *a.related_keywords)}
    assert "word0 word1" not in named
    assert "word2900 word2901" in named


def test_against_its_own_baseline_alone_the_chance_pair_alerts(monkeypatch):
    """The test above can fail: without the chance of its words meeting, the pair's own baseline is
    the floor, and 9 posts are a surprise."""
    monkeypatch.setattr(detect, "phrase_chance", lambda word_expected, volume: np.zeros(np.shape(volume)))
    alerts = replay_occurrences(_chance_pair_and_story().occurrences(), PARAMS).alerts
    assert "word0 word1" in {k for a in alerts for k in (a.keyword, *a.related_keywords)}
