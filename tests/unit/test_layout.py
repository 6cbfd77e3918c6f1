"""The layout's rules (docs/layout.md), read from the source: a rule broken is a test failed.

Floors, lowest first: the configuration (``errors``, ``config``, ``flink_kafka_conf``), the definition
(``core/``), the library (every other module), the doors to the outside (``cli/``, ``service/``).
An import goes down or sideways, never up.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "trendlab"

CONFIGURATION = {"trendlab.errors", "trendlab.config", "trendlab.flink_kafka_conf"}
#: where Settings.from_env / get_settings / argparse may be used: the commands, the service factory,
#: the Flink job's main, the configuration itself and the one default for calls made without settings
SETTINGS_READERS = ("trendlab.cli", "trendlab.service", "trendlab.flink.job", "trendlab.config",
                    "trendlab.env_defaults")


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = modules()


def imports(path: Path) -> list[tuple[str, int]]:
    """Every module an import in ``path`` names (top level or inside a function), with its line."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module, node.lineno))
            out += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names
                    if f"{node.module}.{alias.name}" in MODULES]
    return out


def floor(module: str) -> int:
    if module in CONFIGURATION:
        return 0
    if module == "trendlab.core" or module.startswith("trendlab.core."):
        return 1
    if module.startswith(("trendlab.cli", "trendlab.service")):
        return 3
    return 2


def within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_floors_are_found():
    assert {floor(m) for m in MODULES} == {0, 1, 2, 3}
    assert "trendlab.core.kernels" in MODULES and "trendlab.kafka.clients" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up(module):
    """An import goes to the same floor or a lower one (core never imports the library; the library
    never imports the commands or the service; the configuration imports nothing of trendlab but errors)."""
    up = [(name, line) for name, line in imports(MODULES[module])
          if name.startswith("trendlab.") and name.split(".")[1] != "" and floor(name) > floor(module)
          and not (floor(module) == 3 and floor(name) == 3)]
    assert not up, f"{module} imports from a higher floor: {up}"


def test_core_imports_only_itself_errors_and_the_configuration():
    for module, path in MODULES.items():
        if floor(module) != 1:
            continue
        outside = [(n, line) for n, line in imports(path)
                   if n.startswith("trendlab.") and not within(n, ("trendlab.core", *CONFIGURATION))]
        assert not outside, f"{module}: {outside}"


def test_core_reads_no_environment_and_does_no_io():
    """No os.environ/getenv, no Settings.from_env/get_settings, no open() in core; the door
    (core/kernels.py) reads /proc/self/maps to find MeCab's library, its one exception."""
    for module, path in MODULES.items():
        if floor(module) != 1:
            continue
        text = path.read_text()
        for needle in ("os.environ", "getenv(", "from_env(", "get_settings(", "read_text(", "write_text(",
                       "read_bytes(", "write_bytes("):
            assert needle not in text, f"{module} uses {needle}"
        if module != "trendlab.core.kernels":
            assert "open(" not in text.replace("open()", ""), f"{module} opens a file"


def test_one_door_to_the_kernels():
    importers = [m for m, p in MODULES.items() if any(within(n, ("trendlab_native",)) for n, _ in imports(p))]
    assert importers == ["trendlab.core.kernels"]


def test_only_the_kafka_package_builds_kafka_clients():
    """``kafka`` (the client library) is imported in trendlab/kafka/ only; ``kafka.errors`` anywhere."""
    importers = sorted({m for m, p in MODULES.items()
                        for n, _ in imports(p) if within(n, ("kafka",)) and not within(n, ("kafka.errors",))})
    assert importers and all(within(m, ("trendlab.kafka",)) for m in importers), importers


def test_settings_and_arguments_are_read_by_the_commands():
    """Settings.from_env(), get_settings() and argparse only in cli/, the service factory, the job's
    main, the configuration and env_defaults (the one default for library calls without settings)."""
    for module, path in MODULES.items():
        if within(module, SETTINGS_READERS):
            continue
        text = path.read_text()
        for needle in ("Settings.from_env(", "get_settings(", "import argparse", "def add_cli(", "def cmd_"):
            assert needle not in text, f"{module} has {needle!r}"


def test_no_two_modules_share_a_base_name():
    names = Counter(p.stem if p.stem != "__init__" else p.parent.name
                    for p in PACKAGE.rglob("*.py") if p.stem != "__main__" and p.parent != PACKAGE.parent)
    names["trendlab"] -= 1  # the package itself
    assert [n for n, c in names.items() if c > 1] == []
