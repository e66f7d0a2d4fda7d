"""Processor throughput against bare spaCy, on the real Kafka broker.

What it measures, in one run on the same generated articles:

1. **bare**: ``nlp.pipe`` over the article texts with exactly the processor's pipeline (entity ruler + NER, the
   same excluded components), in a fresh child process: the ceiling;
2. **1 replica**: one ``newswire process`` stage (in a child process) consuming the articles from a raw topic and
   producing enriched ones (decode, boilerplate, language, NER, canonical entities, topics, stories and duplicates
   with the shared state topic, encode, produce, commit);
3. **2 replicas**: two such processes in one consumer group, on a fresh group.

It prints words/s and articles/s of each, the ratio of 1 replica to bare (target >= 0.80 now that a replica also
embeds each new event for storylines), to **bare + model** (bare spaCy plus the sentence model over as many event
texts, one at a time, as the replica embedded in the same round: the same model work; target >= 0.90), of 2
replicas to 1 (target >= 1.6 on two cores) and each worker's peak RSS (target < 900 MB with the model). A
replica's time runs from its first batch to its last, so model loading and the group join are left out of both
sides. A shared machine makes
wall-clock figures swing by up to a tenth between identical runs, so bare and 1 replica run in alternating
``--rounds`` (each replica on a fresh group and story state) and the median ratio is the figure; each round also
prints CPU time per article (every thread of the process, so the Kafka client's too), the ratio on CPU time, and
spaCy's kernel time and page faults. Both sides start alike, so the ratio is the processor's own cost: a fresh
process (spaCy's vocabulary and the heap grow as new words and larger batches arrive, and in one process reused
across rounds the bare loop would have that done for it), the process settings of ``newswire process``
(:mod:`newswire.processors.runtime`) and its warm-up batch.

    .venv/bin/python bench/processor_bench.py --articles 1500 --rounds 5 [--kafka 127.0.0.1:9092]

The articles are generated here from sentence templates (no copied text); the generator is seeded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from newswire.bus import open_bus, pipeline_topics
from newswire.contract import Article, article_id, encode_raw
from newswire.processors.cleaning import mask_boilerplate
from newswire.processors.embedding import shared_embedder
from newswire.processors.entities import shared_pipeline
from newswire.processors.runtime import prepare_long_run
from newswire.processors.service import WARM_UP_TEXT, build_process_stage, warm_up_pipeline
from newswire.processors.storylines import event_text
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


SYLLABLES = ["var", "hol", "mer", "tes", "sol", "ken", "dra", "lin", "bor", "qua", "nev", "ost", "rim", "ael", "tur"]
EVENT_VERBS = ["floods", "strike", "collapse", "protest", "takeover", "verdict", "fire", "election", "deal", "recall"]
EVENTS_PER_ARTICLE = 0.4  # as in the written evaluation sets: about 2.5 articles an event


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def generate(count: int, seed: int = 7) -> list[Article]:
    """Articles from sentence templates, in events of their own: each event has an invented place, person and
    company named in its headlines, so the grouping opens a new event (and embeds it) for about
    :data:`EVENTS_PER_ARTICLE` of the articles, as on real coverage."""
    rng = random.Random(seed)
    start = datetime(2023, 6, 23, 18, 0, tzinfo=UTC)
    events = max(1, round(count * EVENTS_PER_ARTICLE))
    casts = [
        (_name(rng, 3), f"{_name(rng, 2)} {_name(rng, 3)}", f"{_name(rng, 2)} Holdings", rng.choice(EVENT_VERBS))
        for _ in range(events)
    ]
    articles = []
    for number in range(count):
        place, person, company, kind = casts[min(events - 1, number * events // count)]

        def fill(template: str, place: str = place, person: str = person, company: str = company) -> str:
            return template.format(
                p1=person,
                p2=rng.choice(PEOPLE),
                o1=rng.choice([company, *ORGS]),
                g1=place,
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
                title=f"{place} {kind}: {person} speaks as {company} " + fill(rng.choice(SENTENCES))[:50],
                summary=f"{person} of {company} spoke in {place} about the {kind}. " + paragraphs[0],
                content="\n".join(paragraphs[1:]),
                published=published,
                fetched=published,
            )
        )
    return articles


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def kernel_share() -> tuple[float, int]:
    """This thread's system CPU seconds and minor page faults so far."""
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_stime, usage.ru_minflt


