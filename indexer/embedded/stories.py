"""Stories in the embedded store: the SQL behind :meth:`EmbeddedStore.stories`.

A story's key is ``coalesce(story_id, id)`` for an event and ``coalesce(storyline_id, story_id, id)`` for a
storyline (an article without either is a story of its own), both indexed. Three steps, all in one read snapshot:
the keys of the stories with a matching article (the search's FROM and WHERE), the page of those stories ordered
over all their articles, then the summaries of the page's stories only.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import timedelta

from newswire.indexer.embedded.sql import EPOCH, STORY_KEYS, SearchSql
from newswire.query import parse_query
from newswire.search import StoriesResult, StoryQuery, StorySummary, top_entities

_EVENT_KEY = STORY_KEYS["event"].format("s")
# The first and last times of a story's dated articles (NULL when every date of the story was estimated).
_DATED_MIN = "min(CASE WHEN s.published_estimated THEN NULL ELSE s.published_ms END)"
_DATED_MAX = "max(CASE WHEN s.published_estimated THEN NULL ELSE s.published_ms END)"


def matching_keys(query: StoryQuery) -> tuple[str, list[object]] | None:
    """A SELECT of the distinct keys of the stories with an article matching ``query``; None when all match."""
    if query.matches_everything:
        return None
    sql = SearchSql(query.article_filter(), parse_query(query.text))
    where, params = sql.where, list(sql.params)
    key = STORY_KEYS[query.level].format("a")
    if query.story_id is not None:
        where += f" AND {key} = ?"
        params.append(query.story_id)
    return f"SELECT DISTINCT {key} FROM {sql.source} WHERE {where}", params  # noqa: S608


def list_stories(connection: sqlite3.Connection, query: StoryQuery) -> StoriesResult:
    """The page of stories ``query`` asks for, and how many match; run inside one read transaction."""
    group_key = STORY_KEYS[query.level].format("s")  # the SQL expression this listing groups by
    matching = matching_keys(query)
    if matching is None:
        where, params = "", list[object]()
        (total,) = connection.execute(f"SELECT count(DISTINCT {group_key}) FROM articles AS s").fetchone()  # noqa: S608
    else:
        keys, params = matching
        where = f"WHERE {group_key} IN ({keys})"
        (total,) = connection.execute(f"SELECT count(*) FROM ({keys})", params).fetchone()  # noqa: S608
    # A story's latest time is its newest dated article's; a story of estimated dates only comes after the others.
    latest = "last_ms IS NULL, last_ms DESC, story"
    order = latest if query.sort == "latest" else f"size DESC, {latest}"
    page = [
        story
        for story, _, _ in connection.execute(
            f"SELECT {group_key} AS story, count(*) AS size, {_DATED_MAX} AS last_ms FROM articles AS s {where}"  # noqa: S608
            f" GROUP BY story ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, query.size, query.offset],
        )
    ]
    summaries = summarise(connection, page, query.level) if page else {}
    return StoriesResult(total=int(total), stories=tuple(summaries[story] for story in page))


def summarise(connection: sqlite3.Connection, stories: list[str], level: str = "event") -> dict[str, StorySummary]:
    """The summary of each story of ``level`` in ``stories``, over all its articles."""
    group_key = STORY_KEYS[level].format("s")
    in_page = f"{group_key} IN (SELECT value FROM json_each(?))"  # noqa: S608 - fixed SQL
    keys = json.dumps(stories)
    titles = dict(
        connection.execute(
            f"SELECT story, title FROM (SELECT {group_key} AS story, json_extract(s.document, '$.title') AS title,"  # noqa: S608
            f" row_number() OVER (PARTITION BY {group_key} ORDER BY s.published_estimated, s.published_ms, s.id)"
            f" AS rank FROM articles AS s WHERE {in_page}) WHERE rank = 1",
            (keys,),
        )
    )  # the earliest dated article names the story (an article of estimated date only when all are)
    entities: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for story, name, label, count in connection.execute(
        f"SELECT {group_key}, e.name, e.label, count(*) FROM articles AS s"  # noqa: S608
        f" JOIN article_entities AS e ON e.article = s.article WHERE {in_page} GROUP BY 1, 2, 3",
        (keys,),
    ):
        entities[story][(name, label)] = count
    summaries: dict[str, StorySummary] = {}
    for story, size, copies, first_ms, last_ms, sources, events in connection.execute(
        f"SELECT {group_key} AS story, count(*), count(s.duplicate_of), coalesce({_DATED_MIN}, min(s.published_ms)),"  # noqa: S608
        f" coalesce({_DATED_MAX}, max(s.published_ms)),"
        f" count(DISTINCT s.source), count(DISTINCT {_EVENT_KEY}) FROM articles AS s WHERE {in_page} GROUP BY story",
        (keys,),
    ):
        summaries[story] = StorySummary(
            story_id=story,
            title=titles[story],
            size=size,
            copies=copies,
            first_published=EPOCH + timedelta(milliseconds=first_ms),
            last_published=EPOCH + timedelta(milliseconds=last_ms),
            sources=sources,
            top_entities=top_entities(entities[story]),
            events=events,
            level="storyline" if level == "storyline" else "event",
        )
    return summaries


# Storyline merges (see newswire.processors.storylines, "Merges"): each id merged away and the storyline it is now
# part of, chains collapsed, so one lookup resolves an old id. Created by ensure_ready in any store (IF NOT EXISTS:
# no new schema version, a store made before merges gains the table).
MERGES_SCHEMA = "CREATE TABLE IF NOT EXISTS storyline_merges (merged TEXT PRIMARY KEY, into_id TEXT NOT NULL);"


def resolve_storyline(connection: sqlite3.Connection, storyline_id: str) -> str:
    """The storyline ``storyline_id`` is part of now: itself, or the one it was merged into."""
    row = connection.execute("SELECT into_id FROM storyline_merges WHERE merged = ?", (storyline_id,)).fetchone()
    return str(row[0]) if row is not None else storyline_id


def apply_merge(connection: sqlite3.Connection, into: str, merged: list[str]) -> int:
    """Merge the storylines ``merged`` into ``into``: the aliases, then every stored article of them, whose key and
    document take the survivor's id. Returns how many articles moved; run inside the writing transaction."""
    into = resolve_storyline(connection, into)
    gone = [key for key in merged if key != into]
    if not gone:
        return 0
    keys = json.dumps(gone)
    connection.execute(
        "UPDATE storyline_merges SET into_id = ? WHERE into_id IN (SELECT value FROM json_each(?))", (into, keys)
    )
    connection.executemany(
        "INSERT INTO storyline_merges (merged, into_id) VALUES (?, ?)"
        " ON CONFLICT (merged) DO UPDATE SET into_id = excluded.into_id",
        [(key, into) for key in gone],
    )
    cursor = connection.execute(
        "UPDATE articles SET storyline_id = ?, document = json_set(document, '$.storyline_id', ?)"
        " WHERE storyline_id IN (SELECT value FROM json_each(?))",
        (into, into, keys),
    )
    return cursor.rowcount
