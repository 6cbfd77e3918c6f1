import json

import pytest

from trendlab.cli import main
from trendlab.core.extract import KeywordExtractor

X = KeywordExtractor()


@pytest.mark.parametrize(
    "text,langs,expected",
    [
        ("#SuperBowl tonight!", None, ["#superbowl", "tonight"]),
        ("Kickoff #SuperBowl #superbowl #SUPERBOWL", None, ["kickoff", "#superbowl"]),
        ("read https://example.com/a?b=c and www.test.org now", None, ["read"]),
        ("see example.com/path and bsky.app tomorrow", None, ["tomorrow"]),
        ("kudos @alice.bsky.social and @bob.example.com for this", None, ["kudos"]),
        ("amazing game 🎉🔥 wow!!!", None, ["amazing", "game", "wow", "amazing game"]),
        ("Ｆｕｌｌｗｉｄｔｈ ＧＡＭＥ", None, ["fullwidth", "game", "fullwidth game"]),
        ("ﬁnally", None, ["finally"]),  # NFKC ligature
        ("Café café CAFÉ", None, ["café"]),  # a word after itself is no phrase
        ("the and of to is", None, []),
        ("it's what we don’t know", None, ["don't"] if "don't" not in X.stopwords() else []),
        ("x y 2024 42 a1", None, ["a1"]),
        ("", None, []),
    ],
)
def test_english_rules(text, langs, expected):
    # stop words come from stopwordsiso's English list (it is broad: "great", "today", "ok" are in it)
    assert X.extract(text, langs) == expected


def test_order_of_first_appearance_and_no_duplicates():
    assert X.extract("zebra apple zebra mango apple") == ["zebra", "apple", "mango", "zebra apple", "apple zebra",
                                                          "zebra mango", "mango apple"]


@pytest.mark.parametrize(
    "text,langs,kept,dropped",
    [
        ("O Brasil é o melhor do mundo", ["pt"], ["brasil", "melhor", "mundo"], ["o", "do"]),
        ("Der Hund und die Katze sind hier", ["de"], ["hund", "katze"], ["der", "und", "die"]),
        ("El partido de fútbol fue increíble", ["es"], ["partido", "fútbol", "increíble"], ["el", "de", "fue"]),
        ("Le match était incroyable", ["fr-FR"], ["match", "incroyable"], ["le"]),
    ],
)
def test_stop_words_per_language(text, langs, kept, dropped):
    words = X.extract(text, langs)
    for w in kept:
        assert w in words
    for w in dropped:
        assert w not in words


def test_language_decides_which_stop_words():
    # "die" is a German stop word but an English content word
    assert "die" not in X.extract("die Katze", ["de"])
    assert "die" in X.extract("plants die quickly", ["en"])


def test_japanese_is_segmented():
    words = X.extract("今日は東京で地震がありました", ["ja"])
    assert "東京" in words and "地震" in words
    assert "は" not in words and "今日" not in words
    assert X.extract("今日は東京で地震がありました") == words  # kana identify Japanese


def test_chinese_is_segmented():
    words = X.extract("我们今天在北京看到了地震", ["zh"])
    assert "北京" in words and "地震" in words


def test_mixed_scripts_and_hashtags_in_japanese():
    words = X.extract("#地震 東京で大きな地震 https://t.co/x", ["ja"])
    assert words[0] == "#地震"
    assert "東京" in words


def test_lengths():
    long_word = "a" * 41
    assert X.extract(f"zebra {long_word} fine") == ["zebra", "fine"]
    k = KeywordExtractor(min_length=4, max_length=5)
    assert k.extract("cat horse zebras lion") == ["horse", "lion"]
    with pytest.raises(ValueError, match="min_length"):
        KeywordExtractor(min_length=0)
    with pytest.raises(ValueError, match="max_length"):
        KeywordExtractor(min_length=5, max_length=3)


