"""A post's language tags as one small number, so that an alert can say which languages its posts are in.

Neither engine keeps posts per window; what each (keyword, window) row does keep of its posts is their
co-occurrence sketch (:mod:`trendlab.core.cooccur`): ``K`` minimums of hash functions over the posts,
each the value of one of them, a uniform sample. So each post carries its language tags as a code in
the low :data:`CODE_BITS` bits of its sketch values (``value = h_i(post) << CODE_BITS | code``): the
minimum is still decided by ``h_i`` (the code only breaks exact ties), and every minimum brings back the
languages of the post it came from. :func:`language_shares` reads them at alert time: the share of the
sampled posts in each language, ``K`` samples per keyword (more when the alert's group has several
keywords, whose sketches sample other posts of the same story). A post tagged with several languages
counts for each (shares may add up past 1); untagged posts, and tags outside :data:`LANGUAGES`, say
nothing and are left out of the shares (a keyword with no tagged post has none: ``None``).

The code (:func:`langs_code`): the primary subtag of each tag (``pt-BR`` → ``pt``; ASCII letters,
case-folded), its number in :data:`LANGUAGES` (1 …), the first :data:`MAX_TAGS` distinct ones, 8 bits
each, in tag order. Bluesky allows three tags a post. The compiled reader computes the same code from
the same table (``KernelRules.lang_codes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["LANGUAGES", "LANG_CODES", "CODE_BITS", "MAX_TAGS", "langs_code", "code_langs", "language_shares",
           "primary_subtag"]

#: ISO 639-1, then the three-letter codes Bluesky's posts carry most often where there is no two-letter one.
#: Part of the definition: a code is a position in this tuple (append only; at most 255 entries).
LANGUAGES: tuple[str, ...] = tuple("""
aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el
en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it
iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt
my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
yo za zh zu
ace ast ban bho ceb chr ckb cmn crh dsb fil fur grc gsw hak haw hmn hsb ilo jbo kab kmr lad lmo lzh mai
min mni nan nap nds nso pap sah sat scn sco szl tlh tok vec war wuu yue zza
""".split())

#: tag → code (1 …; 0 is "no known tag")
LANG_CODES: dict[str, int] = {tag: i + 1 for i, tag in enumerate(LANGUAGES)}

#: bits of a sketch value that hold its post's code
CODE_BITS = 24
#: tags a code holds (8 bits each)
MAX_TAGS = 3
_MASK = (1 << CODE_BITS) - 1

assert len(LANGUAGES) == len(LANG_CODES) <= 255, "a language code is 8 bits"


def primary_subtag(tag: str) -> str:
    """``pt-BR`` → ``pt``, ``EN`` → ``en``; ASCII case-folding only (a tag with other letters is no tag here)."""
    head = tag.replace("_", "-").split("-", 1)[0]
    return head.lower() if head.isascii() else ""


def langs_code(langs: Iterable[str] | None) -> int:
    """A post's tags → its code (0: none of them known)."""
    seen: list[int] = []
    for tag in langs or ():
        c = LANG_CODES.get(primary_subtag(tag)) if isinstance(tag, str) else None
        if c is not None and c not in seen:
            seen.append(c)
            if len(seen) == MAX_TAGS:
                break
    return sum(c << (8 * i) for i, c in enumerate(seen))


def code_langs(code: int) -> tuple[str, ...]:
    """A code → its tags (primary subtags)."""
    out = []
    for i in range(MAX_TAGS):
        c = (int(code) >> (8 * i)) & 0xFF
        if c == 0:
            break
        out.append(LANGUAGES[c - 1] if c <= len(LANGUAGES) else "")
    return tuple(t for t in out if t)


def language_shares(sketches: Sequence[np.ndarray | Sequence[int] | None]) -> dict[str, float] | None:
    """The languages of the posts that ``sketches``' minimums sampled (each distinct value once): tag →
    share of the sampled posts with a known tag; ``None`` when no sampled post has one."""
    values: set[int] = set()
    for s in sketches:
        if s is not None:
            values.update(int(v) for v in np.asarray(s, dtype=np.int64).tolist())
    counts: dict[str, int] = {}
    tagged = 0
    for v in values:
        langs = code_langs(v & _MASK)
        if langs:
            tagged += 1
            for lang in langs:
                counts[lang] = counts.get(lang, 0) + 1
    if not tagged:
        return None
    return {lang: round(n / tagged, 4) for lang, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))}
