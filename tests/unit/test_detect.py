import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from trendlab.detect import DetectionParams, TrendDetector, detect_frame, hot_scores, poisson_z
from trendlab.models import WindowedKeywordCount
from trendlab.windows import window_counts

SLIDE = 60_000
T0 = 1_736_000_000_000 - (1_736_000_000_000 % SLIDE)


def make_stream(rng, minutes=240, bursts=()):
    """Occurrences: background keywords at steady rates plus (keyword, start_min, len_min, per_min, authors) bursts."""
    kw, au, ts = [], [], []
    rates = {0: 8.0, 1: 2.0, 2: 0.3, 3: 0.05}
    for minute in range(minutes):
        for k, r in rates.items():
            for _ in range(rng.poisson(r)):
                kw.append(k); au.append(int(rng.integers(0, 500))); ts.append(T0 + minute * SLIDE + int(rng.integers(0, SLIDE)))
        for k, start, length, per_min, n_auth in bursts:
            if start <= minute < start + length:
                for _ in range(rng.poisson(per_min)):
                    kw.append(k); au.append(1000 + int(rng.integers(0, n_auth))); ts.append(T0 + minute * SLIDE + int(rng.integers(0, SLIDE)))
    return np.array(kw), np.array(au), np.array(ts)


def incremental(frame, keywords, params):
    det = TrendDetector(params)
    alerts = []
    for end_slot, group in frame.groupby("end_slot", sort=True):
        rows = [WindowedKeywordCount(keywords[k], int(c), T, T, int(u))
                for k, c, u in group[["keyword_code", "count", "unique_authors"]].itertuples(index=False)
                for T in [pd.Timestamp(0, tz="UTC").to_pydatetime()]]
        alerts += det.process_window(int(end_slot) * SLIDE, rows)
    return alerts


KEYWORDS = np.array(["steady", "common", "rare", "tiny", "#newtag", "companion", "spam", "weak"], dtype=object)


@pytest.fixture(scope="module")
def stream():
    rng = np.random.default_rng(3)
    bursts = [(4, 100, 20, 6.0, 300), (5, 100, 20, 5.0, 300),  # a group: new hashtag + companion
              (6, 150, 30, 20.0, 1),                           # one author spamming
              (1, 190, 20, 8.0, 300)]                          # a common word rising 4x
    return make_stream(rng, bursts=bursts)


def test_frame_and_incremental_agree_alert_for_alert(stream):
    params = DetectionParams()
    frame = window_counts(*stream, params.spec)
    a = detect_frame(frame, KEYWORDS, params)
    b = incremental(frame, KEYWORDS, params)
    assert [x.to_dict() for x in a] == [x.to_dict() for x in b]
    assert a, "the injected bursts must alert"


def test_bursts_alert_once_grouped_and_decoys_do_not(stream):
    params = DetectionParams()
    alerts = detect_frame(window_counts(*stream, params.spec), KEYWORDS, params)
    keywords = [a.keyword for a in alerts]
    flat = keywords + [k for a in alerts for k in a.related_keywords]
    assert "spam" not in flat  # one author
    assert "steady" not in flat  # high volume, steady
    own = [a.keyword for a in alerts]
    assert own.count("#newtag") <= 1 and own.count("companion") <= 1  # one alert per episode
    trends = {a.trend for a in alerts if {a.keyword, *a.related_keywords} & {"#newtag", "companion"}}
    assert len(trends) == 1, alerts  # the two burst together: one trend
    assert "common" in flat
    assert all(a.window_end.timestamp() * 1000 - T0 >= params.warmup_windows() * SLIDE for a in alerts)


def test_no_alerts_during_warm_up():
    rng = np.random.default_rng(5)
    kw, au, ts = make_stream(rng, minutes=60, bursts=[(4, 5, 20, 10.0, 200)])
    params = DetectionParams()
    assert detect_frame(window_counts(kw, au, ts, params.spec), KEYWORDS, params) == []


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
    p.to_yaml(path)
    assert DetectionParams.from_yaml(path) == p
    path.write_text("window: 10m\nslide: 1m\nthreshold: 3\n")
    with pytest.raises(ValueError, match="unknown parameter 'threshold'"):
        DetectionParams.from_yaml(path)
    with pytest.raises(ValueError, match=r"window \(7m\) must be a whole multiple of slide \(2m\)"):
        DetectionParams(window="7m", slide="2m")
    with pytest.raises(ValueError, match="min_count must be an integer >= 1, got -1"):
        DetectionParams(min_count=-1)
    with pytest.raises(ValueError, match="window must be positive"):
        DetectionParams(window="0m")


