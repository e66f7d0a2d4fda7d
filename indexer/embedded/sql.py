"""The SQL of the embedded store: its schema, the FTS5 MATCH expression of a query, and the filters as WHERE."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from newswire.contract import EnrichedArticle
from newswire.errors import InvalidQuery
from newswire.names import fold, source_key, topic_key
from newswire.query import Node, Or, Phrase, Term, stems
from newswire.search import FIELD_WEIGHTS, Bucket, FacetCount, SearchQuery

SCHEMA_VERSION = 5  # 2: the storyline_id column; 3: stemmed columns in article_text, filter_keys, suggest_keys;
# 4: the indexed_seq column (the live stream's order); 5: the published_estimated column
FIELDS = tuple(FIELD_WEIGHTS)  # title, summary, content: the FTS5 columns of the exact tokens, in this order
STEM_FIELDS = tuple(f"{name}_stems" for name in FIELDS)  # then the same fields' stems
# The value counted for each suggestion field, and where: (table, column) of one row per article and value.
SUGGEST_COUNTS = {
    "entity": ("article_entities", "name"),
    "topic": ("article_topics", "label"),
    "source": ("articles", "source"),
}
# The story of an article at each level: its event (story_id) or its storyline, or itself when it has neither.
STORY_KEYS = {
    "event": "coalesce({0}.story_id, {0}.id)",
    "storyline": "coalesce({0}.storyline_id, {0}.story_id, {0}.id)",
}
STORY_KEY = STORY_KEYS["event"]
# A store made by schema version 1 gets the column, and each article its event as its storyline (as the contract
# reads a version 1 message); run before SCHEMA, whose indexes name the column.
# A store made by schema version 2 or older gets a new article_text (FTS5 tables cannot gain columns) and the key
# tables; EmbeddedStore.ensure_ready then fills them from the stored documents, in the same transaction.
MIGRATIONS = {
    1: "ALTER TABLE articles ADD COLUMN storyline_id TEXT; UPDATE articles SET storyline_id = story_id;"
    " DROP TABLE IF EXISTS article_text;",
    2: "DROP TABLE IF EXISTS article_text;",
}
# A store of version 3 or older gets indexed_seq, its articles numbered in the order they were first written; the
# column is looked for rather than assumed absent, so a store whose version was set back keeps the one it has.
ADD_INDEXED_SEQ = "ALTER TABLE articles ADD COLUMN indexed_seq INTEGER; UPDATE articles SET indexed_seq = article;"
# A store of version 4 or older gets published_estimated, read from each stored document.
ADD_PUBLISHED_ESTIMATED = (
    "ALTER TABLE articles ADD COLUMN published_estimated INTEGER NOT NULL DEFAULT 0;"
    " UPDATE articles SET published_estimated = coalesce(json_extract(document, '$.published_estimated'), 0);"
)
# Dated articles first, newest first; those whose date was estimated (the fetch time) after them.
DATE_ORDER = "a.published_estimated, a.published_ms DESC, a.id"
REINDEXED_BEFORE = 3  # stores older than this are re-tokenised from their documents when opened
_WEIGHTS = ", ".join(str(FIELD_WEIGHTS[name]) for name in FIELDS)
_BM25 = f"bm25(article_text, {_WEIGHTS}, {_WEIGHTS})"
_EXACT_COLUMNS = "{" + " ".join(FIELDS) + "}"
_STEM_COLUMNS = "{" + " ".join(STEM_FIELDS) + "}"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BUCKET_MS = {"hour": 3_600_000, "day": 86_400_000}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS articles (
    article INTEGER PRIMARY KEY,  -- the rowid, named so that VACUUM keeps it: the other tables refer to it
    id TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL,
    published_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    language TEXT,
    story_id TEXT,
    duplicate_of TEXT,
    storyline_id TEXT,
    document TEXT NOT NULL,
    indexed_seq INTEGER,  -- one more than the greatest at each write that stores the article (the live order)
    published_estimated INTEGER NOT NULL DEFAULT 0  -- 1: the feed gave no date; published is the fetch time
);
CREATE INDEX IF NOT EXISTS articles_by_indexed ON articles (indexed_seq);
CREATE INDEX IF NOT EXISTS articles_by_date ON articles (published_ms DESC, id);
CREATE INDEX IF NOT EXISTS articles_by_dated_date ON articles (published_estimated, published_ms DESC, id);
CREATE INDEX IF NOT EXISTS articles_by_source ON articles (source);
CREATE INDEX IF NOT EXISTS articles_by_language ON articles (language);
CREATE INDEX IF NOT EXISTS articles_by_story ON articles (story_id);
CREATE INDEX IF NOT EXISTS articles_by_story_key ON articles (coalesce(story_id, id), published_ms);
CREATE INDEX IF NOT EXISTS articles_by_storyline ON articles (storyline_id);
CREATE INDEX IF NOT EXISTS articles_by_storyline_key ON articles (coalesce(storyline_id, story_id, id), published_ms);
CREATE TABLE IF NOT EXISTS article_entities (
    article INTEGER NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (article, name, label)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_entities_by_name ON article_entities (name, article);
CREATE TABLE IF NOT EXISTS article_topics (
    article INTEGER NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (article, label)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_topics_by_label ON article_topics (label, article);
CREATE TABLE IF NOT EXISTS filter_keys (  -- the folded keys of newswire.names that the filters compare with
    kind TEXT NOT NULL,  -- entity, topic or source
    key TEXT NOT NULL,
    article INTEGER NOT NULL,
    PRIMARY KEY (kind, key, article)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS filter_keys_by_article ON filter_keys (article);
CREATE TABLE IF NOT EXISTS suggest_keys (  -- never deleted from: a value no article has any more counts 0
    field TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (field, key, value)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS article_text USING fts5(
    {", ".join(FIELDS + STEM_FIELDS)},
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'",
    prefix = '2 3'
);
CREATE TABLE IF NOT EXISTS saved_searches (  -- newswire.alerts.SavedSearch as JSON
    id TEXT PRIMARY KEY,
    created_us INTEGER NOT NULL,
    document TEXT NOT NULL
);
PRAGMA user_version = {SCHEMA_VERSION};
"""


