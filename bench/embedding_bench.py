"""Sentence-embedding cost: load time, texts a second on one core, memory the model adds; integer against float.

    .venv/bin/python -m bench.embedding_bench [--texts 512] [--batch-size 8]

Run it in a fresh process (the load time is that of a cold process, with the files in the page cache; the integer
model's is that of a machine that has derived it before, see :mod:`newswire.processors.quantize`). The texts are
the demo articles (``bench/corpus.py``) as storyline linking embeds them: title plus summary, and title plus the
first 300 characters of the article. One text at a time is the reference run: the batching gain of the float model
is printed as a ratio, and so is the integer model's speed against the float model's, one text at a time each (as
the storyline tracker embeds), with the least cosine between their vectors of the same text.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import psutil

from bench.corpus import scaled
from newswire.errors import EnrichmentError
from newswire.processors.embedding import MiniLmEmbedder, TextEmbedder


def _mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


def _rate(embedder: TextEmbedder, texts: list[str], *, one_at_a_time: bool = False) -> tuple[float, float]:
    """Texts a second of wall time and of this process's CPU time (the second stays honest on a busy machine)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    if one_at_a_time:
        for text in texts:
            embedder.embed([text])
    else:
        embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started), len(texts) / (time.process_time() - cpu_started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    articles = scaled(args.texts)
    kinds = {
        # Demo summaries run from 15 to 170 words: each text is cut (or topped up from the article) to the usual 40.
        "title + summary": [
            " ".join(f"{article.title}. {article.summary} {article.content}".split()[:40]) for article in articles
        ],
        "title + 300 chars": [f"{article.title}. {article.content[:300]}" for article in articles],
    }
    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    try:  # onnxruntime and tokenizers are imported here, so this is the whole cost of a cold start
        embedder = MiniLmEmbedder(batch_size=args.batch_size, integer=False)
    except EnrichmentError as exc:
        raise SystemExit(f"embedding_bench: {exc}") from exc
    loaded = time.perf_counter()
    rss_loaded = process.memory_info().rss
    print(f"load {loaded - started:.2f} s (imports included), model {embedder.name}")

    started = time.perf_counter()
    integer = MiniLmEmbedder()  # derived on this machine's first load (a child process); here most likely cached
    print(f"integer model: load {time.perf_counter() - started:.2f} s, {integer.name}")

    for kind, texts in kinds.items():
        words = statistics.mean(len(text.split()) for text in texts)
        embedder.embed(texts[:32])  # warm-up: the first run allocates ONNX Runtime's buffers
        integer.embed(texts[:32])
        single = _rate(embedder, texts[:128], one_at_a_time=True)
        batched = _rate(embedder, texts)
        single_integer = _rate(integer, texts[:128], one_at_a_time=True)
        cosines = (embedder.embed(texts[:128]) * integer.embed(texts[:128])).sum(axis=1)
        print(
            f"{kind}: {words:.0f} words; float batch {args.batch_size}: "
            f"{batched[0]:.0f} texts/s ({batched[1]:.0f} per CPU s), "
            f"one at a time: {single[0]:.0f} texts/s ({single[1]:.0f} per CPU s), ratio {batched[1] / single[1]:.2f}; "
            f"integer one at a time: {single_integer[0]:.0f} texts/s ({single_integer[1]:.0f} per CPU s), "
            f"{single_integer[1] / single[1]:.2f} times float; least cosine to float {cosines.min():.4f}"
        )
    vectors = embedder.embed(kinds["title + summary"][:8])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    rss_after = process.memory_info().rss
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    print(
        f"RSS: {_mib(rss_before)} before import, +{_mib(rss_loaded - rss_before)} after load, "
        f"+{_mib(rss_after - rss_before)} after embedding; peak {_mib(peak)} (+{_mib(peak - rss_before)})"
    )


if __name__ == "__main__":
    main()
