"""Poison, dead letters and lag, as scenarios run on either bus: tests/unit/test_recovery.py runs them on the embedded
bus, tests/integration/test_recovery_kafka.py on a real Kafka broker. Each takes a bus whose pipeline topics exist.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from newswire.app.commands.deadletters import read_letters, replay
from newswire.app.commands.status import group_lag
from newswire.bus import Bus, Record
from newswire.contract import Article, EnrichedArticle, encode_enriched, encode_raw
from newswire.indexer.service import index_handler
from newswire.processors.base import Enricher
from newswire.search import SearchQuery, SearchResult, SearchStore, StoriesResult, StoryQuery, UpsertResult
from newswire.settings import Settings
from newswire.stage import PAYLOAD_CUT_MARK, BatchOutcome, Output, Rejection, Stage
from tests.factories import article_factory, enriched_factory


class MemoryStore(SearchStore):
    """Keeps the newest revision of each article; refuses the ids in ``refuse`` as a mapping would, until fixed."""

    def __init__(self, refuse: Sequence[str] = ()) -> None:
        self.articles: dict[str, EnrichedArticle] = {}
        self.refuse = set(refuse)
        self.writes = 0

    def ensure_ready(self) -> None:
        pass

    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        rejected = tuple(
            (a.id, "mapper_parsing_exception: failed to parse field [entities]")
            for a in articles
            if a.id in self.refuse
        )
        written = 0
        for article in articles:
            if article.id in self.refuse:
                continue
            known = self.articles.get(article.id)
            if known is None or known.revision <= article.revision:
                self.articles[article.id] = article
                written += 1
        self.writes += written
        return UpsertResult(written=written, rejected=rejected)

    def search(self, query: SearchQuery) -> SearchResult:
        raise NotImplementedError

    def stories(self, query: StoryQuery) -> StoriesResult:
        raise NotImplementedError

    def get(self, article_id: str) -> EnrichedArticle | None:
        return self.articles.get(article_id)

    def count(self) -> int:
        return len(self.articles)

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


@contextmanager
def running(stage: Stage) -> Iterator[Stage]:
    stop = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            stage.run(stop)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield stage
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert not failures, failures


def publish(bus: Bus, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
    producer = bus.producer()
    for key, value in messages:
        producer.send(topic, key, value)
    producer.flush()
    producer.close()


def indexer(settings: Settings, bus: Bus, store: SearchStore, *, group: str | None = None) -> Stage:
    return Stage(
        name="indexer",
        bus=bus,
        topics=[settings.topic_enriched],
        group=group or settings.indexer_group,
        handle=index_handler(store),
        deadletter_topic=settings.topic_deadletter,
        batch_size=4,
        poll_timeout=0.2,
    )


def poison_is_dead_lettered_with_reason_and_origin_then_replayed_after_a_fix(settings: Settings, bus: Bus) -> None:
    """Invalid JSON, an unknown schema version and a document the store refuses for its mapping each become one
    letter with reason and origin; the stage goes on; after the fix a replay indexes the refused one, once."""
    good = [enriched_factory() for _ in range(4)]
    refused = enriched_factory()
    newer = json.loads(encode_enriched(enriched_factory()))
    newer["schema"] = "newswire.enriched/9"
    messages: list[tuple[bytes | None, bytes]] = [(a.id.encode(), encode_enriched(a)) for a in good]
    messages.insert(1, (b"cut-off", b'{"schema": "newswire.enriched/2", "id": "'))
    messages.insert(3, (newer["id"].encode(), json.dumps(newer).encode()))
    messages.append((refused.id.encode(), encode_enriched(refused)))
    publish(bus, settings.topic_enriched, messages)
    store = MemoryStore(refuse=[refused.id])

    with running(indexer(settings, bus, store)) as stage:
        wait_until(lambda: stage.counters["consumed"] >= len(messages), "every message to be committed")
    assert stage.counters["deadlettered"] == 3
    assert set(store.articles) == {a.id for a in good}

    letters = {item.letter.origin.key: item for item in read_letters(bus, settings)}
    assert set(letters) == {"cut-off", newer["id"], refused.id}
    assert "not JSON" in letters["cut-off"].letter.reason
    assert "newswire.enriched/9" in letters[newer["id"]].letter.reason
    assert "mapper_parsing_exception" in letters[refused.id].letter.reason
    assert letters[refused.id].letter.error_type == "SearchRejected"
    for item in letters.values():
        origin = item.letter.origin
        assert (item.letter.stage, origin.topic) == ("indexer", settings.topic_enriched)
        assert origin.partition is not None and origin.offset is not None
    assert read_letters(bus, settings, reason="mapper_parsing") == [letters[refused.id]]

    store.refuse.clear()  # the fix: the mapping takes the document now
    first = replay(bus, settings, read_letters(bus, settings, reason="SearchRejected"))
    again = replay(bus, settings, read_letters(bus, settings, reason="SearchRejected"))
    assert (first.replayed, first.skipped) == (1, 0)
    assert (again.replayed, again.skipped) == (0, 1)  # the second replay of the same letter is a no-op
    with running(indexer(settings, bus, store)) as stage:
        wait_until(lambda: refused.id in store.articles, "the replayed article to be indexed")
    assert store.articles[refused.id] == refused
    assert len(read_letters(bus, settings)) == 3  # the replay made no new letter


def a_record_lettered_again_after_a_missed_commit_is_one_letter_replayed_once(settings: Settings, bus: Bus) -> None:
    """A stage that dies after sending a letter and before its commit reads the record again and letters it again
    (at-least-once): the two letters of one origin are listed as one with two copies, and replayed once."""
    refused = enriched_factory()
    other = enriched_factory()
    publish(bus, settings.topic_enriched, [(refused.id.encode(), encode_enriched(refused))])
    publish(bus, settings.topic_enriched, [(other.id.encode(), encode_enriched(other))])
    store = MemoryStore(refuse=[refused.id, other.id])
    # The group that never committed: a second group reads the same records from the start, as the restarted stage
    # reads them again from its last commit.
    for group in (f"{settings.indexer_group}-first", f"{settings.indexer_group}-again"):
        with running(indexer(settings, bus, store, group=group)) as stage:
            wait_until(lambda stage=stage: stage.counters["deadlettered"] >= 2, "both records to be lettered")

    letters = read_letters(bus, settings)
    assert sorted((item.letter.origin.key, item.copies) for item in letters) == sorted([(refused.id, 2), (other.id, 2)])
    assert (
        len({(item.letter.origin.partition, item.letter.origin.offset, item.letter.origin.topic) for item in letters})
        == 2
    )

    store.refuse.clear()
    first = replay(bus, settings, read_letters(bus, settings))
    again = replay(bus, settings, read_letters(bus, settings))
    assert (first.replayed, first.skipped) == (2, 0)
    assert (again.replayed, again.skipped) == (0, 2)
    replayed = [r for batch in bus.read(settings.topic_enriched) for r in batch if r.key == refused.id.encode()]
    assert len(replayed) == 2  # the original and one replay, not one a copy


def oversized_output_and_near_limit_input_are_dead_lettered_and_the_stage_goes_on(settings: Settings, bus: Bus) -> None:
    """An output larger than the bus takes rejects its record (no retry for ever); a record near the limit that is
    rejected gets a letter with the payload cut and the reason kept; the other records flow; a 5 MB message is refused
    at the send."""
    limit = bus.max_message_bytes
    articles = [article_factory() for _ in range(3)]
    huge = article_factory(content="Wagner column nears Moscow. " * (limit // 20))  # enriched, more than the limit
    near = b'{"id": "' + b"x" * (limit - 200) + b'"}'  # fits; its letter, with the envelope, would not
    messages: list[tuple[bytes | None, bytes]] = [(a.id.encode(), encode_raw(a)) for a in articles[:2]]
    messages += [(b"near-limit", near), (huge.id.encode(), json.dumps({"id": huge.id}).encode())]
    messages += [(articles[2].id.encode(), encode_raw(articles[2]))]
    publish(bus, settings.topic_raw, messages)

    def enrich(records: Sequence[Record]) -> BatchOutcome:
        outcome = BatchOutcome()
        for record in records:
            if record.key == b"near-limit":
                outcome.rejections.append(Rejection(record, "not a valid raw message at id: too long", "ContractError"))
            elif record.key == huge.id.encode():  # stands for an article whose enrichment outgrows the bus
                outcome.outputs.append(
                    Output(settings.topic_enriched, record.key, encode_enriched(enriched_factory(huge)))
                )
            else:
                outcome.outputs.append(Output(settings.topic_enriched, record.key, record.value))
        return outcome

    stage = Stage(
        name="processor",
        bus=bus,
        topics=[settings.topic_raw],
        group=settings.processor_group,
        handle=enrich,
        deadletter_topic=settings.topic_deadletter,
        batch_size=2,
        poll_timeout=0.2,
    )
    with running(stage):
        wait_until(lambda: stage.counters["consumed"] >= len(messages), "every message to be committed")
    assert stage.counters["produced"] == 3
    assert stage.counters["deadlettered"] == 2
    assert stage.counters["retries"] == 0
    letters = {item.letter.origin.key: item.letter for item in read_letters(bus, settings)}
    assert letters[huge.id].error_type == "MessageTooLarge"
    assert f"limit of {limit} bytes" in letters[huge.id].reason
    assert letters[huge.id].payload == json.dumps({"id": huge.id})  # the input was small: kept whole
    cut = letters["near-limit"]
    assert cut.reason.startswith("not a valid raw message at id: too long")
    assert PAYLOAD_CUT_MARK in cut.reason and cut.payload.startswith('{"id": "xxx')
    assert replay(bus, settings, read_letters(bus, settings, reason="too long")).cut == 1

    producer = bus.producer()
    try:
        try:
            producer.send(settings.topic_raw, b"five-mb", b"x" * 5_000_000)
        except Exception as exc:
            assert type(exc).__name__ == "MessageTooLarge", exc
        else:
            raise AssertionError("a 5 MB message was taken")
        producer.send(settings.topic_raw, b"after", b"{}")
        producer.flush()  # the refused message did not poison the producer
    finally:
        producer.close()


def lag_grows_while_the_processor_is_away_and_falls_after(settings: Settings, bus: Bus) -> None:
    """``status``'s numbers: the processor group's lag counts what arrived while it was not running, then drops."""
    assert group_lag(bus, "processor", settings.processor_group, settings.topic_raw).lag == 0
    publish(bus, settings.topic_raw, [(a.id.encode(), encode_raw(a)) for a in (article_factory() for _ in range(5))])
    waiting = group_lag(bus, "processor", settings.processor_group, settings.topic_raw)
    publish(bus, settings.topic_raw, [(a.id.encode(), encode_raw(a)) for a in (article_factory() for _ in range(7))])
    more = group_lag(bus, "processor", settings.processor_group, settings.topic_raw)
    assert (waiting.lag, more.lag) == (5, 12)
    assert more.end == 12 and more.committed == 0

    def forward(records: Sequence[Record]) -> BatchOutcome:
        return BatchOutcome(outputs=[Output(settings.topic_enriched, r.key, r.value) for r in records])

    stage = Stage(
        name="processor",
        bus=bus,
        topics=[settings.topic_raw],
        group=settings.processor_group,
        handle=forward,
        deadletter_topic=settings.topic_deadletter,
        batch_size=4,
        poll_timeout=0.2,
    )
    with running(stage):
        wait_until(
            lambda: group_lag(bus, "processor", settings.processor_group, settings.topic_raw).lag == 0,
            "the processor to catch up",
        )
    after = group_lag(bus, "processor", settings.processor_group, settings.topic_raw)
    assert (after.committed, after.end, after.lag) == (12, 12, 0)
    behind = group_lag(bus, "indexer", settings.indexer_group, settings.topic_enriched)
    assert behind.lag == 12  # the indexer has not run: what the processor produced waits for it


class SearchingLoop:
    """Searches ``store`` in a thread until stopped, counting failures and the totals it saw."""

    def __init__(self, store: SearchStore, text: str) -> None:
        self.store = store
        self.query = SearchQuery(text=text, size=5, highlight=False)
        self.failures: list[BaseException] = []
        self.totals: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.totals.append(self.store.search(self.query).total)
            except Exception as exc:
                self.failures.append(exc)

    def __enter__(self) -> SearchingLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


def reindex_rebuilds_from_the_topic_while_searches_run(
    settings: Settings, bus: Bus, store: SearchStore, reader: SearchStore
) -> None:
    """A reindex rebuilds the index from the enriched topic (newer revisions waiting on the topic are in, an article
    that never was on the topic is gone); a search loop on ``reader`` meanwhile never fails and never sees fewer
    articles than were indexed before; a second reindex ``--since`` keeps what came before that time."""
    from newswire.app.commands.reindex import reindex

    articles = [enriched_factory() for _ in range(40)]
    publish(bus, settings.topic_enriched, [(a.id.encode(), encode_enriched(a)) for a in articles])
    with running(indexer(settings, bus, store)) as stage:
        wait_until(lambda: stage.counters["consumed"] >= len(articles), "the indexer to index the topic")
    store.refresh()
    stray = enriched_factory()
    store.upsert([stray])  # in the index but never on the topic
    # Newer revisions on the topic that no indexer has written (it is stopped): the rebuild takes them.
    revised = [a.model_copy(update={"revision": a.revision + 1, "title": f"Revised: {a.title}"}) for a in articles[:5]]
    publish(bus, settings.topic_enriched, [(a.id.encode(), encode_enriched(a)) for a in revised])
    publish(bus, settings.topic_enriched, [(b"broken", b"{nope")])
    store.refresh()

    with SearchingLoop(reader, "Rostov") as loop:
        wait_until(lambda: len(loop.totals) >= 3, "the search loop to start")
        started = len(loop.totals)
        done = reindex(bus, store, settings)
        before = len(loop.totals)
        print(f"searches during the reindex: {before - started}, failed: {len(loop.failures)}")
        wait_until(lambda: len(loop.totals) >= before + 3, "searches after the swap")
    assert loop.failures == []
    assert min(loop.totals) >= len(articles)  # never an empty or half-built index
    assert loop.totals[-1] == len(articles)  # after the swap: the rebuilt index, without the stray article
    assert (done.read, done.invalid, done.written) == (len(articles) + len(revised) + 1, 1, len(articles))
    store.refresh()
    assert store.get(stray.id) is None
    assert store.get(revised[0].id) == revised[0]
    assert store.count() == len(articles)

    time.sleep(1.1)
    since = datetime.now(UTC)
    later = enriched_factory()
    publish(bus, settings.topic_enriched, [(later.id.encode(), encode_enriched(later))])
    again = reindex(bus, store, settings, since=since)
    store.refresh()
    assert again.written == 1 and store.count() == len(articles) + 1
    assert store.get(later.id) == later and store.get(revised[1].id) == revised[1]


class TaggingEnricher(Enricher):
    """Enriches without a model, naming ``model`` in each article's enrichment, so a test sees which run made it."""

    def __init__(self, model: str) -> None:
        self.model = model

    def enrich(self, articles: Sequence[Article]) -> list[EnrichedArticle]:
        return [
            enriched_factory(article, enrichment=enriched_factory().enrichment.model_copy(update={"model": self.model}))
            for article in articles
        ]


