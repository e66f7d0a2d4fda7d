"""The processor's commands: ``newswire process`` (the long-running stage) and ``newswire evaluate``."""

from __future__ import annotations

import argparse
from pathlib import Path

from newswire.app.metrics import expose_service_metrics
from newswire.app.parts import Default, Parts
from newswire.app.signals import stop_event
from newswire.bus import pipeline_topics
from newswire.settings import Settings


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

    evaluate = subparsers.add_parser(
        "evaluate",
        parents=parents,
        help="measure topics, entities, stories and duplicates on the labelled sets; non-zero exit below target",
        description="Run the processor over the labelled evaluation sets (processors/eval/*.jsonl) and print topic "
        "macro-F1, entity precision/recall per label before and after cleaning, story B-cubed F1 and duplicate "
        "precision/recall. Exits 1 when a figure is below its target.",
    )
    evaluate.add_argument("which", nargs="?", default="all", choices=("topics", "entities", "stories", "all"))
    evaluate.add_argument("--eval-dir", type=Path, help="folder with topics.jsonl, entities.jsonl, stories.jsonl")
    evaluate.add_argument("--spacy-model", dest="spacy_model", help="spaCy pipeline [NEWSWIRE_SPACY_MODEL]")
    evaluate.set_defaults(func=run_evaluate)


def run_process(args: argparse.Namespace, settings: Settings) -> int:
    """Run the processor stage until SIGTERM/SIGINT."""
    from newswire.processors.entities import require_model, shared_pipeline  # noqa: PLC0415 - loads spaCy
    from newswire.processors.runtime import prepare_long_run  # noqa: PLC0415
    from newswire.processors.service import build_process_stage  # noqa: PLC0415

    stop = stop_event()
    # A missing model fails here, before anything touches the broker; with spaCy in its worker process, this
    # process never loads it.
    if settings.spacy_worker:
        require_model(settings.spacy_model)
    else:
        shared_pipeline(settings.spacy_model)
    parts = Parts.choose(settings, Default.SERVICE)
    bus = parts.open_bus(settings, client_id="newswire-processor")
    lag_bus = None
    try:
        bus.ensure_topics(pipeline_topics(settings))
        stage = build_process_stage(settings, bus)
        lag_bus = expose_service_metrics(settings, stage, parts)
        prepare_long_run()
        stage.run(stop)
    finally:
        if lag_bus is not None:
            lag_bus.close()
        bus.close()
    return 0


def run_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Print the evaluation figures; 0 when every figure reaches its target, 1 otherwise."""
    from newswire.processors.evaluate import EVAL_DIR, run_evaluations  # noqa: PLC0415
    from newswire.processors.service import ArticleProcessor  # noqa: PLC0415

    reports = run_evaluations(ArticleProcessor(settings), args.which, args.eval_dir or EVAL_DIR)
    print("\n\n".join(report.render() for report in reports))
    failed = [figure.name for report in reports for figure in report.figures if not figure.passed]
    if failed:
        print(f"\nbelow target: {', '.join(failed)}")
        return 1
    return 0
