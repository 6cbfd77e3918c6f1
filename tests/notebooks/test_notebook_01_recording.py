"""Notebook 01 explores a recorded Jetstream file as well as the sample (its ``input_path`` parameter).

The recording is made here by ``trendlab jetstream record`` from the local v1 server
(tests/jetstream_server.py) replaying the committed sample; it has no labels yet.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jetstream_server import JetstreamServer

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[2]


def test_notebook_01_explores_an_unlabelled_recording(tmp_path):
    import papermill as pm

    from trendlab.jetstream.recorder import record

    recording = tmp_path / "live" / "posts.jsonl.gz"
    with JetstreamServer(ROOT / "data" / "samples" / "small" / "posts.jsonl") as server:
        result = record(recording, server.url, max_events=3000, collections=["app.bsky.feed.post"],
                        progress_every=0, handle_signals=False)
    assert result.written == 3000
    out = tmp_path / "out"
    executed = out / "01.ipynb"
    out.mkdir()
    pm.execute_notebook(str(ROOT / "notebooks" / "01_explore_samples.ipynb"), str(executed),
                        parameters={"input_path": str(recording), "out_dir": str(out)}, cwd=str(ROOT / "notebooks"),
                        progress_bar=False)
    nb = nbformat.read(executed, as_version=4)
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    posts = sum(1 for line in __import__("gzip").open(recording) if b'"operation":"create","collection":"app.bsky.feed.post"' in line)
    assert f"{posts:,} posts from 3,000 lines" in text
    figures = {p.stem for p in (out / "figures").glob("01*")}
    assert any("posts per minute" in f or "posts_per_minute" in f for f in figures), figures
    assert not any("labelled" in f for f in figures), figures  # no labels yet: no burst timeline
