"""``newswire stories`` and ``newswire story``: the stories the processors grouped articles into.

``newswire stories [QUERY]`` lists the stories with at least one article matching the query and filters, one line
each (newest article, size, sources, title, top entities, story id); ``newswire story ID`` prints one story and its
articles, oldest first. The store is the one ``newswire search`` would use (see :mod:`newswire.app.commands.read`).
The JSON documents (``--json``) are those of the HTTP API's ``/api/stories`` and ``/api/stories/{id}``.
"""

from __future__ import annotations

import argparse
import json
import sys

from newswire.app.commands.read import add_filter_arguments, filters_of, open_store_of
from newswire.contract import EnrichedArticle
from newswire.query import parse_query
from newswire.search import LEVELS, StoriesResult, StoryQuery, StorySummary, check_story_id, read_story
from newswire.settings import Settings
from newswire.views import event_timeline, stories_as_json, story_as_json

TITLE_CHARS = 72
SHOWN_ENTITIES = 3


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    stories = subparsers.add_parser(
        "stories",
        parents=parents,
        help="list storylines (or events): newest article, size, sources, title, top entities and id",
        description="Lists the storylines (--level event: the events) with at least one article matching the query "
        "(same language and filters as `newswire search`); sizes, times, sources and entities count all the "
        "story's articles. A storyline links events over days or weeks; an event is one happening and its "
        "immediate coverage.",
    )
    stories.add_argument("query", nargs="?", default="", help='e.g. "wagner mutiny"; empty: every story')
    add_filter_arguments(stories, "only stories with an article")
    stories.add_argument("--level", choices=LEVELS[::-1], default="storyline", help="storylines or events [storyline]")
    stories.add_argument("--sort", choices=("latest", "size"), default="latest", help="newest or biggest first")
    stories.add_argument("--size", type=int, default=20, help="stories to show, 1 to 1000 [20]")
    stories.add_argument("--offset", type=int, default=0, help="stories to skip [0]")
    stories.add_argument("--json", action="store_true", help="machine-readable output")
    stories.add_argument("--embedded", action="store_true", help="read the embedded store in the data directory")
    stories.set_defaults(func=_stories)

    story = subparsers.add_parser(
        "story",
        parents=parents,
        help="one storyline (or event): its summary, its events as a timeline, its articles oldest first",
        description="The id is the one `newswire stories` prints (the id of the story's first article).",
    )
    story.add_argument("story_id", metavar="ID", help="storyline or event id")
    story.add_argument("--level", choices=LEVELS[::-1], default="storyline", help="ID is a storyline or an event")
    story.add_argument("--json", action="store_true", help="machine-readable output")
    story.add_argument("--embedded", action="store_true", help="read the embedded store in the data directory")
    story.set_defaults(func=_story)


def _stories(args: argparse.Namespace, settings: Settings) -> int:
    parse_query(args.query)  # a syntax error is reported before any connection is made
    query = StoryQuery(
        **filters_of(args),
        level=args.level,
        sort=args.sort,
        size=args.size,
        offset=args.offset,
    )
    store = open_store_of(args, settings)
    try:
        result = store.stories(query)
    finally:
        store.close()
    if args.json:
        print(json.dumps(stories_as_json(result), ensure_ascii=False, indent=2))
    else:
        print_stories(result, offset=args.offset)
    return 0


def _story(args: argparse.Namespace, settings: Settings) -> int:
    story_id = check_story_id(args.story_id)
    store = open_store_of(args, settings)
    try:
        found = read_story(store, story_id, args.level)
    finally:
        store.close()
    if found is None:
        print(f"newswire story: no story with id {story_id!r}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(story_as_json(*found), ensure_ascii=False, indent=2))
    else:
        print_story(*found)
    return 0


# --- text ------------------------------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def story_line(story: StorySummary) -> str:
    """One line: newest article, size, sources, title, top entities, id."""
    when = story.last_published.strftime("%Y-%m-%d %H:%M")
    size = f"{story.size} article{'s' if story.size != 1 else ''}"
    sources = f"{story.sources} source{'s' if story.sources != 1 else ''}"
    entities = ", ".join(entity.name for entity in story.top_entities[:SHOWN_ENTITIES])
    line = f"{when}  {size:>12}  {sources:>10}  {_cut(story.title, TITLE_CHARS)}"
    if story.events > 1:
        line += f"  ({story.events} events)"
    if entities:
        line += f"  [{entities}]"
    return f"{line}  {story.story_id}"


def print_stories(result: StoriesResult, *, offset: int = 0) -> None:
    shown = f"{offset + 1}-{offset + len(result.stories)}" if result.stories else "none"
    print(f"{result.total} {'story matches' if result.total == 1 else 'stories match'}; showing {shown}")
    for story in result.stories:
        print(story_line(story))


def print_story(story: StorySummary, total: int, articles: list[EnrichedArticle]) -> None:
    first = story.first_published.strftime("%Y-%m-%d %H:%M")
    last = story.last_published.strftime("%Y-%m-%d %H:%M")
    copies = f" ({story.copies} syndicated cop{'y' if story.copies == 1 else 'ies'})" if story.copies else ""
    print(story.title)
    print(f"{'storyline' if story.level == 'storyline' else 'story'} {story.story_id}")
    print(f"{story.size} articles{copies} from {story.sources} sources, {first} to {last} UTC")
    if story.top_entities:
        print("entities: " + ", ".join(f"{e.name} ({e.label}, {e.count})" for e in story.top_entities))
    if story.events > 1:
        print(f"\n{story.events} events, oldest first:")
        for event in event_timeline(articles):
            when = str(event["first_published"])[:16].replace("T", " ")
            print(f"  {when}  {event['size']:>3}  {_cut(str(event['title']), TITLE_CHARS)}")
            print(f"        event {event['event_id']}")
    if total > len(articles):
        print(f"\nthe {len(articles)} oldest of {total} articles (`newswire search --story ID --sort date` lists all):")
    else:
        print("\narticles, oldest first:")
    for article in articles:
        when = article.published.strftime("%Y-%m-%d %H:%M")
        copy = "  (copy)" if article.duplicate_of else ""
        print(f"  {when}  {article.source}: {_cut(article.title, TITLE_CHARS)}{copy}")
        if article.url:
            print(f"      {article.url}")
