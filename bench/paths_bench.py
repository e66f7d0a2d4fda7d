"""The publish path against kafka-python's own producer, and the indexer against ``helpers.bulk``, in one run.

Both comparisons use the scaled demo corpus (:mod:`corpus`: the demo articles copied, lightly varied), one feed to
a hundred articles, and run their sides in alternating ``--rounds`` (the order rotates each round); the figure is the
median of the per-round ratios, with their spread (min-max).

**Publish** (Kafka, ``--messages`` articles a side and round; each side its own topics, made with the partition
count, retention and compaction of the project's raw and feeds topics):

- ``kafka-python``: ``kafka.KafkaProducer`` configured as :meth:`KafkaBus.producer` configures its client (acks=all,
  idempotent, the same linger, batch size, request and message limits) sends the very bytes the ingest path sends
  (same keys, same values, same feed records) in the batches the publisher forms (:data:`MAX_BATCH_ARTICLES`
  articles, flush, their feed records, flush), keeping no futures (every topic's message count is checked at
  the end instead);
- ``our producer, pre-encoded``: the same sends and flushes through the Kafka bus's producer
  (:class:`newswire.bus.kafka.KafkaProducer`: size check, futures kept and checked at each flush);
- ``ingest publisher``: :class:`newswire.ingest.publish.Publisher` as the ingest service uses it, one ``publish``
  a feed (its articles, their state-file records and the feed), all waiting at once as after a busy poll cycle: the
  contract encoding and validation of every article (``encode_raw``), sends, flush, the state file's records (SQLite),
  the feed records and their flush.

**Index** (Elasticsearch, ``--articles`` enriched articles a side and round, written in bulk requests of
``--batch-size``, the indexer stage's batch; each side a fresh index made from the store's own index template, so the
same mapping and settings, and no refresh asked for on any side):

- ``helpers.bulk, ready docs``: ``elasticsearch.helpers.bulk`` handed the very documents the store builds
  (``translation.document`` plus ``indexed_ms``, external version), built before the clock starts;
- ``helpers.bulk + document()``: the same, building each document as it goes (the store's work but the merge lookup);
- ``SearchStore.upsert``: :meth:`ElasticsearchStore.upsert` as the indexer stage calls it, from enriched articles:
  the storyline-merge lookup (one ``mget`` a batch), building the documents, the bulk request through the alias and
  the check of every item.

The enrichment (entities, topics) comes from the real processor run once over the demo articles; each copy carries
its original's, in events of a few copies and one storyline per demo story. The Kafka topics are left on the broker
(the bus has no call that deletes topics; their names are printed); the Elasticsearch indexes and templates are
deleted at the end. The corpus and the model are left out of the garbage collector's passes (``gc.freeze``), as the
processor's start-up leaves its model. Results go to ``bench/results/paths.json``.

    .venv/bin/python bench/paths_bench.py --messages 20000 --articles 10000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from corpus import REPO, BenchArticle, demo_articles, scaled
from elasticsearch import Elasticsearch, helpers

from newswire.bus import Bus, open_bus, pipeline_topics
from newswire.bus.kafka import KafkaBus
from newswire.contract import Article, EnrichedArticle, article_id, encode_raw
from newswire.indexer.elasticsearch import ElasticsearchStore, document
from newswire.ingest.base import Feed, FeedConfig, FeedState, SeenArticle
from newswire.ingest.normalize import content_hash
from newswire.ingest.publish import MAX_BATCH_ARTICLES, Publisher
from newswire.ingest.state import KnownArticle, StateFile
from newswire.settings import Settings, load_settings

with warnings.catch_warnings():
    # as in newswire/bus/kafka.py: kafka-python 3.0 reads its schemas with a deprecated importlib.resources call
    warnings.filterwarnings("ignore", r"(read|open)_text is deprecated", DeprecationWarning)
    import kafka

PER_FEED = 100  # articles a feed, as in corpus.write_feeds
T = TypeVar("T")
COPIES_AN_EVENT = 4  # copies of one demo article grouped in one event


@dataclass
class Timing:
    seconds: float
    cpu: float  # process CPU seconds, every thread (the clients' IO threads too)


@dataclass
class Side:
    name: str
    unit: str
    timings: list[Timing] = field(default_factory=list)

    def median_rate(self, count: int) -> float:
        return count / statistics.median(t.seconds for t in self.timings)


def freeze_heap() -> None:
    """Leave the objects made so far (the corpus, the model) out of the garbage collector's passes, as the processor's
    start-up does (:mod:`newswire.processors.runtime`): otherwise every full pass walks the bench's corpus too and
    charges the side that allocates most for data that no pipeline process holds."""
    gc.collect()
    gc.freeze()


def timed(run: Callable[[], None]) -> Timing:
    started, cpu = time.perf_counter(), time.process_time()
    run()
    return Timing(time.perf_counter() - started, time.process_time() - cpu)


def contract_article(bench: BenchArticle, feed: int) -> Article:
    return Article(
        id=article_id(bench.url),
        url=bench.url,
        feed_url=f"https://bench.example/feeds/{feed}.xml",
        source=f"Bench Wire {feed % 30}",
        title=bench.title,
        summary=bench.summary,
        content=bench.content,
        published=bench.published,
        fetched=bench.published + timedelta(minutes=3),
    )


# -- publish --------------------------------------------------------------------------------------------------------


@dataclass
class PublishCorpus:
    articles: list[Article]
    feeds: list[tuple[Feed, list[Article], list[KnownArticle]]]
    # (raw messages, feed records) of each batch as the publisher forms it from all the feeds waiting at once
    batches: list[tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]]


def publish_corpus(count: int) -> PublishCorpus:
    articles = [contract_article(bench, n // PER_FEED) for n, bench in enumerate(scaled(count))]
    feeds = []
    for start in range(0, count, PER_FEED):
        chunk = articles[start : start + PER_FEED]
        known = [
            KnownArticle(a.id, a.feed_url, content_hash(a.title, a.summary, a.content), 1, a.title, a.summary[:300])
            for a in chunk
        ]
        state = FeedState(
            etag=f'"{start}"',
            body_hash=content_hash(*(a.id for a in chunk)),
            source_title=chunk[0].source,
            interval=900.0,
            next_poll=1_687_500_000.0,
            recent_new=[len(chunk)],
            last_fetch=1_687_499_100.0,
            last_status=f"200 {len(chunk)} new",
            new_items_last=len(chunk),
            new_items_total=len(chunk),
            polls_total=1,
            seen={k.id: SeenArticle(hash=k.hash) for k in known},
        )
        feeds.append((Feed(config=FeedConfig(url=chunk[0].feed_url), state=state, seq=1), chunk, known))
    batches = []
    waiting = list(feeds)
    while waiting:  # Publisher._run: take feeds until the batch holds MAX_BATCH_ARTICLES articles
        taken = [waiting.pop(0)]
        while waiting and sum(len(item[1]) for item in taken) < MAX_BATCH_ARTICLES:
            taken.append(waiting.pop(0))
        raw = [(a.id.encode("ascii"), encode_raw(a)) for _, chunk, _ in taken for a in chunk]
        records = [(feed.key.encode("ascii"), feed.to_json()) for feed, _, _ in taken]
        batches.append((raw, records))
    return PublishCorpus(articles, feeds, batches)


def kafka_python_producer(bus: KafkaBus) -> Any:
    """kafka-python's producer with the very options :meth:`KafkaBus.producer` gives it."""
    return kafka.KafkaProducer(**{**bus.producer_config(), "client_id": "newswire-bench-reference"})


