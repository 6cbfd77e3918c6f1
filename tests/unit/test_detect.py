import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from trendlab.core.detect import DetectionParams, TrendDetector, detect_frame, hot_scores, poisson_z
from trendlab.occurrences import _Coded
from trendlab.params_files import read_params
from trendlab.params_files import write_params

SLIDE = 60_000
T0 = 1_736_000_000_000 - (1_736_000_000_000 % SLIDE)
KEYWORDS = ["steady", "common", "rare", "tiny", "#newtag", "companion", "spam", "weak", "carried"]


def make_stream(rng, minutes=240, bursts=(), offset_ms=0):
    """Posts ``(keywords, author, time)``: background keywords at steady rates among 80 other posts a
    minute, one keyword a post, plus
    ``(keywords, start_min, len_min, per_min, authors, carried)`` bursts whose posts hold all of
    ``keywords`` and each ``carried`` keyword with its probability."""
    posts = []
    rates = {0: 8.0, 1: 2.0, 2: 0.3, 3: 0.05}
    for minute in range(minutes):
        t = T0 + offset_ms + minute * SLIDE
        for k, r in rates.items():
            for _ in range(rng.poisson(r)):
                posts.append(([KEYWORDS[k]], f"a{rng.integers(0, 5000)}", t + int(rng.integers(0, SLIDE))))
        for _ in range(rng.poisson(80.0)):  # the rest of the stream: no word is a large share of it
            posts.append(([f"other{rng.integers(0, 2000)}"], f"a{rng.integers(0, 5000)}", t + int(rng.integers(0, SLIDE))))
        for kws, start, length, per_min, n_auth, *carried in bursts:
            if start <= minute < start + length:
                for _ in range(rng.poisson(per_min)):
                    words = [KEYWORDS[k] for k in kws]
                    for k, prob in (carried[0] if carried else {}).items():
                        if rng.random() < prob:
                            words.append(KEYWORDS[k])
                    posts.append((words, f"b{rng.integers(0, n_auth)}", t + int(rng.integers(0, SLIDE))))
    return posts


def occurrences(posts):
    posts = sorted(posts, key=lambda p: p[2])
    return _Coded.of([p[0] for p in posts], [p[1] for p in posts]).occurrences(np.array([p[2] for p in posts]))


def frame_alerts(occ, params):
    spec = params.spec
    return detect_frame(occ.window_counts(spec), occ.keywords, params, volume=occ.window_volume(spec),
                        sketches=occ.sketches(spec))


def window_rows(occ, params):
    """Each window end's rows as the job gives them to the detector (with contents and sketches), and its volume."""
    spec = params.spec
    raw, volume, sketches = occ.window_counts(spec), occ.window_volume(spec), occ.sketches(spec)
    by_end = {int(e): g for e, g in raw.groupby("end_slot")}
    for e, v in zip(volume["end_slot"].tolist(), volume["volume"].tolist()):
        group = by_end.get(e)
        rows = [] if group is None else [
            {"keyword": str(occ.keywords[k]), "count": int(c), "unique_authors": int(a), "unique_contents": int(u),
             "sketch": sketches.get(int(k), e)}
            for k, c, a, u in group[["keyword_code", "count", "unique_authors", "unique_contents"]].itertuples(index=False)]
        yield e, rows, v


def incremental(occ, params, restore_every: bool = False, restore_at: int | None = None):
    det = TrendDetector(params)
    alerts = []
    for e, rows, v in window_rows(occ, params):
        if restore_every or e == restore_at:
            det = TrendDetector.restore(params, det.snapshot())
        alerts += det.process_window(e * SLIDE, rows, v)
    return alerts


@pytest.fixture(scope="module")
def stream():
    rng = np.random.default_rng(3)
    bursts = [((4, 5), 100, 20, 6.0, 300),   # a group: new hashtag + companion in the same posts
              ((6,), 150, 30, 20.0, 1),      # one author spamming
              ((1,), 190, 20, 8.0, 300)]     # a common word rising 4x
    return occurrences(make_stream(rng, bursts=bursts))


def test_frame_and_incremental_agree_alert_for_alert(stream):
    params = DetectionParams()
    a = frame_alerts(stream, params)
    b = incremental(stream, params)
    assert [x.to_dict() for x in a] == [x.to_dict() for x in b]
    assert a, "the injected bursts must alert"


def test_bursts_alert_once_grouped_and_decoys_do_not(stream):
    params = DetectionParams()
    alerts = frame_alerts(stream, params)
    flat = [a.keyword for a in alerts] + [k for a in alerts for k in a.related_keywords]
    assert "spam" not in flat  # one author
    assert "steady" not in flat  # high volume, steady
    own = [a.keyword for a in alerts]
    assert own.count("#newtag") <= 1 and own.count("companion") <= 1  # one alert per episode
    trends = {a.trend for a in alerts if {a.keyword, *a.related_keywords} & {"#newtag", "companion"}}
    assert len(trends) == 1, alerts  # the two are posted together: one trend
    assert "common" in flat
    assert all(a.window_end.timestamp() * 1000 - T0 >= params.warmup_windows() * SLIDE for a in alerts)
    assert all(a.topic == a.keyword for a in alerts)  # no phrase among these keywords