def reprocess_re_enriches_what_came_since_a_time_and_the_index_takes_it(
    settings: Settings, bus: Bus, store: SearchStore
) -> None:
    """Articles written before TIME keep their first enrichment; those since get the new one, replacing the old in
    the index (same revision, later write); the processor group's position does not move."""
    from newswire.app.commands.reprocess import reprocess
    from newswire.processors.service import build_process_stage

    early = [article_factory() for _ in range(3)]
    publish(bus, settings.topic_raw, [(a.id.encode(), encode_raw(a)) for a in early])
    time.sleep(1.1)
    since_ms = time.time_ns() // 1_000_000
    late = [article_factory() for _ in range(4)]
    publish(bus, settings.topic_raw, [(a.id.encode(), encode_raw(a)) for a in late])
    publish(bus, settings.topic_raw, [(b"broken", b"{nope")])
    total = len(early) + len(late) + 1

    first = build_process_stage(settings, bus, processor=TaggingEnricher("model-a"))
    first.poll_timeout = 0.2
    with running(first):
        wait_until(lambda: first.counters["consumed"] >= total, "the processor to enrich the topic")
    with running(indexer(settings, bus, store)) as stage:
        wait_until(lambda: stage.counters["consumed"] >= total - 1, "the indexer to index the first enrichment")
    position = bus.committed(settings.processor_group, settings.topic_raw)

    again = reprocess(bus, settings, since_ms, threading.Event(), processor=TaggingEnricher("model-b"))
    assert (again.counters["consumed"], again.counters["produced"], again.counters["deadlettered"]) == (5, 4, 1)
    assert bus.committed(settings.processor_group, settings.topic_raw) == position
    with running(indexer(settings, bus, store)) as stage:
        wait_until(lambda: stage.counters["consumed"] >= len(late), "the indexer to index the second enrichment")
    store.refresh()
    models = {a.id: store.get(a.id).enrichment.model for a in early + late}  # type: ignore[union-attr]
    assert models == {**{a.id: "model-a" for a in early}, **{a.id: "model-b" for a in late}}
    assert store.count() == len(early) + len(late)
