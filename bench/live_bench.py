"""Time from an article being written to its live-stream event, against the time until a search finds it.

    .venv/bin/python bench/live_bench.py [--articles 200] [--interval 0.1] [--es http://127.0.0.1:9200]

Serves the API (``newswire.app.api`` under uvicorn, on loopback) over the embedded store in a temporary folder, or
over a fresh alias on the Elasticsearch node given by ``--es``; opens one ``GET /api/live`` stream; writes generated
articles one at a time through the store (as the indexer does), every ``--interval`` seconds; and meanwhile a probe
searches for each written article by its id until the store finds it. For each article: seconds from the write's
return to its SSE event, and to the first search that found it (the reference: what any reader of the store could
see). Prints p50, p95 and the largest of both and of their difference per article (the stream's own delay once an
article is visible to searches: the issue's "indexed to SSE event"), and the ratio of the p95s. The SSE figure
includes the stream's poll interval (0.5 s); on Elasticsearch both include the refresh interval (1 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newswire.app.api import create_app
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.indexer.embedded import EmbeddedStore
from newswire.search import SearchQuery, SearchStore
from tests.factories import article_factory, enriched_factory

PORT = 8791


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.3f} s, p95 {_percentile(values, 0.95):.3f} s, max {max(values):.3f} s"


def run(store_factory, writer: SearchStore, articles: int, interval: float) -> tuple[list[float], list[float]]:
    app = create_app(store_factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    written: dict[str, float] = {}
    evented: dict[str, float] = {}
    searched: dict[str, float] = {}
    done = threading.Event()

    def write() -> None:
        time.sleep(1.0)  # the stream is open
        for n in range(articles):
            article = enriched_factory(article_factory(title=f"Wagner convoy report {n}"))
            writer.upsert([article])
            written[article.id] = time.monotonic()
            time.sleep(interval)
        done.set()

    def probe() -> None:
        query = SearchQuery(text="wagner convoy", size=1000, sort="date")
        while not (done.is_set() and len(searched) == len(written)):
            waiting = [key for key in list(written) if key not in searched]
            if waiting:
                found = {hit.article.id for hit in writer.search(query).hits}
                now = time.monotonic()
                for key in waiting:
                    if key in found:
                        searched[key] = now
            time.sleep(0.02)

    threads = [threading.Thread(target=write), threading.Thread(target=probe)]
    for thread in threads:
        thread.start()
    seconds = int(articles * interval + 10)
    with httpx.stream("GET", f"http://localhost:{PORT}/api/live?q=wagner&seconds={seconds}", timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                evented[json.loads(line[6:])["id"]] = time.monotonic()
                if len(evented) == articles:
                    break
    for thread in threads:
        thread.join()
    server.should_exit = True
    to_event = [evented[key] - written[key] for key in written]
    to_search = [searched[key] - written[key] for key in written]
    return to_event, to_search


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--es", help="an Elasticsearch URL; the embedded store when not given")
    args = parser.parse_args()
    if args.es:
        alias = f"bench-live-{uuid.uuid4().hex[:8]}"
        writer: SearchStore = ElasticsearchStore(args.es, alias=alias)
        writer.ensure_ready()

        def factory() -> SearchStore:
            return ElasticsearchStore(args.es, alias=alias)
    else:
        folder = Path(tempfile.mkdtemp(prefix="newswire-live-bench-"))
        writer = EmbeddedStore(folder / "search.sqlite3")
        writer.ensure_ready()

        def factory() -> SearchStore:
            return EmbeddedStore(folder / "search.sqlite3")

    try:
        to_event, to_search = run(factory, writer, args.articles, args.interval)
    finally:
        if isinstance(writer, ElasticsearchStore):
            writer.drop()
        writer.close()
    print(
        f"store: {'Elasticsearch ' + args.es if args.es else 'embedded'}; {args.articles} articles, one every "
        f"{args.interval} s"
    )
    print(f"written -> live event:   {_summary(to_event)}")
    print(f"written -> found by search (reference): {_summary(to_search)}")
    after_search = [event - search for event, search in zip(to_event, to_search, strict=True)]
    print(f"found by search -> live event (the stream's own delay): {_summary(after_search)}")
    print(f"p95 ratio event/search: {_percentile(to_event, 0.95) / _percentile(to_search, 0.95):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
