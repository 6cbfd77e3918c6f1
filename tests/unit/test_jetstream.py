"""The Jetstream client and ``trendlab jetstream record`` against a local v1 server (tests/jetstream_server.py).

No mocks: a real WebSocket server on an ephemeral port speaks Jetstream's v1 protocol over a recorded
file, with the real zstd dictionary, and drops, stalls and sends bad frames on cue.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from jetstream_server import BAD_FRAMES, Faults, JetstreamServer

from trendlab.errors import ConfigError, InputError
from trendlab.jetstream.subscriber import (DICTIONARY_SHA256, Event, FrameDecoder, JetstreamClient, dictionary_bytes,
                                       subscribe_url)
from trendlab.jetstream.recorder import record

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "small" / "posts.jsonl"
POSTS = ["app.bsky.feed.post"]


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return SAMPLE.read_bytes().splitlines()


def test_the_shipped_dictionary_is_jetstreams():
    data = dictionary_bytes()
    assert hashlib.sha256(data).hexdigest() == DICTIONARY_SHA256
    assert data[:4] == bytes.fromhex("37a430ec")  # magic 0xEC30A437, little-endian
    assert int.from_bytes(data[4:8], "little") == 1612007021
    assert (ROOT / "trendlab" / "jetstream" / "DICTIONARY.md").read_text().count("MIT") >= 2


def test_decoder_reads_frames_with_and_without_content_size(lines):
    import zstandard

    dictionary = zstandard.ZstdCompressionDict(dictionary_bytes())
    decoder = FrameDecoder()
    for flag in (True, False):
        frame = zstandard.ZstdCompressor(dict_data=dictionary, write_content_size=flag).compress(lines[0])
        event = decoder.decode(frame)
        assert isinstance(event, Event) and event.raw == lines[0]
        assert event.time_us == orjson.loads(lines[0])["time_us"] and event.kind == "commit"
    plain = decoder.decode(lines[1].decode())
    assert isinstance(plain, Event) and plain.raw == lines[1]
    # the dictionary matters: the frame names it, a decoder without it cannot read the frame
    frame = zstandard.ZstdCompressor(dict_data=dictionary).compress(lines[0])
    with pytest.raises(zstandard.ZstdError):
        zstandard.ZstdDecompressor().decompress(frame)
    for reason, frame in [("zstd", BAD_FRAMES["zstd"]), ("json", BAD_FRAMES["json"]), ("kind", BAD_FRAMES["kind"]),
                          ("event", BAD_FRAMES["object"]), ("zstd", frame[:-5]), ("json", b"\xff\xfe")]:
        bad = decoder.decode(frame)
        assert not isinstance(bad, Event) and bad[0] == reason, (reason, bad)


def test_subscribe_url_speaks_v1():
    url = subscribe_url("wss://jetstream1.us-east.bsky.network/subscribe", collections=["app.bsky.feed.post",
                        "app.bsky.graph.*"], cursor=1739131201084477, compress=True, max_message_size=100000)
    assert url == ("wss://jetstream1.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"
                   "&wantedCollections=app.bsky.graph.*&cursor=1739131201084477&compress=true"
                   "&maxMessageSizeBytes=100000")
    assert subscribe_url("ws://h:1/subscribe", compress=False) == "ws://h:1/subscribe"
    with pytest.raises(ConfigError, match="--url"):
        subscribe_url("https://example.org/subscribe")
    with pytest.raises(ConfigError, match="--collections"):
        JetstreamClient("ws://h:1/subscribe", collections=["app.bsky.fe*"])


def test_every_event_once_and_in_order_through_drops_stalls_and_bad_frames(tmp_path, lines):
    faults = Faults(drop_after={40, 1500, 1501}, stall_at={700}, reject_first=1,
                    bad_frames_at={10: list(BAD_FRAMES.values()), 3000: [BAD_FRAMES["zstd"]] * 3})
    with JetstreamServer(SAMPLE, faults=faults) as server:
        expected = server.expected(POSTS)
        result = record(tmp_path / "rec.jsonl", server.url, max_events=len(expected), collections=POSTS,
                        stall_timeout=1.0, progress_every=0, handle_signals=False)
        connections = list(server.connections)
    got = (tmp_path / "rec.jsonl").read_bytes().splitlines()
    assert got == expected  # every event, once, in order, byte for byte
    assert len(expected) == sum(1 for line in lines if b'"collection":"app.bsky.feed.post"' in line
                                or b'"kind":"identity"' in line or b'"kind":"account"' in line)
    assert result.written == len(expected)
    assert dict(result.stats.bad_frames) == {"zstd": 4, "json": 1, "kind": 1, "event": 1}
    # one 503, three drops, one stall (a loaded machine may add stalls: a 1 s stall timeout is tight)
    assert result.stats.reconnects >= 5 and result.stats.stalls >= 1
    # every reconnection resumed from a cursor at or before the last event written, never from the start
    assert connections[0]["cursor"] is None and all(c["cursor"] for c in connections[1:])
    assert all(c["compress"] and c["collections"] == POSTS for c in connections)


def test_record_uncompressed_prefix_collections_cursor_and_zst_output(tmp_path):
    with JetstreamServer(SAMPLE, faults=Faults(drop_after={300})) as server:
        cursor = server.times[2000]
        expected = server.expected(["app.bsky.feed.*"], cursor=cursor)[:1000]
        result = record(tmp_path / "rec.jsonl.zst", server.url, max_events=1000, collections=["app.bsky.feed.*"],
                        cursor=cursor, compress=False, stall_timeout=2.0, progress_every=0, handle_signals=False)
        assert not server.connections[0]["compress"] and server.connections[0]["cursor"] == cursor
    assert result.written == 1000
    import zstandard

    got = zstandard.ZstdDecompressor().stream_reader(open(tmp_path / "rec.jsonl.zst", "rb")).read().splitlines()
    assert got == expected
    kinds = {orjson.loads(line)["commit"]["collection"] for line in got if b'"commit"' in line}
    assert kinds == {"app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.feed.repost"}
    from trendlab.postfile import ReadCounts, read_messages

    counts = ReadCounts()  # every command reads what record writes (the one post-file reader)
    assert [line for _, line, _ in read_messages(tmp_path / "rec.jsonl.zst", counts=counts)] == expected
    assert counts.posts == sum(1 for line in got if b'"operation":"create","collection":"app.bsky.feed.post"' in line)
    assert counts.posts > 0 and counts.malformed == 0


def test_max_message_size_is_passed_to_the_server(tmp_path):
    with JetstreamServer(SAMPLE) as server:
        small = [e.raw for e in server.events if len(e.raw) <= 600 and e.collection in (None, "app.bsky.feed.post")]
        record(tmp_path / "rec.jsonl.gz", server.url, max_events=200, collections=POSTS, max_message_size=600,
               progress_every=0, handle_signals=False)
        assert server.connections[0]["max_size"] == 600
    import gzip

    assert gzip.open(tmp_path / "rec.jsonl.gz").read().splitlines() == small[:200]


def test_rotates_to_the_next_url_when_one_is_down(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"ws://127.0.0.1:{s.getsockname()[1]}/subscribe"
    with JetstreamServer(SAMPLE) as server:
        result = record(tmp_path / "rec.jsonl", [dead, server.url], max_events=10, collections=POSTS,
                        progress_every=0, handle_signals=False)
    assert result.written == 10 and result.stats.reconnects >= 1 and result.stats.url == server.url


def test_a_refused_subscription_is_one_line_not_a_retry_loop(tmp_path):
    with JetstreamServer(SAMPLE) as server:
        bad = server.url.replace("/subscribe", "/nope")
        with pytest.raises(InputError, match="HTTP 404"):
            record(tmp_path / "rec.jsonl", bad, max_events=1, progress_every=0, handle_signals=False)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_cli_record_stops_cleanly_on_sigterm_with_a_progress_line(tmp_path):
    out = tmp_path / "rec.jsonl"
    with JetstreamServer(SAMPLE, rate=400) as server:
        proc = subprocess.Popen([sys.executable, "-m", "trendlab.cli", "jetstream", "record", "--url", server.url,
                                 "--out", str(out), "--collections", *POSTS, "--progress", "0.2"],
                                env=_env(), stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        expected = server.expected(POSTS)
    assert proc.returncode == 0, err
    got = out.read_bytes().splitlines()
    assert 0 < len(got) < len(expected) and got == expected[:len(got)]
    assert "jetstream record:" in err and "events (" in err and "/s), lag " in err and "bad frames 0" in err
    assert f"wrote {len(got):,} events" in err


def test_cli_refuses_bad_flags_in_one_line(tmp_path):
    for args, message in [(["--cursor", "abc"], "--cursor must be unix microseconds"),
                          (["--since", "soon"], "--since must be a duration"),
                          (["--cursor", "1", "--since", "1h"], "not both"),
                          (["--url", "http://x/subscribe"], "--url must be a ws:// or wss:// URL")]:
        done = subprocess.run([sys.executable, "-m", "trendlab.cli", "jetstream", "record", "--out",
                               str(tmp_path / "x.jsonl"), *args], env=_env(), capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_a_new_client_starts_at_its_cursor_even_with_shared_stats():
    """The ingester shares one ClientStats across sessions; a session restarted from Kafka's cursor must
    subscribe from that cursor, not from where the previous session's client was."""
    from trendlab.jetstream.subscriber import ClientStats

    stats = ClientStats(last_time_us=1739135260180967)
    client = JetstreamClient("ws://127.0.0.1:1/subscribe", cursor=1739133917231531, stats=stats)
    assert client.resume_cursor() == 1739133917231531
    client._advance(1739133918000000)
    assert client.resume_cursor() == 1739133918000000 - client.rewind_us
    client._advance(1739133917000000)  # never backwards
    client._advance(10**18)  # nor past the clock's future
    assert client.resume_cursor() == 1739133918000000 - client.rewind_us


