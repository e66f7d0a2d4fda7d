"""The processor's commands: ``newswire process`` (the long-running stage) and ``newswire evaluate``."""

from __future__ import annotations

import argparse
import logging
import threading

from newswire.bus import open_bus, pipeline_topics
from newswire.settings import Settings

logger = logging.getLogger(__name__)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    process = subparsers.add_parser(
        "process",
        parents=parents,
        help="enrich articles from the raw topic with entities, topics and stories, until stopped",
        description="Consume raw articles from Kafka, add named entities (spaCy), topic labels, language, story and "
        "duplicate grouping, and publish them to the enriched topic. Run one per core; replicas share the work "
        "through the consumer group. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    process.add_argument("--batch-size", type=int, dest="batch_size", help="messages per batch [NEWSWIRE_BATCH_SIZE]")
    process.add_argument("--spacy-model", dest="spacy_model", help="spaCy pipeline [NEWSWIRE_SPACY_MODEL]")
    process.add_argument("--group", dest="processor_group", help="consumer group [NEWSWIRE_PROCESSOR_GROUP]")
    process.set_defaults(func=run_process)


def run_process(args: argparse.Namespace, settings: Settings) -> int:
    """Run the processor stage until SIGTERM/SIGINT."""
    from newswire.cli_support import stop_event  # noqa: PLC0415
    from newswire.processors.service import build_process_stage  # noqa: PLC0415 - loads spaCy

    stop = stop_event()
    bus = open_bus(settings, embedded=False, client_id="newswire-processor")
    try:
        bus.ensure_topics(pipeline_topics(settings))
        stage = build_process_stage(settings, bus)

        def stop_on_signal() -> None:
            stop.wait()
            stage.stop()

        threading.Thread(target=stop_on_signal, name="processor-stop", daemon=True).start()
        stage.run()
    finally:
        bus.close()
    return 0
