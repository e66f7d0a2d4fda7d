"""Processor throughput against bare spaCy, on the real Kafka broker.

What it measures, in one run on the same generated articles:

1. **bare**: ``nlp.pipe`` over the article texts with exactly the processor's pipeline (entity ruler + NER, the
   same excluded components), in this process: the ceiling;
2. **1 replica**: one ``newswire process`` stage (in a child process) consuming the articles from a raw topic and
   producing enriched ones (decode, boilerplate, language, NER, canonical entities, topics, stories and duplicates
   with the shared state topic, encode, produce, commit);
3. **2 replicas**: two such processes in one consumer group, on a fresh group.

It prints words/s and articles/s of each, the ratio of 1 replica to bare (target >= 0.90), of 2 replicas to 1
(target >= 1.6 on two cores) and each worker's peak RSS (target < 700 MB). A replica's time runs from its first
batch to its last, so model loading and the group join are left out of both sides. Because a shared machine makes
wall-clock figures swing, it also prints CPU time per article (every thread of the process, so the Kafka client's
too) and the ratio on CPU time, with the load average before and after.

    .venv/bin/python bench/processor_bench.py --articles 2000 [--kafka 127.0.0.1:9092]

The articles are generated here from sentence templates (no copied text); the generator is seeded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from newswire.bus import open_bus, pipeline_topics
from newswire.contract import Article, article_id, encode_raw
from newswire.processors.cleaning import mask_boilerplate
from newswire.processors.entities import shared_pipeline
from newswire.processors.service import build_process_stage
from newswire.settings import Settings, load_settings
from newswire.stage import BatchOutcome

PEOPLE = [
    "Yevgeny Prigozhin",
    "Vladimir Putin",
    "Sergei Shoigu",
    "Valery Gerasimov",
    "Alexander Lukashenko",
    "Dmitry Peskov",
    "Maria Lindqvist",
    "Tomas Okafor",
    "Helen Marsh",
    "Rafael Costa",
    "Anika Brandt",
]
PLACES = [
    "Rostov-on-Don",
    "Moscow",
    "Voronezh",
    "Lipetsk",
    "Belarus",
    "Minsk",
    "Bakhmut",
    "Kyiv",
    "Brussels",
    "Lisbon",
    "Seville",
    "Athens",
    "Riverside",
    "Northfield",
]
ORGS = [
    "Wagner Group",
    "the Kremlin",
    "the FSB",
    "the defence ministry",
    "Nordvik Energy",
    "the central bank",
    "Riverside FC",
    "the European Commission",
    "the weather service",
    "the city council",
]
SENTENCES = [
    "{p1} said on {day} that {o1} would not back down, according to a statement published in {g1}.",
    "Fighters loyal to {p1} moved north from {g1} towards {g2}, and armoured vehicles were seen on the highway.",
    "{o1} told reporters in {g1} that the situation was under control and that talks with {p2} were going on.",
    "Shares in {o1} fell {n}% in early trading as investors in {g1} weighed the news from {g2}.",
    "The currency weakened to its lowest level since {month}, traders in {g1} said, and bond yields rose.",
    "{p1}, who has led {o1} for {n} years, met {p2} in {g1} late on {day} to discuss the crisis.",
    "Residents of {g1} were told to stay indoors while police set up checkpoints on the roads to {g2}.",
    "Temperatures in {g1} reached {n}C on {day}, and {o1} issued a heat warning for the weekend.",
    "{o1} won {n}-1 in {g1}, with the captain scoring twice before thousands of fans at the stadium.",
    "The prosecutor in {g1} opened a criminal case, and investigators searched the offices of {o1}.",
    "Analysts said the events in {g1} showed how fragile the relationship between {p1} and {p2} had become.",
    "{p2} called the decision a mistake and said {o1} would answer for it before the courts in {g1}.",
    "The plant in {g1} will employ {n}00 workers and produce batteries for electric cars from {month}.",
    "Hospitals in {g1} prepared for more patients as the heatwave and the crisis in {g2} stretched services.",
]
BOILERPLATE = ["READ MORE: What we know so far", "Most read in World", "Share this article", "Photo: Getty Images"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def generate(count: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    start = datetime(2023, 6, 23, 18, 0, tzinfo=UTC)
    articles = []
    for number in range(count):

        def fill(template: str) -> str:
            return template.format(
                p1=rng.choice(PEOPLE),
                p2=rng.choice(PEOPLE),
                o1=rng.choice(ORGS),
                g1=rng.choice(PLACES),
                g2=rng.choice(PLACES),
                n=rng.randint(2, 45),
                day=rng.choice(DAYS),
                month=rng.choice(MONTHS),
            )

        paragraphs = [fill(rng.choice(SENTENCES)) for _ in range(rng.randint(8, 16))]
        if rng.random() < 0.3:
            paragraphs.insert(rng.randint(1, len(paragraphs)), rng.choice(BOILERPLATE))
        url = f"https://bench.example/{number}"
        published = start + timedelta(minutes=number)
        articles.append(
            Article(
                id=article_id(url),
                url=url,
                feed_url="https://bench.example/rss",
                source="Bench Wire",
                title=fill(rng.choice(SENTENCES))[:90],
                summary=paragraphs[0],
                content="\n".join(paragraphs[1:]),
                published=published,
                fetched=published,
            )
        )
    return articles


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare(settings: Settings, articles: list[Article]) -> dict[str, float]:
    nlp, _ = shared_pipeline(settings.spacy_model)
    texts = [mask_boilerplate(article.text) for article in articles]
    list(nlp.pipe(texts[:50]))  # warm up
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), settings.batch_size):
        for _ in nlp.pipe(texts[start : start + settings.batch_size], batch_size=1000):
            pass
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def worker(settings: Settings) -> None:
    """One replica: run the stage until SIGTERM (sent once the group has handled every article); print its timings.

    The counting is done by the parent, so the worker's time and CPU are the processor's alone.
    """
    bus = open_bus(settings, embedded=False, client_id="newswire-bench")
    nlp, _ = shared_pipeline(settings.spacy_model)  # the one pipeline the stage's processor will use
    times: dict[str, float] = {"spacy_cpu": 0.0}
    pipe = nlp.pipe

    def timed_pipe(texts: Any, **options: Any) -> list[Any]:
        started = time.thread_time()
        docs = list(pipe(texts, **options))
        times["spacy_cpu"] += time.thread_time() - started
        return docs

    nlp.pipe = timed_pipe  # the CPU spaCy itself takes inside the replica, to split the gap to bare
    stage = build_process_stage(settings, bus)
    handle = stage.handle

    def timed(records: Any) -> BatchOutcome:
        times.setdefault("first", time.time())
        times.setdefault("cpu_first", time.process_time())
        outcome = handle(records)
        times["last"] = time.time()
        times["cpu_last"] = time.process_time()
        times["articles"] = times.get("articles", 0) + len(records)
        return outcome

    stage.handle = timed
    signal.signal(signal.SIGTERM, lambda *_: stage.stop())
    print("ready", flush=True)
    stage.run()
    bus.close()
    print(json.dumps({**times, "rss_mb": peak_rss_mb()}), flush=True)


def run_replicas(settings: Settings, replicas: int, expected: int, group: str) -> list[dict[str, float]]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--kafka",
        settings.kafka_servers,
        "--raw",
        settings.topic_raw,
        "--enriched",
        settings.topic_enriched,
        "--group",
        group,
    ]
    bus = open_bus(settings, embedded=False, client_id="newswire-bench-counter")
    consumer = bus.consumer([settings.topic_enriched], f"{group}-counter")
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(replicas)]
    try:
        seen, deadline = 0, time.time() + 1800
        while seen < expected and time.time() < deadline:
            seen += len(consumer.poll(1000, 1.0))
    finally:
        consumer.close()
        bus.close()
        for child in children:
            child.send_signal(signal.SIGTERM)
    results = []
    for child in children:
        out, _ = child.communicate(timeout=300)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def summarise(name: str, seconds: float, articles: int, words: int) -> dict[str, float]:
    figures = {"articles_s": articles / seconds, "words_s": words / seconds}
    print(f"{name:<12} {seconds:8.1f} s  {figures['articles_s']:8.1f} articles/s  {figures['words_s']:9.0f} words/s")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kafka", default="127.0.0.1:9092")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--raw", help=argparse.SUPPRESS)
    parser.add_argument("--enriched", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        settings = load_settings(
            kafka=args.kafka,
            topic_raw=args.raw,
            topic_enriched=args.enriched,
            processor_group=args.group,
            topic_deadletter=args.raw + ".dead",
        )
        worker(settings)
        return 0

    run = f"bench-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        kafka=args.kafka,
        topic_raw=f"{run}.raw",
        topic_deadletter=f"{run}.raw.dead",
        topic_feeds=f"{run}.feeds",
        topic_partitions=2,
    )
    articles = generate(args.articles)
    words = sum(len(article.text.split()) for article in articles)
    print(f"{len(articles)} articles, {words} words ({words / len(articles):.0f} a piece); topics {run}.*")

    bus = open_bus(settings, embedded=False, client_id="newswire-bench")
    bus.ensure_topics(pipeline_topics(settings))
    producer = bus.producer()
    for article in articles:
        producer.send(settings.topic_raw, article.id.encode(), encode_raw(article))
    producer.close()

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    bare_run = bare(settings, articles)
    reference = summarise("bare spaCy", bare_run["seconds"], len(articles), words)
    cpu_per_article = {0: bare_run["cpu"] / len(articles)}
    spacy_per_article: dict[int, float] = {}
    print(f"{'':12} peak RSS of this process {peak_rss_mb():.0f} MB")

    results: dict[int, dict[str, float]] = {}
    for replicas in (1, 2):
        enriched = f"{run}.enriched.{replicas}"
        bus.ensure_topics(
            [
                *pipeline_topics(
                    load_settings(
                        kafka=args.kafka,
                        topic_raw=settings.topic_raw,
                        topic_enriched=enriched,
                        topic_deadletter=f"{run}.raw.dead",
                        topic_feeds=f"{run}.feeds",
                        topic_partitions=2,
                    )
                )
            ]
        )
        workers = run_replicas(
            load_settings(kafka=args.kafka, topic_raw=settings.topic_raw, topic_enriched=enriched),
            replicas,
            len(articles),
            f"{run}-group-{replicas}",
        )
        seconds = max(w["last"] for w in workers) - min(w["first"] for w in workers)
        cpu_per_article[replicas] = sum(w["cpu_last"] - w["cpu_first"] for w in workers) / len(articles)
        spacy_per_article[replicas] = sum(w["spacy_cpu"] for w in workers) / len(articles)
        results[replicas] = summarise(f"{replicas} replica{'s' if replicas > 1 else ''}", seconds, len(articles), words)
        print(
            f"{'':12} peak RSS per worker: {', '.join(format(w['rss_mb'], '.0f') + ' MB' for w in workers)}; "
            f"articles per worker: {', '.join(str(int(w.get('articles', 0))) for w in workers)}"
        )
    bus.close()

    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"\nCPU ms per article: bare {cpu_per_article[0] * 1000:.1f}, 1 replica {cpu_per_article[1] * 1000:.1f}, "
        f"2 replicas {cpu_per_article[2] * 1000:.1f} (all threads of each process)"
    )
    print(
        f"of which spaCy inside the replicas: {spacy_per_article[1] * 1000:.1f} (1 replica), "
        f"{spacy_per_article[2] * 1000:.1f} (2 replicas); the rest is the processor's own work and the Kafka client"
    )
    print(f"1 replica / bare spaCy, CPU time:   {cpu_per_article[0] / cpu_per_article[1]:.2f}  (target >= 0.90)")
    print(f"1 replica / bare spaCy, wall clock: {results[1]['articles_s'] / reference['articles_s']:.2f}")
    print(f"2 replicas / 1 replica:  {results[2]['articles_s'] / results[1]['articles_s']:.2f}  (target >= 1.6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
