"""The live page as a moderator and a reader use it, in Debian's Chromium driven by Playwright (issue 23).

A served trendlab (uvicorn, approval mode, the moderation state in memory, the board fed the way the
Kafka follower feeds it) holds four pending trends: ``#eclipse`` (English), ``#sakura`` (Japanese),
``#scam`` and a hostile one (markup, a 10 KB phrase, right-to-left text, zero-width characters).

1. A moderator opens ``/trends/live``, gives the token and a name, approves ``#eclipse`` and rejects
   ``#scam`` with the page's buttons.
2. A reader (another browser context, no token) sees ``#eclipse`` only.
3. The moderator approves the others; the reader switches the language selector: ``ja`` shows
   ``#sakura`` only, ``en`` ``#eclipse`` only.
4. The hostile topic shows as text (no element made of its markup, no dialog), and the layout holds (no
   horizontal scroll, its row clamped).

Screenshots go to ``out/`` (moderator, reader, ja board, hostile row).
"""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from waiting import chromium, free_port, wait_for
from trendlab.config import Settings
from trendlab.core.models import TrendAlert
from trendlab.service import create_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "browser-mod-token"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
HOSTILE = ("<img src=x onerror=alert(1)><b>bold</b><script>alert(2)</script> "
           "مرحبا بالعالم \u202eevil\u202c z\u200bw\u200dj " + "long phrase " * 900)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _wait(what: str, check, timeout: float = 30.0, every: float = 0.1):
    return wait_for(what, check, timeout, every)


def _alert(keyword: str, count: int, languages: dict[str, float], topic: str | None = None,
           kind: str = "topic") -> TrendAlert:
    end = T0 + timedelta(minutes=30)
    return TrendAlert(keyword=keyword, window_start=end - timedelta(minutes=10), window_end=end, count=count,
                      unique_authors=count // 2, baseline=0.5, score=8.0,
                      related_keywords=[] if kind == "link" else [f"{keyword}-word"],
                      topic=topic or keyword, display_name=topic or keyword, languages=languages, kind=kind)


LINK = "https://news.example/2026/story?id=7"
BAD_LINK = "javascript:alert(document.domain)"  # not what trendlab counts; a hostile producer's alert


