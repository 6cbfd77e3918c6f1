"""The labelled sample generator: shape of the events, determinism, and labels that match the posts."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from trendlab import samples, vocab
from trendlab.extract import KeywordExtractor
from trendlab.labels import load_labels
from trendlab.models import parse_post, parse_time

REPO = Path(__file__).resolve().parents[2]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

HOURS, RATE, SEED = 2.0, 2.0, 7


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    summary = samples.generate(out, hours=HOURS, rate=RATE, seed=SEED, progress=False)
    lines = (out / "posts.jsonl").read_bytes().splitlines()
    labels = orjson.loads((out / "labels.json").read_bytes())
    events = [orjson.loads(line) for line in lines]
    posts = [parse_post(line) for line in lines]
    ex = KeywordExtractor()
    keyed = [(p, set(ex.extract(p.text, p.langs))) for p in posts if p is not None]
    return {"out": out, "summary": summary, "lines": lines, "events": events, "posts": posts,
            "keyed": keyed, "labels": labels}


def _t(s: str) -> datetime:
    return parse_time(s)


def _count(keyed, keyword, lo, hi):
    """Posts containing ``keyword`` with event time in [lo, hi), and their distinct authors."""
    n, authors = 0, set()
    for post, kws in keyed:
        if keyword in kws and lo <= post.event_time < hi:
            n += 1
            authors.add(post.author_did)
    return n, authors


# -- parameters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    ({"hours": -1}, "hours"), ({"hours": 0}, "hours"), ({"rate": -2}, "rate"), ({"rate": float("nan")}, "rate"),
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"start": "yesterday"}, "start"),
    ({"non_post_share": 1.0}, "non_post_share"),
])
def test_bad_parameters_raise_one_line_value_error(kwargs, name, tmp_path):
    with pytest.raises(ValueError) as err:
        samples.generate(tmp_path, **kwargs)
    message = str(err.value)
    assert message.startswith(name) and "\n" not in message


def test_cli_generates_and_refuses_bad_input(tmp_path, capsys):
    from trendlab.cli import main

    assert main(["samples", "generate", "--out", str(tmp_path / "s"), "--hours", "0.75", "--rate", "0.5",
                 "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "events" in out and "posts" in out
    assert (tmp_path / "s" / "posts.jsonl").stat().st_size > 0
    assert orjson.loads((tmp_path / "s" / "labels.json").read_bytes())["generator"]["seed"] == 3

    assert main(["samples", "generate", "--out", str(tmp_path / "bad"), "--hours", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "hours" in err and "\n" not in err


# -- determinism ----------------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_output(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    samples.generate(a, hours=0.8, rate=1.0, seed=11, progress=False)
    samples.generate(b, hours=0.8, rate=1.0, seed=11, progress=False)
    samples.generate(c, hours=0.8, rate=1.0, seed=12, progress=False)
    for name in ("posts.jsonl", "labels.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "posts.jsonl").read_bytes() != (c / "posts.jsonl").read_bytes()


def test_iterator_matches_file_and_repeats(sample):
    stream = samples.SampleStream(hours=HOURS, rate=RATE, seed=SEED)
    first = [orjson.dumps(e) for e in stream]
    assert first == sample["lines"]
    assert [orjson.dumps(e) for e in stream][:500] == first[:500]
    assert stream.labels == sample["labels"]
    assert len(stream) == len(first)


def test_start_is_configurable(tmp_path):
    stream = samples.SampleStream(hours=0.2, rate=0.5, seed=1, start="2024-06-01T12:00:00Z")
    first = next(iter(stream))
    assert first["time_us"] >= 1717243200 * 1_000_000
    assert stream.labels["generator"]["start"] == "2024-06-01T12:00:00Z"
    assert stream.labels["generator"]["end"] == "2024-06-01T12:12:00Z"


# -- events ---------------------------------------------------------------------------------------

def test_every_line_is_a_post_or_a_non_post_event(sample):
    events, posts = sample["events"], sample["posts"]
    assert sum(p is not None for p in posts) == sample["summary"].posts
    assert len(events) == sample["summary"].events
    # time_us strictly increasing, all inside the stream
    times = [e["time_us"] for e in events]
    assert all(a < b for a, b in zip(times, times[1:]))
    start = _t(sample["labels"]["generator"]["start"]).timestamp() * 1e6
    end = _t(sample["labels"]["generator"]["end"]).timestamp() * 1e6
    assert start <= times[0] and times[-1] < end


def test_non_post_events_are_mixed_in(sample):
    kinds = Counter()
    for e in sample["events"]:
        if e["kind"] == "commit":
            c = e["commit"]
            kinds[(c["collection"], c["operation"])] += 1
            if c["operation"] == "delete":
                assert "record" not in c
        else:
            kinds[e["kind"]] += 1
            assert e[e["kind"]]["did"] == e["did"]
    non_posts = len(sample["events"]) - kinds[("app.bsky.feed.post", "create")]
    assert 0.4 <= non_posts / len(sample["events"]) <= 0.6
    for key in [("app.bsky.feed.like", "create"), ("app.bsky.feed.repost", "create"),
                ("app.bsky.graph.follow", "create"), ("app.bsky.actor.profile", "update"), "identity", "account"]:
        assert kinds[key] > 0, key
    assert sum(v for k, v in kinds.items() if isinstance(k, tuple) and k[1] == "delete") > 0


def test_post_records_look_like_jetstream(sample):
    did_re = re.compile(r"^did:plc:[a-z2-7]{24}$")
    tid_re = re.compile(r"^[2-7a-z]{13}$")
    lags = []
    for e in sample["events"]:
        assert did_re.match(e["did"])
        c = e.get("commit")
        if not c or c["collection"] != "app.bsky.feed.post" or c["operation"] != "create":
            continue
        assert tid_re.match(c["rkey"]) and tid_re.match(c["rev"]) and c["cid"].startswith("bafyrei")
        r = c["record"]
        assert r["$type"] == "app.bsky.feed.post" and ISO_Z.match(r["createdAt"])
        lags.append(e["time_us"] / 1e6 - parse_time(r["createdAt"]).timestamp())
        data = r["text"].encode("utf-8")
        for facet in r.get("facets", []):
            piece = data[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode("utf-8")
            feature = facet["features"][0]
            kind = feature["$type"].rsplit("#", 1)[1]
            if kind == "tag":
                assert piece == "#" + feature["tag"]
            elif kind == "mention":
                assert piece.startswith("@") and "." in piece and did_re.match(feature["did"])
            else:
                assert kind == "link" and feature["uri"].startswith("https://")
                assert feature["uri"].split("//", 1)[1].startswith(piece.split("//", 1)[-1].rstrip(".")[:10])
    lags.sort()
    median = lags[len(lags) // 2]
    assert 0.2 < median < 3.0                   # createdAt a little before time_us
    assert any(x < 0 for x in lags)             # ... and sometimes after (client clock skew)


def test_posts_have_the_features_of_real_ones(sample):
    posts = [p for p in sample["posts"] if p is not None]
    n = len(posts)
    langs = Counter(p.language for p in posts)
    assert 0.50 < langs["en"] / n < 0.70
    assert 0.10 < langs["ja"] / n < 0.22
    assert 0.06 < langs["pt"] / n < 0.14
    for code in ("de", "es"):
        assert 0.02 < langs[code] / n < 0.09
    assert 0.07 < langs[None] / n < 0.14        # langs often missing (~10 % on the real network)
    assert 0.22 < sum(p.reply_to is not None for p in posts) / n < 0.38
    assert sum(bool(p.hashtags) for p in posts) / n > 0.08
    assert sum(bool(p.mentions) for p in posts) / n > 0.05
    texts = [p.text for p in posts]
    assert sum("https://" in t for t in texts) > 0 and sum(re.search(r"(?<!/)\b[a-z]+\.(com|org|app)/", t) is not None
                                                          for t in texts) > 0
    assert sum(bool(re.search("[\U0001F300-\U0001FAFF]", t)) for t in texts) / n > 0.15
    # heavy and light posters
    per_author = Counter(p.author_did for p in posts).most_common()
    assert per_author[0][1] >= 10 * per_author[len(per_author) // 2][1]
    assert sum(1 for _, k in per_author if k == 1) > len(per_author) * 0.2


# -- labels ---------------------------------------------------------------------------------------

def test_labels_have_the_documented_format(sample):
    labels = sample["labels"]
    assert set(labels) == {"generator", "trends", "decoys", "gaps"}
    g = labels["generator"]
    assert g == {"seed": SEED, "hours": HOURS, "rate": RATE, "start": "2025-02-09T20:00:00Z",
                 "end": "2025-02-09T22:00:00Z", "version": 2, "non_post_share": 0.5, "gaps": 1}
    start = _t(g["start"])
    assert 6 <= len(labels["trends"]) <= 8  # ~3.5 per hour after the warm-up, and two stories
    for t in labels["trends"]:
        story = t["kind"] == "story"
        assert set(t) == {"id", "kind", "language", "keywords", "start", "end", "peak_rate"} | (
            {"phrases"} if story else set())
        assert t["kind"] in {"new_hashtag", "rising_common", "weak", "non_english", "story"}
        assert ISO_Z.match(t["start"]) and ISO_Z.match(t["end"])
        assert _t(t["start"]) >= start + timedelta(minutes=30)
        assert timedelta(minutes=10) <= _t(t["end"]) - _t(t["start"]) <= timedelta(minutes=40)
        assert t["peak_rate"] > 0 and t["keywords"]
    kinds = {t["kind"] for t in labels["trends"]}
    assert kinds == {"new_hashtag", "rising_common", "weak", "non_english", "story"}
    assert {t["language"] for t in labels["trends"] if t["kind"] == "non_english"} >= {"ja", "pt"}
    for d in labels["decoys"]:
        assert set(d) == {"id", "kind", "keywords", "start", "end"}
    assert {d["kind"] for d in labels["decoys"]} == {
        "spam_author", "steady_common", "steady_hashtag", "steady_giant", "mistagged_stop_words", "after_gap",
        "hourly_bump", "campaign", "reply_spam"}
    ids = [x["id"] for x in labels["trends"] + labels["decoys"]]
    assert len(ids) == len(set(ids))
    all_keywords = [k for x in labels["trends"] + labels["decoys"] for k in x["keywords"]]
    assert len(all_keywords) == len(set(all_keywords))


def test_trend_keywords_burst_inside_their_interval(sample):
    keyed = sample["keyed"]
    for t in sample["labels"]["trends"]:
        if t["kind"] == "story":
            continue  # test_stories_are_common_words_rising_from_many_authors
        lo, hi = _t(t["start"]), _t(t["end"])
        for kw in t["keywords"]:
            inside, authors = _count(keyed, kw, lo, hi)
            before, _ = _count(keyed, kw, lo - timedelta(minutes=30), lo)
            rate_in = inside / ((hi - lo).total_seconds() / 60)
            rate_before = before / 30
            assert inside >= 15, (t["id"], kw, inside)
            assert len(authors) >= 0.7 * inside, (t["id"], kw)        # many distinct authors
            if t["kind"] in ("new_hashtag", "non_english"):
                assert before == 0, (t["id"], kw)
                total, _ = _count(keyed, kw, datetime.min.replace(tzinfo=lo.tzinfo), datetime.max.replace(tzinfo=lo.tzinfo))
                assert total == inside, (t["id"], kw)                   # never outside the burst
            else:
                # the busiest 10 minutes of the burst against the 30 minutes before it
                peak = max(_count(keyed, kw, lo + timedelta(minutes=m), lo + timedelta(minutes=m + 10))[0]
                           for m in range(0, max(1, int((hi - lo).total_seconds() // 60) - 9)))
                factor = 2.0 if t["kind"] == "weak" else 3.0
                assert peak > factor * 10 * rate_before, (t["id"], kw, peak, rate_before)
                assert rate_in > 1.5 * rate_before, (t["id"], kw, rate_in, rate_before)
                assert before >= 5, (t["id"], kw)                        # a word with a baseline


def test_group_words_co_occur(sample):
    keyed = sample["keyed"]
    for t in sample["labels"]["trends"]:
        if len(t["keywords"]) < 2 or t["kind"] == "story":  # a story's posts: each its own subset
            continue
        with_any = [kws for _, kws in keyed if kws & set(t["keywords"])]
        together = sum(len(kws & set(t["keywords"])) >= 2 for kws in with_any)
        assert together / len(with_any) > 0.8, t["id"]


def test_decoys_behave_as_described(sample):
    keyed = sample["keyed"]
    start = _t(sample["labels"]["generator"]["start"])
    for d in sample["labels"]["decoys"]:
        lo, hi = _t(d["start"]), _t(d["end"])
        if d["kind"] == "spam_author":
            assert lo >= start + timedelta(minutes=30)
            for kw in d["keywords"]:
                inside, authors = _count(keyed, kw, lo, hi)
                everywhere, _ = _count(keyed, kw, start, start + timedelta(hours=HOURS))
                assert inside >= 60 and len(authors) == 1 and everywhere == inside, (d["id"], kw)
        elif d["kind"] in ("steady_common", "steady_hashtag", "steady_giant"):
            (kw,) = d["keywords"]
            minutes = int((hi - lo).total_seconds() // 60)
            gaps = [(_t(g["start"]), _t(g["end"])) for g in sample["labels"]["gaps"]]
            blocks = [_count(keyed, kw, lo + timedelta(minutes=m), lo + timedelta(minutes=m + 20))
                      for m in range(0, minutes - 19, 20)
                      if not any(g0 < lo + timedelta(minutes=m + 20) and g1 > lo + timedelta(minutes=m)
                                 for g0, g1 in gaps)]
            counts = [n for n, _ in blocks]
            mean = sum(counts) / len(counts)
            assert mean >= 30, (kw, counts)
            # steady: within Poisson noise and the mild diurnal wave
            assert all(abs(n - mean) < 4 * mean ** 0.5 + 0.1 * mean for n in counts), (kw, counts)
            assert all(len(a) >= 0.6 * n for n, a in blocks), kw                   # from many authors


def test_label_keywords_are_exactly_what_the_extractor_outputs():
    ex = KeywordExtractor()
    for tag, words in samples.EN_NEW_GROUPS:
        text = f"#{tag} " + " ".join(words)
        assert ex.extract(text, ["en"]) == ["#" + tag.lower(), *words]
        assert ex.extract(text) == ["#" + tag.lower(), *words]
    preds = samples.vocabularies.ja_predicates()
    for lang, groups in samples.NON_EN_GROUPS.items():
        for tag, words in groups:
            if lang == "ja":
                for joiner in ("と", "や"):
                    for pred in preds:
                        text = f"{joiner.join(words)}が{pred} #{tag}"
                        assert ex.extract(text, ["ja"]) == [*words, "#" + tag.lower()], text
                        assert ex.extract(text) == [*words, "#" + tag.lower()], text
            else:
                text = f"#{tag} " + " ".join(words)
                assert ex.extract(text, [lang]) == ["#" + tag.lower(), *words]
                assert ex.extract(text) == ["#" + tag.lower(), *words]
    for tag, _handle, texts, keywords in samples.SPAM_CAMPAIGNS:
        produced = set()
        for text in texts:
            produced |= set(ex.extract(text, ["en"]))
        assert produced == set(keywords), tag


def test_background_never_uses_reserved_words():
    reserved = samples.vocabularies.trend_words()
    langs = samples.vocabularies.languages()
    for code, lang in langs.items():
        assert not set(lang.content) & reserved.get(code, set()), code
        assert all(t[1:].lower() != samples.STEADY_HASHTAG.lower() for t in lang.hashtags)
    # the raw lists too, so that nobody relies on the filter by accident
    raw_en = set(vocab.EN_CONTENT) | {t[1:] for t in vocab.EN_HASHTAGS}
    assert not raw_en & reserved["en"]
    assert not set(vocab.JA_NOUNS) & reserved["ja"]
    assert not set(vocab.PT_CONTENT) & reserved["pt"]
    assert not set(vocab.ES_CONTENT) & reserved["es"]
    assert not set(vocab.DE_CONTENT) & reserved["de"]
    assert len(langs["en"].content) >= 300 and all(len(langs[c].content) >= 100 for c in ("ja", "pt", "es", "de"))


def test_trend_count_scales_with_hours():
    short = samples.SampleStream(hours=0.4, rate=0.5, seed=1)
    assert short.labels["trends"] == []
    long = samples.SampleStream(hours=6, rate=0.2, seed=1, version=1)
    assert 18 <= len(long.labels["trends"]) <= 21
    assert sum(d["kind"] == "spam_author" for d in long.labels["decoys"]) == 3


# -- committed samples ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, args", [("small", {"hours": 1.5, "rate": 1.0, "seed": 42, "non_post_share": 0.4})])
def test_committed_small_sample_is_what_the_generator_makes(name, args, tmp_path):
    committed = REPO / "data" / "samples" / name
    if not (committed / "posts.jsonl").exists():
        pytest.skip(f"data/samples/{name} not generated")
    # the generator block says which generator made it (version 1: before the real-network cases)
    version = orjson.loads((committed / "labels.json").read_bytes())["generator"]["version"]
    samples.generate(tmp_path, progress=False, version=version, **args)
    assert (tmp_path / "labels.json").read_bytes() == (committed / "labels.json").read_bytes()
    assert (tmp_path / "posts.jsonl").read_bytes() == (committed / "posts.jsonl").read_bytes()


def test_committed_samples_fit_the_budget():
    root = REPO / "data" / "samples"
    files = list(root.glob("*/posts.jsonl"))
    if not files:
        pytest.skip("no committed samples")
    assert sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) < 20 * 1024 * 1024
    for f in files:
        labels = load_labels(f.parent / "labels.json")  # the one labels reader (trendlab.labels)
        assert labels.trends and labels.decoys
