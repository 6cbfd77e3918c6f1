"""A trend keeps its posts' language shares: each post's tags as a code in its sketch values
(trendlab.core.langtags), read back at alert time, in replay as in the job (the job's parity:
tests/integration/test_flink_job.py)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from trendlab.core.detect import DetectionParams
from trendlab.core.langtags import LANG_CODES, LANGUAGES, code_langs, langs_code, language_shares, primary_subtag
from trendlab.core.models import PostData
from trendlab.replay import replay

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@pytest.mark.parametrize("tags, code_of", [
    ([], ()), (None, ()), (["en"], ("en",)), (["pt-BR", "EN"], ("pt", "en")), (["pt_BR", "pt", "pt-PT"], ("pt",)),
    (["xx", "qq-ZZ", "ja"], ("ja",)), (["de", "fr", "it", "es"], ("de", "fr", "it")), (["tok"], ("tok",)),
    (["", "-", "e\u0301n", "\u212ao", "İt"], ()),  # non-ASCII letters never fold into a known tag
])
def test_a_posts_tags_become_a_code_and_back(tags, code_of):
    code = langs_code(tags)
    assert code_langs(code) == code_of and 0 <= code < 1 << 24


def test_the_table_is_a_stable_part_of_the_definition():
    # a code is a position in LANGUAGES: the first entries never move (append only)
    assert LANGUAGES[:4] == ("aa", "ab", "ae", "af") and LANG_CODES["en"] == 37 and LANG_CODES["ja"] == 74
    assert len(LANGUAGES) <= 255 and len(set(LANGUAGES)) == len(LANGUAGES)
    assert all(t == primary_subtag(t) for t in LANGUAGES)


def test_a_post_keeps_every_tag_it_was_given():
    """PostData keeps all of a post's tags (``languages``), its first one still picks the stop words
    (``language``); the flat JSON form carries them."""
    ev = {"did": "did:plc:a", "time_us": 1_739_131_200_000_000, "kind": "commit",
          "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "r",
                     "record": {"text": "hi", "langs": ["pt-BR", "en"], "createdAt": "2025-02-09T20:00:00Z"}}}
    post = PostData.from_jetstream(ev)
    assert post.language == "pt-BR" and post.langs == ["pt-BR"] and post.languages == ["pt-BR", "en"]
    assert PostData.from_json(post.to_json()) == post
    one = PostData.from_dict({**post.to_dict(), "langs": ["ja"], "language": "ja"})
    assert one.languages == ["ja"] and "langs" not in one.to_dict()
    flat = PostData.from_dict({k: v for k, v in post.to_dict().items() if k != "language"})
    assert flat.language == "pt-BR" and flat.languages == ["pt-BR", "en"]


def test_shares_read_from_sketch_minimums():
    ja, both = langs_code(["ja"]), langs_code(["pt", "en"])
    sketches = [[(7 << 24) | ja, (9 << 24) | ja, (11 << 24) | both, (13 << 24)], [(7 << 24) | ja, (15 << 24) | both]]
    # distinct values: 7 (ja), 9 (ja), 11 (pt+en), 13 (untagged: left out), 15 (pt+en)
    assert language_shares(sketches) == {"ja": 0.5, "en": 0.5, "pt": 0.5}
    assert language_shares([[13 << 24]]) is None and language_shares([]) is None


@pytest.mark.parametrize("native", ["1", "0"])
def test_alerts_carry_their_posts_languages_on_the_long_sample(native, monkeypatch):
    """Every alert of the long sample says its posts' languages, and its main one is the labelled
    trend's (the sample's trends are in en, ja, pt, es and de)."""
    monkeypatch.setenv("TRENDLAB_NATIVE", native)
    labels = json.loads((SAMPLES / "long" / "labels.json").read_text())["trends"]
    result = replay(SAMPLES / "long" / "posts.jsonl", DetectionParams(), progress=False)
    matched = 0
    for alert in result.alerts:
        assert alert.languages and alert.language == next(iter(alert.languages))
        assert all(0 < v <= 1 for v in alert.languages.values())
        label = next((t for t in labels if alert.keyword in t["keywords"]), None)
        if label is not None:
            matched += 1
            assert alert.language == label["language"], (alert.keyword, alert.languages, label["language"])
    assert matched >= 5 and {a.language for a in result.alerts} >= {"en", "ja"}


def test_a_post_tagged_with_several_languages_counts_for_each(tmp_path):
    """A burst written by people who tag their posts ["pt", "en"]: its trend is on both boards."""
    lines = []
    t0 = 1_739_131_200_000_000
    for i in range(900):  # a steady hour of English chatter, 15 a minute
        lines.append(_jet(i, t0 + i * 4_000_000, f"ordinary morning number{i % 40} chatter", ["en"]))
    for j in range(60):  # then a burst, bilingual
        lines.append(_jet(1000 + j, t0 + 3_000_000_000 + j * 3_000_000, "Festival Lisboa abertura hoje",
                          ["pt", "en"] if j % 2 else ["pt"]))
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"\n".join(sorted(lines, key=lambda b: orjson.loads(b)["time_us"])) + b"\n")
    alerts = replay(path, DetectionParams(window="6m", slide="1m"), progress=False).alerts
    burst = [a for a in alerts if a.keyword in ("festival", "lisboa", "abertura", "festival lisboa")]
    assert burst, [a.keyword for a in alerts]
    shares = burst[0].languages
    assert shares["pt"] == 1.0 and 0.25 <= shares["en"] <= 0.75 and burst[0].language == "pt"


def _jet(i: int, time_us: int, text: str, langs: list[str]) -> bytes:
    return orjson.dumps({"did": f"did:plc:u{i}", "time_us": time_us, "kind": "commit",
                         "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"r{i}",
                                    "record": {"text": text, "langs": langs, "createdAt": "2025-02-09T20:00:00Z"}}})


def test_a_replayed_streams_board_per_language(tmp_path):
    """Replay → the service's board: ``/trends?lang=ja`` serves the sample's Japanese trends and no
    English one, ``lang=en`` the reverse (the shares come from the engine, nothing set by hand)."""
    from fastapi.testclient import TestClient

    from trendlab.config import Settings
    from trendlab.service import create_app
    from waiting import free_port

    labels = json.loads((SAMPLES / "long" / "labels.json").read_text())["trends"]
    lang_of = {k: t["language"] for t in labels for k in t["keywords"]}
    alerts = replay(SAMPLES / "long" / "posts.jsonl", DetectionParams(), progress=False).alerts
    settings = Settings(flink_jobmanager_port=free_port(), kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
                        minio_endpoint=f"127.0.0.1:{free_port()}")
    client = TestClient(create_app(settings, follow_trends=False))
    for a in alerts:
        client.app.state.board.add_record("alerts", a.to_json().encode())
    board = client.get("/trends", params={"lang": "all", "limit": 100}).json()
    assert board["languages"].get("ja", 0) >= 1 and board["languages"].get("en", 0) >= 1
    for lang in ("ja", "en"):
        shown = client.get("/trends", params={"lang": lang, "limit": 100}).json()["trends"]
        known = [lang_of[k] for t in shown for k in t["keywords"] if k in lang_of]
        assert known and set(known) == {lang}, (lang, [(t["keywords"], t["languages"]) for t in shown])