def test_huge_input_is_fine():
    text = ("trend " * 200_000) + "#tag " + ("x" * 1_000_000)
    assert X.extract(text) == ["trend", "#tag"]


def test_extractor_pickles():
    import pickle

    k = pickle.loads(pickle.dumps(KeywordExtractor(min_length=3)))
    assert k.min_length == 3 and k.extract("zebra #World") == ["zebra", "#world"]


def test_cli_prints_json_list(capsys):
    assert main(["extract", "--lang", "ja", "今日は東京で地震がありました"]) == 0
    assert capsys.readouterr().out.strip() == '["東京", "地震"]'


@pytest.mark.parametrize("text", [
    "plain words and a #tag, can't stop-word", "see www.!", "www.x", "a.b", "end. next", "x@y", "@alice.bsky.social hi",
    "http://x", "https://a.b/c d", "example.com/path", "bsky.app rocks", "v1.2 release", "e-mail -dash- 'quote'",
    "東京で.地震", "", "...", "a.", ".b", "#.tag", "3.14 pie", "ａｂｃ．ｃｏｍ",
])
def test_fast_tokeniser_equals_the_full_pattern(text):
    """Texts that cannot hold a URL, domain or mention skip those alternatives: same tokens either way."""
    import unicodedata

    from trendlab.core import extract

    norm = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    assert extract._tokens(norm) == extract._TOKEN_RE.findall(norm)


def test_fast_tokeniser_equals_the_full_pattern_on_a_stream():
    import unicodedata
    from pathlib import Path

    import orjson

    from trendlab.core import extract

    path = Path(__file__).resolve().parents[2] / "data/samples/small/posts.jsonl"
    texts = [((orjson.loads(line).get("commit") or {}).get("record") or {}).get("text")
             for line in path.read_bytes().splitlines()[:4000]]
    texts = [unicodedata.normalize("NFKC", t).lower().replace("’", "'") for t in texts if isinstance(t, str)]
    assert len(texts) > 1000
    assert [extract._tokens(t) for t in texts] == [extract._TOKEN_RE.findall(t) for t in texts]


# -- phrases: adjacent word pairs (issue 20) -------------------------------------------------------

def phrases(text, langs=None, x=X):
    return [k for k in x.extract(text, langs) if " " in k]


def test_phrases_follow_the_words_each_once_in_order_of_first_appearance():
    kws = X.extract("Super Bowl tonight. South Korea and the Super Bowl", ["en"])
    assert kws == ["super", "bowl", "tonight", "south", "korea", "super bowl", "bowl tonight", "south korea"]
    assert X.extract("zebra apple zebra", None) == ["zebra", "apple", "zebra apple", "apple zebra"]


@pytest.mark.parametrize("text,langs,expected", [
    ("Hegseth texted the war plans", ["en"], ["hegseth texted", "war plans"]),
    ("her emails", ["en"], []),  # "her" is a stop word: a pair that starts or ends with one is skipped
    ("the Super Bowl is on", ["en"], ["super bowl"]),
    ("South Korea wins", None, ["south korea", "korea wins"]),  # untagged: English stop words
    ("ＳＵＰＥＲ　Ｂｏｗｌ", None, ["super bowl"]),  # NFKC and lower case, like words (U+3000 is a space)
    ("co-op store rock'n'roll night", ["en"], ["co-op store", "store rock'n'roll", "rock'n'roll night"]),
    ("_war_ plans_", ["en"], ["war plans"]),  # a word's stripped form, as the word rules make it
    ("#super bowl", None, []),  # a hashtag is not a word of a phrase
    ("東京 タワー super bowl", ["ja"], ["super bowl"]),  # CJK runs make no phrases
    ("super 東京 bowl", ["ja"], []),  # … and break adjacency
    ("war x plans", ["en"], []),
    ("no no no trend trend", None, []),  # a word after itself is repetition, not a phrase  # a word too short breaks adjacency (and makes no pair)
    ("Der Krieg und die Pläne, die Kriegspläne der USA", ["de"], []),
    ("Kanzler Merz spricht", ["de"], ["kanzler merz", "merz spricht"]),
])
def test_phrase_rules(text, langs, expected):
    assert phrases(text, langs) == expected


