"""``out_dir/report.html``: one page with every figure the notebooks kept, interactive and offline.

Each notebook's figures are saved by :class:`trendlab.plots.FigureSaver` into ``out_dir/figures``
(plotly JSON, listed in ``figures/index.json`` with the notebook's prefix); the report puts them
under the notebook's section, after the section's own extra (:attr:`trendlab.pipeline.steps.Step.report_html`:
the tuned ``params.yaml`` for 02, the job record for 03). plotly.js is inlined once.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trendlab.pipeline.record import JOB_RECORD
from trendlab.pipeline.steps import STEPS

__all__ = ["write_report"]

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; padding-bottom: .3rem; }
.meta { color: #666; } pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; }
table.kv td { padding: .15rem .8rem .15rem 0; vertical-align: top; } .figure { margin: 1.2rem 0; }
.caption { color: #555; font-size: .9rem; }
"""


def _figure_html(entry: Mapping[str, Any], figures: Path) -> str:
    import plotly.io as pio

    path = figures / entry["json"]
    try:
        fig = pio.from_json(path.read_text())
        body = pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False})
    except (OSError, ValueError) as exc:
        body = f"<p>figure {html.escape(entry['name'])} could not be read: {html.escape(str(exc))}</p>"
    caption = f"<div class='caption'>{html.escape(entry.get('caption') or '')}</div>" if entry.get("caption") else ""
    return f"<div class='figure'>{body}{caption}</div>"


def write_report(out_dir: str | Path, seconds: Mapping[str, float] | None = None, profile: str | None = None) -> Path:
    """``out_dir/report.html``: every figure the notebooks kept, plus each step's extra section."""
    from plotly.offline import get_plotlyjs

    out = Path(out_dir)
    figures = out / "figures"
    index = json.loads((figures / "index.json").read_text()) if (figures / "index.json").exists() else []
    if profile is None and (out / JOB_RECORD).exists():
        profile = json.loads((out / JOB_RECORD).read_text()).get("profile")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>trendlab report</title>",
        f"<style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        "<h1>trendlab report</h1>",
        f"<p class='meta'>profile <b>{html.escape(str(profile or '?'))}</b> · "
        f"written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}</p>",
    ]
    if seconds:
        rows = "".join(f"<tr><td><a href='{html.escape(n)}.ipynb'>{html.escape(n)}.ipynb</a></td><td>{s:.1f} s</td></tr>"
                       for n, s in seconds.items())
        parts.append(f"<table class='kv'>{rows}</table>")
    for step in STEPS:
        entries = [e for e in index if e["notebook"] == step.prefix]
        extra = step.report_html(out)
        parts.append(f"<h2>{html.escape(step.title)}</h2>")
        if extra:
            parts.append(extra)
        parts.extend(_figure_html(e, figures) for e in entries)
        if not entries:
            parts.append("<p class='meta'>no figures</p>")
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path
