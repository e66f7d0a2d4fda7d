"""``newswire reprocess --since TIME``: enrich again the raw articles written since a time (after a model change, an
alias table change, a fix in the processor).

The raw topic is read from the first message written at or after TIME (Kafka's offsets for that time, or the same
search on the embedded bus) up to its end when the command began, outside any consumer group: the running
processors keep their positions and are not disturbed. Each batch goes through the processor's own handler and stage
loop (outputs and dead letters sent, acknowledged, retried on a bus failure), so the re-enriched articles reach the
enriched topic like any other. They carry the revision of their raw article, and both stores keep the newest
revision with the later write winning a tie, so the indexer replaces the earlier enrichment with the new one and a
repeated reprocess changes nothing more.
"""

from __future__ import annotations

import argparse
import logging
import threading

from newswire.app.commands.deadletters import moment
from newswire.app.parts import Default, Parts
from newswire.app.signals import stop_event
from newswire.bus import Bus, pipeline_topics
from newswire.processors.base import Enricher
from newswire.settings import Settings
from newswire.stage import Stage

logger = logging.getLogger(__name__)


def reprocess(
    bus: Bus, settings: Settings, since_ms: int, stop: threading.Event, *, processor: Enricher | None = None
) -> Stage:
    """Run the processor over the raw topic from ``since_ms`` to its present end; the stage, with its counters."""
    from newswire.processors.service import build_process_stage  # noqa: PLC0415 - loads spaCy

    stage = build_process_stage(settings, bus, processor=processor)
    enricher = stage.processor
    enricher.warm_up(stage.batch_size)
    grouping = enricher.grouping
    if grouping is not None:
        grouping.start()  # the story decisions made so far, so the re-enriched articles join their stories
    try:
        stage.run_over(bus.read(settings.topic_raw, since_ms=since_ms, batch=stage.batch_size), stop)
    finally:
        if grouping is not None:
            grouping.close()
    return stage


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    command = subparsers.add_parser(
        "reprocess",
        parents=parents,
        help="enrich again the raw articles written since a time",
        description="Reads the raw topic from TIME to its present end without a consumer group, enriches every "
        "article again and publishes it to the enriched topic; the indexer replaces the earlier enrichment. Running "
        "processors are not disturbed.",
    )
    command.add_argument("--since", type=moment, required=True, metavar="TIME", help="ISO date or date-time, UTC")
    command.add_argument("--embedded", action="store_true", help="use the embedded bus in the data directory")
    command.add_argument("--batch-size", type=int, dest="batch_size", help="messages per batch [NEWSWIRE_BATCH_SIZE]")
    command.add_argument("--spacy-model", dest="spacy_model", help="spaCy pipeline [NEWSWIRE_SPACY_MODEL]")
    command.set_defaults(func=_reprocess)


def _reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from newswire.processors.entities import require_model, shared_pipeline  # noqa: PLC0415 - loads spaCy

    stop = stop_event()
    # A missing model fails here, before anything is read; with spaCy in its worker process, this one never loads it.
    if settings.spacy_worker:
        require_model(settings.spacy_model)
    else:
        shared_pipeline(settings.spacy_model)
    bus = Parts.choose(settings, Default.FIND, embedded=args.embedded).open_bus(
        settings, client_id="newswire-reprocess"
    )
    try:
        bus.ensure_topics(pipeline_topics(settings))
        stage = reprocess(bus, settings, int(args.since.timestamp() * 1000), stop)
    finally:
        bus.close()
    counters = stage.counters
    print(
        f"reprocessed {counters['consumed']} raw messages since {args.since:%Y-%m-%dT%H:%M:%SZ}: "
        f"{counters['produced']} enriched articles published, {counters['deadlettered']} dead-lettered"
    )
    return 0
