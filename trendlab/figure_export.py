"""Charts that outlive the kernel: PNG export with kaleido and the static fallbacks of notebook outputs.

:func:`save_png` writes a PNG with kaleido (which drives a Chromium: Debian's ``chromium`` package,
found on ``PATH`` or through ``BROWSER_PATH``). :class:`StaticFigure` is a figure as a notebook output
with a static fallback (PNG, else self-contained HTML) so nbconvert, GitHub and nbviewer show it.
:class:`FigureSaver` keeps every figure a notebook shows (JSON always, PNG when Chromium is there)
for the pipeline's report (:mod:`trendlab.pipeline.report`). The figures themselves are drawn by
:mod:`trendlab.plots`, which re-exports these names.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

log = logging.getLogger(__name__)

__all__ = ["CAPTIONS", "FigureSaver", "StaticFigure", "figure_png", "png_export_available", "save_png",
           "static_bundle"]


def _chromium_advice() -> str:
    """How to get PNGs here: on Binder nothing is to be done (the HTML fallback works everywhere)."""
    from trendlab.config import on_binder

    if on_binder():
        return "Binder images have no Chromium; charts are interactive here and kept as HTML"
    return "install it (Debian/Ubuntu: apt-get install chromium) or point BROWSER_PATH at a Chrome/Chromium binary"


def png_export_available() -> bool:
    """Whether kaleido can find a Chromium (``BROWSER_PATH``, or chromium/chrome on ``PATH``)."""
    browser = os.environ.get("BROWSER_PATH")
    if browser:
        return os.access(browser, os.X_OK)
    return any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome", "chrome"))


def figure_png(fig: go.Figure, width: int = 1100, height: int | None = None, scale: float = 1.0) -> bytes:
    """``fig`` as PNG bytes, made by kaleido; a one-line error when no Chromium is installed."""
    if not png_export_available():
        raise RuntimeError(f"PNG export needs Chromium for kaleido: {_chromium_advice()}")
    height = height or int(fig.layout.height or 450)
    _start_kaleido()
    import kaleido

    opts = dict(format="png", width=width, height=height, scale=scale)
    return kaleido.calc_fig_sync(fig.to_plotly_json(), opts=opts)


def save_png(fig: go.Figure, path: str | Path, width: int = 1100, height: int | None = None, scale: float = 1.0) -> Path:
    """Write ``fig`` as a PNG with kaleido; a one-line error when no Chromium is installed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure_png(fig, width, height, scale))
    return path


_KALEIDO_STARTED = False


def _start_kaleido() -> None:
    """One Chromium for all the PNGs of this process (kaleido starts one per image otherwise)."""
    global _KALEIDO_STARTED
    if _KALEIDO_STARTED:
        return
    import atexit

    import kaleido

    # Chromium's DevTools pipe sometimes sends a message choreographer cannot parse; it logs a
    # traceback and carries on. Keep that noise out of notebooks.
    logging.getLogger("choreographer").setLevel(logging.CRITICAL)
    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)
    _KALEIDO_STARTED = True


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "figure"


class StaticFigure:
    """A figure as a notebook output: plotly's own JSON for JupyterLab, plus a static fallback for
    everything that does not run plotly (nbconvert, GitHub, nbviewer): the PNG when there is one,
    else self-contained HTML. Attribute access goes to the figure."""

    def __init__(self, figure: go.Figure, png: bytes | None = None) -> None:
        self.figure = figure
        self.png = png

    def __getattr__(self, name: str):
        if name.startswith("_"):  # IPython's display hooks: this object's, not the figure's
            raise AttributeError(name)
        return getattr(self.figure, name)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return static_bundle(self.figure, self.png)


_PLOTLYJS_SHOWN = False


