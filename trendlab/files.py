"""Stream files: JSON lines, plain or compressed, chosen by the file name.

``posts.jsonl`` is plain, ``posts.jsonl.gz`` gzip, ``posts.jsonl.zst`` zstd. Every command that reads a
stream file (replay, tune, produce) opens it with :func:`open_binary`; ``trendlab jetstream record``
writes it with :func:`open_binary_writer`, so what one writes the others read.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import BinaryIO

COMPRESSED_SUFFIXES = (".gz", ".zst")


def is_compressed(path: str | Path) -> bool:
    return Path(path).suffix in COMPRESSED_SUFFIXES


def open_binary(path: str | Path) -> BinaryIO:
    """A binary reader over ``path``, decompressing ``.gz`` and ``.zst``."""
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.suffix == ".zst":
        import zstandard

        raw = open(path, "rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    return open(path, "rb")


def open_binary_writer(path: str | Path) -> BinaryIO:
    """A binary writer to ``path``, compressing for ``.gz`` and ``.zst``; parents are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        return gzip.open(path, "wb", compresslevel=6)  # type: ignore[return-value]
    if path.suffix == ".zst":
        import zstandard

        return zstandard.ZstdCompressor(level=6).stream_writer(open(path, "wb"), closefd=True)  # type: ignore[return-value]
    return open(path, "wb")
