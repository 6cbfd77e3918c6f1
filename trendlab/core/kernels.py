"""The one door to the compiled kernels (``trendlab_native``, built from native/).

This module alone imports ``trendlab_native``. It refuses a kernel of another version than
:data:`KERNEL_VERSION` in one line that says how to rebuild, and it defines what crosses the door:
one typed :class:`KernelRules` (the keyword rules, the segmenters and the MeCab library), built by
:meth:`trendlab.core.extract.KeywordExtractor.kernel_rules`. ``native/trendlab_native.pyi`` describes
every entry; ``tests/unit/test_kernel_twins.py`` pairs each with its Python definition.

Without the kernels (not built, or ``TRENDLAB_NATIVE=0``: :func:`trendlab.config.kernels_enabled`)
:func:`native_module` is ``None`` and every caller runs the same rules in Python.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

from trendlab.config import kernels_enabled
from trendlab.errors import ConfigError

#: The kernel interface this trendlab speaks; native/src/lib.rs's ``KERNEL_VERSION`` must equal it.
KERNEL_VERSION = 6

#: How to get a kernel of this version (said when another one is found).
REBUILD = "rebuild it with `make install` (or `pip install ./native`)"


@dataclass(frozen=True, slots=True)
class KernelRules:
    """What every kernel class takes first, read by attribute name on the Rust side (``RuleArgs``)."""

    #: shortest and longest keyword kept, in characters
    min_length: int
    max_length: int
    #: ``language(key, detected)`` → (stop words, those a phrase may hold, ja tagged, zh tagged, evidence mask,
    #: evidence needed, tagged)
    language: Callable[[str, int], tuple]
    #: a Japanese run → MeCab's text output (used when ``mecab`` is None)
    ja: Callable[[str], str]
    #: a Chinese run → jieba's words
    zh: Callable[[str], list[str]]
    #: a text → the text the rules read (:func:`trendlab.core.extract.prepare`)
    prepare: Callable[[str], str]
    #: (library path, tagger arguments) of the MeCab the kernel may call directly, or None
    mecab: tuple[str, Sequence[str]] | None
    #: evidence word → mask over :data:`trendlab.core.extract.EVIDENCE_LANGS`
    evidence: Mapping[str, int]
    #: language tag → its number (:data:`trendlab.core.langtags.LANG_CODES`): a post's language code
    lang_codes: Mapping[str, int]


_checked: ModuleType | None = None


def native_module() -> ModuleType | None:
    """The compiled kernels, or ``None`` when they are not installed or ``TRENDLAB_NATIVE=0``; a
    kernel of another interface version is refused (:class:`~trendlab.errors.ConfigError`)."""
    global _checked
    if not kernels_enabled():
        return None
    if _checked is not None:
        return _checked
    try:
        import trendlab_native
    except ImportError:
        return None
    found = getattr(trendlab_native, "KERNEL_VERSION", None)
    if found != KERNEL_VERSION:
        raise ConfigError(f"trendlab_native is interface version {found}, this trendlab needs {KERNEL_VERSION}: {REBUILD}")
    _checked = trendlab_native
    return trendlab_native


@lru_cache(maxsize=1)
def mecab_library() -> tuple[str, tuple[str, ...]] | None:
    """``(path, arguments)``: the MeCab library fugashi loaded and the arguments ``fugashi.Tagger()``
    gives it (``-r mecabrc -d dicdir`` of unidic-lite's dictionary), for the compiled kernel to call
    that MeCab directly; ``None`` where either cannot be found (the kernel then calls the Python segmenter).
    Like loading the kernel, finding that library reads the process's own state: the door's exception to
    "core does no I/O"."""
    try:
        import fugashi

        dicdir = fugashi.try_import_unidic()
        with open("/proc/self/maps") as fh:  # the library as loaded (a wheel bundles its own copy)
            libs = {line.split(None, 5)[5].strip() for line in fh if "libmecab" in line and "/" in line}
    except (ImportError, OSError, IndexError):
        return None
    if not dicdir or len(libs) != 1:
        return None
    return libs.pop(), ("-r", os.path.join(dicdir, "mecabrc"), "-d", dicdir)