def match_expression(node: Node) -> str:
    """The FTS5 MATCH expression of a parsed query; every token is quoted, so user text cannot inject syntax.

    Words are looked for by their stem in the stem columns; quoted words, prefixes and phrases in the exact ones.
    """
    if isinstance(node, Term):
        if node.prefix or node.exact:
            return f"({_EXACT_COLUMNS} : {_quote(node.text)}{'*' if node.prefix else ''})"
        return f"({_STEM_COLUMNS} : {_quote(stems([node.text])[0])})"
    if isinstance(node, Phrase):
        return f"({_EXACT_COLUMNS} : {_quote(' '.join(node.tokens))})"
    if isinstance(node, Or):
        return "(" + " OR ".join(match_expression(part) for part in node.parts) + ")"
    if not node.positive:
        raise InvalidQuery("a part of the query only excludes; add a word to search for")
    expression = "(" + " AND ".join(match_expression(part) for part in node.positive) + ")"
    if node.negative:
        expression = f"({expression} NOT ({' OR '.join(match_expression(part) for part in node.negative)}))"
    return expression


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _epoch_us(value: datetime) -> int:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return (value - EPOCH) // timedelta(microseconds=1)


def published_ms(article: EnrichedArticle) -> int:
    return _epoch_us(article.published) // 1000  # milliseconds, as on the wire and in Elasticsearch


