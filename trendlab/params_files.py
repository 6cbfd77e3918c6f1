"""Detection parameters in files and the environment: the I/O around :class:`trendlab.core.detect.DetectionParams`.

:func:`load_params` is the one way every entry point (CLI, notebooks, REST, the job) makes its
parameters; :func:`read_params` / :func:`write_params` read and write a params file (``params.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


from trendlab.config import Settings
from trendlab.core.detect import DetectionParams
from trendlab.env_defaults import settings_from_env

__all__ = ["load_params", "read_params", "read_params_mapping", "write_params"]


def read_params_mapping(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a params file, not yet validated (one-line errors for a missing file or bad YAML)."""
    from trendlab.postfile import read_yaml_mapping

    return dict(read_yaml_mapping(path, "params file", "hold a mapping of parameters"))


def read_params(path: str | Path, **overrides: Any) -> DetectionParams:
    """The parameters of a params file (``overrides`` win)."""
    return DetectionParams.from_dict(read_params_mapping(path), **overrides)


def write_params(params: DetectionParams, path: str | Path, comment: str | None = None) -> str:
    """Write ``params`` as a params file (``comment`` as its first lines); returns the text written."""
    text = params.to_yaml(comment)
    Path(path).write_text(text)
    return text


def load_params(
    source: str | Path | Mapping[str, Any] | DetectionParams | None = None,
    settings: Settings | None = None,
    **overrides: Any,
) -> DetectionParams:
    """The one way every entry point (CLI, notebooks, REST, the job) makes its :class:`DetectionParams`.

    Precedence, highest first: ``overrides`` (flags such as ``--window``; ``None`` means unset), then
    ``source`` (a params file, a mapping such as a REST request's ``params``, or a
    ``DetectionParams``), then the environment's ``WINDOW_SIZE_MINUTES``/``TRENDLAB_SLIDE_MINUTES``
    when set (``settings``; default: read from the environment), then the shipped defaults
    (``params.yaml``). This is the only place the environment's window shape is applied.
    """
    if isinstance(source, DetectionParams):
        data: dict[str, Any] = source.to_dict()
    elif isinstance(source, Mapping):
        data = dict(source)
    elif source is not None:
        data = read_params_mapping(source)
    else:
        data = {}
    if isinstance(data.get("detection"), Mapping):  # the nested form
        data.update(data.pop("detection"))
    if "window" not in data or "slide" not in data:
        settings = settings or settings_from_env()
        if settings.window_size_minutes:
            data.setdefault("window", f"{settings.window_size_minutes}m")
        if settings.slide_minutes:
            data.setdefault("slide", f"{settings.slide_minutes}m")
    return DetectionParams.from_dict(data, **overrides)