def static_bundle(fig: go.Figure, png: bytes | None = None) -> dict[str, Any]:
    """The output of a figure: ``application/vnd.plotly.v1+json`` (JupyterLab's renderer) plus
    ``image/png`` (``png``, or made now when Chromium is there) or else ``text/html`` that needs
    nothing from the network: plotly.js is inlined in the first such output of the kernel, the
    later ones use it."""
    global _PLOTLYJS_SHOWN
    import base64

    import plotly.io as pio

    spec = json.loads(pio.to_json(fig, validate=False))
    bundle: dict[str, Any] = {
        "application/vnd.plotly.v1+json": {**spec, "config": {"displaylogo": False}},
        "text/plain": f"<{fig.layout.title.text or 'plotly figure'}>",
    }
    if png is None and png_export_available():
        try:
            png = figure_png(fig)
        except Exception as exc:  # noqa: BLE001 — the HTML fallback still works
            log.warning("PNG export failed, keeping HTML: %s", str(exc).splitlines()[0] if str(exc) else exc)
    if png is not None:
        bundle["image/png"] = base64.b64encode(png).decode()
    else:
        bundle["text/html"] = pio.to_html(fig, include_plotlyjs=not _PLOTLYJS_SHOWN, full_html=False,
                                          config={"displaylogo": False})
        _PLOTLYJS_SHOWN = True
    return bundle


#: What to look at in each chart the notebooks keep (the report's captions), by the name given to
#: :class:`FigureSaver` (a caption passed to it wins).
CAPTIONS = {
    "posts per minute": "A steady background is what you want to see: gaps and steps are stream problems; "
                        "single-keyword bursts are too small to show in the total.",
    "languages": "The language mix decides the stop words and tokenizers the keyword extractor uses.",
    "top keywords": "Always-common words lead this list; they are not trends unless they rise above their own baseline.",
    "top hashtags": "A hashtag bursting from nothing is the clearest kind of trend.",
    "labelled bursts": "The ground truth: green bursts must alert, grey decoys must not.",
    "f1 heatmap": "Broad high regions mean a robust choice; the red square is the point written to params.yaml.",
    "latency heatmap": "Median detection latency in slides: how many window steps after a burst starts its first "
                       "alert comes.",
    "precision recall": "Look top right; the red star is the point written to params.yaml.",
    "alerts vs bursts": "Each red diamond should sit early on a green band; diamonds on the unmatched row are "
                        "false alerts.",
    "count vs baseline": "The alert fires where the blue count first clears the dashed orange threshold "
                         "(and the score and author tests pass).",
    "top trends": "One row per trend, strongest first, with every keyword its alerts named.",
    "job alerts vs bursts": "The Flink job's alerts on the labels: the same picture as the replay's when both "
                            "engines agree.",
}


class FigureSaver:
    """Keeps every figure a notebook shows, for the pipeline's report.

    ``save = FigureSaver(out_dir / "figures", "01")`` then ``save(fig, "posts per minute")`` writes
    ``01_posts_per_minute.json`` (the figure, always) and ``.png`` (when Chromium is there), records
    it in ``index.json``, and returns the figure so the cell still displays it.
    """

    def __init__(self, directory: str | Path, prefix: str, png: bool = True) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self.png = png and png_export_available()
        self.directory.mkdir(parents=True, exist_ok=True)
        if png and not self.png:
            log.warning("no Chromium found: figures are kept as JSON and self-contained HTML, not PNG (%s)",
                        _chromium_advice())

    def __call__(self, fig: go.Figure, name: str, caption: str = "") -> StaticFigure:
        """Keep ``fig`` and return it for display, with its static fallback (:class:`StaticFigure`)."""
        png = self.keep(fig, name, caption)
        return StaticFigure(fig, png.read_bytes() if png else None)

    def keep(self, fig: go.Figure, name: str, caption: str = "") -> Path | None:
        """Keep ``fig`` for the report without showing it; returns the PNG written, if any."""
        stem = f"{self.prefix}_{_slug(name)}"
        (self.directory / f"{stem}.json").write_text(fig.to_json())
        png = None
        if self.png:
            try:
                png = save_png(fig, self.directory / f"{stem}.png").name
            except Exception as exc:  # noqa: BLE001 — a chart that cannot be a PNG is still in the report
                log.warning("PNG export of %s failed: %s", stem, str(exc).splitlines()[0] if str(exc) else exc)
        caption = caption or CAPTIONS.get(name.lower(), "")
        self._record({"name": stem, "notebook": self.prefix, "title": name, "caption": caption,
                      "json": f"{stem}.json", "png": png})
        return self.directory / png if png else None

    def _record(self, entry: dict) -> None:
        index_path = self.directory / "index.json"
        entries = json.loads(index_path.read_text()) if index_path.exists() else []
        entries = [e for e in entries if e["name"] != entry["name"]] + [entry]
        entries.sort(key=lambda e: e["notebook"])  # stable: keeps the order figures were shown in
        index_path.write_text(json.dumps(entries, indent=1))
