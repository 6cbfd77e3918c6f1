"""Stop words whatever the language tag (issue 19, point 3): a labelled check of mis-tagged and
untagged posts. The function words of the language a post is really written in never become
keywords; content words survive, and a post whose tag is right keeps its own language's rules (no
union of every language's stop list). The kernel and the Python rules are held to the same output
on these texts in tests/unit/test_kernel_twins.py.
"""

from __future__ import annotations

import pytest

from trendlab.core.extract import (EVIDENCE_LANGS, MIN_EVIDENCE, MIN_EVIDENCE_UNTOLD, KeywordExtractor, _stopwords_for,
                              _tokens, default_extractor, detected_languages, prepare)
from trendlab.core.function_words import EVIDENCE

#: English posts (the kind the firehose tags de, fr, ar, … or not at all)
ENGLISH = [
    "The war plans were leaked to a group chat and nobody noticed for weeks",
    "I can't believe you did that, this is the best day of my life",
    "What are they doing with the new bridge? It has been closed for months",
    "Just finished reading this book and I think you should read it too",
    "We are going to the beach this weekend if the weather is good",
    "Is anyone else watching the game tonight? The second half was wild",
    "My cat knocked the coffee off the table again and she is not sorry",
    "They said the train would be on time but it was late again",
    "Thank you all for the kind messages, it means a lot to me",
    "There is a new episode out and it is so good, you have to watch it",
    "He was at the concert with his sister when the power went out",
    "Our city council voted to close the library, which is a terrible idea",
    "Why do people keep saying that? It's not true and they know it",
    "Finally got my garden planted, the tomatoes are looking great",
    "Breaking: the senate will vote on the budget bill this afternoon",
    "good morning to all of you",
]
#: the tags English posts were seen with; None: untagged
WRONG_TAGS = ["de", "fr", "ar", "pt", "ja", "es", "it", "nl", "tr", None]

#: posts in other languages tagged en: (real language, text)
OTHERS = [
    ("de", "Die Regierung hat heute neue Pläne für die Bahn vorgestellt und das ist nicht gut"),
    ("de", "Ich habe keine Ahnung, was wir am Wochenende machen sollen"),
    ("de", "Das Wetter in Berlin ist heute wirklich schön, aber es wird noch regnen"),
    ("de", "Wir sind gestern mit dem Zug nach Hamburg gefahren"),
    ("fr", "Je ne sais pas pourquoi le gouvernement a fait ça, c'est vraiment incroyable"),
    ("fr", "Nous sommes allés au cinéma avec les enfants et ils ont adoré le film"),
    ("fr", "Il fait très beau aujourd'hui, on va se promener dans le parc"),
    ("es", "No puedo creer que el partido de hoy haya terminado así, qué desastre"),
    ("es", "Mi hermana está en la ciudad y vamos a comer juntas esta noche"),
    ("es", "El gobierno anunció nuevas medidas para la vivienda pero nadie las entiende"),
    ("pt", "Eu não acredito que o jogo foi cancelado de novo, isso é muito chato"),
    ("it", "Non so perché il treno è sempre in ritardo, questa cosa mi fa impazzire"),
    ("nl", "Ik heb vandaag een nieuwe fiets gekocht en die is echt heel mooi"),
]

#: the English function words that were on the real trend board, and more like them
ENGLISH_FUNCTION = ("the and to of you is that for it this with was are be have not but what they we my your "
                    "just at or if about from can do it's i'm there their been has had were by how who she "
                    "he his all me on in so").split()

X = KeywordExtractor()


def candidates(text: str) -> list[str]:
    """The words of a text before stop words (what the extractor counts evidence on)."""
    return list(dict.fromkeys(t.strip("_'-") for t in _tokens(prepare(text)) if t and t[0] != "#"))


def leaks(texts_and_langs, tag_of) -> list[tuple[str, str]]:
    """(text, word) for every keyword that is a stop word of the text's real language."""
    out = []
    for lang, text in texts_and_langs:
        stop = _stopwords_for((lang,))
        out += [(text, w) for w in X.extract(text, tag_of(lang)) if w in stop]
    return out


