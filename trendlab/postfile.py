"""The one post-file reader: a posts file → numbered lines → posts, skips and dead letters, counted once.

``trendlab replay`` and ``trendlab produce`` (and the embedded Flink profile, through produce's staging)
read files only through this module, so a file means the same thing to every command:

* ``.gz`` and ``.zst`` files are decompressed (by their suffix); a byte-order mark at the start of
  the file is dropped (it costs no post);
* lines are numbered from 1 in the file (blank lines count in the numbering but are not messages);
* a line longer than ``Limits.max_message_bytes`` is never loaded whole: the reader keeps its first
  bytes for the dead letter's excerpt and skips the rest (a 200 MB line costs a few hundred KB);
* every message goes through the total parser (:class:`trendlab.core.parse.MessageParser`) against one
  *now*, and :class:`ReadCounts` counts posts, skipped non-post events and dead letters;
* a path that is missing, a directory, unreadable, or a compressed file that is truncated or not
  what its suffix says raises :class:`~trendlab.errors.InputError` with one line naming the file.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from trendlab.errors import InputError
from trendlab.core.models import PostData
from trendlab.core.parse import DeadLetter, MessageParser, Outcome
from trendlab.env_defaults import parser_limits

__all__ = ["ReadCounts", "check_input", "open_post_file", "read_messages", "read_small_text"]

_BOM = b"\xef\xbb\xbf"
#: how much of an over-long line is kept for its dead letter's excerpt
_HEAD_BYTES = 4096
#: bytes read at a time
_BLOCK = 1 << 20


@dataclass
class ReadCounts:
    """What a read found: every non-blank line is exactly one of a post, a skip or a dead letter."""

    lines: int = 0
    posts: int = 0
    #: valid events that are not post creations (likes, follows, deletes, identity…)
    skipped: int = 0
    #: (line number, dead letter) for every line that is not a usable post; nothing is lost
    dead_letters: list[tuple[int, DeadLetter]] = field(default_factory=list)

    @property
    def malformed(self) -> int:
        return len(self.dead_letters)

    @property
    def examples(self) -> list[str]:
        """The first five dead letters as ``line N: reason``."""
        return [f"line {number}: {dl.reason}" for number, dl in self.dead_letters[:5]]

    def add(self, other: ReadCounts, line_offset: int = 0) -> None:
        self.lines += other.lines
        self.posts += other.posts
        self.skipped += other.skipped
        self.dead_letters += [(line_offset + n, dl) for n, dl in other.dead_letters]

    def report(self) -> str:
        text = (f"{self.posts:,} posts from {self.lines:,} lines ({self.skipped:,} non-post events skipped, "
                f"{self.malformed:,} dead letters")
        if self.dead_letters:
            text += " — first: " + "; ".join(self.examples[:3])
        return text + ")"


def check_input(path: str | Path, what: str = "input file") -> Path:
    """``path`` as a readable regular file, else :class:`InputError` (one line naming ``what``)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} not found: {path}")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a file")
    if not path.is_file():
        raise InputError(f"{what} {path} is not a regular file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    return path


#: a parameters, labels or grid file larger than this is not one (it is a posts file given by mistake)
MAX_SMALL_FILE_BYTES = 16 * 1024 * 1024


def read_small_text(path: str | Path, what: str) -> str:
    """The text of a small user file (params, labels, grid), or :class:`InputError` in one line:
    missing, a directory, unreadable, too large or not UTF-8 text."""
    path = check_input(path, what)
    size = path.stat().st_size
    if size > MAX_SMALL_FILE_BYTES:
        raise InputError(f"{what} {path} is {size:,} bytes: too large for it (is it the right file?)")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                         f"{exc.start})") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None


def read_yaml_mapping(path: str | Path, what: str, shape: str) -> dict:
    """A small YAML file that must hold a mapping (params, grid): its mapping, or :class:`InputError`
    in one line naming ``what`` and the file (``shape`` says what the mapping must be)."""
    import yaml

    path = Path(path)
    text = read_small_text(path, what)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{what} {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(f"{what} {path} must {shape}, got {type(data).__name__}")
    return data


def open_post_file(path: str | Path) -> BinaryIO:
    """A binary stream of the file's (decompressed) bytes."""
    path = check_input(path)
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if suffix in (".zst", ".zstd"):
        import zstandard

        raw = open(path, "rb")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))  # type: ignore[arg-type]
    return open(path, "rb")


