"""MkDocs hooks of trendlab's documentation site (``mkdocs.yml``: ``hooks``).

* ``<!-- trendlab:variables -->`` in a page becomes the table of every environment variable, made from
  :data:`trendlab.config.VARIABLES` at build time, so the page cannot drift from the code.
* In the API reference, the Sphinx roles of the docstrings (``:class:`~trendlab.errors.ConfigError```)
  become code, linked when the page documents the target.
* The four notebooks join the site as ``notebooks/NAME.ipynb`` (mkdocs-jupyter renders them, without
  executing anything): the executed copies in ``out/`` when ``make demo`` (``trendlab pipeline``) has
  written all four there, else the committed ones in ``notebooks/``.
"""

from __future__ import annotations

import logging
import re
import shutil
import sys
import tempfile
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the trendlab of this checkout, whatever is installed
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("mkdocs.hooks.trendlab")
_staged: list[Path] = []  # staging folders of this build, removed after it
VARIABLES_MARK = "<!-- trendlab:variables -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def variables_table() -> str:
    from trendlab.config import VARIABLES, Settings

    defaults = Settings()
    rows = ["| variable | default | what |", "| --- | --- | --- |"]
    for name, var in VARIABLES.items():
        if var.secret:
            default = "(secret)" if var.default else "(none)"
        elif var.default is None:
            default = "unset"
        elif var.default == "":
            default = f"`{_cell(str(getattr(defaults, name)).replace(str(Path.home()), '~'))}`"
        else:
            default = f"`{_cell(str(var.default))}`"
        rows.append(f"| `{var.env}` | {default} | {_cell(var.help)} |")
    return "\n".join(rows)


def notebook_root() -> Path:
    """A folder holding ``notebooks/NAME.ipynb``: the checkout itself, or a staging folder whose
    ``notebooks/`` links to the executed copies in ``out/``."""
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    executed = [ROOT / "out" / n for n in names]
    if not (names and all(p.is_file() for p in executed)):
        log.info("notebooks: the committed ones in notebooks/ (run `make demo` for executed copies)")
        return ROOT
    log.info("notebooks: the executed copies in out/")
    stage = Path(tempfile.mkdtemp(prefix="trendlab-docs-")) / "notebooks"
    stage.mkdir()
    _staged.append(stage.parent)
    for path in executed:
        (stage / path.name).symlink_to(path)
    return stage.parent


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files, config):
    root = notebook_root()
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        files.append(File(f"notebooks/{path.name}", str(root), config["site_dir"], config["use_directory_urls"]))
    return files


def on_post_build(config):
    while _staged:
        shutil.rmtree(_staged.pop(), ignore_errors=True)


def on_page_markdown(markdown, page, config, files):
    if VARIABLES_MARK in markdown:
        markdown = markdown.replace(VARIABLES_MARK, variables_table())
    return markdown


_ROLE = re.compile(r":(?:mod|class|func|meth|data|attr|exc|obj|py:\w+):<code>(~?)([\w.]+)</code>")


def on_page_content(html, page, config, files):
    if page.file.src_uri != "reference.md":
        return html
    ids = set(re.findall(r'id="([\w.]+)"', html))

    def role(match: re.Match) -> str:
        short, target = match.group(1), match.group(2)
        shown = target.rsplit(".", 1)[-1] if short else target
        if target in ids:
            return f'<a href="#{target}"><code>{shown}</code></a>'
        return f"<code>{shown}</code>"

    return _ROLE.sub(role, html)
