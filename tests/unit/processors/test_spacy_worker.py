"""spaCy in a process of its own: the same entities as in-process, failures told and survived, no child left over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from newswire.bus import Record
from newswire.contract import decode_enriched, encode_raw
from newswire.errors import EnrichmentError
from newswire.processors.service import ArticleProcessor, handle_batch
from newswire.processors.spacy_worker import LocalSpans, SpacyWorker
from newswire.settings import load_settings
from tests.processes import alive

TEXTS = [
    "Yevgeny Prigozhin said on Saturday that Wagner fighters had taken the military headquarters in Rostov-on-Don.",
    "Vladimir Putin called the mutiny a stab in the back in a televised address from Moscow.",
    "Sergei Shoigu and Valery Gerasimov were not seen in public, the Kremlin said.",
    "",
    "Alexander Lukashenko of Belarus brokered a deal; the World Health Organization (WHO) said nothing.",
    "Markets in Frankfurt and London rose.",
] * 3


@pytest.fixture(scope="module")
def worker() -> Any:
    spans = SpacyWorker(load_settings().spacy_model)
    yield spans
    spans.close()


def _child(worker: SpacyWorker) -> Any:
    return worker._process  # the test kills and watches the child itself


def test_the_child_reads_the_same_spans_as_the_pipeline_in_this_process(worker, nlp_and_aliases):
    nlp, _ = nlp_and_aliases
    chunks = [TEXTS[:5], TEXTS[5:11], [], TEXTS[11:]]
    assert list(worker.chunks(len(chunks), chunks.__getitem__)) == list(
        LocalSpans(nlp).chunks(len(chunks), chunks.__getitem__)
    )
    assert worker.lang == str(nlp.lang)
    assert worker.model_version == LocalSpans(nlp).model_version


def test_a_processor_on_the_child_enriches_as_one_on_this_process(worker, nlp_and_aliases, article_factory):
    nlp, aliases = nlp_and_aliases
    settings = load_settings()
    # Forty articles: more than two chunks, and an entity memory carried from chunk to chunk and batch to batch.
    articles = [article_factory(title=f"Report {n}", content=TEXTS[n % len(TEXTS)]) for n in range(40)]
    here = ArticleProcessor(settings, nlp=nlp, aliases=aliases)
    there = ArticleProcessor(settings, aliases=aliases, spans=worker)
    for batch in (articles[:37], articles[37:]):
        local, remote = here.enrich(batch), there.enrich(batch)
        assert [(a.entities, a.topics, a.language) for a in remote] == [
            (a.entities, a.topics, a.language) for a in local
        ]
    assert any(article.entities for article in local)


def test_an_error_inside_spacy_names_itself_and_the_child_goes_on(worker):
    child = _child(worker).pid
    # Not a text: spaCy raises inside the child (E1041), as a model that fails on some input would.
    with pytest.raises(EnrichmentError, match=r"spaCy failed: ValueError: \[E1041\]"):
        list(worker.chunks(2, [[TEXTS[0]], [12345]].__getitem__))  # type: ignore[list-item]
    assert next(iter(worker.chunks(1, lambda _: TEXTS[:2])))[0]
    assert _child(worker).pid == child


def test_a_batch_that_fails_in_the_child_is_retried_article_by_article(worker, article_factory):
    processor = ArticleProcessor(load_settings(), spans=_FailingOn("POISON", worker))
    good = [article_factory(title=f"Prigozhin leaves Rostov-on-Don {n}") for n in range(3)]
    poison = article_factory(title="POISON in the pipeline")
    records = [
        Record("news.raw", 0, offset, article.id.encode(), encode_raw(article), 0)
        for offset, article in enumerate([good[0], poison, good[1], good[2]])
    ]
    outcome = handle_batch(processor, records, "news.enriched")
    assert [decode_enriched(output.value).id for output in outcome.outputs] == [article.id for article in good]
    assert [rejection.record.offset for rejection in outcome.rejections] == [1]
    assert "E1041" in outcome.rejections[0].reason


class _FailingOn:
    """The worker, handed a text it cannot read (a number) in place of any text containing ``word``."""

    def __init__(self, word: str, worker: SpacyWorker) -> None:
        self.word, self.worker = word, worker
        self.lang, self.model_version = worker.lang, worker.model_version

    @property
    def generation(self) -> int:
        return self.worker.generation

    def chunks(self, count: int, texts: Any) -> Any:
        return self.worker.chunks(count, lambda number: [0 if self.word in text else text for text in texts(number)])

    def warm_up(self, batch_size: int) -> None:
        self.worker.warm_up(batch_size)

    def close(self) -> None:
        """The module's worker is closed by its fixture."""


def test_a_child_that_dies_while_reading_is_an_enrichment_error_and_the_next_call_starts_another(worker):
    child = _child(worker)
    long_text = " ".join(TEXTS[:5]) * 4
    # About half a minute of reading for the child: it is killed long before the answer.
    threading.Timer(0.5, os.kill, (child.pid, signal.SIGKILL)).start()
    with pytest.raises(EnrichmentError, match=r"ended while reading texts \(exit code -9\)"):
        list(worker.chunks(1, lambda _: [long_text] * 1000))
    assert next(iter(worker.chunks(1, lambda _: TEXTS[:2])))[0]  # a new child, and it finds Prigozhin
    assert _child(worker).pid != child.pid


