"""A trend's ``category``, as Bluesky means it: sports, politics, video-games, pop-culture, news … ``other``.

The categories come from an operator's lexicon (``TRENDLAB_CATEGORIES``, a YAML mapping of category →
entries; unset: the starter lexicon shipped beside this module, ``categories.yaml``). Entries have the
muted-word semantics of :mod:`trendlab.service.muting` (whole words, phrases as substrings, ``/patterns/``)
and are matched against the trend's topic, display name, keywords and related keywords. The category
with the most matching entries wins, ties go to the one listed first, and a trend that matches none is
``other``. A lexicon that does not fit is refused in one line naming the file and the entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from trendlab.errors import ConfigError
from trendlab.service.muting import Matcher, parse_entry

STARTER = Path(__file__).with_name("categories.yaml")
OTHER = "other"


class Categorizer:
    def __init__(self, lexicon: Mapping[str, Iterable[str]], source: str = "lexicon") -> None:
        self.source = source
        self.names: list[str] = []
        entries = []
        self._category_of: dict[str, str] = {}
        for name, words in lexicon.items():
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{source}: a category name must be a non-empty string, got {name!r}")
            if not isinstance(words, list) or not words:
                raise ConfigError(f"{source}: category {name!r} must list its entries, got {str(words)[:60]!r}")
            self.names.append(name)
            for i, word in enumerate(words):
                entry = parse_entry(word if isinstance(word, str) else repr(word), f"{source}: {name}[{i}]")
                self._category_of.setdefault(entry.key, name)
                entries.append(entry)
        self._matcher = Matcher(entries)

    @classmethod
    def from_file(cls, path: str | Path | None) -> Categorizer:
        path = Path(path) if path else STARTER
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"TRENDLAB_CATEGORIES: cannot read {path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"TRENDLAB_CATEGORIES: {path} is not YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict) or not data:
            raise ConfigError(f"TRENDLAB_CATEGORIES: {path} must map categories to lists of entries")
        return cls(data, source=str(path))

    def category(self, row: Mapping[str, Any]) -> str:
        texts = [row.get("topic") or "", row.get("display_name") or "", *row.get("keywords", ()),
                 *row.get("related_keywords", ())]
        votes: dict[str, int] = {}
        for entry in self._matcher.iter_matches(texts):
            name = self._category_of[entry.key]
            votes[name] = votes.get(name, 0) + 1
        if not votes:
            return OTHER
        return max(self.names, key=lambda n: (votes.get(n, 0), -self.names.index(n)))