# -- bounded memory for any frame (issue 21, point 3) -----------------------------------------------

def test_a_frame_costs_at_most_the_cap_whatever_its_header_claims(lines):
    """A zstd frame is read only up to the cap: a bomb (with or without its size in the header) is a bad
    frame of reason ``size``; a frame exactly at the cap is an event; truncation is still caught."""
    import zstandard

    from jetstream_server import bomb_frame, lying_bomb_frame

    cap = 4096
    decoder = FrameDecoder(cap)
    for expanded, claims in [(cap + 1, True), (200 << 20, True), (200 << 20, False)]:
        frame = bomb_frame(expanded, content_size=claims, head=lines[0])
        reason, detail, payload = decoder.decode(frame)
        assert reason == "size" and payload == frame, detail
        assert "more than the 4,096-byte limit (TRENDLAB_MAX_MESSAGE_BYTES" in detail
        assert (f"its header claims {expanded:,} bytes" if claims else "its header claims no size") in detail
    # a header claiming 1,000 bytes of a 200 MB frame: stopped where it passes its claim, a corrupt frame
    liar = lying_bomb_frame(200 << 20, claims=1000, head=lines[0])
    assert zstandard.frame_content_size(liar) == 1000 and decoder.decode(liar)[0] == "zstd"
    exact = bomb_frame(cap, head=lines[0])  # an event padded with spaces to exactly the cap: valid JSON
    event = decoder.decode(exact)
    assert isinstance(event, Event) and len(event.raw) == cap and event.raw.startswith(lines[0])
    assert decoder.decode(exact[:-7])[0] == "zstd"  # cut short
    assert decoder.decode(lines[0] + b" " * cap)[0] == "size"  # plain binary and text frames over the cap
    reason, detail, payload = decoder.decode((lines[0] + b" " * cap).decode())
    assert reason == "size" and "characters" in detail and len(payload) == cap
    with pytest.raises(ConfigError, match="TRENDLAB_MAX_MESSAGE_BYTES"):
        FrameDecoder(0)
    assert zstandard.frame_content_size(bomb_frame(1 << 30)) == 1 << 30  # the gigabyte claim is in the header