def test_a_child_that_died_between_batches_is_replaced_before_the_next(worker):
    child = _child(worker)
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    assert next(iter(worker.chunks(1, lambda _: TEXTS[:2])))[0]
    assert _child(worker).pid != child.pid


def test_a_processor_killed_with_sigkill_leaves_no_spacy_process_behind(tmp_path):
    code = (
        "import os, signal, sys\n"
        "from newswire.processors.spacy_worker import SpacyWorker\n"
        f"worker = SpacyWorker({load_settings().spacy_model!r})\n"
        "print(worker._process.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == -signal.SIGKILL
    child = int(done.stdout.split()[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and alive(child):
        time.sleep(0.2)
    assert not alive(child), f"the spaCy process {child} outlived its processor"


@pytest.mark.timeout(120)  # a hang guard: without the sender's failure told, the call would wait 600 s
def test_a_chunk_that_cannot_be_made_fails_the_call_and_the_worker_goes_on(worker):
    def texts(number: int) -> list[str]:
        if number == 1:
            raise ValueError("no texts for chunk 1")
        return TEXTS[:2]

    with pytest.raises(ValueError, match="no texts for chunk 1"):
        list(worker.chunks(3, texts))
    assert next(iter(worker.chunks(1, lambda _: TEXTS[:2])))[0]


@pytest.mark.timeout(120)  # a hang guard: an answer dropped as nobody's would leave its reader waiting 600 s
def test_calls_under_way_at_once_get_their_own_answers_in_whatever_order_they_are_read(worker, nlp_and_aliases):
    nlp, _ = nlp_and_aliases
    local = LocalSpans(nlp)
    first = [TEXTS[:4], TEXTS[4:9]]
    second = [TEXTS[9:12], TEXTS[12:]]
    given_up = worker.chunks(2, [TEXTS[:3], TEXTS[3:6]].__getitem__)
    early = worker.chunks(len(first), first.__getitem__)
    late = worker.chunks(len(second), second.__getitem__)
    given_up.close()  # asked for, then nobody waits for it: its answers are dropped, not taken for another's
    assert list(late) == list(local.chunks(len(second), second.__getitem__))  # the later call read first
    assert list(early) == list(local.chunks(len(first), first.__getitem__))
    assert not worker._kept  # nothing left waiting for a reader


class _Counting:
    """A span source that counts the calls, as a worker whose every call is a batch read."""

    def __init__(self, worker: SpacyWorker) -> None:
        self.worker, self.calls = worker, 0
        self.lang, self.model_version = worker.lang, worker.model_version

    @property
    def generation(self) -> int:
        return self.worker.generation

    def chunks(self, count: int, texts: Any) -> Any:
        self.calls += 1
        return self.worker.chunks(count, texts)

    def close(self) -> None:
        """The module's worker is closed by its fixture."""


def test_a_processor_reads_a_batch_given_ahead_once_and_enriches_it_as_without(
    worker, nlp_and_aliases, article_factory
):
    nlp, aliases = nlp_and_aliases
    settings = load_settings()
    articles = [article_factory(title=f"Report {n}", content=TEXTS[n % len(TEXTS)]) for n in range(40)]
    batches = [articles[:20], articles[20:]]
    plain = ArticleProcessor(settings, nlp=nlp, aliases=aliases)
    expected = [plain.enrich(batch) for batch in batches]
    counting = _Counting(worker)
    ahead = ArticleProcessor(settings, aliases=aliases, spans=counting)
    ahead.prefetch(batches[0])
    ahead.prefetch(batches[1])  # the next batch, asked for before the first is enriched
    ahead.prefetch(batches[0])  # told again: not asked twice
    got = [ahead.enrich(batch) for batch in batches]
    assert counting.calls == 2
    assert [[(a.entities, a.topics) for a in batch] for batch in got] == [
        [(a.entities, a.topics) for a in batch] for batch in expected
    ]
    ahead.prefetch(batches[0])
    assert ahead.enrich(batches[1])  # not the batch given ahead: that one is dropped, this one read now
    assert counting.calls == 4


def test_a_batch_given_ahead_before_the_child_died_is_read_again_by_a_new_child(worker, article_factory):
    counting = _Counting(worker)
    processor = ArticleProcessor(load_settings(), spans=counting)
    batch = [article_factory(title="Prigozhin in Rostov-on-Don", content=TEXTS[0])]
    processor.prefetch(batch)
    child = _child(worker)
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    enriched = processor.enrich(batch)  # not one article at a time: the batch is asked again of a new child
    assert any(entity.name == "Yevgeny Prigozhin" for entity in enriched[0].entities)
    assert counting.calls == 2
    assert _child(worker).pid != child.pid
