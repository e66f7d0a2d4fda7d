"""``newswire ingest`` (the poller) and ``newswire feeds ...`` (the feed list and its state).

The feeds live on the compacted feeds topic, so these commands work on the same bus as the pollers: Kafka at
``--kafka`` (or the local default), or, for ``feeds`` commands with no ``--kafka`` when the data directory holds an
embedded bus, that embedded bus (``--embedded`` forces it).
"""

from __future__ import annotations

import argparse
import logging

from newswire.bus import open_bus
from newswire.cli_support import stop_event
from newswire.settings import Settings

logger = logging.getLogger(__name__)


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
        "--allow-private-addresses",
        dest="allow_private_addresses",
        action="store_true",
        default=None,
        help="fetch from loopback and private addresses (tests and demos only)",
    )
    ingest.set_defaults(func=_ingest)
    from newswire.ingest.feeds_commands import add_feeds_commands  # noqa: PLC0415

    add_feeds_commands(subparsers, parents)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from newswire.ingest.service import run_ingest  # noqa: PLC0415 - loads httpx and feedparser

    stop = stop_event()  # set by SIGTERM / SIGINT
    bus = open_bus(settings, embedded=False, client_id="newswire-ingest")
    try:
        run_ingest(settings, bus, stop, once=args.once)
    finally:
        bus.close()
    return 0
