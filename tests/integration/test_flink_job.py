"""The embedded Flink job (PyFlink mini-cluster, file source) equals the replay engine, count for
count and alert for alert. The deployed job on the real stack: ``test_flink_deployed.py``.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pytest

from trendlab.config import Settings
from trendlab.core.detect import DetectionParams
from trendlab.replay import replay

pytestmark = pytest.mark.integration

PARAMS = dict(window="10m", slide="1m", baseline_windows=10, min_count=4, min_authors=3, min_ratio=2.0,
              min_score=2.0, cooldown_windows=10)


@pytest.fixture(scope="module")
def sample(tmp_path_factory, add_malformed) -> Path:
    from trendlab.samples import generate

    out = tmp_path_factory.mktemp("sample")
    generate(out, hours=1.5, rate=3, seed=11)
    _second_tags(out / "posts.jsonl")
    add_malformed(out / "posts.jsonl")
    return out / "posts.jsonl"


def _second_tags(path: Path) -> None:
    """Every third tagged post tagged with a second language too (as people do: ["pt", "en"]): the
    alerts' language shares count it for each, in the job as in replay."""
    lines = []
    for i, line in enumerate(path.read_bytes().splitlines()):
        ev = orjson.loads(line)
        record = (ev.get("commit") or {}).get("record") or {}
        if i % 3 == 0 and record.get("langs"):
            record["langs"] = record["langs"] + (["es"] if record["langs"][0] != "es" else ["en"])
            line = orjson.dumps(ev)
        lines.append(line)
    path.write_bytes(b"\n".join(lines) + b"\n")


def _replay_counts(result) -> pd.DataFrame:
    frame = result.counts.copy()
    for col in ("window_start", "window_end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors", "unique_contents"]].sort_index()


def _job_counts(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["keyword", "normalized_keyword", "window_start", "window_end", "count",
                                        "unique_authors", "unique_contents"])
    return frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors", "unique_contents"]].sort_index()


def assert_same_counts(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    joined = expected.join(actual, how="outer", lsuffix="_replay", rsuffix="_flink")
    diff = joined[(joined.count_replay != joined.count_flink)
                  | (joined.unique_authors_replay != joined.unique_authors_flink)
                  | (joined.unique_contents_replay != joined.unique_contents_flink)]
    assert diff.empty, f"{len(diff)} window counts differ, e.g.\n{diff.head(10)}"


def test_embedded_job_equals_replay(sample, tmp_path):
    from trendlab.flink.job import run_embedded

    params = DetectionParams(**PARAMS)
    result = run_embedded(sample, tmp_path / "out", params, Settings(checkpoint_interval_ms=5000))
    expected = replay(sample, params, progress=False)

    rows = [orjson.loads(line) for line in result.paths["counts"].read_bytes().splitlines()]
    assert_same_counts(_replay_counts(expected), _job_counts(rows))
    assert all(r["normalized_keyword"] == r["keyword"] for r in rows[:100])

    alerts = [orjson.loads(line) for line in result.paths["alerts"].read_bytes().splitlines()]
    assert expected.alerts, "the sample should contain trends"
    assert alerts == [a.to_dict() for a in expected.alerts]
    assert all(a["languages"] for a in alerts) and any(len(a["languages"]) > 1 for a in alerts)

    dead = [orjson.loads(line) for line in result.paths["dead_letters"].read_bytes().splitlines()]
    assert len(dead) == result.malformed == 3
    assert all(d["error"] for d in dead)