def _read_error(path: Path, exc: BaseException, number: int) -> InputError:
    kind = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}.get(path.suffix.lower())
    where = f"after line {number:,}" if number else "at its start"
    if isinstance(exc, EOFError):
        return InputError(f"input {path} ends {where}: the {kind or 'compressed'} data is truncated")
    if kind and not isinstance(exc, (IsADirectoryError, PermissionError)):
        return InputError(f"input {path} is not valid {kind} data ({where}: {exc})")
    return InputError(f"input {path} cannot be read {where} ({exc})")


def _compression_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, EOFError, zlib.error]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def read_line_blocks(path: str | Path, max_bytes: int, byte_range: tuple[int, int] | None = None,
                     ) -> Iterator[list[tuple[int, bytes, int]]]:
    """``(line number, line, size)`` for every non-blank line (line ends removed). A line longer than
    ``max_bytes`` is not loaded: ``line`` is then its first bytes and ``size`` its full length.

    ``byte_range=(start, end)`` reads only the lines that start in it (an uncompressed file cut at line
    ends, for parallel readers); numbers then count from 1 within the range.

    The file is read in blocks of :data:`_BLOCK` bytes split at line ends (C-speed), so memory stays
    within a block plus ``max_bytes`` whatever the lines; one list of lines per block."""
    path = Path(path)
    errors = _compression_errors()
    number = 0
    fh = open_post_file(path)
    left = -1
    if byte_range is not None:
        fh.seek(byte_range[0])
        left = byte_range[1] - byte_range[0]
    try:
        with fh:
            read = fh.read
            carry = b""
            skip_head: bytes | None = None  # the start of an over-long line being skipped
            skip_size = 0
            first = byte_range is None or byte_range[0] == 0
            while left:
                block = read(_BLOCK if left < 0 else min(_BLOCK, left))
                if not block:
                    break
                if left > 0:
                    left -= len(block)
                if first:
                    first = False
                    if block.startswith(_BOM):
                        block = block[3:]
                if skip_head is not None:
                    end = block.find(b"\n")
                    if end < 0:
                        skip_size += len(block)
                        continue
                    number += 1
                    yield [(number, skip_head, skip_size + len(block[:end].rstrip(b"\r")))]
                    skip_head = None
                    block = block[end + 1:]
                lines = (carry + block if carry else block).split(b"\n")
                carry = lines.pop()
                out = []
                add = out.append
                for line in lines:
                    number += 1
                    if line.endswith(b"\r"):
                        line = line.rstrip(b"\r")
                    size = len(line)
                    if size > max_bytes:
                        add((number, line[:_HEAD_BYTES], size))
                    elif line and not line.isspace():
                        add((number, line, size))
                yield out
                if len(carry) > max_bytes:
                    skip_head, skip_size, carry = carry[:_HEAD_BYTES], len(carry), b""
            if skip_head is not None:
                yield [(number + 1, skip_head, skip_size)]
            elif carry:
                line = carry.rstrip(b"\r")
                if len(line) > max_bytes:
                    yield [(number + 1, line[:_HEAD_BYTES], len(line))]
                elif line and not line.isspace():
                    yield [(number + 1, line, len(line))]
    except InputError:
        raise
    except errors as exc:
        raise _read_error(path, exc, number) from None


def read_messages(path: str | Path, parser: MessageParser | None = None, counts: ReadCounts | None = None,
                  byte_range: tuple[int, int] | None = None) -> Iterator[tuple[int, bytes, Outcome]]:
    """``(line number, line, outcome)`` for every non-blank line, counted into ``counts``.

    Dead letters are recorded in ``counts.dead_letters`` *and* yielded (``produce`` sends them on);
    ``line`` is the raw line (only its first bytes for an over-long one).
    """
    parser = parser or MessageParser(parser_limits())
    counts = counts if counts is not None else ReadCounts()
    limit = parser.limits.max_message_bytes
    dead = counts.dead_letters
    posts = skipped = lines = 0
    try:
        for block in read_line_blocks(path, limit, byte_range):
            lines += len(block)
            for number, line, size in block:
                outcome = parser(line) if size <= limit else parser.oversized(size, line)
                cls = outcome.__class__
                if cls is PostData:
                    posts += 1
                elif cls is DeadLetter:
                    dead.append((number, outcome))
                else:
                    skipped += 1
                yield number, line, outcome
    finally:
        counts.lines += lines
        counts.posts += posts
        counts.skipped += skipped
