"""``newswire reindex``: rebuild the search index from the enriched topic, then switch searches over in one step.

Elasticsearch: the articles of ``news.enriched`` (all of it, or from ``--since``, the rest copied from the current
index first) are written into a new versioned index (``news-v3-<time>``) while searches and the running indexer
keep using the alias; then the alias moves to the new index in one atomic update. The indexer writes through the
alias, so what it wrote to the old index after the rebuild read the topic is read again from the topic (a catch-up
pass over the messages of the last minutes before the rebuild began, and since), idempotent by revision. The old
index is kept; its name is printed, for the operator to delete.

Embedded store: the same from the embedded bus into a new store file next to the store, whose pages then replace
the store's in one SQLite transaction (readers see the old store or the new, never neither), then the same
catch-up pass.

A message on the topic that is not a valid enriched article is counted and left out (the indexer dead-lettered it
when it first came).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from newswire.app.commands.deadletters import moment
from newswire.app.parts import Default, Parts
from newswire.bus import Bus
from newswire.contract import EnrichedArticle
from newswire.indexer.service import newest_articles
from newswire.search import SearchStore, UpsertResult
from newswire.settings import Settings
from newswire.stage import BatchOutcome

logger = logging.getLogger(__name__)

# How far before the rebuild began the catch-up pass reads again: covers producers whose clocks run behind this one.
CATCH_UP_MARGIN_MS = 60_000

Write = Callable[[Sequence[EnrichedArticle]], UpsertResult]


@dataclass(slots=True)
class Rebuilt:
    """What a reindex read and wrote."""

    read: int = 0
    written: int = 0
    invalid: int = 0
    refused: int = 0
    caught_up: int = 0
    target: str = ""
    left: tuple[str, ...] = ()


def write_topic(bus: Bus, topic: str, since_ms: int | None, write: Write, done: Rebuilt) -> int:
    """Write every valid article of ``topic`` (from ``since_ms``) with ``write``, batch by batch; how many written."""
    written = 0
    for records in bus.read(topic, since_ms=since_ms):
        outcome = BatchOutcome()
        latest = newest_articles(records, outcome)
        done.read += len(records)
        done.invalid += len(outcome.rejections)
        if latest:
            result = write([article for article, _ in latest.values()])
            written += result.written
            done.refused += len(result.rejected)
    return written


def reindex(bus: Bus, store: SearchStore, settings: Settings, *, since: datetime | None = None) -> Rebuilt:
    """Rebuild ``store`` from the enriched topic (see the module); the store must be ready."""
    from newswire.indexer.elasticsearch import ElasticsearchStore  # noqa: PLC0415 - drivers load only when used
    from newswire.indexer.embedded import EmbeddedStore  # noqa: PLC0415

    began_ms = time.time_ns() // 1_000_000
    since_ms = int(since.timestamp() * 1000) if since is not None else None
    done = Rebuilt()
    topic = settings.topic_enriched
    if isinstance(store, ElasticsearchStore):
        target = store.begin_rebuild(seed=since is not None)
        done.written = write_topic(bus, topic, since_ms, lambda batch: store.write_into(target, batch), done)
        done.left = tuple(store.finish_rebuild(target))
        done.target = target
    elif isinstance(store, EmbeddedStore):
        path = store.path.with_name(f"{store.path.stem}.rebuild-{began_ms}{store.path.suffix}")
        rebuilt = EmbeddedStore(path)
        try:
            if since is not None:
                rebuilt.ensure_ready()
                store.refresh()
                rebuilt.replace_with(store)  # the current contents first; the topic since then on top
            rebuilt.ensure_ready()
            done.written = write_topic(bus, topic, since_ms, rebuilt.upsert, done)
            store.replace_with(rebuilt)
        finally:
            rebuilt.close()
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
        done.target = str(store.path)
    else:
        raise TypeError(f"cannot rebuild a {type(store).__name__}")
    catch_up_from = max(began_ms - CATCH_UP_MARGIN_MS, since_ms or 0)
    catch_up = Rebuilt()
    done.caught_up = write_topic(bus, topic, catch_up_from, store.upsert, catch_up)
    return done


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    command = subparsers.add_parser(
        "reindex",
        parents=parents,
        help="rebuild the search index from the enriched topic, then swap searches over atomically",
        description="Reads the enriched topic (from the beginning, or from --since with the rest copied from the "
        "current index) into a new versioned index, then moves the read alias onto it in one atomic update: "
        "searches never fail or see a half-built index. The old index is kept and named.",
    )
    command.add_argument("--embedded", action="store_true", help="rebuild the embedded store from the embedded bus")
    command.add_argument("--since", type=moment, metavar="TIME", help="only messages written at or after TIME")
    command.add_argument("--index-alias", dest="index_alias", metavar="NAME", help="read alias [NEWSWIRE_INDEX_ALIAS]")
    command.set_defaults(func=_reindex)


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    parts = Parts.choose(settings, Default.FIND, embedded=args.embedded)
    store = parts.open_store(settings)
    try:
        store.ensure_ready()
        bus = parts.open_bus(settings, client_id="newswire-reindex")
        try:
            done = reindex(bus, store, settings, since=args.since)
        finally:
            bus.close()
    finally:
        store.close()
    print(
        f"rebuilt {done.target} from {settings.topic_enriched}: {done.read} messages read, {done.written} articles "
        f"written, {done.invalid} not valid articles, {done.refused} refused; {done.caught_up} caught up after the swap"
    )
    if done.left:
        print(f"the alias left {', '.join(done.left)}; delete it when satisfied")
    return 0
