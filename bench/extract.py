"""Keyword extraction speed on one core, against ``str.split`` on the same texts in the same run.

    .venv/bin/python bench/extract.py [POSTS.jsonl] [--repeat 3]

The issue's bar: at least 20,000 posts/s on one core on the long sample.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trendlab.core.extract import KeywordExtractor  # noqa: E402
from trendlab.replay import read_posts  # noqa: E402

BAR = 20_000


def best_rate(fn, texts, langs, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for t, l in zip(texts, langs):
            fn(t, l)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def tweet_tokenizer_extract(x: KeywordExtractor):
    """The obvious nltk design, for comparison: TweetTokenizer, NFKC, lower case, a stop-word set."""
    import unicodedata

    from nltk.tokenize import TweetTokenizer

    tok = TweetTokenizer(preserve_case=False, strip_handles=True, reduce_len=False)

    def run(text, langs):
        stop = x.stopwords(langs)
        out = {}
        for t in tok.tokenize(unicodedata.normalize("NFKC", text)):
            if t.isalnum() or t.startswith("#"):
                if t not in stop and 2 <= len(t) <= 40:
                    out.setdefault(t, None)
        return list(out)

    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("posts", nargs="?", default=str(ROOT / "data/samples/long/posts.jsonl"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    table = read_posts(args.posts)
    texts, langs = table.text, [l or None for l in table.langs]
    x = KeywordExtractor()
    x.extract("warm up 東京で地震 我们在北京", ["ja"])  # load segmenters and stop words outside the clock
    x.extract("我们在北京", ["zh"])
    for l in set(langs):
        x.extract("warm", l)
    baseline = best_rate(lambda t, l: t.split(), texts, langs, args.repeat)
    rate = best_rate(x.extract, texts, langs, args.repeat)
    py = KeywordExtractor()
    py._core = False  # the same rules in Python (what runs without the compiled kernels)
    for l in set(langs):
        py.extract("warm", l)
    rate_py = best_rate(py.extract, texts, langs, args.repeat)
    tweet = best_rate(tweet_tokenizer_extract(x), texts, langs, 1)
    cjk = sum(1 for l in langs if l and l[0] in ("ja", "zh"))
    print(f"posts: {len(texts):,} ({cjk:,} ja/zh) from {args.posts}")
    print(f"str.split           {baseline:>12,.0f} posts/s")
    print(f"nltk TweetTokenizer {tweet:>12,.0f} posts/s  (+ NFKC + stop words: the design we did not take)")
    print(f"KeywordExtractor    {rate:>12,.0f} posts/s  (one core{', compiled kernels' if x._native() else ''})")
    print(f"  the same in Python {rate_py:>11,.0f} posts/s  (kernels {rate / rate_py:.2f}x)")
    print(f"ratio extractor/TweetTokenizer: {rate / tweet:.2f}")
    print(f"ratio extractor/split: {rate / baseline:.3f}")
    ok = rate >= BAR
    print(f"bar {BAR:,} posts/s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
