"""``newswire search`` and ``newswire subscribe``: reading what the pipeline produced.

Which store and bus: the rule of :mod:`newswire.app.parts` with its ``FIND`` default. With ``--es`` (or
``NEWSWIRE_ES``) search asks Elasticsearch, with ``--kafka`` subscribe reads Kafka; without them both use the
embedded store and bus in the data directory when ``newswire run`` made one there, and the local services otherwise.
``--embedded`` forces the embedded ones. The ``--json`` documents are those of :mod:`newswire.views`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from newswire.app.entity_names import canonical_entities
from newswire.app.parts import Default, Parts
from newswire.app.signals import stop_event
from newswire.bus import Record, pipeline_topics
from newswire.contract import EnrichedArticle, decode_enriched
from newswire.errors import ContractError
from newswire.highlight import highlight_text
from newswire.names import topic_name
from newswire.query import parse_query, positive_tokens
from newswire.search import SearchQuery, SearchResult, SearchStore, with_current_storyline
from newswire.settings import Settings
from newswire.views import matched_entities, result_as_json

logger = logging.getLogger(__name__)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    search = subparsers.add_parser(
        "search",
        parents=parents,
        help="search the index: ranked hits with source, date, title and matched entities",
        description='Query language: words (all must match), "a phrase", OR, -word or NOT word, (groups), prefix*.',
    )
    search.add_argument("query", nargs="?", default="", help='e.g. "wagner mutiny" or \'"Rostov-on-Don" OR Moscow\'')
    add_filter_arguments(search, "only articles")
    search.add_argument("--event", "--story", dest="story_id", help="only articles of this event (story) id")
    search.add_argument("--storyline", dest="storyline_id", help="only articles of this storyline id")
    search.add_argument("--sort", choices=("relevance", "date"), default="relevance")
    search.add_argument("--size", type=int, default=10, help="hits to show [10]")
    search.add_argument("--offset", type=int, default=0, help="hits to skip [0]")
    search.add_argument("--facets", action="store_true", help="also count entities, topics and sources")
    search.add_argument("--histogram", choices=("hour", "day"), help="also count articles per hour or day")
    search.add_argument("--collapse-duplicates", action="store_true", help="hide syndicated copies")
    search.add_argument("--json", action="store_true", help="machine-readable output")
    search.add_argument("--embedded", action="store_true", help="search the embedded store in the data directory")
    search.set_defaults(func=_search)

    subscribe = subparsers.add_parser(
        "subscribe",
        parents=parents,
        help="print enriched articles as JSON lines as they arrive",
        description="Reads the enriched topic from its end (or --from-beginning) in a consumer group of its own.",
    )
    subscribe.add_argument("--entity", action="append", default=[], help="only articles naming this entity")
    subscribe.add_argument("--topic", action="append", default=[], help="only articles with this topic label")
    subscribe.add_argument(
        "--changed",
        action="store_true",
        help="only revisions whose headline or lede changed (each carries `revised`: the old texts and when)",
    )
    subscribe.add_argument("--from-beginning", action="store_true", help="start at the oldest article kept")
    subscribe.add_argument("--max", type=int, default=0, help="stop after this many articles (0: never)")
    subscribe.add_argument("--idle-exit", type=float, default=0.0, help="stop after this many idle seconds (0: never)")
    subscribe.add_argument("--embedded", action="store_true", help="read the embedded bus in the data directory")
    subscribe.set_defaults(func=_subscribe)


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def add_filter_arguments(parser: argparse.ArgumentParser, matching: str) -> None:
    """The filter flags :func:`filters_of` reads; ``matching`` opens their help ("only articles", ...)."""
    when = "(ISO date or date-time, UTC)"
    parser.add_argument("--entity", action="append", default=[], help=f"{matching} naming this entity (repeat)")
    parser.add_argument("--topic", action="append", default=[], help=f"{matching} labelled with this topic (repeat)")
    parser.add_argument("--source", action="append", default=[], help=f"{matching} from this source (repeat)")
    parser.add_argument("--language", help=f"{matching} in this language (ISO 639-1)")
    parser.add_argument("--since", type=_timestamp, help=f"{matching} published at or after {when}")
    parser.add_argument("--until", type=_timestamp, help=f"{matching} published before {when}")


def filters_of(args: argparse.Namespace) -> dict[str, Any]:
    """The query text and exact filters given on the command line (``newswire search`` and ``newswire stories``)."""
    return {
        "text": args.query,
        "entities": canonical_entities(args.entity),
        "topics": tuple(args.topic),
        "sources": tuple(args.source),
        "language": args.language,
        "since": args.since,
        "until": args.until,
    }


def open_store_of(args: argparse.Namespace, settings: Settings) -> SearchStore:
    """The search store the command line and settings point at (see :mod:`newswire.app.parts`)."""
    return Parts.choose(settings, Default.FIND, embedded=args.embedded).open_store(settings)


def _search(args: argparse.Namespace, settings: Settings) -> int:
    tree = parse_query(args.query)  # a syntax error is reported before any connection is made
    query = SearchQuery(
        **filters_of(args),
        story_id=args.story_id,
        storyline_id=args.storyline_id,
        sort=args.sort,
        size=args.size,
        offset=args.offset,
        facets=args.facets,
        histogram=args.histogram,
        collapse_duplicates=args.collapse_duplicates,
    )
    store = open_store_of(args, settings)
    try:
        result = store.search(with_current_storyline(store, query))
    finally:
        store.close()
    wanted, named = set(positive_tokens(tree)), set(query.entities)
    if args.json:
        print(json.dumps(result_as_json(result, wanted, named), ensure_ascii=False, indent=2))
    else:
        print_result(result, wanted, named, offset=args.offset)
    return 0


def print_result(result: SearchResult, query_tokens: set[str], entity_filter: set[str], *, offset: int = 0) -> None:
    shown = f"{offset + 1}-{offset + len(result.hits)}" if result.hits else "none"
    print(f"{result.total} articles match; showing {shown}")
    for rank, hit in enumerate(result.hits, start=offset + 1):
        article = hit.article
        when = article.published.strftime("%Y-%m-%d %H:%M")
        print(f"\n{rank:>3}. {article.title}")
        print(f"     {article.source} · {when} UTC · score {hit.score:.2f}")
        matched = matched_entities(article, query_tokens, entity_filter)
        if matched:
            print(f"     entities: {', '.join(matched)}")
        if hit.highlights:
            print(f"     … {highlight_text(hit.highlights[0])} …")
        if article.url:
            print(f"     {article.url}")
    for name, counts in result.facets.items():
        if counts:
            shown_as = topic_name if name == "topics" else str
            print(f"\n{name}: " + ", ".join(f"{shown_as(f.value)} ({f.count})" for f in counts))
    if result.histogram:
        print("\narticles over time:")
        peak = max(bucket.count for bucket in result.histogram)
        for bucket in result.histogram:
            bar = "#" * max(1, round(40 * bucket.count / peak))
            print(f"  {bucket.start.strftime('%Y-%m-%d %H:%M')}  {bucket.count:>5}  {bar}")


def _subscribe(args: argparse.Namespace, settings: Settings) -> int:
    entities, topics = set(args.entity), set(args.topic)

    def line(record: Record) -> str | None:
        article = decode_enriched(record.value)
        if entities and not entities & {e.name for e in article.entities}:
            return None
        if topics and not topics & {t.label for t in article.topics}:
            return None
        if args.changed and not _headline_or_lede_changed(article):
            return None
        return record.value.decode("utf-8")

    return follow_topic(args, settings, settings.topic_enriched, "newswire-subscribe", line, create=False)


def follow_topic(
    args: argparse.Namespace,
    settings: Settings,
    topic: str,
    client_id: str,
    line: Callable[[Record], str | None],
    *,
    create: bool,
) -> int:
    """Print ``line(record)`` for each record of ``topic`` in a consumer group of its own (``None``: skip it; a
    :class:`ContractError`: skipped with a warning), until stopped, ``args.max`` lines or ``args.idle_exit`` idle
    seconds (``newswire subscribe`` and ``newswire alerts``); with ``create``, the topic is made if missing."""
    stop = stop_event()
    bus = Parts.choose(settings, Default.FIND, embedded=args.embedded).open_bus(settings, client_id=client_id)
    if create:
        bus.ensure_topics(spec for spec in pipeline_topics(settings) if spec.name == topic)
    consumer = bus.consumer([topic], f"{client_id}-{uuid.uuid4().hex[:12]}", from_beginning=args.from_beginning)
    printed, idle_since = 0, time.monotonic()
    try:
        while not stop.is_set():
            records = consumer.poll(100, 0.5)
            if not records:
                if args.idle_exit and time.monotonic() - idle_since >= args.idle_exit:
                    break
                continue
            idle_since = time.monotonic()
            for record in records:
                try:
                    text = line(record)
                except ContractError as exc:
                    logger.warning("skipping %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
                    continue
                if text is None:
                    continue
                sys.stdout.write(text + "\n")
                printed += 1
                if args.max and printed >= args.max:
                    return 0
            sys.stdout.flush()
    except BrokenPipeError:
        return 0
    finally:
        consumer.close()
        bus.close()
    return 0


def _headline_or_lede_changed(article: EnrichedArticle) -> bool:
    """A revision whose title or lede changed; one whose poller no longer knew the old texts counts as changed."""
    revised = article.revised
    if revised is None:
        return False
    return revised.title_changed is not False or revised.lede_changed is not False
