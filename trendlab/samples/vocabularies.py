"""What the synthetic posts are made of: language shares, vocabularies, trend and decoy material.

Every vocabulary is filtered through :class:`trendlab.core.extract.KeywordExtractor` (:func:`languages`), so a
content word extracts as itself and a function word as nothing; words reserved for trends and decoys
(:func:`trend_words`) never occur in the background.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from trendlab.samples import words as vocab


#: Language shares of posts. ``""`` = English-looking text without ``langs``.
LANG_SHARES: dict[str, float] = {"en": 0.60, "ja": 0.15, "pt": 0.10, "de": 0.05, "es": 0.05,
                                 "fr": 0.02, "ko": 0.01, "": 0.02}
#: Share of posts in a language that omit ``langs`` anyway.
LANGS_MISSING = {"en": 0.04, "ja": 0.02, "pt": 0.03, "de": 0.03, "es": 0.03, "fr": 0.03, "ko": 0.03}

#: Non-post event mix (relative weights).
NON_POST_MIX = {"like": 0.55, "repost": 0.09, "follow": 0.12, "block": 0.01, "profile": 0.02,
                "delete": 0.15, "identity": 0.035, "account": 0.025}

DIURNAL_AMPLITUDE = 0.12
DIURNAL_PEAK_HOUR_UTC = 21.0
REPLY_SHARE = 0.30
STEADY_HASHTAG_SHARE = 0.06  # of en posts

# -- trend and decoy material ---------------------------------------------------------------------
# (hashtag as typed, companion words). Label keywords: "#" + hashtag.lower(), then the companions.
# None of these words occurs in trendlab.samples.words (a unit test checks it).

EN_NEW_GROUPS: list[tuple[str, list[str]]] = [
    ("SuperBowlLIX", ["halftime", "kendrick", "touchdown"]),
    ("SolarStorm", ["aurora", "geomagnetic"]),
    ("ServerOutage", ["outage", "downtime"]),
    ("Earthquake", ["magnitude", "epicenter", "tremor"]),
    ("NewAlbumFriday", ["tracklist", "preorder"]),
    ("TrailerDrop", ["teaser", "sequel"]),
    ("Blizzard2025", ["whiteout", "snowdrifts"]),
    ("ChessOlympiad", ["grandmaster", "checkmate"]),
    ("MarchMadness", ["bracket", "buzzer"]),
    ("ComicCon", ["cosplay", "autographs"]),
    ("HeatDome", ["heatwave", "scorching"]),
    ("AppleEvent", ["keynote", "iphone"]),
    ("PlanetParade", ["telescope", "jupiter"]),
    ("RocketLaunch", ["liftoff", "booster", "countdown"]),
    ("TrainDerailment", ["derailment", "evacuation"]),
    ("GoldenGlobes", ["nominees", "acceptance"]),
]

# (language, hashtag, companions). ja companions are nouns joined with particles (と/や).
NON_EN_GROUPS: dict[str, list[tuple[str, list[str]]]] = {
    "ja": [
        ("地震", ["震度", "津波"]),
        ("箱根駅伝", ["区間", "駅伝"]),
        ("大雪", ["積雪", "通行"]),
        ("台風", ["暴風", "警報"]),
        ("流星群", ["流星", "観測"]),
        ("株価", ["暴落", "日経"]),
        ("花粉症", ["花粉", "くしゃみ"]),
    ],
    "pt": [
        ("Carnaval2025", ["desfile", "sambódromo", "fantasia"]),
        ("BBB25", ["paredão", "eliminação"]),
        ("Enchentes", ["alagamento", "desabrigados"]),
    ],
    "es": [
        ("ElClásico", ["golazo", "remontada"]),
        ("Terremoto", ["sismo", "epicentro"]),
        ("Eurovisión", ["benidorm", "votación"]),
    ],
    "de": [
        ("Bundestagswahl", ["hochrechnung", "wahlbeteiligung"]),
        ("Tatort", ["kommissar", "krimi"]),
        ("Glatteis", ["unfälle", "streusalz"]),
    ],
}

#: The order in which trend kinds are scheduled (cycled): a short stream gets one of each first.
TREND_CYCLE: list[tuple[str, str]] = [
    ("new_hashtag", "en"), ("non_english", "ja"), ("rising_common", "en"), ("weak", "en"),
    ("non_english", "pt"), ("new_hashtag", "en"), ("non_english", "es"), ("weak", "en"),
    ("rising_common", "en"), ("non_english", "de"), ("new_hashtag", "en"), ("non_english", "ja"),
]

# Spam decoys: (hashtag, handle, texts). Every text extracts to exactly the decoy keywords.
SPAM_CAMPAIGNS: list[tuple[str, str, list[str], list[str]]] = [
    ("CryptoMoon", "moonpump-official.bsky.social",
     ["#CryptoMoon airdrop: claim your tokens", "claim your #CryptoMoon tokens before the airdrop ends",
      "#CryptoMoon airdrop tokens, claim now"],
     ["#cryptomoon", "airdrop", "claim", "tokens"]),
    ("FollowTrain", "growfast4u.bsky.social",
     ["#FollowTrain gain followers fast, guaranteed", "guaranteed followers: join the #FollowTrain",
      "#FollowTrain followers guaranteed, gain fast"],
     ["#followtrain", "gain", "followers", "fast", "guaranteed"]),
    ("MegaGiveaway", "prize-palace.bsky.social",
     ["#MegaGiveaway win a console, repost to enter", "repost to enter the #MegaGiveaway console prize",
      "#MegaGiveaway console prize, repost and win"],
     ["#megagiveaway", "win", "console", "repost", "enter", "prize"]),
]
# The labels list every keyword the spam posts produce; none of them occurs in the background.

STEADY_HASHTAG = "NowPlaying"


# -- vocabulary ------------------------------------------------------------------------------------

def trend_words() -> dict[str, set[str]]:
    """Words reserved for trends and spam decoys, per language (lower-case): the background never
    uses them."""
    out: dict[str, set[str]] = {"en": set()}
    for tag, words in EN_NEW_GROUPS:
        out["en"] |= {tag.lower(), *words}
    for lang, groups in NON_EN_GROUPS.items():
        out.setdefault(lang, set())
        for tag, words in groups:
            out[lang] |= {tag.lower(), *words}
    for _tag, _handle, _texts, keywords in SPAM_CAMPAIGNS:
        out["en"] |= {k.lstrip("#") for k in keywords}
    out["en"] |= {name.lower() for name, _share in STEADY_GIANTS}
    for template, tags in CAMPAIGN_TEMPLATES:
        out["en"] |= set(_words(template)) | {t.lower() for t in tags}
    for template in REPLY_SPAM_TEMPLATES:
        out["en"] |= set(_words(template))
    return out


def _words(template: str) -> list[str]:
    import re

    return [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]*", template)]


@dataclass(slots=True)
class Language:
    code: str
    content: list[str]
    cum_weights: list[float]
    function: list[str]
    hashtags: list[str]
    tag_cum_weights: list[float]
    #: probability that a word drawn from ``content`` is each word (for baseline rates)
    probs: np.ndarray


def _zipf_weights(n: int, s: float = 1.0, q: float = 4.0) -> np.ndarray:
    w = 1.0 / (np.arange(n) + q) ** s
    return w / w.sum()


def _dedupe(words: list[str]) -> list[str]:
    return list(dict.fromkeys(words))


@lru_cache(maxsize=1)
def languages() -> dict[str, Language]:
    """The per-language vocabularies, filtered through the keyword extractor so that every content
    word extracts as itself and every function word as nothing."""
    from trendlab.core.extract import KeywordExtractor

    ex = KeywordExtractor()
    reserved = trend_words()
    raw = {
        "en": (vocab.EN_CONTENT, vocab.EN_FUNCTION, vocab.EN_HASHTAGS),
        "pt": (vocab.PT_CONTENT, vocab.PT_FUNCTION, vocab.PT_HASHTAGS),
        "es": (vocab.ES_CONTENT, vocab.ES_FUNCTION, vocab.ES_HASHTAGS),
        "de": (vocab.DE_CONTENT, vocab.DE_FUNCTION, vocab.DE_HASHTAGS),
        "fr": (vocab.FR_CONTENT, vocab.FR_FUNCTION, ["#musique", "#photographie", "#chats"]),
        "ko": (vocab.KO_CONTENT, vocab.KO_FUNCTION, ["#일상", "#고양이"]),
        "ja": (vocab.JA_NOUNS, vocab.JA_PARTICLES, vocab.JA_HASHTAGS),
    }
    langs: dict[str, Language] = {}
    for code, (content, function, tags) in raw.items():
        banned = reserved.get(code, set()) | {STEADY_HASHTAG.lower()}
        if code == "ja":
            words = [w for w in _dedupe(content) if w not in banned and ex.extract(f"の{w}が", ["ja"]) == [w]]
            func = list(function)
        else:
            words = [w for w in _dedupe(content) if w not in banned and ex.extract(w, [code]) == [w]]
            func = [w for w in _dedupe(function) if not ex.extract(w, [code])]
        tags = [t for t in _dedupe(tags) if t[1:].lower() not in banned]
        probs = _zipf_weights(len(words))
        langs[code] = Language(
            code=code, content=words, cum_weights=list(np.cumsum(probs)), function=func,
            hashtags=tags, tag_cum_weights=list(np.cumsum(_zipf_weights(len(tags), 1.0, 1.0))), probs=probs,
        )
    return langs


@lru_cache(maxsize=1)
def ja_predicates() -> list[str]:
    from trendlab.core.extract import KeywordExtractor

    ex = KeywordExtractor()
    return [p for p in vocab.JA_PREDICATES if not ex.extract("猫が" + p, ["ja"])]


#: Content words per post: 1 + Poisson(CONTENT_MEAN); used for the analytic baseline too.
CONTENT_MEAN = 4.0


def presence_probability(p: np.ndarray | float) -> np.ndarray | float:
    """P(a word with per-draw probability p occurs in a post of 1 + Poisson(mu) content draws)."""
    return 1.0 - (1.0 - p) * np.exp(-CONTENT_MEAN * p)


# -- what the real network carries (generator version 2) --------------------------------------------
# Measured on an hour of the full firehose (docs: DESIGN.md, "What the real network carries").

#: Version 2 language shares: the same English total as version 1, more of it without ``langs``.
LANG_SHARES_V2: dict[str, float] = {"en": 0.58, "ja": 0.15, "pt": 0.10, "de": 0.05, "es": 0.05,
                                    "fr": 0.02, "ko": 0.01, "": 0.04}
#: Version 2: share of posts in a language that omit ``langs`` (with the ``""`` share: ~10 % of posts).
LANGS_MISSING_V2 = {"en": 0.08, "ja": 0.05, "pt": 0.05, "de": 0.05, "es": 0.05, "fr": 0.05, "ko": 0.05}
#: Version 2: share of English posts tagged as another language, and the tags they get.
MISTAGGED_SHARE = 0.05
MISTAG_LANGS = ("de", "fr", "ar", "pt", "es", "ja", "it", "nl")
#: English function words that mis-tagged posts carry (a decoy: they must never be keywords).
MISTAGGED_STOP_WORDS = ["the", "and", "to", "of", "you"]

#: Steady giants: (name as typed, share of English background posts carrying it), all the time.
STEADY_GIANTS: list[tuple[str, float]] = [("Trump", 0.05), ("Musk", 0.03), ("Gaza", 0.02)]

#: Everyday phrases: (phrase as typed, share of English background posts carrying it), all the time.
#: Each holds a word of stopwordsiso's broad English list that a phrase may hold ("good", "last",
#: "first", "new", "great": never keywords alone): such pairs are counted as phrases, and these steady
#: ones must not alert (decoy ``steady_phrase``).
STEADY_PHRASES: list[tuple[str, float]] = [("good morning", 0.012), ("last night", 0.01), ("first time", 0.008),
                                           ("new music", 0.006), ("great job", 0.006)]

#: Copy-paste campaigns: a paragraph with ``{default|alternative|...}`` slots (a post swaps one or two
#: slots), and hashtags (as typed) that each post carries in its own order. Every word is reserved.
CAMPAIGN_TEMPLATES: list[tuple[str, list[str]]] = [
    ("{Urgent|Breaking}: the Halvorsen {inquest|commission} is {silencing|muzzling} whistleblowers. "
     "{Demand|Insist} they publish the Halvorsen dossier unredacted. {Retweet|Amplify} and notify "
     "your {representatives|legislators}!",
     ["FreeTheDossier", "HalvorsenFiles", "TransparencyNow"]),
    ("Stop the Brackmoor pipeline! {Telephone|Fax} your {governor|assemblyman} and {oppose|reject} permit "
     "seventy-seven. Brackmoor wetlands are {irreplaceable|priceless}, {sign|endorse} the petition",
     ["StopBrackmoor", "WetlandDefenders", "NoPipelines"]),
    ("{Attention|Reminder}: Veltrana {pensioners|retirees} deserve {justice|restitution}. Contact "
     "the ombudsman, {claim|seek} compensation for the Veltrana collapse",
     ["VeltranaJustice", "PensionersUnite"]),
]

#: Reply-spam pleas: one template sent as replies; ``{a|b}`` slots as for campaigns.
REPLY_SPAM_TEMPLATES: list[str] = [
    "{Dear|Kind} stranger, {kindly|humbly} consider donating, our tarpaulin shelter {collapsed|flooded} "
    "and medicines ran {out|dry}. Fundraiser {linked|pinned} on profile 🙏",
    "{Greetings|Salutations} neighbour, {respectfully|urgently} requesting assistance: scholarship tuition overdue, "
    "{landlord|lender} threatening eviction. Donations {appreciated|welcome} 🙏",
]

#: Real stories: (the phrase as typed, words people write about it). The story words are ordinary
#: background words; the generator picks those whose baselines let them rise 6-15x. A phrase's words
#: are background words too, or stop words a phrase may hold ("world" in "world tour": never a keyword
#: alone, so the story is named by its phrase or not at all).
STORY_MATERIAL: list[tuple[str, list[str]]] = [
    ("season finale", ["episode", "series", "plot", "character", "characters", "actor", "actress", "drama",
                       "director", "cinema", "trailer", "chapter"]),
    ("winter storm", ["snow", "wind", "airport", "flight", "school", "bus", "train", "heat", "street",
                      "car", "plane", "neighborhood"]),
    ("election night", ["vote", "politics", "president", "congress", "senate", "government", "court",
                        "law", "policy", "country", "data", "question"]),
    ("world tour", ["band", "singer", "guitar", "ticket", "songs", "lyrics", "drums", "vinyl",
                      "rapper", "playlist", "piano"]),
    ("hockey playoffs", ["coach", "player", "players", "score", "goal", "goals", "league", "match", "fans",
                         "trade", "fight", "lose"]),
]

#: Accounts that post on the hour (the top-of-hour bump).
BOT_HANDLE_STEMS = ["hourly-chime", "clockbot", "newsbot-hourly", "tidebot", "quakewatch", "sunbot"]


def slot_options(template: str) -> list[list[str]]:
    """The alternatives of each ``{a|b}`` slot of a template."""
    import re

    return [m.split("|") for m in re.findall(r"\{([^{}]*)\}", template)]


def render_template(template: str, choice: list[int]) -> str:
    """The template with slot ``i`` replaced by its alternative ``choice[i]``."""
    import re

    it = iter(choice)
    return re.sub(r"\{([^{}]*)\}", lambda m: m.group(1).split("|")[next(it)], template)


def template_texts(template: str) -> list[str]:
    """The default text and, per slot, the text with each alternative (enough to see every word)."""
    slots = slot_options(template)
    base = [0] * len(slots)
    out = [render_template(template, base)]
    for i, opts in enumerate(slots):
        for k in range(1, len(opts)):
            choice = list(base)
            choice[i] = k
            out.append(render_template(template, choice))
    return out