def first_ms_at_or_after(value: datetime) -> int:
    return -(-_epoch_us(value) // 1000)


class SearchSql:
    """The FROM, WHERE, ORDER BY and score of one query, with its parameters."""

    def __init__(self, query: SearchQuery, tree: Node | None) -> None:
        conditions: list[str] = []
        self.params: list[object] = []
        if tree is None:
            self.source = "articles AS a"
            self.score = "0.0"
            self.order = DATE_ORDER
        else:
            self.source = "article_text JOIN articles AS a ON a.rowid = article_text.rowid"
            self.score = f"-{_BM25}"
            conditions.append("article_text MATCH ?")
            self.params.append(match_expression(tree))
            self.order = "score DESC, a.published_ms DESC, a.id" if query.sort == "relevance" else DATE_ORDER
        keyed = [("entity", fold(name)) for name in query.entities] + [("topic", topic_key(t)) for t in query.topics]
        for kind, key in dict.fromkeys(keyed):  # every entity and topic listed
            conditions.append("a.rowid IN (SELECT article FROM filter_keys WHERE kind = ? AND key = ?)")
            self.params.extend((kind, key))
        if query.sources:  # alternatives
            sources = sorted({source_key(source) for source in query.sources})
            conditions.append(
                f"a.rowid IN (SELECT article FROM filter_keys WHERE kind = 'source' AND key IN ({', '.join('?' * len(sources))}))"  # noqa: S608, E501
            )
            self.params.extend(sources)
        for column, exact in (
            ("a.language", query.language),
            ("a.story_id", query.story_id),
            (STORY_KEYS["storyline"].format("a"), query.storyline_id),  # as Elasticsearch's ``storyline`` keyword
        ):
            if exact:
                conditions.append(f"{column} = ?")
                self.params.append(exact)
        if query.since is not None:
            conditions.append("a.published_ms >= ?")
            self.params.append(first_ms_at_or_after(query.since))
        if query.until is not None:
            conditions.append("a.published_ms < ?")
            self.params.append(first_ms_at_or_after(query.until))
        if query.collapse_duplicates:
            conditions.append("a.duplicate_of IS NULL")
        self.where = " AND ".join(conditions) or "1"

    def select(self, columns: str, tail: str = "") -> str:
        """A SELECT of ``columns`` over the matching articles (``a``); values are bound from :attr:`params`."""
        return f"SELECT {columns} FROM {self.source} WHERE {self.where} {tail}"  # noqa: S608 - fixed SQL pieces only


def suggestions(connection: sqlite3.Connection, field: str, prefix: str, size: int) -> tuple[FacetCount, ...]:
    """The ``size`` values of ``field`` with a suggestion key starting with the folded ``prefix``, most articles
    first (then by value); values no article has any more are left out."""
    table, column = SUGGEST_COUNTS[field]
    article = "rowid" if table == "articles" else "article"
    statement = (
        f"SELECT {column}, count(DISTINCT {article}) AS n FROM {table} WHERE {column} IN"  # noqa: S608 - fixed names
        " (SELECT value FROM suggest_keys WHERE field = ? AND key >= ? AND key < ?)"
        f" GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?"
    )
    rows = connection.execute(statement, (field, prefix, prefix + "\U0010ffff", size))
    return tuple(FacetCount(value, count) for value, count in rows)


def facet_counts(connection: sqlite3.Connection, sql: SearchSql, size: int) -> dict[str, tuple[FacetCount, ...]]:
    """Matching articles per entity name, topic label and source: most first, then by value."""
    matched = sql.select("a.rowid")
    statements = {
        name: f"SELECT {column}, count(DISTINCT article) AS n FROM {table} WHERE article IN ({matched})"  # noqa: S608
        f" GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?"
        for name, table, column in (("entities", "article_entities", "name"), ("topics", "article_topics", "label"))
    }
    statements["sources"] = sql.select("a.source, count(*) AS n", "GROUP BY a.source ORDER BY n DESC, a.source LIMIT ?")
    return {
        name: tuple(FacetCount(value, count) for value, count in connection.execute(statement, [*sql.params, size]))
        for name, statement in statements.items()
    }


def histogram_buckets(connection: sqlite3.Connection, sql: SearchSql, interval: str) -> tuple[Bucket, ...]:
    """Non-empty UTC buckets of ``published``, oldest first; articles whose date was estimated are left out (their
    "date" is when they were fetched, which would stretch the chart to today)."""
    width = _BUCKET_MS[interval]
    start = f"(a.published_ms - ((a.published_ms % {width}) + {width}) % {width})"  # floor, also before 1970
    tail = "AND a.published_estimated = 0 GROUP BY bucket ORDER BY bucket"
    rows = connection.execute(sql.select(f"{start} AS bucket, count(*)", tail), sql.params)
    return tuple(Bucket(EPOCH + timedelta(milliseconds=bucket), count) for bucket, count in rows)
