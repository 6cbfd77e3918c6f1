"""Notebook 02 in a real JupyterLab, driven in Debian's Chromium by Playwright.

A JupyterLab server (this venv's) serves a copy of notebook 02 on an ephemeral port; headless
Chromium opens it, runs every cell, then, as an analyst would:

1. drags the ``min_score`` slider of the live tuning panel far to the left: more alerts must be shown
   (the panel's alert count and the figure's title both change);
2. judges alerts in the review widget (real, same trend, not a trend) and writes the labels;
3. ``trendlab tune`` must accept those labels on the same stream.

Screenshots go to ``$TRENDLAB_SCREENSHOTS`` (default: the test's temporary directory).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from waiting import chromium, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOTEBOOK = "02_tune_windows_thresholds.ipynb"

pytestmark = [pytest.mark.notebooks, pytest.mark.browser, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server over a work tree holding notebook 02 and the small sample."""
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / "notebooks" / NOTEBOOK)
    (root / "data" / "samples").mkdir(parents=True)
    (root / "data" / "samples" / "small").symlink_to(ROOT / "data" / "samples" / "small")
    labconfig = root / ".jupyter" / "labconfig"
    labconfig.mkdir(parents=True)  # no "news from Jupyter?" toast over the widgets
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}')
    port, token = free_port(), secrets.token_hex(16)
    # start the notebook's kernel without asking (else JupyterLab may hold a "Select Kernel" dialog open)
    settings = root / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"autoStartDefaultKernel": true}')
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / ".jupyter"), JUPYTER_RUNTIME_DIR=str(root / ".runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(root / ".jupyter" / "lab" / "user-settings"))
    log = open(root / "jupyterlab.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         "--LabApp.extension_manager=readonly",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
         "--ServerApp.disable_check_xsrf=False", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    import urllib.request

    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start: {(root / 'jupyterlab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield {"root": root, "url": url, "token": token}
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(120_000)
        yield page
        browser.close()


def _shots(lab) -> Path:
    path = Path(os.environ.get("TRENDLAB_SCREENSHOTS") or lab["root"] / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alert_count(page) -> int:
    text = page.locator(".trendlab-tuning-panel .trendlab-alert-count").first.text_content()
    match = re.search(r"(\d+) alerts", text or "")
    assert match, f"no alert count in {text!r}"
    return int(match.group(1))


def _accept_kernel_dialog(page) -> None:
    """Answer a "Select Kernel" dialog with the preferred kernel, if one is open."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count():
        dialog.get_by_role("button", name="Select", exact=True).click()


def _run_all_cells(page, attempts: int = 3) -> None:
    """Run > Run All Cells, until a cell prompt shows the kernel took it (``[*]`` or a number)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = page.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]")).first
    for _ in range(attempts):
        _accept_kernel_dialog(page)
        page.locator(".jp-Notebook").click()
        page.keyboard.press("Escape")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            started.wait_for(timeout=30_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")  # close a menu left open, then try again
    pytest.fail("Run All Cells did not start notebook 02 in JupyterLab")


def test_live_tuning_and_labelling_in_jupyterlab(lab, page):
    shots = _shots(lab)
    page.goto(f"{lab['url']}/lab/tree/notebooks/{NOTEBOOK}?token={lab['token']}")
    page.locator(".jp-Notebook").wait_for()
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
    _run_all_cells(page)

    panel = page.locator(".trendlab-tuning-panel")
    try:
        panel.wait_for(timeout=420_000)  # the whole notebook runs first (slow on a loaded machine)
    except Exception:
        page.screenshot(path=str(shots / "00_no_panel.png"), full_page=True)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_text_contents()
        pytest.fail(f"no tuning panel after running the notebook; stderr outputs: {[e[-500:] for e in errors]}")
    panel.locator(".js-plotly-plot").wait_for()
    panel.locator(".trendlab-alert-count").first.wait_for()
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(shots / "01_panel_before.png"))
    before = _alert_count(page)
    title_before = panel.locator(".js-plotly-plot .annotation-text").nth(1).text_content(timeout=20_000)

    # drag the false-alarm rate's handle to the far right and min_score's to the far left: the window's
    # score bar is the larger of the two (trendlab.core.detect.score_threshold), so both make it much lower
    for control, dx in (("false-alarm-rate", 400), ("min-score", -400)):
        handle = panel.locator(f".trendlab-{control} .noUi-handle")
        box = handle.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + dx, box["y"] + box["height"] / 2, steps=8)
        page.mouse.up()
    page.wait_for_function(
        "n => { const el = document.querySelector('.trendlab-tuning-panel .trendlab-alert-count');"
        " const m = el && el.textContent.match(/(\\d+) alerts/); return m && Number(m[1]) !== n; }",
        arg=before, timeout=60_000,
    )
    after = _alert_count(page)
    score = panel.locator(".trendlab-min-score .widget-readout").inner_text()
    assert after > before, f"moving min_score to {score} (and the false-alarm rate up) should show more alerts ({before} -> {after})"
    page.wait_for_function(
        "t => { const a = document.querySelectorAll('.trendlab-tuning-panel .js-plotly-plot .annotation-text');"
        " return a.length > 1 && a[1].textContent !== t; }", arg=title_before, timeout=30_000)
    panel.screenshot(path=str(shots / "02_panel_after_min_score.png"))

    # label: the first alert real, the second the same trend, the third not a trend; then write
    review = page.locator(".trendlab-review")
    review.scroll_into_view_if_needed()
    review.locator(".trendlab-review-card h3").wait_for()
    review.locator(".trendlab-real").click()
    page.wait_for_function("() => document.querySelector('.trendlab-review-card').innerText.includes('1 judged')")
    review.locator(".trendlab-same").click()
    page.wait_for_function("() => document.querySelector('.trendlab-review-card').innerText.includes('2 judged')")
    review.locator(".trendlab-not").click()
    page.wait_for_function("() => document.querySelector('.trendlab-review-card').innerText.includes('3 judged')")
    review.locator(".trendlab-write-labels").click()
    review.locator(".trendlab-review-status", has_text="wrote labels.json").wait_for(timeout=30_000)
    review.screenshot(path=str(shots / "03_review_written.png"))

    labels = lab["root"] / "out" / "review" / "labels.json"
    assert labels.is_file()
    done = subprocess.run(
        [sys.executable, "-m", "trendlab.cli", "tune", str(ROOT / "data" / "samples" / "small" / "posts.jsonl"),
         "--labels", str(labels), "--workers", "1", "--out", str(lab["root"] / "tuned.yaml")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "best:" in done.stdout and (lab["root"] / "tuned.yaml").is_file()
