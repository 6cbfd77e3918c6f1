"""Links as keywords: where a post's URLs come from and the one form each is counted under.

A post's links are, in this order, each once:

1. the ``uri`` of its link facets (``app.bsky.richtext.facet#link``): what the app made of the text;
2. its external embed (``embed.external.uri``, or ``embed.media.external.uri`` of a record with media);
3. URLs written in the text with their scheme (``https://…``, ``http://…``) up to the next white space,
   without the trailing punctuation ``.,;:!?'")]}>`` that ends a sentence. Apps shorten what they show
   ("example.com/2025/03/24/hegs..."), so a link without a scheme in the text is not read: its facet
   holds the real one.

Each is normalised (:func:`normalise_url`) so that the same page shared by different people counts once
per post and under one key:

* only ``http``/``https`` links count, and both are written ``https://``;
* the host is lower-cased (ASCII letters; an internationalised host is kept as written otherwise), its
  trailing dot, user info and default port (80, 443) dropped;
* the fragment (``#…``) is dropped, and so are tracking parameters: ``utm_*`` and the click ids of
  :data:`TRACKING_PARAMETERS` (``fbclid``, ``gclid``, ``si``…); the other parameters keep their order;
* a path of just ``/`` is dropped (``https://example.com/`` is ``https://example.com``);
* shorteners (``bit.ly``, ``t.co``…) are left as they are: nothing is fetched, ever;
* a link longer than :data:`MAX_LINK_CHARS` after all that, with no host or with white space in it,
  does not count.

A link keyword is the normalised URL: it starts with ``https://``, which no word, hashtag or phrase
can (the extractor drops URLs from words). A post counts at most :data:`MAX_LINKS` links. Links are
counted per window by posts and distinct authors like words (so one account sharing a link many times
is one author), they never count toward a post's content key (:mod:`trendlab.core.content`: a campaign that
changes only its links is still one voice) nor toward the keyword cap, and a link's window exists from
:data:`trendlab.core.windows.MIN_PHRASE_COUNT` posts, as a phrase's does. The compiled kernel applies the
same rules (``native/src/links.rs``; tests/unit/test_links.py runs both on the same inputs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["LINK_PREFIX", "MAX_LINKS", "MAX_LINK_CHARS", "TRACKING_PARAMETERS", "is_link", "normalise_url",
           "text_links", "post_links"]

#: every link keyword starts with this (and nothing else does)
LINK_PREFIX = "https://"
#: links counted per post (after normalising and removing repeats)
MAX_LINKS = 8
#: longer normalised links do not count
MAX_LINK_CHARS = 512
#: query parameters that only say who clicked where (besides every ``utm_*``)
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "igsh", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "si",
    "s_cid", "cmpid", "spm", "vero_id", "oly_enc_id", "oly_anon_id", "rb_clickid", "wt_mc",
})
_TRAILING = ".,;:!?'\")]}>"
_DEFAULT_PORTS = {":80", ":443"}
#: a scheme (ASCII letters, any case), then everything up to white space (``str.isspace``)
_TEXT_URL = re.compile(r"([Hh][Tt][Tt][Pp][Ss]?://)\S*")


def is_link(keyword: str) -> bool:
    """Whether ``keyword`` is a link (a normalised URL)."""
    return keyword.startswith(LINK_PREFIX)


def _ascii_lower(s: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def normalise_url(uri: str) -> str | None:
    """The form a link is counted under (see the module doc), or ``None`` when it does not count."""
    head = _ascii_lower(uri[:8])
    if head.startswith("https://"):
        rest = uri[8:]
    elif head.startswith("http://"):
        rest = uri[7:]
    else:
        return None
    rest = rest.split("#", 1)[0]
    cut = len(rest)
    for sep in "/?":
        i = rest.find(sep)
        if i != -1 and i < cut:
            cut = i
    authority, tail = rest[:cut], rest[cut:]
    host = _ascii_lower(authority.rsplit("@", 1)[-1])
    for port in _DEFAULT_PORTS:
        if host.endswith(port):
            host = host[: -len(port)]
            break
    host = host.rstrip(".")
    if not host:
        return None
    path, _, query = tail.partition("?")
    if path == "/":
        path = ""
    kept = [p for p in query.split("&") if p and not _tracking(p)]
    out = LINK_PREFIX + host + path + ("?" + "&".join(kept) if kept else "")
    if len(out) > MAX_LINK_CHARS or any(c.isspace() for c in out):
        return None  # white space: not a URL (and a keyword with a space is a phrase)
    return out


def _tracking(param: str) -> bool:
    name = _ascii_lower(param.split("=", 1)[0])
    return name.startswith("utm_") or name in TRACKING_PARAMETERS


def text_links(text: str) -> list[str]:
    """The URLs written with their scheme in ``text`` (not normalised), in order."""
    if "://" not in text:
        return []
    out = []
    for m in _TEXT_URL.finditer(text):
        url = m.group().rstrip(_TRAILING)
        if len(url) > len(m.group(1)):
            out.append(url)
    return out


def post_links(uris: Iterable[str], text: str) -> list[str]:
    """A post's link keywords: ``uris`` (facets, then the embed) and the text's links, normalised,
    each once, at most :data:`MAX_LINKS`."""
    out: list[str] = []
    for uri in (*uris, *text_links(text)):
        link = normalise_url(uri)
        if link is not None and link not in out:
            out.append(link)
            if len(out) == MAX_LINKS:
                break
    return out
