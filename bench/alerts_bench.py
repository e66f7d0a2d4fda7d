"""What matching saved searches costs the indexer per article, at 100 and 1,000 saved searches.

    .venv/bin/python bench/alerts_bench.py [--articles 2000] [--searches 100 1000]

Articles are the demo corpus, scaled (``bench/corpus.py``), with the entities and topics of the parity corpus's
articles; saved searches are generated from the corpus's own words and names: single words, two words, phrases,
``OR``, exclusions, prefixes, entity filters alone and with words, topic filters (about one in eight has no word an
article must contain and is evaluated against every article). For each count: the matching time per article through
:class:`newswire.alerts.SavedSearchIndex` (what the indexer does after each bulk write), the matches found, and, as
the reference measured in the same run, the embedded store's own write time per article (``upsert`` in batches of
64, as the indexer writes). The ratio is matching time over write time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import scaled
from newswire.alerts import SavedSearch, SavedSearchIndex
from newswire.contract import EnrichedArticle, article_id
from newswire.indexer.embedded import EmbeddedStore
from newswire.query import tokenize
from tests.data.parity_corpus import parity_corpus
from tests.factories import article_factory, enriched_factory

BATCH = 64


def articles(count: int) -> list[EnrichedArticle]:
    shapes = parity_corpus()
    made = []
    for n, bench in enumerate(scaled(count)):
        shape = shapes[n % len(shapes)]
        raw = article_factory(
            id=article_id(bench.url), url=bench.url, title=bench.title, summary=bench.summary, content=bench.content
        )
        made.append(enriched_factory(raw, entities=shape.entities, topics=shape.topics))
    return made


def saved_searches(count: int, corpus: list[EnrichedArticle], seed: int = 7) -> list[SavedSearch]:
    rng = random.Random(seed)
    words = sorted({w for a in corpus[:200] for w in tokenize(a.title + " " + a.summary) if len(w) > 3 and w.isalpha()})
    names = sorted({e.name for a in corpus[:200] for e in a.entities})
    topics = sorted({t.label for a in corpus[:200] for t in a.topics})
    made = []
    for n in range(count):
        shape = n % 8
        a, b = rng.choice(words), rng.choice(words)
        if shape == 0:
            fields: dict[str, object] = {"text": a}
        elif shape == 1:
            fields = {"text": f"{a} {b}"}
        elif shape == 2:
            fields = {"text": f'"{a} {b}"'}
        elif shape == 3:
            fields = {"text": f"{a} OR {b}"}
        elif shape == 4:
            fields = {"text": f"{a} -{b}"}
        elif shape == 5:
            fields = {"text": f"{a[:4]}*"}  # no word it must contain: evaluated against every article
        elif shape == 6:
            fields = {"entities": (rng.choice(names),)}
        else:
            fields = {"text": a, "topics": (rng.choice(topics),)}
        made.append(SavedSearch(id=f"bench-{n}", name=f"bench {n}", **fields))  # type: ignore[arg-type]
    return made


def write_seconds(corpus: list[EnrichedArticle]) -> float:
    with tempfile.TemporaryDirectory(prefix="newswire-alerts-bench-") as folder:
        store = EmbeddedStore(Path(folder) / "search.sqlite3")
        store.ensure_ready()
        started = time.perf_counter()
        for start in range(0, len(corpus), BATCH):
            store.upsert(corpus[start : start + BATCH])
        elapsed = time.perf_counter() - started
        store.close()
    return elapsed


def match_seconds(index: SavedSearchIndex, corpus: list[EnrichedArticle]) -> tuple[float, int]:
    started = time.perf_counter()
    found = sum(len(index.matching(article)) for article in corpus)
    return time.perf_counter() - started, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--searches", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = articles(args.articles)
    writes = [write_seconds(corpus) for _ in range(args.rounds)]
    write_ms = statistics.median(writes) / len(corpus) * 1000
    print(f"{len(corpus)} articles; embedded store write: {write_ms:.3f} ms an article (median of {args.rounds})")
    for count in args.searches:
        index = SavedSearchIndex(saved_searches(count, corpus))
        rounds = [match_seconds(index, corpus) for _ in range(args.rounds)]
        match_ms = statistics.median(seconds for seconds, _ in rounds) / len(corpus) * 1000
        found = rounds[0][1]
        print(
            f"{count:>5} saved searches: matching {match_ms:.3f} ms an article, {found / len(corpus):.2f} matches an "
            f"article; ratio to the write {match_ms / write_ms:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
