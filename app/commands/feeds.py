"""``newswire feeds add|enable|status|import|export``: the feed list on the compacted feeds topic.

``feeds status --by-host`` sums the feeds per host: their fetches in the last hour, the throttles the host answered
with, errors, and when the host's budget (``host_fetch_starts`` per ``host_fetch_seconds``, or its own) and
throttle let the next fetch start, as far as the feed records tell.

These commands write command records (``add``, ``enable``) that the poller owning the feed applies, and read the
whole topic (from the beginning, with a throwaway consumer group) to show the feeds and their state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from newswire.app.parts import Default, Parts
from newswire.bus import Bus, pipeline_topics
from newswire.errors import ConfigError, FeedError
from newswire.ingest.base import Feed, FeedConfig
from newswire.ingest.directory import ADD, ENABLE, FeedDirectory, command_record
from newswire.ingest.opml import check_feed_url, read_feed_file, to_opml
from newswire.ingest.politeness import HostLedger, host_report
from newswire.settings import Settings


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    feeds = subparsers.add_parser("feeds", help="list, add, enable, import and export feeds")
    actions = feeds.add_subparsers(dest="feeds_action", metavar="ACTION", required=True)
    bus_choice = argparse.ArgumentParser(add_help=False)
    bus_choice.add_argument("--embedded", action="store_true", help="use the embedded bus in the data directory")
    parents = [*parents, bus_choice]

    add = actions.add_parser("add", parents=parents, help="add a feed, or the feeds a site's page links to")
    add.add_argument("url", help="a feed URL or a site address (its <link rel=alternate> feeds are found)")
    add.add_argument("--title", help="the outlet's name (default: the feed's title)")
    add.add_argument("--all", action="store_true", help="add every feed the page links to, not only the first")
    add.add_argument("--full-text", action="store_true", help="fetch each article's page for its full text")
    add.add_argument("--ignore-validators", action="store_true", help="never send conditional headers")
    add.add_argument("--allow-private-addresses", dest="allow_private_addresses", action="store_true", default=None)
    add.set_defaults(func=_add)

    enable = actions.add_parser("enable", parents=parents, help="re-enable a feed that was disabled")
    enable.add_argument("url")
    enable.set_defaults(func=_enable)

    status = actions.add_parser("status", parents=parents, help="per feed: last fetch, status, errors, next poll")
    status.add_argument("--json", action="store_true", help="one JSON object per feed (or per host)")
    status.add_argument(
        "--by-host", action="store_true", help="per host: feeds, fetches in the last hour, throttles, next fetch"
    )
    status.add_argument(
        "--host-fetch-budgets",
        dest="host_fetch_budgets",
        metavar="HOST=STARTS/SECONDS,...",
        help="the pollers' per-host budgets, for the next allowed fetch [NEWSWIRE_HOST_FETCH_BUDGETS]",
    )
    status.set_defaults(func=_status)

    imports = actions.add_parser("import", parents=parents, help="add the feeds of an OPML or URL-list file")
    imports.add_argument("file", type=Path)
    imports.set_defaults(func=_import)

    export = actions.add_parser("export", parents=parents, help="write the feeds as OPML")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=_export)


def _bus(args: argparse.Namespace, settings: Settings) -> Bus:
    parts = Parts.choose(settings, Default.FIND, embedded=getattr(args, "embedded", False))
    bus = parts.open_bus(settings, client_id="newswire-feeds")
    bus.ensure_topics(spec for spec in pipeline_topics(settings) if spec.name == settings.topic_feeds)
    return bus


def read_feeds(bus: Bus, settings: Settings) -> dict[str, Feed]:
    """Every feed on the feeds topic with its latest state, by key: the topic read to its end as it is now, outside
    any consumer group (an empty topic is read at once, not waited on)."""
    directory = FeedDirectory(settings.topic_feeds)
    for records in bus.read(settings.topic_feeds):
        directory.apply(records, None)
    return directory.feeds


def write_commands(bus: Bus, settings: Settings, configs: list[FeedConfig], command: str) -> None:
    producer = bus.producer()
    try:
        issued = time.time()
        for config in configs:
            key, value = command_record(config, command, issued=issued)
            producer.send(settings.topic_feeds, key, value)
        producer.flush()
    finally:
        producer.close()


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from newswire.ingest.discovery import discover  # noqa: PLC0415
    from newswire.ingest.fetch import Fetcher  # noqa: PLC0415

    url = check_feed_url(args.url, "feeds add")

    async def find() -> list[FeedConfig]:
        async with Fetcher(settings) as fetcher:
            return await discover(fetcher, url)

    try:
        found = asyncio.run(find())
    except FeedError as exc:
        raise ConfigError(str(exc)) from exc
    chosen = found if args.all else found[:1]
    configs = [
        FeedConfig(
            url=config.url,
            title=args.title or config.title,
            full_text=args.full_text,
            ignore_validators=args.ignore_validators,
        )
        for config in chosen
    ]
    bus = _bus(args, settings)
    try:
        write_commands(bus, settings, configs, ADD)
    finally:
        bus.close()
    for config in configs:
        print(f"added {config.url}" + (f" ({config.title})" if config.title else ""))
    if len(found) > len(chosen):
        print(f"{len(found) - len(chosen)} more feeds on that page; --all adds them all", file=sys.stderr)
    return 0


def _enable(args: argparse.Namespace, settings: Settings) -> int:
    url = args.url.strip()
    bus = _bus(args, settings)
    try:
        feeds = read_feeds(bus, settings)
        matches = [feed for feed in feeds.values() if url in (feed.config.url, feed.state.current_url)]
        if not matches:
            raise ConfigError(f"no feed {url!r} on {settings.topic_feeds}; add it with `newswire feeds add`")
        write_commands(bus, settings, [feed.config for feed in matches], ENABLE)
    finally:
        bus.close()
    for feed in matches:
        was = f" (was disabled: {feed.state.disabled_reason})" if feed.state.disabled else " (was not disabled)"
        print(f"enabled {feed.config.url}{was}")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    configs = read_feed_file(args.file)
    bus = _bus(args, settings)
    try:
        write_commands(bus, settings, configs, ADD)
    finally:
        bus.close()
    print(f"imported {len(configs)} feeds from {args.file}")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    bus = _bus(args, settings)
    try:
        feeds = read_feeds(bus, settings)
    finally:
        bus.close()
    configs = sorted((feed.config for feed in feeds.values()), key=lambda config: config.url)
    document = to_opml(configs)
    if args.output:
        args.output.write_text(document, encoding="utf-8")
        print(f"exported {len(configs)} feeds to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(document)
    return 0


def _ago(moment: float | None, now: float) -> str:
    if not moment:
        return "never"
    seconds = now - moment
    if abs(seconds) < 120:
        return f"{seconds:.0f}s ago" if seconds >= 0 else f"in {-seconds:.0f}s"
    minutes = seconds / 60
    if abs(minutes) < 120:
        return f"{minutes:.0f}m ago" if minutes >= 0 else f"in {-minutes:.0f}m"
    hours = minutes / 60
    return f"{hours:.1f}h ago" if hours >= 0 else f"in {-hours:.1f}h"


def status_row(feed: Feed, now: float) -> dict[str, Any]:
    state = feed.state
    return {
        "url": feed.config.url,
        "fetch_url": feed.fetch_url,
        "name": feed.name,
        "enabled": not state.disabled,
        "disabled_reason": state.disabled_reason,
        "last_fetch": state.last_fetch,
        "status": state.last_status,
        "last_error": state.last_error,
        "warning": state.last_warning,
        "new_items_last": state.new_items_last,
        "new_items_total": state.new_items_total,
        "polls": state.polls_total,
        "errors": state.errors_total,
        "interval": state.interval,
        "next_poll": None if state.disabled else state.next_poll,
        "throttles": state.throttles_total,
        "last_throttle": state.last_throttle,
        "dropped_last": state.dropped_last,
        "dropped_total": state.dropped_total,
        "untitled_total": state.untitled_total,
    }


def _print_hosts(rows: list[dict[str, Any]], now: float) -> None:
    for row in rows:
        allowed = _ago(row["next_allowed_fetch"], now) if row["next_allowed_fetch"] else "now"
        paused = f" (paused by the host until {_ago(row['paused_until'], now)})" if row["paused_until"] else ""
        print(f"{row['host']}: {row['feeds']} feeds ({row['enabled']} enabled), budget {row['budget']}")
        print(
            f"  fetches in the last hour {row['fetches_last_hour']}; throttles {row['throttles']}; "
            f"errors {row['errors']} ({row['failing']} feeds failing now); entries dropped {row['dropped']}"
        )
        print(f"  next allowed fetch: {allowed}{paused}")


def _status(args: argparse.Namespace, settings: Settings) -> int:
    bus = _bus(args, settings)
    try:
        feeds = sorted(read_feeds(bus, settings).values(), key=lambda feed: feed.config.url)
    finally:
        bus.close()
    now = time.time()
    if args.by_host:
        ledger = HostLedger.of(settings.host_fetch_starts, settings.host_fetch_seconds, settings.host_budgets)
        rows = host_report(feeds, ledger, now)
        if args.json:
            for row in rows:
                print(json.dumps(row, ensure_ascii=False))
        else:
            _print_hosts(rows, now)
        return 0
    if args.json:
        for feed in feeds:
            print(json.dumps(status_row(feed, now), ensure_ascii=False))
        return 0
    if not feeds:
        print(
            f"no feeds on {settings.topic_feeds}; add some with `newswire feeds add URL` or `newswire ingest --feeds`"
        )
        return 0
    for feed in feeds:
        state = feed.state
        next_poll = "disabled" if state.disabled else ("due" if state.next_poll <= now else _ago(state.next_poll, now))
        print(f"{feed.fetch_url}\n  {feed.name}")
        print(f"  last fetch {_ago(state.last_fetch, now)}: {state.last_status}; next poll: {next_poll}")
        print(
            f"  new items: {state.new_items_last} last, {state.new_items_total} total; "
            f"polls {state.polls_total}, errors {state.errors_total}"
        )
        if state.disabled_reason:
            print(f"  disabled: {state.disabled_reason} (re-enable: newswire feeds enable {feed.config.url})")
        if state.last_warning:
            print(f"  warning: {state.last_warning}")
        if state.throttles_total:
            print(f"  throttled {state.throttles_total} times, the last: {state.last_throttle}")
        if state.dropped_total:
            last = ", ".join(f"{count} {reason}" for reason, count in sorted(state.dropped_last.items())) or "none"
            total = ", ".join(f"{count} {reason}" for reason, count in sorted(state.dropped_total.items()))
            print(f"  entries not published: last poll {last}; in all {total}")
        if state.untitled_total:
            print(f"  entries without a title (titled from their URL): {state.untitled_total}")
    return 0
