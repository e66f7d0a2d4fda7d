"""``newswire saved`` and ``newswire alerts``: saved searches, and the alerts the indexer sends for them.

``newswire saved add NAME [QUERY] [filters] [--kind ...]`` keeps a saved search in the store ``newswire search``
uses (see :mod:`newswire.app.commands.read`); ``saved list`` and ``saved delete ID`` manage them. The indexer reads
them every ``NEWSWIRE_ALERTS_RELOAD_SECONDS`` and sends an alert to ``news.alerts`` for each match;
``newswire alerts`` follows that topic and prints one JSON alert a line (``--saved ID`` for one saved search's).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from pydantic import ValidationError

from newswire.alerts import KINDS, SavedSearch
from newswire.app.commands.read import follow_topic, open_store_of
from newswire.app.entity_names import canonical_entities
from newswire.bus import Record
from newswire.contract import decode_alert
from newswire.errors import ConfigError
from newswire.query import parse_query
from newswire.search import LEVELS
from newswire.settings import Settings

logger = logging.getLogger(__name__)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    saved = subparsers.add_parser(
        "saved",
        parents=parents,
        help="saved searches: the indexer sends an alert to news.alerts for each new match",
        description="Saved searches are kept in the search store; the indexer matches each newly indexed article "
        "against them and sends alerts to the news.alerts topic (`newswire alerts` prints them).",
    )
    actions = saved.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", parents=parents, help="save a search")
    add.add_argument("name", help='what the alerts call it, e.g. "Wagner mutiny"')
    add.add_argument("query", nargs="?", default="", help='query text as in `newswire search`, e.g. "mutiny"')
    add.add_argument("--entity", action="append", default=[], help="articles naming this entity (repeat: all)")
    add.add_argument("--topic", action="append", default=[], help="articles with this topic (repeat: all)")
    add.add_argument("--source", action="append", default=[], help="articles from this source (repeat: any)")
    add.add_argument("--language", help="articles in this language (ISO 639-1)")
    add.add_argument(
        "--kind",
        choices=KINDS,
        default="articles",
        help="articles: each new match; new_story: the first match in a story; story_growth: a story with a match "
        "reached --min-articles within --window-minutes [articles]",
    )
    add.add_argument("--level", choices=LEVELS[::-1], default="storyline", help="story kinds: what a story is")
    add.add_argument("--min-articles", type=int, default=5, help="story_growth: articles in the window [5]")
    add.add_argument("--window-minutes", type=int, default=60, help="story_growth: the window [60]")
    add.add_argument("--id", dest="saved_id", help="the saved search's id (default: generated)")
    add.add_argument("--embedded", action="store_true", help="the embedded store in the data directory")
    add.set_defaults(func=_add)
    listing = actions.add_parser("list", parents=parents, help="the saved searches, oldest first")
    listing.add_argument("--json", action="store_true", help="one JSON document a line")
    listing.add_argument("--embedded", action="store_true", help="the embedded store in the data directory")
    listing.set_defaults(func=_list)
    delete = actions.add_parser("delete", parents=parents, help="forget a saved search")
    delete.add_argument("saved_id", metavar="ID")
    delete.add_argument("--embedded", action="store_true", help="the embedded store in the data directory")
    delete.set_defaults(func=_delete)

    alerts = subparsers.add_parser(
        "alerts",
        parents=parents,
        help="follow the alerts of the saved searches (news.alerts), one JSON alert a line",
    )
    alerts.add_argument("--saved", dest="saved_id", help="only this saved search's alerts")
    alerts.add_argument("--from-beginning", action="store_true", help="start at the oldest alert kept")
    alerts.add_argument("--max", type=int, default=0, help="stop after this many alerts (0: never)")
    alerts.add_argument("--idle-exit", type=float, default=0.0, help="stop after this many idle seconds (0: never)")
    alerts.add_argument("--embedded", action="store_true", help="read the embedded bus in the data directory")
    alerts.set_defaults(func=_follow)


def _add(args: argparse.Namespace, settings: Settings) -> int:
    parse_query(args.query)  # says where a query is wrong before the store is opened
    fields = {
        "name": args.name,
        "text": args.query,
        "entities": canonical_entities(args.entity),
        "topics": tuple(args.topic),
        "sources": tuple(args.source),
        "language": args.language,
        "kind": args.kind,
        "level": args.level,
        "min_articles": args.min_articles,
        "window_minutes": args.window_minutes,
    }
    if args.saved_id:
        fields["id"] = args.saved_id
    try:
        saved = SavedSearch(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "the saved search"
        raise ConfigError(f"cannot save this search: {where}: {error['msg']}") from None
    store = open_store_of(args, settings)
    try:
        store.ensure_ready()  # a search may be saved before the pipeline first runs
        store.save_search(saved)
    finally:
        store.close()
    print(saved.id)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store_of(args, settings)
    try:
        found = store.saved_searches()
    finally:
        store.close()
    for saved in found:
        if args.json:
            print(saved.model_dump_json())
            continue
        filters = [f"{name}={value}" for name, values in (("entity", saved.entities), ("topic", saved.topics),
                   ("source", saved.sources)) for value in values]  # fmt: skip
        if saved.language:
            filters.append(f"language={saved.language}")
        when = saved.kind if saved.kind != "story_growth" else f"{saved.min_articles} in {saved.window_minutes} min"
        print(f"{saved.id}  {saved.name!r}  {saved.text!r} {' '.join(filters)}  [{when}]")
    if not found and not args.json:
        print("no saved searches", file=sys.stderr)
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store_of(args, settings)
    try:
        deleted = store.delete_saved_search(args.saved_id)
    finally:
        store.close()
    if not deleted:
        print(f"newswire saved delete: no saved search with id {args.saved_id!r}", file=sys.stderr)
        return 1
    return 0


def _follow(args: argparse.Namespace, settings: Settings) -> int:
    def line(record: Record) -> str | None:
        alert = decode_alert(record.value)
        if args.saved_id and alert.saved_search.id != args.saved_id:
            return None
        return json.dumps(alert.model_dump(mode="json", by_alias=True), ensure_ascii=False)

    return follow_topic(args, settings, settings.topic_alerts, "newswire-alerts", line, create=True)