def publish_reference(bus: Bus, topics: tuple[str, str], corpus: PublishCorpus) -> Timing:
    """Bare kafka-python: send and flush, keeping no futures (what was stored is counted on the topics at the end);
    holding every future of the run alive made the garbage collector's passes longer, a cost of the bench alone."""
    assert isinstance(bus, KafkaBus), "the publish comparison runs on Kafka"
    producer = kafka_python_producer(bus)

    def run() -> None:
        for raw, records in corpus.batches:
            for key, value in raw:
                producer.send(topics[0], key=key, value=value)
            producer.flush(timeout=30)
            for key, value in records:
                producer.send(topics[1], key=key, value=value)
            producer.flush(timeout=30)

    try:
        return timed(run)
    finally:
        producer.close(timeout=10)


def publish_wrapper(bus: Bus, topics: tuple[str, str], corpus: PublishCorpus) -> Timing:
    producer = bus.producer()

    def run() -> None:
        for raw, records in corpus.batches:
            for key, value in raw:
                producer.send(topics[0], key, value)
            producer.flush()
            for key, value in records:
                producer.send(topics[1], key, value)
            producer.flush()

    try:
        return timed(run)
    finally:
        producer.close()


def publish_ingest(bus: Bus, topics: tuple[str, str], corpus: PublishCorpus, folder: Path) -> Timing:
    state = StateFile(folder / f"state-{uuid.uuid4().hex[:8]}.sqlite3")

    async def run() -> Timing:
        publisher = Publisher(bus, state, topic_raw=topics[0], topic_feeds=topics[1])
        await publisher.start()
        try:
            started, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(publisher.publish(feed, chunk, known) for feed, chunk, known in corpus.feeds))
            timing = Timing(time.perf_counter() - started, time.process_time() - cpu)
        finally:
            await publisher.close()
        if publisher.published != len(corpus.articles):
            raise SystemExit(f"the publisher published {publisher.published} of {len(corpus.articles)} articles")
        if publisher.flushes != 2 * len(corpus.batches):  # it batched otherwise than the other sides were told to
            print(f"  (the publisher flushed {publisher.flushes} times, the other sides {2 * len(corpus.batches)})")
        return timing

    try:
        return asyncio.run(run())
    finally:
        state.close()


