"""Function words as evidence of the language a post is written in (plain data; the rule that reads
them is :class:`trendlab.core.extract.KeywordExtractor`'s, see that module's docstring).

``EVIDENCE`` maps a language (the ``stopwordsiso`` code) to its most frequent, most telling function
words: articles, pronouns, auxiliaries, conjunctions, prepositions. Each is a stop word of its own
language in ``stopwordsiso`` (a unit test checks it), so counting them costs one look-up per word and
says which stop list a post needs. Left out on purpose:

* words that are everyday English words ("die", "war", "will", "hat", "also", "man" are not
  evidence for German, "come" for Italian, "son" for French), and English evidence shares no word
  with any other language's: an English post about death or war is not read as German;
* for a language close to a bigger one, the words the two share (Catalan keeps "amb", "els",
  "però"…, not "el", "que", "de"): the bigger one's posts are not read as the smaller one.
* one-letter words (the extractor drops them before stop words are looked at: they carry no
  evidence there);
* languages outside the Latin and Cyrillic scripts: their script already keeps their function words
  apart from those of any other language, and their stop lists apply by their tag as before.

The set is the most frequent Latin/Cyrillic-script languages of the Bluesky firehose.
"""

from __future__ import annotations

EVIDENCE: dict[str, tuple[str, ...]] = {
    "en": tuple("""
        the and to of you is that for it this with was are be have not but what they we my your just
        at or if about from can do don't it's i'm would there their been has had were by how when
        who them our she her his him he's i've you're that's these those which because could should
    """.split()),
    "de": tuple("""
        der das und ist nicht ich mit den dem des ein eine einen einem auf sich auch für von zu
        sie wir aber noch nur wenn dass oder wie bei aus nach schon mir mich dir werden wird sind
        haben kann jetzt hier einer diese dieser immer doch ihr ihre wieder
    """.split()),
    "fr": tuple("""
        le la les des et est une du qui pas je tu il nous vous ils elle sur dans pour avec ce cette
        mais ou au aux plus sont être avoir fait très tout bien ça même aussi comme de en un que se ne
        mon ma sa ses nos leur où était parce
    """.split()),
    "es": tuple("""
        el los las que de en no un del por con para una es lo se pero más como muy está son yo mi este
        esta todo ya también hay porque cuando sin sobre eso esto nos le al su sus qué me te así fue la
        tu si ellos nosotros ella aquí todavía donde entonces
    """.split()),
    "pt": tuple("""
        os da dos das em um uma não que com para por mais mas se no na eu ele ela isso esse essa
        muito foi ser tem está você também quando já ao como de te até onde sua seu meu minha nós eles
        ainda aqui então
    """.split()),
    "it": tuple("""
        il lo gli di che non per con una del della sono ma mi ti si anche più questo questa ho ha io
        lei noi nel nella alla perché cosa solo tutto ancora essere la le un dei delle
    """.split()),
    "nl": tuple("""
        de het een en van ik je dat niet op te zijn met voor er maar om ook als dan nog wat bij naar
        heb kan wel hij ze deze dit zo geen
    """.split()),
    "sv": tuple("""
        och att det som en på är av för med till den har inte om jag de ett var men så vi kan han
        hon sig från eller när nu bara efter
    """.split()),
    "da": tuple("""
        og det er en til på med har den af ikke jeg de som om vi men så kan var et fra eller nu
        også når hvad der skal
    """.split()),
    "no": tuple("""
        og det er en til på som med har den av ikke jeg de om vi men så kan var et fra eller nå også
        når hva skal
    """.split()),
    "fi": tuple("""
        ja on ei se että oli kun mutta niin tai jo myös vain ole hän minä sinä me te he tämä tuo
        mitä joka kuin nyt sitä vielä olen ovat
    """.split()),
    "pl": tuple("""
        nie się na że jest jak co ale tak za po od jestem czy już tylko ten ta mnie jego są być
        bardzo może dla tym tego jeszcze
    """.split()),
    "cs": tuple("""
        je se na že ale jak jsem tak co pro za jako už jen když ještě může nebo také který která
        které není být
    """.split()),
    "ro": tuple("""
        în de la cu nu să pe din că mai ce este pentru un sunt sau dar care fost am au ai acest
        această foarte tot doar când
    """.split()),
    "tr": tuple("""
        ve bir bu da de ne için ile çok ama gibi daha ben sen biz var yok mı şu kadar değil olarak
        sonra diye bana ki
    """.split()),
    "id": tuple("""
        yang dan di ini itu dengan untuk tidak dari dalam akan pada juga saya ke karena ada bisa aku
        kamu sudah atau tapi jadi kalau mereka kita lagi belum sama
    """.split()),
    "ru": tuple("""
        не на что он как то это по но его она ты из мы за вы так же от бы все мне уже только было
        когда нет есть
    """.split()),
    "uk": tuple("""
        що він як та це але вона вони до ти ми ви так від все було коли для про її чи також який
        тобто
    """.split()),
    "ca": tuple("""
        els les per amb és com més però aquest aquesta són també molt perquè ja tot
    """.split()),
}

#: Words of ``stopwordsiso``'s English list that are content words: nouns, names, numerals and the
#: adjectives and verbs names are made of. That list is broad (about 1,300 words: "group", "world",
#: "new", "fire", "bill", "microsoft", "ai" are in it), and as single keywords they stay dropped: the
#: word rules are unchanged. But they may stand in a **phrase** ("group chat", "world cup", "new
#: york", "bill gates", "second amendment"): a phrase's edge is a *boundary* word, a stop word that is
#: not one of these (articles, pronouns, prepositions, conjunctions, auxiliaries, light verbs, the
#: contractions and adverbs of the list: "the war", "i think", "going to", "really good" stay out).
#: Each is in the English list (a unit test checks it); English's alone: the other languages' lists
#: are boundaries as they are, and a word that is a stop word of another applied language is one too.
PHRASE_MATERIAL_EN: frozenset[str] = frozenset("""
    act ad area areas bill billion bottom case cases cause causes computer copy date detail effect end
    ends face faces fact facts fire front goods group groups half home homepage hundred index
    information interest interests invention keys length line man member members men microsoft million
    mug name novel number numbers order orders page pages part parts place places point points problem
    problems research ring room rooms round second seconds section self side sides site state states
    system test text thing things thoughts thousand tip top trillion value way ways web webpage website
    whole width wish words work works world year years zero
    eight eighty eleven fifteen fifth fifty first five forty four nine ninety seven seventy six sixty
    ten third thirty three twelve twenty two
    big best better clear early empty far free full general good great greater greatest high higher
    highest large last latest little long longer longest low lower new newer newest old older oldest
    open right small smaller smallest thick thin young younger youngest
    announce begin believe buy call click cry fill fix help join miss move run show stop turn wonder
    ai uk tv
""".split())