@pytest.fixture(scope="module")
def served():
    import uvicorn

    app = create_app(Settings(api_token=TOKEN, moderation="approval"), follow_trends=False)
    for a in (_alert("#eclipse", 40, {"en": 1.0}), _alert("#sakura", 30, {"ja": 0.95}),
              _alert("#scam", 20, {"en": 1.0}), _alert("hostile", 10, {"ar": 0.6, "en": 0.4}, topic=HOSTILE),
              _alert(LINK, 25, {"en": 1.0}, kind="link"), _alert(BAD_LINK, 5, {"en": 1.0}, kind="link")):
        app.state.board.add_record("alerts", a.to_json().encode())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait("the service starting", lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


def _shown(page) -> list[str]:
    return page.eval_on_selector_all("#trends tbody tr", "rows => rows.map(r => r.dataset.topic)")


def _refreshed(page, n: int = 1) -> None:
    before = int(page.get_attribute("#trends", "data-updated") or 0)
    _wait("the page refreshing", lambda: int(page.get_attribute("#trends", "data-updated") or 0) >= before + n)


def _links(page) -> list[str]:
    return page.eval_on_selector_all("#links tbody tr", "rows => rows.map(r => r.dataset.topic)")


def _row(page, topic: str, table: str = "#trends"):
    for row in page.query_selector_all(f"{table} tbody tr"):
        if row.get_attribute("data-topic") == topic:
            return row
    return None


def test_a_moderator_decides_and_a_reader_sees_only_approved_trends(served, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = {}
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            mod = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            reader = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US").new_page()
            for page in (mod, reader):
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                page.on("pageerror", lambda exc: errors.append(str(exc)))

            # the reader first: nothing is approved yet
            reader.goto(f"{served}/trends/live")
            _refreshed(reader)
            assert _shown(reader) == []

            # 1. the moderator: token, name, moderator view, approve one and reject another
            mod.goto(f"{served}/trends/live")
            mod.click("#moderate summary")
            mod.fill("#token", TOKEN)
            mod.fill("#moderator", "ana")
            mod.click("#moderate-on")
            _wait("four pending trends", lambda: len(mod.query_selector_all("#trends tbody tr[data-status=pending]")) == 4)
            _row(mod, "#eclipse").query_selector("button[data-action=approve]").click()
            _wait("#eclipse approved", lambda: (_row(mod, "#eclipse") or mod).get_attribute("data-status") == "approved")
            _row(mod, "#scam").query_selector("button[data-action=reject]").click()
            _wait("#scam rejected", lambda: (_row(mod, "#scam") or mod).get_attribute("data-status") == "rejected")
            shots["moderator"] = tmp_path / "moderation-moderator.png"
            mod.screenshot(path=str(shots["moderator"]), full_page=True)

            # 2. the reader sees the approved trend only
            _wait("the reader's board showing #eclipse only", lambda: _shown(reader) == ["#eclipse"])
            assert reader.query_selector_all("#trends button") == []

            # 3. the rest approved; the reader's language selector changes the board
            for topic in ("#sakura", HOSTILE):
                _row(mod, topic).query_selector("button[data-action=approve]").click()
                _wait(f"{topic[:10]} approved", lambda t=topic: (_row(mod, t) or mod).get_attribute("data-status") == "approved")
            # trending links: their own table, decided the same way
            assert sorted(_links(mod)) == sorted([LINK, BAD_LINK]) and LINK not in _shown(mod)
            for link in (LINK, BAD_LINK):
                _row(mod, link, "#links").query_selector("button[data-action=approve]").click()
                _wait(f"{link[:12]} approved",
                      lambda t=link: (_row(mod, t, "#links") or mod).get_attribute("data-status") == "approved")
            _wait("three trends for the reader", lambda: len(_shown(reader)) == 3)
            _wait("two links for the reader", lambda: sorted(_links(reader)) == sorted([LINK, BAD_LINK]))
            anchor = _row(reader, LINK, "#links").query_selector("a")
            assert anchor.get_attribute("href") == LINK and anchor.text_content() == LINK
            assert "noopener" in anchor.get_attribute("rel")
            bad = _row(reader, BAD_LINK, "#links").query_selector("a")
            assert bad.get_attribute("href") is None and bad.text_content() == BAD_LINK  # shown, never followed
            shots["reader"] = tmp_path / "moderation-reader.png"
            reader.screenshot(path=str(shots["reader"]), full_page=True)
            _wait("ja among the languages", lambda: "ja" in reader.eval_on_selector_all(
                "#lang option", "os => os.map(o => o.value)"))
            reader.select_option("#lang", "ja")
            _wait("the ja board", lambda: _shown(reader) == ["#sakura"])
            shots["ja"] = tmp_path / "moderation-reader-ja.png"
            reader.screenshot(path=str(shots["ja"]), full_page=True)
            reader.select_option("#lang", "en")
            _wait("the en board", lambda: _shown(reader) == ["#eclipse", HOSTILE])
            reader.select_option("#lang", "all")
            _wait("every language", lambda: len(_shown(reader)) == 3)

            # 4. the hostile topic is text, and the layout holds
            row = _row(reader, HOSTILE)
            topic_cell = row.query_selector("td .text")
            assert topic_cell.text_content() == HOSTILE
            assert reader.query_selector_all("#trends img, #trends b, #trends script") == []
            width = reader.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], width
            row_height = row.bounding_box()["height"]
            eclipse_height = _row(reader, "#eclipse").bounding_box()["height"]
            assert row_height < 4 * eclipse_height, (row_height, eclipse_height)  # three lines at most
            shots["hostile"] = tmp_path / "moderation-hostile-row.png"
            row.screenshot(path=str(shots["hostile"]))
        finally:
            browser.close()
    assert not dialogs, dialogs
    assert not errors, errors
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    for shot in shots.values():
        assert shot.stat().st_size > 5_000
        shutil.copyfile(shot, out / shot.name)