def encode_only(corpus: PublishCorpus) -> Timing:
    def run() -> None:
        for article in corpus.articles:
            encode_raw(article)

    return timed(run)


# -- index ----------------------------------------------------------------------------------------------------------


def enriched_articles(count: int, settings: Settings) -> list[EnrichedArticle]:
    """``count`` copies of the demo articles with the enrichment the processor gives their originals."""
    from newswire.processors.service import ArticleProcessor  # noqa: PLC0415 - spaCy loads only here

    originals = [contract_article(bench, 0) for bench in demo_articles()]
    enriched = ArticleProcessor(settings).enrich(originals)
    copies = [contract_article(bench, n // PER_FEED) for n, bench in enumerate(scaled(count))]
    result = []
    span = len(originals) * COPIES_AN_EVENT
    for n, article in enumerate(copies):
        original = enriched[n % len(originals)]
        event = copies[n // span * span + n % len(originals)].id  # its event's first copy
        result.append(
            EnrichedArticle.from_article(
                article,
                language=original.language,
                language_supported=original.language_supported,
                entities=original.entities,
                topics=original.topics,
                enrichment=original.enrichment,
                event_id=event,
                story_id=event,
                storyline_id=copies[n % len(originals)].id,
            )
        )
    return result


def bulk_action(article: EnrichedArticle, indexed_ms: int) -> dict[str, Any]:
    """The action the store sends for ``article`` (ElasticsearchStore._bulk), in helpers.bulk's form."""
    source = document(article) | {"indexed_ms": indexed_ms}
    return {"_id": article.id, "version": article.revision, "version_type": "external_gte", "_source": source}


def batches(items: Sequence[EnrichedArticle], size: int) -> Iterator[Sequence[EnrichedArticle]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class IndexRound:
    store: ElasticsearchStore
    client: Elasticsearch
    articles: list[EnrichedArticle]
    batch_size: int

    def stored(self, index: str) -> None:
        self.client.indices.refresh(index=index)
        count = int(self.client.count(index=index)["count"])
        if count != len(self.articles):
            raise SystemExit(f"{index} holds {count} documents, not {len(self.articles)}")

    def ours(self) -> Timing:
        written: list[int] = []

        def run() -> None:
            for batch in batches(self.articles, self.batch_size):
                result = self.store.upsert(batch)
                if result.rejected:
                    raise SystemExit(f"the store refused {result.rejected[:3]}")
                written.append(result.written)

        timing = timed(run)
        if sum(written) != len(self.articles):
            raise SystemExit(f"the store wrote {sum(written)} of {len(self.articles)} articles")
        self.stored(self.store.index)
        return timing

    def reference(self, index: str, actions: Any) -> Timing:
        self.client.indices.create(index=index)  # from the store's template, which covers {alias}-v*
        outcome: list[Any] = []

        def run() -> None:
            outcome.append(helpers.bulk(self.client, actions, index=index, chunk_size=self.batch_size))

        timing = timed(run)
        if outcome[0][0] != len(self.articles):
            raise SystemExit(f"helpers.bulk wrote {outcome[0][0]} of {len(self.articles)} documents")
        mappings = self.client.indices.get_mapping(index=f"{self.store.index},{index}").body
        if mappings[index] != mappings[self.store.index]:
            raise SystemExit(f"{index} does not have the mapping of {self.store.index}")
        self.stored(index)
        return timing

    def ready(self) -> Timing:
        indexed_ms = time.time_ns() // 1_000_000
        actions = [bulk_action(article, indexed_ms) for article in self.articles]
        return self.reference(f"{self.store.index}-ready", actions)

    def building(self) -> Timing:
        indexed_ms = time.time_ns() // 1_000_000
        return self.reference(f"{self.store.index}-building", (bulk_action(a, indexed_ms) for a in self.articles))

    def documents_only(self) -> Timing:
        indexed_ms = time.time_ns() // 1_000_000

        def run() -> None:
            for article in self.articles:
                bulk_action(article, indexed_ms)

        return timed(run)


# -- report ---------------------------------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def row(name: str, timing: Timing, count: int, unit: str) -> str:
    return (
        f"  {name:<28} {timing.seconds:7.2f} s {count / timing.seconds:9.0f} {unit}/s"
        f"   CPU {timing.cpu / count * 1e6:6.0f} us per {unit[:-1]}"
    )


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def ratio_line(name: str, values: Sequence[float], target: str = "") -> str:
    figures = spread(values)
    rounds = ", ".join(f"{v:.2f}" for v in values)
    return (
        f"{name}: {figures['median']:.2f} (min-max {figures['min']:.2f}-{figures['max']:.2f}; rounds {rounds}){target}"
    )


def rotated(order: list[T], round_number: int) -> list[T]:
    shift = round_number % len(order)
    return order[shift:] + order[:shift]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kafka", default="127.0.0.1:9092")
    parser.add_argument("--es", default="http://127.0.0.1:9200")
    parser.add_argument("--messages", type=int, default=20000, help="articles published a side and round")
    parser.add_argument("--articles", type=int, default=10000, help="enriched articles indexed a side and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=None, help="articles a bulk request (the stage's batch)")
    parser.add_argument("--skip", choices=["publish", "index"], help="leave one comparison out")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "paths.json")
    args = parser.parse_args()

    run = f"bench-paths-{uuid.uuid4().hex[:8]}"
    settings = load_settings(kafka=args.kafka, es=args.es)
    batch_size = args.batch_size or settings.batch_size
    result: dict[str, Any] = {
        "command": " ".join([os.path.relpath(sys.executable, REPO), *sys.argv]),
        "machine": f"{os.cpu_count()} cores, {sys.platform}, Python {sys.version.split()[0]}",
        "rounds": args.rounds,
        "load_before": load_average(),
    }
    print(f"run {run}; load average before: {result['load_before']}")
    if args.skip != "publish":
        result["publish"] = publish_comparison(args, settings, run)
    if args.skip != "index":
        result["index"] = index_comparison(args, settings, run, batch_size)
    result["load_after"] = load_average()
    print(f"load average after: {result['load_after']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def publish_comparison(args: argparse.Namespace, settings: Settings, run: str) -> dict[str, Any]:
    corpus = publish_corpus(args.messages)
    freeze_heap()
    count = len(corpus.articles)
    size = sum(len(value) for raw, _ in corpus.batches for _, value in raw)
    print(
        f"\npublish: {count} articles ({size / count / 1024:.1f} kB each encoded) in {len(corpus.feeds)} feeds, "
        f"{len(corpus.batches)} publisher batches; {settings.topic_partitions} partitions a topic"
    )
    sides = {
        "kafka-python": Side("kafka-python", "msgs"),
        "wrapper": Side("our producer, pre-encoded", "msgs"),
        "ingest": Side("ingest publisher", "msgs"),
    }
    bus = open_bus(settings, embedded=False, client_id="newswire-bench")
    topics: dict[str, tuple[str, str]] = {}
    for key in sides:
        names = {
            name: f"{run}.{key}.{name}" for name in ("topic_raw", "topic_feeds", "topic_enriched", "topic_deadletter")
        }
        wanted = {names["topic_raw"], names["topic_feeds"]}
        specs = [spec for spec in pipeline_topics(load_settings(kafka=args.kafka, **names)) if spec.name in wanted]
        bus.ensure_topics(specs)
        topics[key] = (names["topic_raw"], names["topic_feeds"])
    encoding: list[Timing] = []
    with tempfile.TemporaryDirectory() as folder:
        runners: dict[str, Callable[[], Timing]] = {
            "kafka-python": lambda: publish_reference(bus, topics["kafka-python"], corpus),
            "wrapper": lambda: publish_wrapper(bus, topics["wrapper"], corpus),
            "ingest": lambda: publish_ingest(bus, topics["ingest"], corpus, Path(folder)),
        }
        for round_number in range(args.rounds):
            print(f"round {round_number + 1} (load {load_average()})")
            for key in rotated(list(sides), round_number):
                timing = runners[key]()
                sides[key].timings.append(timing)
                print(row(sides[key].name, timing, count, "msgs"))
            encoding.append(encode_only(corpus))
            print(row("encode_raw alone", encoding[-1], count, "msgs"))
    for raw, feeds in topics.values():
        for topic, expected in ((raw, count), (feeds, len(corpus.feeds))):
            stored = sum(bus.end_offsets(topic).values())
            if stored != expected * args.rounds:
                raise SystemExit(f"{topic} holds {stored} messages, not {expected * args.rounds}")
    bus.close()

    reference = sides["kafka-python"].timings
    ours = sides["ingest"].timings
    wrapper = sides["wrapper"].timings
    ingest_ratios = [r.seconds / o.seconds for r, o in zip(reference, ours, strict=True)]
    wrapper_ratios = [r.seconds / w.seconds for r, w in zip(reference, wrapper, strict=True)]
    cpu_ratios = [r.cpu / o.cpu for r, o in zip(reference, ours, strict=True)]
    encode_share = [e.seconds / o.seconds for e, o in zip(encoding, ours, strict=True)]
    print(f"medians over {args.rounds} rounds:")
    for side in sides.values():
        print(f"  {side.name:<28} {side.median_rate(count):9.0f} msgs/s")
    print(ratio_line("ingest publisher / kafka-python (messages/s)", ingest_ratios))
    print(ratio_line("  the same on CPU time", cpu_ratios))
    print(ratio_line("our producer, pre-encoded / kafka-python", wrapper_ratios))
    print(ratio_line("encode_raw's share of the publisher's time", encode_share))
    left = [name for pair in topics.values() for name in pair]
    print(f"topics left on the broker (the bus cannot delete topics): {', '.join(left)}")
    return {
        "messages": count,
        "bytes_per_message": round(size / count),
        "batches": len(corpus.batches),
        "partitions": settings.topic_partitions,
        "messages_per_s": {key: round(side.median_rate(count)) for key, side in sides.items()},
        "seconds": {key: [round(t.seconds, 3) for t in side.timings] for key, side in sides.items()},
        "ingest_over_kafka_python": spread(ingest_ratios),
        "ingest_over_kafka_python_cpu": spread(cpu_ratios),
        "wrapper_over_kafka_python": spread(wrapper_ratios),
        "encode_share_of_ingest": spread(encode_share),
        "topics_left": left,
    }


def index_comparison(args: argparse.Namespace, settings: Settings, run: str, batch_size: int) -> dict[str, Any]:
    articles = enriched_articles(args.articles, settings)
    freeze_heap()
    count = len(articles)
    print(
        f"\nindex: {count} enriched articles, {sum(len(a.entities) for a in articles) / count:.1f} entities each, "
        f"bulk requests of {batch_size}; Elasticsearch at {settings.es_url}"
    )
    sides = {
        "ready": Side("helpers.bulk, ready docs", "docs"),
        "building": Side("helpers.bulk + document()", "docs"),
        "ours": Side("SearchStore.upsert", "docs"),
    }
    building_documents: list[Timing] = []
    client = Elasticsearch(settings.es_url, request_timeout=30.0, max_retries=0)
    stores: list[ElasticsearchStore] = []
    try:
        for round_number in range(args.rounds):
            store = ElasticsearchStore(settings.es_url, alias=f"{run}-r{round_number + 1}")
            stores.append(store)
            store.ensure_ready()
            index_round = IndexRound(store, client, articles, batch_size)
            runners = {"ready": index_round.ready, "building": index_round.building, "ours": index_round.ours}
            print(f"round {round_number + 1} (load {load_average()})")
            for key in rotated(list(sides), round_number):
                timing = runners[key]()
                sides[key].timings.append(timing)
                print(row(sides[key].name, timing, count, "docs"))
            building_documents.append(index_round.documents_only())
            print(row("document() alone", building_documents[-1], count, "docs"))
            store.drop()
    finally:
        for store in stores:
            store.drop()
            store.close()
        client.close()

    ready, building, ours = (sides[key].timings for key in ("ready", "building", "ours"))
    headline = [r.seconds / o.seconds for r, o in zip(ready, ours, strict=True)]
    write_only = [r.seconds / (o.seconds - d.seconds) for r, o, d in zip(ready, ours, building_documents, strict=True)]
    same_work = [b.seconds / o.seconds for b, o in zip(building, ours, strict=True)]
    cpu = [r.cpu / o.cpu for r, o in zip(ready, ours, strict=True)]
    print(f"medians over {args.rounds} rounds:")
    for side in sides.values():
        print(f"  {side.name:<28} {side.median_rate(count):9.0f} docs/s")
    print(ratio_line("SearchStore.upsert / helpers.bulk, ready docs", headline, "  (target >= 0.90)"))
    print(ratio_line("  the same on CPU time", cpu))
    print(ratio_line("write only: upsert less its document() time / ready docs", write_only))
    print(ratio_line("same work: upsert / helpers.bulk + document()", same_work))
    return {
        "articles": count,
        "batch_size": batch_size,
        "docs_per_s": {key: round(side.median_rate(count)) for key, side in sides.items()},
        "seconds": {key: [round(t.seconds, 3) for t in side.timings] for key, side in sides.items()},
        "document_only_docs_per_s": round(count / statistics.median(d.seconds for d in building_documents)),
        "upsert_over_ready_docs": spread(headline),
        "upsert_over_ready_docs_cpu": spread(cpu),
        "write_only_over_ready_docs": spread(write_only),
        "upsert_over_helpers_with_document": spread(same_work),
        "target": ">= 0.90 (upsert over ready docs)",
    }


if __name__ == "__main__":
    sys.exit(main())
