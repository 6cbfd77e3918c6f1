"""The documentation: the site builds with --strict (no broken link, no page left out of the nav), its
configuration page lists every variable of the code, and the README stays a README."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 160
README_MAX_LINE = 200


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` (mkdocs and its plugins come with the dev extras: ``pip install -e '.[dev]'``)."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent, capture_output=True, text=True, timeout=900,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = _build(ROOT / "mkdocs.yml", out)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return out


def test_every_page_is_built(site):
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")}
    for page in pages - {"index"}:
        assert (site / page / "index.html").is_file(), f"docs/{page}.md was not built"
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        assert (site / "notebooks" / notebook.stem / "index.html").is_file(), f"{notebook.name} was not rendered"


def test_configuration_page_lists_every_variable(site):
    from trendlab.config import VARIABLES

    text = (site / "configuration" / "index.html").read_text()
    missing = [v.env for v in VARIABLES.values() if f"<code>{v.env}</code>" not in text]
    assert not missing, f"docs/configuration.md lacks {missing}"
    assert "trendlab:variables" not in text, "the table marker was not replaced"


def test_api_reference_is_made_from_docstrings(site):
    text = (site / "reference" / "index.html").read_text()
    for name in ("trendlab.core.detect.DetectionParams", "trendlab.config.Settings", "trendlab.core.parse.MessageParser"):
        assert f'id="{name}"' in text, f"{name} is not in the API reference"
    assert ":class:<code>" not in text, "docs/hooks.py turns the docstrings' Sphinx roles into code"


def test_a_broken_link_fails_the_build(tmp_path):
    """The same validation settings (inherited from mkdocs.yml) refuse a link to a page that does not exist."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the other page](other.md) and [a missing one](missing.md).\n")
    (docs / "other.md").write_text("# Other\n\n[Home](index.md#no-such-heading)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: docs\nhooks: []\nplugins: [search]\n"
        "nav: [index.md, other.md]\n"
    )
    result = _build(config, tmp_path / "site")
    assert result.returncode != 0, "a broken link did not fail mkdocs build --strict"
    assert "missing.md" in result.stderr + result.stdout
    # and once the link is fixed, the same site builds: what failed was the link
    (docs / "index.md").write_text("# Home\n\nSee [the other page](other.md).\n")
    (docs / "other.md").write_text("# Other\n\n[Home](index.md#home)\n")
    result = _build(config, tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move detail to docs/"
    long = [i + 1 for i, line in enumerate(lines) if len(line) > README_MAX_LINE]
    assert not long, f"README.md lines longer than {README_MAX_LINE} characters: {long}"


def test_readme_links_point_at_files():
    text = (ROOT / "README.md").read_text()
    links = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+://", t)]
    assert links, "README.md links to the documentation"
    missing = [t for t in links if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    linked = {Path(t.split("#")[0]).name for t in links if t.startswith("docs/")}
    assert pages - {"index.md"} <= linked, f"pages the README does not link: {sorted(pages - {'index.md'} - linked)}"