def test_record_of_200mb_and_1gb_bombs_keeps_every_good_event_in_bounded_memory(tmp_path, lines):
    """``record`` (a child process, its peak RSS from the kernel) with a 200 MB bomb and three 1 GB bombs
    (one without its size in the header, one whose header claims 1,000 bytes: corrupt, reason ``zstd``)
    among the events: all are counted bad frames, every good event is written, no line is over the cap, and the
    peak RSS is within 100 MB of the same recording without the bombs (today's decoder: gigabytes)."""
    from jetstream_server import bomb_frame, lying_bomb_frame
    from peak_rss import run_with_peak_rss

    bombs = {50: [bomb_frame(200 << 20, head=lines[0]),  # the header claims 200 MB
                  lying_bomb_frame(1 << 30, claims=1000, head=lines[3])],  # claims 1,000 bytes
             400: [bomb_frame(1 << 30, content_size=False, head=lines[1]), bomb_frame(1 << 30, head=lines[2])]}
    peaks = {}
    for name, faults in [("baseline", Faults()), ("bombs", Faults(bad_frames_at=bombs))]:
        out = tmp_path / f"{name}.jsonl"
        with JetstreamServer(SAMPLE, faults=faults) as server:
            expected = server.expected(POSTS)
            done = run_with_peak_rss([sys.executable, "-m", "trendlab.cli", "jetstream", "record", "--url",
                                      server.url, "--out", str(out), "--collections", *POSTS, "--max-events",
                                      str(len(expected)), "--progress", "0"], env=_env(), timeout=240)
        assert done.returncode == 0, done.stderr
        got = out.read_bytes().splitlines()
        assert got == expected  # every good event around the bombs, once, in order
        assert max(map(len, got)) <= 262_144
        peaks[name] = done.peak_mb
    assert "bad frames: 3 size, 1 zstd" in done.stderr and "jetstream: bad frame (size): zstd frame of" in done.stderr
    print(f"record peak RSS: {peaks['baseline']:.0f} MB without bombs, {peaks['bombs']:.0f} MB with a 200 MB "
          f"and three 1 GB bombs")
    assert peaks["bombs"] - peaks["baseline"] < 100, peaks