@pytest.mark.parametrize("tag", WRONG_TAGS, ids=[t or "untagged" for t in WRONG_TAGS])
def test_no_english_function_word_leaks_from_mis_tagged_or_untagged_english(tag):
    for text in ENGLISH:
        keywords = X.extract(text, tag)
        assert not set(keywords) & set(ENGLISH_FUNCTION), (tag, text, keywords)
        # exactly the keywords of the post tagged right, less the wrong tag's stop words (and the
        # phrases that hold one: a pair that starts or ends with a stop word is skipped)
        wrong = _stopwords_for((tag,)) if tag else frozenset()
        assert keywords == [w for w in X.extract(text, "en") if not set(w.split(" ")) & wrong], (tag, text)


def test_no_function_word_leaks_from_other_languages_tagged_en():
    assert leaks(OTHERS, lambda lang: "en") == []
    for lang, text in OTHERS:  # their content words are those of the post tagged right, less English's
        english = _stopwords_for(("en",))
        assert X.extract(text, "en") == [w for w in X.extract(text, lang) if w not in english], text
        assert X.extract(text) == X.extract(text, lang), text  # untagged: the detected language alone


def test_content_words_survive_and_no_union_of_stop_lists():
    """"war", "die" (German stop words), "come" (Italian), "son" (French) are content words of an
    English post: tagged en or untagged, they stay keywords. A union of every language's list would drop them."""
    text = "War plans leaked: rock stars die young, come home son, the group chat said"
    union = frozenset().union(*(_stopwords_for((lang,)) for lang in EVIDENCE_LANGS))
    assert {"war", "die", "come", "son"} <= union
    for tag in ("en", None, "ja", "ar"):
        keywords = default_extractor().extract(text, tag)
        assert {"war", "plans", "leaked", "die", "rock", "stars", "chat"} <= set(keywords), (tag, keywords)
        assert "the" not in keywords
    # a German post keeps German content words that are English stop words elsewhere
    assert {"regierung", "pläne", "bahn"} <= set(default_extractor().extract(OTHERS[0][1], "en"))


def test_right_tags_keep_their_own_rules():
    """A post tagged with its own language gets its own stop words only: English content words that
    another language lists as stop words stay, whatever a stray foreign word says."""
    text = "the man will die in the war, der Krieg"  # one English and one German evidence word
    assert detected_languages(candidates(text), ("en",)) == ()
    assert {"die", "war", "krieg"} <= set(default_extractor().extract(text, "en"))
    for lang, text in OTHERS + [("en", text) for text in ENGLISH]:
        assert detected_languages(candidates(text), (lang,)) == (), (lang, text)


def test_the_evidence_rule():
    assert detected_languages(["the", "and", "plans"], ("de",)) == ("en",)
    assert detected_languages(["the", "plans"], ("de",)) == ()  # one hit is not enough
    assert MIN_EVIDENCE == 2
    assert detected_languages(["the", "and", "der", "und"], ("de",)) == ()  # not more than the tag's
    assert detected_languages(["the", "and", "der", "und"], ()) == ("en", "de")  # a tie: both
    assert detected_languages(["que", "para", "los"], ("en",)) == ("es",)
    assert detected_languages(["#the", "#and"], ()) == ()  # callers pass words only; "#the" is no evidence
    # a tag without evidence words (another script, or unknown) cannot speak for a Latin word: one is enough
    assert MIN_EVIDENCE_UNTOLD == 1
    assert detected_languages(["the", "plans"], ("ja",)) == detected_languages(["the"], ("xx",)) == ("en",)
    assert detected_languages(["the"], ()) == ()  # untagged: the English fallback applies anyway
    for lang, text in OTHERS:  # each labelled post shows its own language, and only it, when mis-tagged
        assert detected_languages(candidates(text), ("ar",)) == (lang,), (lang, text)
    for text in ENGLISH:
        assert detected_languages(candidates(text), ("de",)) == ("en",), text


def test_evidence_words_are_stop_words_of_their_language_and_tell_languages_apart():
    english = set(EVIDENCE["en"])
    for lang, words in EVIDENCE.items():
        stop = _stopwords_for((lang,))
        assert words and all(w in stop and len(w) >= 2 for w in words), lang
        assert len(set(words)) == len(words), lang
        if lang != "en":
            assert not english & set(words), (lang, english & set(words))
