"""``newswire index``: the indexer service, from the enriched topic on Kafka into Elasticsearch, until stopped."""

from __future__ import annotations

import argparse
import logging

from newswire.app.metrics import expose_service_metrics
from newswire.app.parts import Default, Parts
from newswire.app.signals import stop_event
from newswire.bus import pipeline_topics
from newswire.indexer.service import build_index_stage
from newswire.settings import Settings

logger = logging.getLogger(__name__)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    index = subparsers.add_parser(
        "index",
        parents=parents,
        help="index enriched articles from Kafka into Elasticsearch (runs until stopped)",
        description="Creates the index template, the versioned index and its read alias if missing, then writes "
        "every article of the enriched topic to Elasticsearch, committing only what is written. Messages that "
        "cannot be indexed go to the dead-letter topic with the reason. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    index.add_argument("--index-alias", dest="index_alias", metavar="NAME", help="read alias [NEWSWIRE_INDEX_ALIAS]")
    index.add_argument("--group", dest="indexer_group", metavar="GROUP", help="consumer group [NEWSWIRE_INDEXER_GROUP]")
    index.add_argument("--batch-size", dest="batch_size", type=int, metavar="N", help="messages per bulk write [64]")
    index.set_defaults(func=_index)


def _index(args: argparse.Namespace, settings: Settings) -> int:
    stop = stop_event()
    parts = Parts.choose(settings, Default.SERVICE)
    store = parts.open_store(settings)
    try:
        store.ensure_ready()
        bus = parts.open_bus(settings, client_id="newswire-indexer")
        try:
            used = (settings.topic_enriched, settings.topic_deadletter, settings.topic_alerts)
            bus.ensure_topics([topic for topic in pipeline_topics(settings) if topic.name in used])
            stage = build_index_stage(settings, bus, store)
            lag_bus = expose_service_metrics(settings, stage, parts)
            logger.info("indexing %s into %s at %s", settings.topic_enriched, settings.index_alias, settings.es_url)
            try:
                stage.run(stop)
            finally:
                if lag_bus is not None:
                    lag_bus.close()
        finally:
            bus.close()
    finally:
        store.close()
    return 0