def test_no_alerts_during_warm_up():
    rng = np.random.default_rng(5)
    occ = occurrences(make_stream(rng, minutes=60, bursts=[((4,), 5, 20, 10.0, 200)]))
    assert frame_alerts(occ, DetectionParams()) == []


def test_score_is_honest_at_small_counts():
    params = DetectionParams(min_count=1, min_authors=1, min_ratio=1.0, min_score=3.0)
    hot, score = hot_scores(np.array([3, 30]), np.array([3, 30]), np.array([0.0, 0.0]), params)
    assert not hot[0]  # 3 posts against nothing: not significant
    assert hot[1]


def _exact_z(count: int, lam: float) -> float:
    """z of the exact Poisson upper tail P(X >= count), summed term by term."""
    tail = sum(math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1)) for j in range(count, count + 600))
    if tail <= 0.0:
        return math.inf
    return -NormalDist().inv_cdf(min(tail, 0.5))


@pytest.mark.parametrize("lam", [0.2, 0.5, 2.0, 9.4, 38.0, 112.0])
def test_poisson_z_follows_the_exact_tail_from_small_counts_up(lam):
    counts = [c for c in range(1, int(lam * 4 + 40)) if 3.0 <= _exact_z(c, lam) <= 7.5]
    assert counts, "no count in the z range 3..7.5"
    z = poisson_z(np.array(counts), np.full(len(counts), lam))
    exact = np.array([_exact_z(c, lam) for c in counts])
    # on the safe side (never more eager than the exact test by more than a hair), and close
    assert np.all(z <= exact + 0.02), list(zip(counts, z, exact))
    assert np.all(exact - z <= (0.2 if lam >= 0.5 else 0.25)), list(zip(counts, z, exact))
    # below the baseline the score is not positive, at the baseline 0
    assert poisson_z(np.array([0]), np.array([lam]))[0] <= 0
    assert poisson_z(np.array([lam]), np.array([lam]))[0] == 0


def test_params_yaml_round_trip_and_refusals(tmp_path):
    p = DetectionParams(window="20m", slide="2m", min_count=7)
    path = tmp_path / "params.yaml"
    write_params(p, path)
    assert read_params(path) == p
    path.write_text("window: 10m\nslide: 1m\nthreshold: 3\n")
    with pytest.raises(ValueError, match="unknown parameter 'threshold'"):
        read_params(path)
    with pytest.raises(ValueError, match=r"window \(7m\) must be a whole multiple of slide \(2m\)"):
        DetectionParams(window="7m", slide="2m")
    with pytest.raises(ValueError, match="min_count must be an integer >= 1, got -1"):
        DetectionParams(min_count=-1)
    with pytest.raises(ValueError, match="window must be positive"):
        DetectionParams(window="0m")


