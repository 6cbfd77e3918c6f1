"""``out_dir/report.html``: one page with every figure the notebooks kept, interactive and offline.

Each notebook's figures are saved by :class:`trendlab.plots.FigureSaver` into ``out_dir/figures``
(plotly JSON, listed in ``figures/index.json`` with the notebook's prefix); the report puts them
under the notebook's section (a table of contents first; a chart equal to an earlier one is named, not
drawn twice), after the section's own extra (:attr:`trendlab.pipeline.steps.Step.report_html`:
the tuned ``params.yaml`` for 02, the job record for 03). plotly.js is inlined once.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trendlab.pipeline.job_record import JOB_RECORD
from trendlab.pipeline.steps import STEPS

__all__ = ["write_report"]

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; padding-bottom: .3rem; }
.meta { color: #666; } pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; }
table.kv td { padding: .15rem .8rem .15rem 0; vertical-align: top; } .figure { margin: 1.2rem 0; }
.caption { color: #555; font-size: .9rem; } nav.toc { background: #f6f8fb; padding: .6rem 1rem; }
nav.toc ul { margin: .2rem 0; }
"""


def _figure_html(entry: Mapping[str, Any], fig) -> str:
    import plotly.io as pio

    if fig is None:
        body = f"<p>figure {html.escape(entry['name'])} could not be read</p>"
    else:
        body = pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False})
    caption = f"<div class='caption'>{html.escape(entry.get('caption') or '')}</div>" if entry.get("caption") else ""
    return f"<div class='figure' id='{html.escape(entry['name'])}'>{body}{caption}</div>"


def _read_figure(path: Path):
    import plotly.io as pio

    try:
        return pio.from_json(path.read_text())
    except (OSError, ValueError):
        return None


def _chart_key(fig) -> str:
    """What a chart shows, whatever its title: two figures with one key are one chart (e.g. notebook
    04's job charts when the job agrees with notebook 02's replay)."""
    if fig is None:
        return ""

    def rounded(v):
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items() if k != "uid"}
        if isinstance(v, list):
            return [rounded(x) for x in v]
        return v

    return json.dumps(rounded(json.loads(fig.to_json())["data"]), sort_keys=True, default=str)


def write_report(out_dir: str | Path, seconds: Mapping[str, float] | None = None, profile: str | None = None) -> Path:
    """``out_dir/report.html``: a table of contents, then each step's extra section and every figure
    the notebooks kept, each drawn once (a chart that shows the same data as an earlier one is named
    and linked, not drawn again), each with its one-line caption."""
    from plotly.offline import get_plotlyjs

    out = Path(out_dir)
    figures = out / "figures"
    index = json.loads((figures / "index.json").read_text()) if (figures / "index.json").exists() else []
    if profile is None and (out / JOB_RECORD).exists():
        profile = json.loads((out / JOB_RECORD).read_text()).get("profile")
    sections: list[str] = []
    toc: list[str] = []
    seen: dict[str, Mapping[str, Any]] = {}
    for step in STEPS:
        anchor = f"nb{step.prefix}"
        entries = [e for e in index if e["notebook"] == step.prefix]
        extra = step.report_html(out)
        sections.append(f"<h2 id='{anchor}'>{html.escape(step.title)}</h2>")
        if extra:
            sections.append(extra)
        items = []
        for e in entries:
            fig = _read_figure(figures / e["json"])
            key = _chart_key(fig)
            if key and key in seen:
                first = seen[key]
                sections.append(f"<p class='meta'>{html.escape(e['title'])}: the same chart as "
                                f"<a href='#{html.escape(first['name'])}'>{html.escape(first['title'])}</a> above.</p>")
                continue
            seen.setdefault(key, e)
            sections.append(_figure_html(e, fig))
            items.append(f"<li><a href='#{html.escape(e['name'])}'>{html.escape(e['title'])}</a></li>")
        if not entries:
            sections.append("<p class='meta'>no figures</p>")
        toc.append(f"<li><a href='#{anchor}'>{html.escape(step.title)}</a>"
                   + (f"<ul>{''.join(items)}</ul>" if items else "") + "</li>")
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
    parts.append(f"<nav class='toc'><b>Contents</b><ul>{''.join(toc)}</ul></nav>")
    path = out / "report.html"
    path.write_text("\n".join(parts + sections + ["</body></html>"]))
    return path