def bare(settings: Settings, articles: list[Article], embeddings: int = 0) -> dict[str, float]:
    """The bare loop, in this process: load, the process settings and the warm-up of a replica, then timed batches;
    with ``embeddings``, also the sentence model over that many event texts, one at a time as the tracker embeds."""
    nlp, _ = shared_pipeline(settings.spacy_model)
    embedder = shared_embedder() if embeddings else None
    prepare_long_run()  # the same process settings as a replica
    warm_up_pipeline(nlp, settings.batch_size)  # as a replica does before its first poll
    if embedder is not None:
        embedder.embed([WARM_UP_TEXT])
    texts = [mask_boilerplate(article.text) for article in articles]
    # event_text reads only the title, summary and content, which a raw article has as an enriched one does
    event_texts = [event_text(article) for article in articles[:embeddings]]  # type: ignore[arg-type]
    started, cpu, (sys_cpu, faults) = time.perf_counter(), time.process_time(), kernel_share()
    model_cpu = 0.0
    for start in range(0, len(texts), settings.batch_size):
        for _ in nlp.pipe(texts[start : start + settings.batch_size], batch_size=1000):
            pass
        if embedder is not None:
            model_started = time.thread_time()
            batch_texts = event_texts[start : start + settings.batch_size]
            for text in batch_texts:
                embedder.embed([text])
            model_cpu += time.thread_time() - model_started
    sys_end, faults_end = kernel_share()
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "sys": sys_end - sys_cpu,
        "faults": faults_end - faults,
        "model_cpu": model_cpu,
    }


