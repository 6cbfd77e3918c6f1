"""From plan to events: Jetstream event dicts for the arrivals of a :class:`~trendlab.samples.plan.SampleStream`.

The per-event Python part of the generator: post texts in each language (content and function words,
hashtags, mentions, links, emoji, replies, embeds) with their facets, and the non-post events (likes,
reposts, follows, blocks, profile updates, deletes, identity and account events). It reads only the
plan's public results.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trendlab.samples import words as vocab
from trendlab.samples.ids import b32, iso_ms, random_cid, random_did, tid
from trendlab.samples.vocabularies import (
    CONTENT_MEAN,
    MISTAG_LANGS,
    MISTAGGED_SHARE,
    REPLY_SHARE,
    STEADY_HASHTAG,
    STEADY_HASHTAG_SHARE,
    STEADY_PHRASES,
    Language,
    ja_predicates,
    render_template,
    slot_options,
)
from trendlab.samples.plan import BUMP_SRC, CAMPAIGN_SRC

if TYPE_CHECKING:
    from trendlab.samples.plan import PlannedCampaign, SampleStream


class _Text:
    """A post's text as it is written piece by piece, with the facets (byte ranges) of its pieces."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.facets: list[dict[str, Any]] = []
        self.pos = 0

    def add(self, piece: str, feature: dict[str, Any] | None = None) -> None:
        n = len(piece.encode("utf-8"))
        if feature is not None:
            self.facets.append({"index": {"byteStart": self.pos, "byteEnd": self.pos + n}, "features": [feature]})
        self.parts.append(piece)
        self.pos += n


