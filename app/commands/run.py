"""``newswire run`` (the whole pipeline in one process), ``newswire topics`` and ``newswire demo-feeds``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from newswire.app.demo import FeedServer, demo_feeds_dir
from newswire.app.parts import Default, Parts
from newswire.app.pipeline import Pipeline
from newswire.app.signals import stop_event
from newswire.bus import pipeline_topics
from newswire.errors import ConfigError
from newswire.processors.runtime import prepare_long_run
from newswire.settings import Settings


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    run = subparsers.add_parser(
        "run",
        parents=parents,
        help="the whole pipeline in one process (embedded bus and store unless --kafka/--es)",
        description="Polls the feeds, enriches and indexes in one process. With neither --kafka nor --es it needs "
        "no service at all: the bus and the search store are embedded in the data directory.",
    )
    run.add_argument("--demo", action="store_true", help="also serve and poll the demo feeds (on loopback)")
    run.add_argument("--once", action="store_true", help="poll every feed once, wait until indexed, then exit")
    run.add_argument("--poll-interval", dest="poll_interval", type=float, help="seconds between polls of a feed")
    run.set_defaults(func=_run)

    topics = subparsers.add_parser(
        "topics",
        parents=parents,
        help="create the pipeline's Kafka topics if missing (one-shot)",
        description="Creates news.raw, news.enriched, news.deadletter and news.feeds with the configured partitions "
        "and retention; topics that exist are left alone.",
    )
    topics.set_defaults(func=_topics)

    demo = subparsers.add_parser(
        "demo-feeds",
        parents=parents,
        help="serve the demo feeds over HTTP on loopback",
        description="Serves deploy/demo/feeds until stopped and prints the feed URLs.",
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8808)
    demo.add_argument("--dir", type=Path, help="serve this folder instead of the demo feeds")
    demo.set_defaults(func=_demo_feeds)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    stop = stop_event()
    parts = Parts.choose(settings, Default.CREATE)
    server: FeedServer | None = None
    if args.demo:
        server = FeedServer(demo_feeds_dir()).start()
        listed = [url for url in (settings.feeds or "").split(",") if url.strip()] if settings.feeds else []
        if settings.feeds and len(listed) == 1 and not listed[0].startswith(("http://", "https://")):
            raise ConfigError("--demo combines with feed URLs only; list the file's feeds as URLs or drop --demo")
        # The demo server is ours, on loopback: the per-host budget that spares real publishers does not apply.
        budgets = ",".join(filter(None, [settings.host_fetch_budgets, f"{urlsplit(server.base_url).hostname}=1000/1"]))
        settings = settings.model_copy(
            update={
                "feeds": ",".join(listed + server.feed_urls()),
                "allow_private_addresses": True,
                "host_fetch_budgets": budgets,
            }
        )
    if not settings.feeds:
        raise ConfigError("no feeds to poll: give --feeds (OPML file, URL list file or URLs) or --demo")
    print(f"newswire run: {parts.describe(settings)}", file=sys.stderr)
    try:
        pipeline = Pipeline(settings, parts, once=args.once)
        prepare_long_run()
        if parts.embedded_store:
            print(f'search it with: newswire search "wagner mutiny" --data-dir {settings.data_dir}', file=sys.stderr)
        pipeline.run(stop, once=args.once)
    finally:
        if server is not None:
            server.stop()
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    bus = Parts.choose(settings, Default.SERVICE).open_bus(settings, client_id="newswire-topics")
    try:
        specs = pipeline_topics(settings)
        bus.ensure_topics(specs)
    finally:
        bus.close()
    for spec in specs:
        print(f"{spec.name}: {spec.partitions} partitions{' (compacted)' if spec.compacted else ''}")
    return 0


def _demo_feeds(args: argparse.Namespace, settings: Settings) -> int:
    stop = stop_event()
    folder = args.dir or demo_feeds_dir()
    with FeedServer(folder, args.host, args.port) as server:
        for url in server.feed_urls():
            print(url, flush=True)
        stop.wait()
    return 0