def test_detector_state_survives_snapshot(stream):
    params = DetectionParams()
    frame = window_counts(*stream, params.spec)
    full = incremental(frame, KEYWORDS, params)
    # run half, snapshot, restore into a new detector, run the rest
    ends = sorted(frame["end_slot"].unique())
    half = ends[len(ends) // 2]
    det = TrendDetector(params)
    got = []
    for end_slot, group in frame.groupby("end_slot", sort=True):
        if end_slot == half:
            det = TrendDetector.restore(params, det.snapshot())
        rows = [{"keyword": KEYWORDS[k], "count": c, "unique_authors": u}
                for k, c, u in group[["keyword_code", "count", "unique_authors"]].itertuples(index=False)]
        got += det.process_window(int(end_slot) * SLIDE, rows)
    assert [a.to_dict() for a in got] == [a.to_dict() for a in full]


def test_a_long_gap_costs_no_memory_and_changes_no_alert(stream):
    """Two bursts a year apart: detection over the windows that hold posts, not the span (issue 10),
    alert for alert the same as the window-by-window detector."""
    rng = np.random.default_rng(5)
    later = make_stream(rng, minutes=120, bursts=[(4, 60, 20, 6.0, 300)])
    year = 365 * 24 * 60 * SLIDE
    kw, au, ts = (np.concatenate([a, b]) for a, b in zip(stream, (later[0], later[1], later[2] + year)))
    params = DetectionParams()
    frame = window_counts(kw, au, ts, params.spec)
    a = detect_frame(frame, KEYWORDS, params)
    assert [x.to_dict() for x in a] == [x.to_dict() for x in incremental(frame, KEYWORDS, params)]
    assert any(x.window_end.year > 2025 for x in a) and any(x.window_end.year == 2025 for x in a)



GROUPING_KEYWORDS = np.array([*KEYWORDS, "carried"], dtype=object)


@pytest.fixture(scope="module")
def grouping_stream():
    rng = np.random.default_rng(7)
    bursts = [(4, 100, 20, 20.0, 300), (5, 100, 20, 16.0, 300),  # a trend: new hashtag + companion
              (8, 100, 20, 1.5, 300),                            # a word its posts carry now and then
              (3, 158, 20, 4.0, 300), (0, 160, 20, 60.0, 300)]   # a small rise, then a big one 2 minutes later
    return make_stream(rng, bursts=bursts)


def _trends_of(alerts, keyword):
    return {a.trend for a in alerts if keyword in (a.keyword, *a.related_keywords)}


def test_grouping_needs_comparable_rises_not_only_correlation(grouping_stream):
    """Issue 13: a word that rises with a trend but far less (``group_share``) neither joins it nor
    alerts on its own; a big rise does not join a small trend opened two minutes earlier. Without the
    rule (``group_share`` 0) both attach: correlation alone cannot tell them apart. Both engines agree."""
    for params in (DetectionParams(), DetectionParams(group_share=0.0)):
        frame = window_counts(*grouping_stream, params.spec)
        alerts = detect_frame(frame, GROUPING_KEYWORDS, params)
        assert [a.to_dict() for a in alerts] == [a.to_dict() for a in incremental(frame, GROUPING_KEYWORDS, params)]
        assert _trends_of(alerts, "#newtag") == _trends_of(alerts, "companion") == {"#newtag"}
        if params.group_share:
            assert _trends_of(alerts, "carried") == set()
            assert _trends_of(alerts, "tiny") == {"tiny"} and _trends_of(alerts, "steady") == {"steady"}
        else:
            assert _trends_of(alerts, "carried") == {"#newtag"}
            assert _trends_of(alerts, "steady") == {"tiny"}


def test_group_share_is_validated_and_round_trips(tmp_path):
    p = DetectionParams(group_share=0.3)
    path = tmp_path / "params.yaml"
    p.to_yaml(path)
    assert DetectionParams.from_yaml(path) == p and "group_share: 0.3" in path.read_text()
    for bad in (-0.1, 1.5, "x", True):
        with pytest.raises(ValueError, match="group_share must be between 0 and 1"):
            DetectionParams(group_share=bad)


def test_grouping_survives_a_restore_at_every_window(grouping_stream):
    """The rule needs no state beyond the detector's snapshot: restoring before every window changes no alert."""
    params = DetectionParams()
    frame = window_counts(*grouping_stream, params.spec)
    det, got = TrendDetector(params), []
    for end_slot, group in frame.groupby("end_slot", sort=True):
        det = TrendDetector.restore(params, det.snapshot())
        rows = [{"keyword": GROUPING_KEYWORDS[k], "count": c, "unique_authors": u}
                for k, c, u in group[["keyword_code", "count", "unique_authors"]].itertuples(index=False)]
        got += det.process_window(int(end_slot) * SLIDE, rows)
    assert [a.to_dict() for a in got] == [a.to_dict() for a in detect_frame(frame, GROUPING_KEYWORDS, params)]
