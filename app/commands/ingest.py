"""``newswire ingest``: the poller service, on Kafka at ``--kafka`` (or the local default), until stopped.

The feed list it polls lives on the compacted feeds topic; ``newswire feeds ...`` (:mod:`.feeds`) edits it.
"""

from __future__ import annotations

import argparse
from collections import Counter

from newswire.app.metrics import expose_service_metrics
from newswire.app.parts import Default, Parts
from newswire.app.signals import stop_event
from newswire.settings import Settings


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    ingest = subparsers.add_parser(
        "ingest",
        parents=parents,
        help="poll the feeds and publish new articles to the raw topic",
        description="Poll RSS/Atom feeds (the --feeds list, plus those added with `newswire feeds add`) and publish "
        "each new article once. Several pollers share the feeds through a consumer group on the feeds topic.",
    )
    ingest.add_argument("--once", action="store_true", help="poll every feed once and exit")
    ingest.add_argument(
        "--poll-interval",
        dest="poll_interval",
        type=float,
        metavar="SECONDS",
        help="starting interval between polls of a feed [NEWSWIRE_POLL_INTERVAL]",
    )
    ingest.add_argument("--min-poll-interval", dest="min_poll_interval", type=float, metavar="SECONDS")
    ingest.add_argument("--max-poll-interval", dest="max_poll_interval", type=float, metavar="SECONDS")
    ingest.add_argument(
        "--host-fetch-budgets",
        dest="host_fetch_budgets",
        metavar="HOST=STARTS/SECONDS,...",
        help="budgets of particular hosts, e.g. feeds.example.org=10/1; others get --host-fetch-starts per "
        "--host-fetch-seconds [NEWSWIRE_HOST_FETCH_BUDGETS]",
    )
    ingest.add_argument("--host-fetch-starts", dest="host_fetch_starts", type=int, metavar="N")
    ingest.add_argument("--host-fetch-seconds", dest="host_fetch_seconds", type=float, metavar="SECONDS")
    ingest.add_argument(
        "--allow-private-addresses",
        dest="allow_private_addresses",
        action="store_true",
        default=None,
        help="fetch from loopback and private addresses (tests and demos only)",
    )
    ingest.set_defaults(func=_ingest)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from newswire.ingest.service import run_ingest  # noqa: PLC0415 - loads httpx and feedparser

    stop = stop_event()  # set by SIGTERM / SIGINT
    parts = Parts.choose(settings, Default.SERVICE)
    bus = parts.open_bus(settings, client_id="newswire-ingest")
    counters: Counter[str] = Counter()
    expose_service_metrics(settings, None, parts, ingest_counters=counters)
    try:
        run_ingest(settings, bus, stop, once=args.once, counters=counters)
    finally:
        bus.close()
    return 0