class EventBuilder:
    """Turns the planned arrivals into Jetstream event dicts (the per-event Python part)."""

    def __init__(self, stream: SampleStream) -> None:
        self.s = stream
        self.rnd = random.Random(stream.seed * 2_654_435_761 % (2**61 - 1) + 3)
        # the everyday phrases draw from their own generator: the rest of a seed's stream is as it was
        self.rnd_phrases = random.Random(stream.seed * 2_654_435_761 % (2**61 - 1) + 11)
        self.langs = stream.langs
        self.codes = list(stream.lang_shares)
        self.v2 = stream.version >= 2
        self.recent: list[tuple[str, str]] = []   # (uri, cid) of recent posts, for replies and likes
        self.seq = 4_200_000_000 + stream.seed * 1000
        self.ja_predicates = ja_predicates()
        self.labelled_en = stream.labelled_en

    # text pieces ------------------------------------------------------------------------------
    def _content(self, lang: Language, k: int, burst: str | None) -> list[str]:
        """``k`` content words of ``lang`` for a background post (``burst`` None) or a post of a burst
        of that kind."""
        if burst in ("new_hashtag", "non_english", "small_burst"):
            # A post about a new hashtag is carried by the trend's own words; its few other words
            # spread over the whole vocabulary, so a burst in a small language does not lift that
            # language's common words (at 1 post/s a burst can outnumber the language's own posts).
            words = [self.rnd.choice(lang.content) for _ in range(k)]
        else:
            # Background posts, and the ordinary posts that mention a rising or weak word: Zipf
            # weights, so such a burst lifts every other word by the same small share (its share of
            # the language's posts) instead of lifting rare words most.
            words = self.rnd.choices(lang.content, cum_weights=lang.cum_weights, k=k)
        if burst and lang.code == "en":
            # burst posts never add to another labelled word's count
            words = [w for w in words if w not in self.labelled_en]
        return words

    def _latin_sentence(self, lang: Language, words: list[str]) -> str:
        rnd = self.rnd
        tokens: list[str] = []
        for w in words:
            if lang.function and rnd.random() < 0.65:
                tokens.extend(rnd.sample(lang.function, k=1 if rnd.random() < 0.7 else 2))
            tokens.append(w)
        if lang.function and rnd.random() < 0.3:
            tokens.append(rnd.choice(lang.function))
        text = " ".join(tokens)
        text = text[:1].upper() + text[1:] if rnd.random() < 0.7 else text
        return text + rnd.choice(("", "", ".", ".", "!", "!!", "?", "...", " lol" if lang.code == "en" else "!"))

    def _ja_sentence(self, lang: Language, words: list[str]) -> str:
        rnd = self.rnd
        out = []
        for w in words:
            out.append(w + rnd.choice(lang.function))
        out.append(rnd.choice(self.ja_predicates))
        return "".join(out) + rnd.choice(("", "", "。", "！", "…", "〜"))

    def _handle_for_mention(self) -> tuple[str, str]:
        j = self.rnd.randrange(len(self.s.author_dids))
        return self.s.author_handles[j], self.s.author_dids[j]

    def _link(self) -> tuple[str, str]:
        rnd = self.rnd
        host = rnd.choice(vocab.DOMAINS)
        path = "/" + "/".join(b32(rnd, rnd.randint(4, 8)) for _ in range(rnd.randint(1, 3)))
        uri = f"https://{host}{path}"
        r = rnd.random()
        if r < 0.45:
            shown = uri if len(uri) < 40 else uri[:37] + "..."
        elif r < 0.85:
            shown = f"{host}{path}"
            shown = shown if len(shown) < 32 else shown[:29] + "..."
        else:
            shown, uri = host, f"https://{host}"
        return shown, uri

    # posts ------------------------------------------------------------------------------------
    def post(self, t_us: int, author: int, lang_code: str, src: int) -> dict[str, Any]:
        rnd = self.rnd
        s = self.s
        if src <= CAMPAIGN_SRC and src > BUMP_SRC:
            return self.campaign_post(t_us, author, s.campaigns[CAMPAIGN_SRC - src])
        trend = s.trends[src - 1] if src > 0 else None
        spam = s.spams[-src - 1] if CAMPAIGN_SRC < src < 0 else None
        text_lang = lang_code or "en"
        lang = self.langs[text_lang]
        ja = text_lang == "ja"
    
        text = _Text()
        parts, facets, add = text.parts, text.facets, text.add

        def tag(t: str) -> None:
            add("#" + t, {"$type": "app.bsky.richtext.facet#tag", "tag": t})

        if spam is not None:
            text = rnd.choice(spam.texts)
            typed = spam.hashtag
            head, _, tail = text.partition("#" + typed)
            add(rnd.choice(("🚀 ", "💰 ", "🔥 ", "")) + head)
            tag(typed)
            add(tail + " ")
            shown = "moonpump.xyz/" + b32(rnd, 6)
            add(shown, {"$type": "app.bsky.richtext.facet#link", "uri": "https://" + shown})
            add(" " + rnd.choice(("🚀", "💎🙌", "!!!", "✅")))
            return self._post_event(t_us, author, "".join(parts), facets, ["en"], reply=False, embed=False)

        # leading mention (shout-outs, reply-style)
        if rnd.random() < 0.06:
            handle, did = self._handle_for_mention()
            add("@" + handle, {"$type": "app.bsky.richtext.facet#mention", "did": did})
            add(" ")

        burst = trend is not None
        if burst and trend.label.kind in ("new_hashtag", "non_english", "small_burst"):
            n_content = _poisson(rnd, 1.5)  # the trend's own words carry the post
        else:
            n_content = 1 + _poisson(rnd, CONTENT_MEAN)
        words = self._content(lang, n_content, trend.label.kind if burst else None)
        inline_tag: str | None = None
        trend_tags: list[str] = []
        extra_sentence: str | None = None
        if trend is not None:
            kind = trend.label.kind
            if kind in ("rising_common", "weak"):
                words.insert(rnd.randrange(len(words) + 1), trend.words[0])
            elif kind == "story":
                # people's own words: the name, some of the story's words, ordinary words around them
                phrase = trend.phrase if rnd.random() < 0.6 else trend.phrase.title()
                own = [w for w, q in zip(trend.story_words, trend.story_q) if rnd.random() < q]
                for w in [phrase, *own]:
                    words.insert(rnd.randrange(len(words) + 1), w)
            else:
                chosen = [w for w in trend.words if rnd.random() < 0.75]
                has_tag = rnd.random() < 0.9
                if trend.hashtag is None:
                    has_tag = False
                if not chosen or (not has_tag and len(chosen) < 2):
                    chosen = trend.words[:2] if not has_tag else trend.words[:1]
                if ja:
                    joiner = rnd.choice(("と", "や"))
                    extra_sentence = joiner.join(chosen) + rnd.choice(("が", "で", "の")) + rnd.choice(self.ja_predicates)
                else:
                    for w in chosen:
                        words.insert(rnd.randrange(len(words) + 1), w)
                if has_tag and trend.hashtag:
                    if not ja and rnd.random() < 0.3:
                        inline_tag = trend.hashtag
                    else:
                        trend_tags.append(trend.hashtag)

        # body: one or two sentences
        if ja:
            words = words[:4]
            cut = len(words) if len(words) < 3 else rnd.randrange(1, len(words))
            sentences = [self._ja_sentence(lang, words[:cut])]
            if cut < len(words):
                sentences.append(self._ja_sentence(lang, words[cut:]))
            if extra_sentence:
                sentences.insert(rnd.randrange(len(sentences) + 1), extra_sentence)
            body = "".join(sentences)
        else:
            cut = len(words) if len(words) < 5 or rnd.random() < 0.6 else rnd.randrange(2, len(words))
            body = self._latin_sentence(lang, words[:cut])
            if cut < len(words):
                body += " " + self._latin_sentence(lang, words[cut:])
        if inline_tag:
            # the hashtag replaces a space inside the body
            spaces = [i for i, ch in enumerate(body) if ch == " "]
            if spaces:
                i = rnd.choice(spaces)
                add(body[: i + 1])
                tag(inline_tag)
                add(body[i:])
            else:
                add(body + " ")
                tag(inline_tag)
        else:
            add(body)

        # a mention inside the text
        if rnd.random() < 0.05:
            handle, did = self._handle_for_mention()
            add(rnd.choice((" with ", " cc ", " h/t ")) if not ja else " ")
            add("@" + handle, {"$type": "app.bsky.richtext.facet#mention", "did": did})
        # a link
        linked = rnd.random() < 0.10
        if linked:
            shown, uri = self._link()
            add(" ")
            add(shown, {"$type": "app.bsky.richtext.facet#link", "uri": uri})
        # emoji
        if rnd.random() < 0.3:
            add("" if ja and not linked and not parts[-1][-1:].isascii() else " ")
            add("".join(rnd.choices(vocab.EMOJI, k=rnd.choice((1, 1, 1, 2, 3)))))
        # hashtags at the end
        tags = list(trend_tags)
        if rnd.random() < 0.10 and lang.hashtags:
            tags.extend(t[1:] for t in rnd.choices(lang.hashtags, cum_weights=lang.tag_cum_weights,
                                                   k=rnd.choice((1, 1, 2))))
        if text_lang == "en" and trend is None and rnd.random() < STEADY_HASHTAG_SHARE:
            tags.append(STEADY_HASHTAG if rnd.random() < 0.7 else STEADY_HASHTAG.lower())
        if self.v2 and text_lang == "en" and trend is None:
            # steady giants: names in a steady share of ordinary English posts
            names = [name for name, share in s.giants if rnd.random() < share]
            if names:
                add(" " + " ".join(rnd.choice((n, n, n.lower())) for n in names) + rnd.choice(("", "...", "!", "?")))
            pr = self.rnd_phrases
            for phrase, share in STEADY_PHRASES:
                if pr.random() < share:
                    add(" " + (phrase.capitalize() if pr.random() < 0.5 else phrase) + pr.choice(("", "!", ".", " 🙂")))
        rnd.shuffle(tags)
        seen: set[str] = set()
        for t in tags:
            if t.lower() in seen:
                continue
            add("\n\n" if not seen and rnd.random() < 0.3 else " ")
            seen.add(t.lower())
            tag(t)

        if not lang_code:
            langs: list[str] | None = None
        elif rnd.random() < s.langs_missing.get(lang_code, 0.0):
            langs = None
        elif self.v2 and lang_code == "en" and rnd.random() < MISTAGGED_SHARE:
            langs = [rnd.choice(MISTAG_LANGS)]  # English text under another language's tag
        elif lang_code == "en" and rnd.random() < 0.02:
            langs = ["en", rnd.choice(("es", "de", "fr", "ja"))]
        else:
            langs = [lang_code]
        return self._post_event(t_us, author, "".join(parts), facets, langs,
                                reply=rnd.random() < (REPLY_SHARE if trend is None else 0.2),
                                embed=rnd.random() < 0.08)

    def campaign_post(self, t_us: int, author: int, c: PlannedCampaign) -> dict[str, Any]:
        """A post of a copy-paste campaign (mentions, one or two swapped words, hashtags in another
        order, sometimes a link or emoji) or a reply-spam plea (a reply to another account's post)."""
        rnd = self.rnd
        text = _Text()
        parts, facets, add = text.parts, text.facets, text.add

        slots = slot_options(c.template)
        choice = [0] * len(slots)
        for i in rnd.sample(range(len(slots)), k=min(len(slots), rnd.choice((1, 1, 2)))):
            choice[i] = rnd.randrange(len(slots[i]))
        text = render_template(c.template, choice)
        if c.reply:
            add(text)
        else:
            mentions = [self._handle_for_mention() for _ in range(rnd.choice((1, 2, 2, 3)))]
            lead = rnd.random() < 0.5
            if lead:
                for handle, did in mentions:
                    add("@" + handle, {"$type": "app.bsky.richtext.facet#mention", "did": did})
                    add(" ")
            add(text)
            if not lead:
                add(" ")
                for k, (handle, did) in enumerate(mentions):
                    if k:
                        add(" ")
                    add("@" + handle, {"$type": "app.bsky.richtext.facet#mention", "did": did})
            if rnd.random() < 0.25:
                shown, uri = self._link()
                add(" ")
                add(shown, {"$type": "app.bsky.richtext.facet#link", "uri": uri})
            if rnd.random() < 0.3:
                add(" " + rnd.choice(("✊", "📢", "🔁", "‼️", "🙏")))
            tags = list(c.hashtags)
            rnd.shuffle(tags)
            add("\n\n" if rnd.random() < 0.5 else " ")
            for k, t in enumerate(tags):
                if k:
                    add(" ")
                add("#" + t, {"$type": "app.bsky.richtext.facet#tag", "tag": t})
        langs = ["en"] if rnd.random() < 0.9 else None
        return self._post_event(t_us, author, "".join(parts), facets, langs, reply=c.reply, embed=False,
                                others_only=c.reply)

    def _created_at(self, t_us: int) -> int:
        rnd = self.rnd
        r = rnd.random()
        if r < 0.02:          # client clock ahead of the relay
            return t_us + int(rnd.uniform(0.5, 90) * 1e6)
        if r < 0.025:         # posted from a draft / delayed delivery
            return t_us - int(rnd.uniform(60, 3 * 3600) * 1e6)
        return t_us - int(rnd.lognormvariate(-0.4, 0.8) * 1e6)

    def _post_event(self, t_us: int, author: int, text: str, facets: list[dict[str, Any]],
                    langs: list[str] | None, reply: bool, embed: bool, others_only: bool = False) -> dict[str, Any]:
        rnd = self.rnd
        did = self.s.author_dids[author]
        created = self._created_at(t_us)
        rkey = tid(created, rnd.randrange(1024))
        cid = random_cid(rnd)
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": iso_ms(created)}
        if embed:
            w, h = rnd.choice(((1920, 1080), (1080, 1350), (1200, 1200), (828, 1792)))
            record["embed"] = {"$type": "app.bsky.embed.images", "images": [{
                "alt": "", "aspectRatio": {"height": h, "width": w},
                "image": {"$type": "blob", "ref": {"$link": "bafkrei" + b32(rnd, 52)},
                          "mimeType": "image/jpeg", "size": rnd.randint(80_000, 900_000)}}]}
        if facets:
            record["facets"] = facets
        if langs is not None:
            record["langs"] = langs
        if reply and self.recent:
            parent = self.recent[rnd.randrange(len(self.recent))]
            if others_only:  # reply spam: to other accounts' posts, each a thread of its own
                while parent[0].startswith(f"at://{did}/"):
                    parent = self.recent[rnd.randrange(len(self.recent))]
                root = parent
            else:
                root = parent if rnd.random() < 0.5 else self.recent[rnd.randrange(len(self.recent))]
            record["reply"] = {"parent": {"cid": parent[1], "uri": parent[0]},
                               "root": {"cid": root[1], "uri": root[0]}}
        record["text"] = text
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        if others_only:  # nobody replies to the spam
            pass
        elif len(self.recent) < 4096:
            self.recent.append((uri, cid))
        else:
            self.recent[rnd.randrange(4096)] = (uri, cid)
        return {"did": did, "time_us": t_us, "kind": "commit", "commit": {
            "rev": tid(t_us, rnd.randrange(1024)), "operation": "create", "collection": "app.bsky.feed.post",
            "rkey": rkey, "record": record, "cid": cid}}

    # non-posts --------------------------------------------------------------------------------
    def non_post(self, t_us: int, actor: int, kind: str) -> dict[str, Any]:
        rnd = self.rnd
        s = self.s
        did = s.author_dids[actor]
        rev = tid(t_us, rnd.randrange(1024))
        if kind in ("identity", "account"):
            self.seq += rnd.randint(1, 400)
            when = iso_ms(t_us - rnd.randint(1000, 900_000))
            if kind == "identity":
                return {"did": did, "time_us": t_us, "kind": "identity",
                        "identity": {"did": did, "handle": s.author_handles[actor], "seq": self.seq, "time": when}}
            active = rnd.random() < 0.8
            account: dict[str, Any] = {"active": active, "did": did, "seq": self.seq, "time": when}
            if not active:
                account["status"] = rnd.choice(("deactivated", "takendown", "deleted"))
            return {"did": did, "time_us": t_us, "kind": "account", "account": account}
        if kind == "delete":
            coll = rnd.choice(("app.bsky.feed.like", "app.bsky.feed.like", "app.bsky.feed.post",
                               "app.bsky.graph.follow", "app.bsky.feed.repost"))
            return {"did": did, "time_us": t_us, "kind": "commit", "commit": {
                "rev": rev, "operation": "delete", "collection": coll,
                "rkey": tid(t_us - rnd.randint(10**6, 10**11), rnd.randrange(1024))}}
        created = t_us - int(rnd.lognormvariate(-0.4, 0.8) * 1e6)
        if kind in ("like", "repost"):
            coll = "app.bsky.feed." + kind
            if self.recent:
                uri, cid = self.recent[rnd.randrange(len(self.recent))]
            else:
                uri, cid = f"at://{random_did(rnd)}/app.bsky.feed.post/{tid(t_us - 10**9, 0)}", random_cid(rnd)
            record: dict[str, Any] = {"$type": coll, "createdAt": iso_ms(created),
                                      "subject": {"cid": cid, "uri": uri}}
        elif kind in ("follow", "block"):
            coll = "app.bsky.graph." + kind
            record = {"$type": coll, "createdAt": iso_ms(created),
                      "subject": s.author_dids[rnd.randrange(len(s.author_dids))]}
        else:  # profile update
            coll = "app.bsky.actor.profile"
            handle = s.author_handles[actor]
            record = {"$type": coll, "displayName": handle.split(".")[0].capitalize(),
                      "description": rnd.choice(("", "she/her", "he/him", "they/them", "views my own",
                                                 "artist", "dev", "🌈", "books & coffee"))}
            return {"did": did, "time_us": t_us, "kind": "commit", "commit": {
                "rev": rev, "operation": "update", "collection": coll, "rkey": "self",
                "record": record, "cid": random_cid(rnd)}}
        return {"did": did, "time_us": t_us, "kind": "commit", "commit": {
            "rev": rev, "operation": "create", "collection": coll, "rkey": tid(created, rnd.randrange(1024)),
            "record": record, "cid": random_cid(rnd)}}

    def events(self) -> Iterator[dict[str, Any]]:
        s = self.s
        codes = self.codes
        arrivals = s.arrivals
        kinds = arrivals.non_post_kinds
        t_all = arrivals.t_us.tolist()
        is_post = arrivals.is_post.tolist()
        src = arrivals.src.tolist()
        sub = arrivals.sub.tolist()
        actor = arrivals.actor.tolist()
        for i in range(len(t_all)):
            if is_post[i]:
                yield self.post(t_all[i], actor[i], codes[sub[i]], src[i])
            else:
                yield self.non_post(t_all[i], actor[i], kinds[sub[i]])


def _poisson(rnd: random.Random, mu: float) -> int:
    """A Poisson draw with Python's random (Knuth; mu is small)."""
    limit = math.exp(-mu)
    k, p = 0, rnd.random()
    while p > limit:
        k += 1
        p *= rnd.random()
    return k