def run_bare(count: int, embeddings: int = 0) -> dict[str, float]:
    """The bare loop in a fresh process, as each replica is one: both start with an empty vocabulary and heap."""
    command = [sys.executable, __file__, "--bare", "--articles", str(count), "--embeddings", str(embeddings)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def worker(settings: Settings) -> None:
    """One replica: run the stage until SIGTERM (sent once the group has handled every article); print its timings.

    The counting is done by the parent, so the worker's time and CPU are the processor's alone. With spaCy in the
    replica's worker process (the default), that process's CPU is spaCy's share and counts with the replica's.
    """
    bus = open_bus(settings, embedded=False, client_id="newswire-bench")
    times: dict[str, float] = {"spacy_cpu": 0.0, "spacy_sys": 0.0, "spacy_faults": 0}
    in_process = not settings.spacy_worker
    if in_process:
        nlp, _ = shared_pipeline(settings.spacy_model)  # the one pipeline the stage's processor will use
        pipe = nlp.pipe

        def timed_pipe(texts: Any, **options: Any) -> list[Any]:
            started, (sys_cpu, faults) = time.thread_time(), kernel_share()
            docs = list(pipe(texts, **options))
            sys_end, faults_end = kernel_share()
            times["spacy_cpu"] += time.thread_time() - started
            times["spacy_sys"] += sys_end - sys_cpu
            times["spacy_faults"] += faults_end - faults
            return docs

        nlp.pipe = timed_pipe  # the CPU spaCy itself takes inside the replica, to split the gap to bare
    embedder = shared_embedder()  # the instance the storyline tracker will use
    embed = embedder.embed

    def counted_embed(texts: Any) -> Any:
        if "first" in times:  # the warm-up's call is not counted, as the bare loop's is not
            times["embeddings"] = times.get("embeddings", 0) + len(texts)
        return embed(texts)

    embedder.embed = counted_embed  # type: ignore[method-assign]
    stage = build_process_stage(settings, bus)
    prepare_long_run()  # as ``newswire process`` does
    handle = stage.handle

    def timed(records: Any) -> BatchOutcome:
        if "first" not in times:  # spaCy's figures count from here, as the bare loop's do: not the warm-up
            times.update(spacy_cpu=0.0, spacy_sys=0.0, spacy_faults=0)
            if not in_process:
                times["child_cpu_first"], _, times["child_faults_first"] = _spacy_child()
        times.setdefault("first", time.time())
        times.setdefault("cpu_first", time.process_time())
        outcome = handle(records)
        times["last"] = time.time()
        times["cpu_last"] = time.process_time()
        if not in_process:
            child_cpu, child_rss, child_faults = _spacy_child()
            times["spacy_cpu"] = child_cpu - times["child_cpu_first"]
            times["spacy_faults"] = child_faults - times["child_faults_first"]
            times["child_rss_mb"] = max(times.get("child_rss_mb", 0.0), child_rss)
        times["articles"] = times.get("articles", 0) + len(records)
        times["batches"] = times.get("batches", 0) + 1
        return outcome

    stage.handle = timed
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stage.run(stop)
    bus.close()
    if not in_process:
        times["cpu_last"] += times["spacy_cpu"]  # the two processes are one replica
    print(json.dumps({**times, "rss_mb": peak_rss_mb() + times.get("child_rss_mb", 0.0)}), flush=True)


def _spacy_child() -> tuple[float, float, int]:
    """CPU seconds, peak RSS in MB and minor page faults of this replica's spaCy worker process (0 when none)."""
    cpu, rss, faults = 0.0, 0.0, 0
    for child in psutil.Process().children():
        try:
            used = child.cpu_times()
            cpu += used.user + used.system
            proc = Path(f"/proc/{child.pid}")
            faults += int((proc / "stat").read_text().rsplit(") ", 1)[1].split()[7])
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss += int(line.split()[1]) / 1024
        except (psutil.Error, OSError):
            continue
    return cpu, rss, faults


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


def stage_run(args: argparse.Namespace, run: str, name: str, replicas: int, articles: int) -> dict[str, Any]:
    """Run ``replicas`` workers on a fresh group, enriched topic and story state; their time, CPU and memory."""
    enriched = f"{run}.enriched.{name}"
    bus = open_bus(load_settings(kafka=args.kafka), embedded=False, client_id="newswire-bench")
    bus.ensure_topics(
        pipeline_topics(
            load_settings(
                kafka=args.kafka,
                topic_raw=f"{run}.raw",
                topic_enriched=enriched,
                topic_deadletter=f"{run}.raw.dead",
                topic_feeds=f"{run}.feeds",
                topic_partitions=2,
            )
        )
    )
    bus.close()
    workers = run_replicas(
        load_settings(kafka=args.kafka, topic_raw=f"{run}.raw", topic_enriched=enriched),
        replicas,
        articles,
        f"{run}-group-{name}",
    )
    return {
        "seconds": max(w["last"] for w in workers) - min(w["first"] for w in workers),
        "cpu": sum(w["cpu_last"] - w["cpu_first"] for w in workers),
        "spacy_cpu": sum(w["spacy_cpu"] for w in workers),
        "spacy_sys": sum(w["spacy_sys"] for w in workers),
        "spacy_faults": sum(w["spacy_faults"] for w in workers),
        "rss_mb": [w["rss_mb"] for w in workers],
        "articles": [int(w.get("articles", 0)) for w in workers],
        "embeddings": int(sum(w.get("embeddings", 0) for w in workers)),
        "batches": int(sum(w.get("batches", 0) for w in workers)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kafka", default="127.0.0.1:9092")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="bare / 1 replica pairs; the median ratio is reported")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--embeddings", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--raw", help=argparse.SUPPRESS)
    parser.add_argument("--enriched", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument(
        "--spacy-in-process",
        action="store_true",
        help="replicas run spaCy in their own process (NEWSWIRE_SPACY_WORKER=false) instead of a worker process",
    )
    args = parser.parse_args()
    if args.spacy_in_process:
        os.environ["NEWSWIRE_SPACY_WORKER"] = "false"  # read by the replicas' settings, which inherit it
    if args.bare:
        print(json.dumps(bare(load_settings(), generate(args.articles), args.embeddings)), flush=True)
        return 0
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
    count = len(articles)
    words = sum(len(article.text.split()) for article in articles)
    print(f"{count} articles, {words} words ({words / count:.0f} a piece); topics {run}.*")

    bus = open_bus(settings, embedded=False, client_id="newswire-bench")
    bus.ensure_topics(pipeline_topics(settings))
    producer = bus.producer()
    for article in articles:
        producer.send(settings.topic_raw, article.id.encode(), encode_raw(article))
    producer.close()
    bus.close()

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    pairs: list[tuple[dict[str, float], dict[str, Any]]] = []
    with_model: list[dict[str, float]] = []
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}")
        bare_run = run_bare(count)
        summarise("bare spaCy", bare_run["seconds"], count, words)
        one = stage_run(args, run, f"one-{round_number}", 1, count)
        summarise("1 replica", one["seconds"], count, words)
        model_run = run_bare(count, one["embeddings"])
        summarise("bare + model", model_run["seconds"], count, words)
        with_model.append(model_run)
        print(
            f"{'':12} the replica embedded {one['embeddings']} new events ({one['embeddings'] / count:.2f} an "
            f"article); 1 replica / bare + model {model_run['seconds'] / one['seconds']:.2f} "
            f"(CPU {model_run['cpu'] / one['cpu']:.2f}; the model "
            f"{model_run.get('model_cpu', 0.0) / count * 1000:.1f} CPU ms per article)"
        )
        print(
            f"{'':12} ratio {bare_run['seconds'] / one['seconds']:.2f} (CPU {bare_run['cpu'] / one['cpu']:.2f}); "
            f"CPU ms per article: bare {bare_run['cpu'] / count * 1000:.1f} "
            f"(kernel {bare_run['sys'] / count * 1000:.2f}, "
            f"{bare_run['faults'] / count:.0f} page faults), replica {one['cpu'] / count * 1000:.1f} of which spaCy "
            f"{one['spacy_cpu'] / count * 1000:.1f} (kernel {one['spacy_sys'] / count * 1000:.2f}, "
            f"{one['spacy_faults'] / count:.0f} page faults); peak RSS {one['rss_mb'][0]:.0f} MB; "
            f"{count / max(1, one['batches']):.0f} articles a batch (bare: {settings.batch_size})"
        )
        pairs.append((bare_run, one))
    two = stage_run(args, run, "two", 2, count)
    summarise("2 replicas", two["seconds"], count, words)
    print(
        f"{'':12} peak RSS per worker: {', '.join(format(rss, '.0f') + ' MB' for rss in two['rss_mb'])}; "
        f"articles per worker: {', '.join(str(n) for n in two['articles'])}"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    ratios = sorted(bare_run["seconds"] / one["seconds"] for bare_run, one in pairs)
    cpu_ratios = sorted(bare_run["cpu"] / one["cpu"] for bare_run, one in pairs)
    bare_median = statistics.median(bare_run["seconds"] for bare_run, _ in pairs)
    one_median = statistics.median(one["seconds"] for _, one in pairs)
    print(f"\nmedians over {len(pairs)} rounds:")
    summarise("bare spaCy", bare_median, count, words)
    summarise("1 replica", one_median, count, words)
    model_ratios = sorted(model["seconds"] / one["seconds"] for model, (_, one) in zip(with_model, pairs, strict=True))
    model_cpu_ratios = sorted(model["cpu"] / one["cpu"] for model, (_, one) in zip(with_model, pairs, strict=True))
    summarise("bare + model", statistics.median(model["seconds"] for model in with_model), count, words)
    print(
        f"1 replica / bare spaCy: {statistics.median(ratios):.2f} (rounds {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"CPU time {statistics.median(cpu_ratios):.2f}, rounds {', '.join(f'{r:.2f}' for r in cpu_ratios)})  "
        f"(target >= 0.80)"
    )
    print(
        f"1 replica / bare + model: {statistics.median(model_ratios):.2f} "
        f"(rounds {', '.join(f'{r:.2f}' for r in model_ratios)}; CPU time {statistics.median(model_cpu_ratios):.2f}, "
        f"rounds {', '.join(f'{r:.2f}' for r in model_cpu_ratios)})  (target >= 0.90)"
    )
    print(f"2 replicas / 1 replica: {one_median / two['seconds']:.2f}  (target >= 1.6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