@pytest.mark.parametrize("gap", [" ", "  ", "\t", "\u00a0", "\u3000", " \t "])
def test_white_space_joins_the_words_of_a_phrase(gap):
    assert phrases(f"super{gap}bowl", ["en"]) == ["super bowl"]


@pytest.mark.parametrize("gap", [". ", ", ", "! ", "? ", "; ", ": ", ".", "\n", "\r\n", " \n ", "\u2028", "\u2029",
                                 "\x85", "\x0b", "\x0c", " - ", " — ", "/", " (", '" "', " 😀 ", " @bob.bsky.social ",
                                 " https://x.com/a ", " example.com ", " #tag ", " 42 ", " the ", " x ", " … "])
def test_anything_but_white_space_breaks_a_phrase(gap):
    kws = X.extract(f"super{gap}bowl", ["en"])
    assert "super" in kws and "bowl" in kws and "super bowl" not in kws


def test_phrases_use_the_stop_words_of_the_detected_language():
    # English text tagged "de": the English stop words it shows apply to its pairs as to its words
    kws = X.extract("The leaked plans of the Pentagon and the group chat were published", ["de"])
    assert "leaked plans" in kws and not any(k.startswith("the ") or k.endswith(" the") for k in kws)


def test_phrases_keep_the_extractor_settings():
    assert phrases("war plans leaked", ["en"], KeywordExtractor(extra_stopwords=["Leaked"])) == ["war plans"]
    assert phrases("ab bowl super bowl", ["en"], KeywordExtractor(min_length=3)) == ["bowl super", "super bowl"]
    assert phrases("super bowl", ["en"], KeywordExtractor(max_length=4)) == []


def test_cli_shows_phrases(capsys):
    assert main(["extract", "Hegseth texted the war plans"]) == 0
    assert json.loads(capsys.readouterr().out) == ["hegseth", "texted", "war", "plans", "hegseth texted", "war plans"]


def test_cli_shows_a_texts_links_as_the_engines_count_them(capsys):
    text = "Read this https://Example.COM/story?utm_source=feed#top now"
    assert main(["extract", text]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[-1] == "https://example.com/story" and out[:-1] == KeywordExtractor().extract(text)


def test_phrases_may_hold_the_content_words_of_the_broad_english_stop_list():
    # "group", "new", "world", "bill" are in stopwordsiso's English list: never keywords alone, but
    # the names people write with them are phrases
    text = "Hegseth texted the war plans to a group chat. Off to New York for the World Cup, says Bill Gates"
    kws = X.extract(text, ["en"])
    assert {"group", "new", "world", "bill"}.isdisjoint(kws)
    assert {"group chat", "new york", "world cup", "bill gates"} <= set(phrases(text, ["en"]))
    assert X.extract(text) == kws  # untagged: English, as tagged
    # function words still bound a phrase: no "to new", "the world", "a group"
    assert not any(p.split()[0] in {"to", "the", "a", "for", "off"} for p in phrases(text, ["en"]))


def test_a_stop_word_of_another_applied_language_bounds_a_phrase():
    # "man" is phrase material in English and a German stop word: tagged en+de, it bounds
    assert phrases("spider man returns", ["en"]) == ["spider man", "man returns"]
    assert phrases("spider man returns", ["en", "de"]) == []
    # and the extractor's own extra stop words bound too
    assert phrases("world cup final", ["en"], KeywordExtractor(extra_stopwords=["world"])) == ["cup final"]


def test_phrase_material_is_english_stop_words():
    import stopwordsiso
    from trendlab.core.function_words import PHRASE_MATERIAL_EN

    assert PHRASE_MATERIAL_EN <= set(stopwordsiso.stopwords("en"))
