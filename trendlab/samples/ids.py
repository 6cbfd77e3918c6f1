"""Random atproto identifiers for synthetic events: TIDs, CIDs, DIDs and millisecond ISO times."""

from __future__ import annotations

import random
from datetime import datetime, timezone

_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # atproto TID alphabet (sortable base32)

# -- random identifiers ---------------------------------------------------------------------------

_PAIRS = [a + b for a in _B32 for b in _B32]      # 10 bits -> two characters
_BYTES = bytes(ord(_B32[b & 31]) for b in range(256))  # a random byte -> one character


def tid(us: int, clock: int) -> str:
    """An atproto TID (13 sortable base32 characters) for a time in microseconds."""
    v = (us << 10) | (clock & 0x3FF)
    p = _PAIRS
    return (_B32[(v >> 60) & 31] + p[(v >> 50) & 1023] + p[(v >> 40) & 1023] + p[(v >> 30) & 1023]
            + p[(v >> 20) & 1023] + p[(v >> 10) & 1023] + p[v & 1023])


def b32(rnd: random.Random, nchars: int) -> str:
    return rnd.randbytes(nchars).translate(_BYTES).decode("ascii")


def random_cid(rnd: random.Random) -> str:
    return "bafyrei" + b32(rnd, 52)


def random_did(rnd: random.Random) -> str:
    return "did:plc:" + b32(rnd, 24)


def iso_ms(us: int) -> str:
    dt = datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(us // 1000) % 1000:03d}Z"