def test_detector_state_survives_snapshot(stream):
    params = DetectionParams()
    full = incremental(stream, params)
    ends = sorted(stream.window_volume(params.spec)["end_slot"].tolist())
    got = incremental(stream, params, restore_at=ends[len(ends) // 2])
    assert [a.to_dict() for a in got] == [a.to_dict() for a in full]


def test_a_long_gap_costs_no_memory_and_changes_no_alert():
    """Two bursts a year apart: detection over the windows that hold posts, not the span (issue 10),
    alert for alert the same as the window-by-window detector."""
    rng = np.random.default_rng(5)
    year = 365 * 24 * 60 * SLIDE
    posts = make_stream(rng, bursts=[((4, 5), 100, 20, 6.0, 300)])
    posts += make_stream(rng, minutes=120, bursts=[((4,), 60, 20, 6.0, 300)], offset_ms=year)
    occ = occurrences(posts)
    params = DetectionParams()
    a = frame_alerts(occ, params)
    assert [x.to_dict() for x in a] == [x.to_dict() for x in incremental(occ, params)]
    assert any(x.window_end.year > 2025 for x in a) and any(x.window_end.year == 2025 for x in a)


@pytest.fixture(scope="module")
def grouping_stream():
    rng = np.random.default_rng(7)
    bursts = [((4, 5), 100, 20, 18.0, 300, {8: 0.08}),   # a trend: hashtag + companion; a word its posts carry now and then
              ((3,), 158, 20, 4.0, 300),                 # a small rise, then an unrelated big one 2 minutes later
              ((0,), 160, 20, 60.0, 300)]
    return occurrences(make_stream(rng, bursts=bursts))


def _trends_of(alerts, keyword):
    return {a.trend for a in alerts if keyword in (a.keyword, *a.related_keywords)}


def test_grouping_by_shared_posts_and_comparable_rises(grouping_stream):
    """A trend's keywords share its posts; a word its posts carry now and then rises far less
    (``group_share``): it neither joins nor alerts on its own. Two rises that share no posts stay two
    trends, whenever they start. Both engines agree."""
    params = DetectionParams()
    alerts = frame_alerts(grouping_stream, params)
    assert [a.to_dict() for a in alerts] == [a.to_dict() for a in incremental(grouping_stream, params)]
    assert _trends_of(alerts, "#newtag") == _trends_of(alerts, "companion") == {"#newtag"}
    assert _trends_of(alerts, "carried") == set()
    assert _trends_of(alerts, "tiny") == {"tiny"} and _trends_of(alerts, "steady") == {"steady"}


def test_two_stories_of_the_same_minutes_stay_two_trends():
    rng = np.random.default_rng(11)
    bursts = [((4, 5), 100, 20, 10.0, 300), ((7, 8), 101, 20, 10.0, 300)]
    occ = occurrences(make_stream(rng, bursts=bursts))
    alerts = frame_alerts(occ, DetectionParams())
    assert _trends_of(alerts, "#newtag") == _trends_of(alerts, "companion") == {"#newtag"}
    assert _trends_of(alerts, "weak") == _trends_of(alerts, "carried") != {"#newtag"}
    assert len({a.trend for a in alerts}) == 2
    for a in alerts:  # a trend's keywords are its own
        assert not ({a.keyword, *a.related_keywords} & {"#newtag", "companion"}
                    and {a.keyword, *a.related_keywords} & {"weak", "carried"})


def _small_story_beside_a_big_one():
    """Two unrelated stories starting in the same minute, one eight times the other (disjoint posts):
    their count series follow each other, and the big one's sketches would see the small one's posts
    if it carried them."""
    rng = np.random.default_rng(23)
    bursts = [((4, 5), 100, 20, 48.0, 400), ((7, 8), 100, 20, 6.0, 300)]
    return occurrences(make_stream(rng, bursts=bursts))


def test_a_small_story_in_the_minutes_of_a_big_one_is_a_trend_of_its_own():
    occ = _small_story_beside_a_big_one()
    params = DetectionParams()
    alerts = frame_alerts(occ, params)
    assert [a.to_dict() for a in alerts] == [a.to_dict() for a in incremental(occ, params)]
    assert _trends_of(alerts, "#newtag") == {"#newtag"}
    small = _trends_of(alerts, "weak") | _trends_of(alerts, "carried")
    assert small and "#newtag" not in small


def test_with_series_alone_the_small_story_is_carried_by_the_big_one(monkeypatch):
    """The test above can fail: when a series that follows another's is enough (the sketches never
    asked), the small story is taken for words the big story's posts carry."""
    from trendlab.core import detect

    monkeypatch.setattr(detect, "SKETCH_BLIND_RATIO", 0.0)
    alerts = frame_alerts(_small_story_beside_a_big_one(), DetectionParams())
    assert _trends_of(alerts, "#newtag") == {"#newtag"}
    assert not (_trends_of(alerts, "weak") | _trends_of(alerts, "carried"))


def test_without_sketches_nothing_groups(grouping_stream):
    """The grouping test can fail: without the posts' sketches no two keywords share posts."""
    params = DetectionParams()
    spec = params.spec
    alerts = detect_frame(grouping_stream.window_counts(spec), grouping_stream.keywords, params,
                          volume=grouping_stream.window_volume(spec))
    assert _trends_of(alerts, "companion") == {"companion"}


def test_group_share_is_validated_and_round_trips(tmp_path):
    p = DetectionParams(group_share=0.3)
    path = tmp_path / "params.yaml"
    write_params(p, path)
    assert read_params(path) == p and "group_share: 0.3" in path.read_text()
    for bad in (-0.1, 1.5, "x", True):
        with pytest.raises(ValueError, match="group_share must be between 0 and 1"):
            DetectionParams(group_share=bad)


def test_grouping_survives_a_restore_at_every_window(grouping_stream):
    """Grouping needs no state beyond the detector's snapshot: restoring before every window changes no alert."""
    params = DetectionParams()
    got = incremental(grouping_stream, params, restore_every=True)
    assert [a.to_dict() for a in got] == [a.to_dict() for a in frame_alerts(grouping_stream, params)]


def test_a_phrase_whose_word_is_never_a_keyword_alerts_in_both_engines_alike():
    """"world" of "world cup" is a stop word a phrase may hold: never a keyword, so it has no series.
    The phrase is not carried by it (it does not rise), and the frame and the stream read it alike."""
    rng = np.random.default_rng(5)
    posts = make_stream(rng, minutes=150)
    for minute in range(100, 120):
        t = T0 + minute * SLIDE
        for _ in range(rng.poisson(10.0)):
            words = ["cup", "world cup"] + (["final"] if rng.random() < 0.6 else [])
            posts.append((words, f"c{rng.integers(0, 400)}", t + int(rng.integers(0, SLIDE))))
    occ = occurrences(posts)
    params = DetectionParams()
    a, b = frame_alerts(occ, params), incremental(occ, params)
    assert [x.to_dict() for x in a] == [x.to_dict() for x in b]
    story = [x for x in a if {x.keyword, *x.related_keywords} & {"cup", "world cup"}]
    assert story and {x.topic for x in story} == {"world cup"}, story
    assert "world" not in {k for x in a for k in (x.keyword, *x.related_keywords)}
