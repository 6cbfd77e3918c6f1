"""environment.yml (conda) and binder/ agree with pyproject.toml: same packages, same pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _pins(requirements) -> dict[str, str]:
    return {_name(r): r.replace(" ", "") for r in requirements}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _environment() -> tuple[list, list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return conda, pip


def test_environment_pins_equal_pyproject():
    project = _pyproject()
    wanted = _pins(project["dependencies"] + project.get("optional-dependencies", {}).get("dev", []))
    _, pip = _environment()
    have = _pins(r for r in pip if not r.startswith("-"))
    assert set(have) == set(wanted), (
        f"only in environment.yml: {sorted(set(have) - set(wanted))}; "
        f"only in pyproject.toml: {sorted(set(wanted) - set(have))}"
    )
    differ = {k: (have[k], wanted[k]) for k in wanted if have[k] != wanted[k]}
    assert not differ, f"pins differ (environment.yml, pyproject.toml): {differ}"
    assert all("==" in r for r in have.values()), "every package is pinned exactly"


def test_environment_python_and_java():
    conda, pip = _environment()
    python = [d for d in conda if d.startswith("python")]
    assert python == ["python=3.11"], python
    assert "python=3.11" in conda and re.match(r">=3\.11,<3\.12", _pyproject()["requires-python"])
    assert any(d.startswith("openjdk=17") for d in conda), "PyFlink needs Java 17"
    assert "-e ." in pip, "the project itself is installed"


def test_binder_files():
    binder = ROOT / "binder"
    assert "openjdk-17-jre-headless" in (binder / "apt.txt").read_text().split()
    env = yaml.safe_load((binder / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    post = binder / "postBuild"
    assert post.stat().st_mode & 0o111, "postBuild must be executable"
    text = post.read_text()
    assert "pip install --no-cache-dir -e .\n" in text, "the project with its runtime pins"
    assert "[dev]" not in text.replace("'.[dev]'", ""), "dev extras pin a JupyterLab that fights repo2docker's own"
    runtime = " ".join(_pyproject()["dependencies"]).lower()
    for jupyter in ("jupyterlab", "notebook==", "jupyter-server", "jupyter_server"):
        assert jupyter not in runtime, f"{jupyter} pinned in the runtime dependencies: Binder installs its own"


def test_the_binder_badge_url_is_set_in_one_place():
    import re as _re

    urls = set()
    for path in [ROOT / "README.md", *(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "binder").iterdir()]:
        urls |= set(_re.findall(r"https://mybinder\.org/v2/[^)\s\"']+", path.read_text(errors="ignore")))
    assert len(urls) == 1, urls
