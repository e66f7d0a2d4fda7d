"""The embedded search store: SQLite FTS5 in one file, for ``newswire run`` without Elasticsearch.

``EmbeddedStore(data_dir / "search.sqlite3")`` answers the same :class:`~newswire.search.SearchQuery` as the
Elasticsearch store, with the same fields, weights, filters, sorting, facets and histogram. The file is in WAL mode:
``newswire search`` in another process reads while the indexer writes, and one store object may be shared by
threads (each thread gets its own connection; writes in this process are serialised by a lock, writes from other
processes wait up to ``busy_timeout`` seconds and then raise :class:`~newswire.errors.SearchUnavailable`).

Layout: ``articles`` holds one row per article id with the full enriched message as JSON (what ``get`` and the hits
return) and the filter columns; ``article_entities`` and ``article_topics`` hold the entity names and topic labels,
indexed, so that filters and facets are SQL; ``article_text`` is the FTS5 index of title, summary and content.
Filters: every entity and every topic listed must be on the article; the sources are alternatives; ``since`` is
inclusive and ``until`` exclusive, at the millisecond precision of ``published`` on the wire.

The text is tokenised by :func:`newswire.query.tokenize` before FTS5 sees it: FTS5 indexes the tokens joined by
spaces, so indexed tokens are exactly the query language's tokens (FTS5's ``unicode61`` alone keeps combining
accents inside a token, folds case with Unicode 6.1 tables and splits at ``_``, where ``\\w+`` and ``str.lower`` do
not). The Elasticsearch store indexes the same pre-tokenised copies, so both find the same articles.

Highlights (:class:`Highlighter`, shared with the Elasticsearch store) are cut from the stored article in Python:
up to 3 fragments of about 160 characters from word boundaries, title first; every occurrence of a word or prefix
of the query outside NOT, and of its phrases, is wrapped in ``<em>`` word by word
(``<em>Rostov</em>-<em>on</em>-<em>Don</em>``); whitespace is collapsed.

Differences from Elasticsearch
------------------------------
- Ranking is FTS5 ``bm25(article_text, 3.0, 2.0, 1.0)``: one BM25 over the whole row in which a term's frequency is
  the weighted sum of its frequencies in the fields, and the length is that of the whole row, unweighted
  (Elasticsearch's ``combined_fields`` weighs the lengths too). Its IDF is ``log((N - n + 0.5) / (n + 0.5))``,
  floored at 1e-6, where Lucene uses ``log(1 + (N - n + 0.5) / (n + 0.5))``: a word found in more than half of the
  articles counts for almost nothing next to a rarer word of the same query. Lucene also keeps lengths to one byte
  of precision. A phrase is scored over all fields (Elasticsearch: its best field); a prefix (``mobil*``) by BM25
  over the words it expands to (Elasticsearch: a constant per field). So the same articles match, but their order
  may differ: on the parity corpus 21 of 37 queries list the same ids in the same order and every top 10 is the
  same set.
- The score is ``-bm25`` (higher is better; not comparable with Elasticsearch's); without query text every hit
  scores 0.0, in both stores.
- ``refresh`` does nothing: a write is visible to every reader as soon as ``upsert`` returns.
- FTS5 folds the (already lower-cased) tokens once more with simple case folding: a final sigma is a sigma
  (``οδος`` finds ``οδοσ``), and so are a few variant letters (long s, micro sign, curly beta). A word with a
  letter newer than Unicode 6.1 (SQLite's tables) is split by FTS5 at that letter, in the index and in the query
  alike, so it still matches itself, but as a prefix it may match less.
- A word longer than 255 characters is found here; Elasticsearch's whitespace tokenizer cuts it into pieces.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newswire.contract import EnrichedArticle, encode_enriched
from newswire.errors import ContractError, InvalidQuery, SearchError, SearchUnavailable
from newswire.query import And, Node, Or, Phrase, Term, parse_query, tokenize
from newswire.search import (
    FIELD_WEIGHTS,
    Bucket,
    FacetCount,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchStore,
    UpsertResult,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FIELDS = tuple(FIELD_WEIGHTS)  # title, summary, content: the FTS5 columns, in this order
_BM25 = f"bm25(article_text, {', '.join(str(FIELD_WEIGHTS[name]) for name in FIELDS)})"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BUCKET_MS = {"hour": 3_600_000, "day": 86_400_000}
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
MAX_HIGHLIGHTS = 3
FRAGMENT_CHARS = 160

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS articles (
    article INTEGER PRIMARY KEY,  -- the rowid, named so that VACUUM keeps it: the other tables refer to it
    id TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL,
    published_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    language TEXT,
    story_id TEXT,
    duplicate_of TEXT,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_date ON articles (published_ms DESC, id);
CREATE INDEX IF NOT EXISTS articles_by_source ON articles (source);
CREATE INDEX IF NOT EXISTS articles_by_language ON articles (language);
CREATE INDEX IF NOT EXISTS articles_by_story ON articles (story_id);
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
CREATE VIRTUAL TABLE IF NOT EXISTS article_text USING fts5(
    {", ".join(FIELDS)},
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'",
    prefix = '2 3'
);
PRAGMA user_version = {SCHEMA_VERSION};
"""


def match_expression(node: Node) -> str:
    """The FTS5 MATCH expression of a parsed query; every token is quoted, so user text cannot inject syntax."""
    if isinstance(node, Term):
        return _quote(node.text) + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return _quote(" ".join(node.tokens))
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
    return (value - _EPOCH) // timedelta(microseconds=1)


def _published_ms(article: EnrichedArticle) -> int:
    return _epoch_us(article.published) // 1000  # milliseconds, as on the wire and in Elasticsearch


def _first_ms_at_or_after(value: datetime) -> int:
    return -(-_epoch_us(value) // 1000)


class EmbeddedStore(SearchStore):
    """A :class:`~newswire.search.SearchStore` in one SQLite file (created by :meth:`ensure_ready`)."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.path)!r})"

    # --- connections and errors ------------------------------------------------------------------------------

    def _connection(self, *, create: bool = False) -> sqlite3.Connection:
        if self._closed:
            raise SearchError(f"the embedded search store {self.path} is closed")
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if not create and not self.path.exists():
            raise SearchUnavailable(f"no embedded search store at {self.path}; `newswire run` creates it")
        with self._translate("open"):
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            mode = "rwc" if create else "rw"
            connection = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode={mode}",
                uri=True,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,  # used by one thread only; closed by close() from any thread
            )
            connection.execute("PRAGMA synchronous = FULL")
        with self._registry_lock:
            self._connections.append(connection)
        self._local.connection = connection
        return connection

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """sqlite3 errors as ours: a locked or unreadable file is unavailable, anything else a search error."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if "locked" in message or "busy" in message:
                raise SearchUnavailable(
                    f"the embedded search store {self.path} stayed locked by another writer for "
                    f"{self.busy_timeout:g}s ({action})"
                ) from exc
            if "no such table" in message:
                raise SearchUnavailable(
                    f"the embedded search store {self.path} has no tables yet; `newswire run` creates them"
                ) from exc
            if "unable to open" in message or "readonly" in message or "disk" in message:
                raise SearchUnavailable(f"cannot {action} the embedded search store {self.path}: {exc}") from exc
            if "fts5" in message:
                raise InvalidQuery(f"the embedded search store cannot run the query: {exc}") from exc
            raise SearchError(f"{action} failed on the embedded search store {self.path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise SearchError(f"{action} failed on the embedded search store {self.path}: {exc}") from exc

    @contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for several SELECTs (WAL readers never wait for the writer)."""
        connection = self._connection()
        with self._translate(action):
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("COMMIT")

    # --- the SearchStore interface -----------------------------------------------------------------------------

    def ensure_ready(self) -> None:
        connection = self._connection(create=True)
        with self._write_lock, self._translate("create"):
            connection.execute("PRAGMA journal_mode = WAL")
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise SearchError(
                    f"the embedded search store {self.path} has schema version {version}, made by a newer newswire "
                    f"(this one knows {SCHEMA_VERSION})"
                )
            try:
                connection.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
            except sqlite3.Error:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        logger.info("embedded search store ready at %s", self.path)

    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        documents: list[tuple[EnrichedArticle, str]] = []
        rejected: list[tuple[str, str]] = []
        for article in articles:
            try:
                documents.append((article, encode_enriched(article).decode("utf-8")))
            except (ContractError, UnicodeError) as exc:
                rejected.append((article.id, f"cannot store article: {exc}"))
        written = 0
        connection = self._connection()
        with self._write_lock, self._translate("write"):
            connection.execute("BEGIN IMMEDIATE")
            try:
                for article, document in documents:
                    connection.execute("SAVEPOINT article")
                    try:
                        written += self._write(connection, article, document)
                    except (sqlite3.IntegrityError, sqlite3.DataError) as exc:
                        connection.execute("ROLLBACK TO article")
                        rejected.append((article.id, f"cannot store article: {exc}"))
                    connection.execute("RELEASE article")
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                    connection.execute("ROLLBACK")
                raise
        for article_id, reason in rejected:
            logger.warning("embedded search store %s refused article %s: %s", self.path, article_id, reason)
        return UpsertResult(written=written, rejected=tuple(rejected))

    @staticmethod
    def _write(connection: sqlite3.Connection, article: EnrichedArticle, document: str) -> int:
        """Store one article unless a newer revision is there; 1 when written, 0 when the stored one is newer."""
        row = connection.execute("SELECT rowid, revision FROM articles WHERE id = ?", (article.id,)).fetchone()
        columns = (
            article.revision,
            _published_ms(article),
            article.source,
            article.language,
            article.story_id,
            article.duplicate_of,
            document,
        )
        if row is None:
            cursor = connection.execute(
                "INSERT INTO articles (revision, published_ms, source, language, story_id, duplicate_of, document, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*columns, article.id),
            )
            key = cursor.lastrowid
        else:
            key, stored_revision = row
            if stored_revision > article.revision:
                logger.debug("article %s: revision %d kept over %d", article.id, stored_revision, article.revision)
                return 0
            connection.execute(
                "UPDATE articles SET revision = ?, published_ms = ?, source = ?, language = ?, story_id = ?,"
                " duplicate_of = ?, document = ? WHERE rowid = ?",
                (*columns, key),
            )
            for table in ("article_text", "article_entities", "article_topics"):
                column = "rowid" if table == "article_text" else "article"
                connection.execute(f"DELETE FROM {table} WHERE {column} = ?", (key,))  # noqa: S608 - fixed names
        texts = [" ".join(tokenize(getattr(article, name))) for name in FIELDS]
        connection.execute(
            f"INSERT INTO article_text (rowid, {', '.join(FIELDS)}) VALUES (?, ?, ?, ?)",  # noqa: S608 - fixed names
            (key, *texts),
        )
        connection.executemany(
            "INSERT OR IGNORE INTO article_entities (article, name, label) VALUES (?, ?, ?)",
            [(key, entity.name, entity.label) for entity in article.entities],
        )
        connection.executemany(
            "INSERT OR IGNORE INTO article_topics (article, label) VALUES (?, ?)",
            [(key, topic.label) for topic in article.topics],
        )
        return 1

    def search(self, query: SearchQuery) -> SearchResult:
        tree = parse_query(query.text)
        sql = _SearchSql(query, tree)
        highlight = Highlighter(tree if query.highlight else None)
        with self._read("search") as connection:
            (total,) = connection.execute(sql.select("count(*)"), sql.params).fetchone()
            hits: list[SearchHit] = []
            if query.size and total > query.offset:
                rows = connection.execute(
                    sql.select(f"a.document, {sql.score} AS score", f"ORDER BY {sql.order} LIMIT ? OFFSET ?"),
                    [*sql.params, query.size, query.offset],
                ).fetchall()
                for document, score in rows:
                    article = EnrichedArticle.model_validate_json(document)
                    hits.append(SearchHit(article=article, score=float(score), highlights=highlight(article)))
            facets = _facets(connection, sql, query.facet_size) if query.facets else {}
            histogram = _histogram(connection, sql, query.histogram) if query.histogram else ()
        return SearchResult(total=total, hits=tuple(hits), facets=facets, histogram=histogram)

    def get(self, article_id: str) -> EnrichedArticle | None:
        with self._read("get") as connection:
            row = connection.execute("SELECT document FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None else EnrichedArticle.model_validate_json(row[0])

    def count(self) -> int:
        with self._read("count") as connection:
            (count,) = connection.execute("SELECT count(*) FROM articles").fetchone()
        return int(count)

    def refresh(self) -> None:
        """Nothing to do: a write is visible to every reader once ``upsert`` returns."""

    def close(self) -> None:
        with self._registry_lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()


class _SearchSql:
    """The FROM, WHERE, ORDER BY and score of one query, with its parameters."""

    def __init__(self, query: SearchQuery, tree: Node | None) -> None:
        conditions: list[str] = []
        self.params: list[object] = []
        if tree is None:
            self.source = "articles AS a"
            self.score = "0.0"
            self.order = "a.published_ms DESC, a.id"
        else:
            self.source = "article_text JOIN articles AS a ON a.rowid = article_text.rowid"
            self.score = f"-{_BM25}"
            conditions.append("article_text MATCH ?")
            self.params.append(match_expression(tree))
            self.order = (
                "score DESC, a.published_ms DESC, a.id" if query.sort == "relevance" else "a.published_ms DESC, a.id"
            )
        for table, column, values in (
            ("article_entities", "name", query.entities),
            ("article_topics", "label", query.topics),
        ):
            for value in dict.fromkeys(values):  # every one listed, like the entities
                conditions.append(f"a.rowid IN (SELECT article FROM {table} WHERE {column} = ?)")  # noqa: S608
                self.params.append(value)
        if query.sources:
            conditions.append(f"a.source IN ({', '.join('?' * len(query.sources))})")
            self.params.extend(query.sources)
        for column, exact in (("a.language", query.language), ("a.story_id", query.story_id)):
            if exact:
                conditions.append(f"{column} = ?")
                self.params.append(exact)
        if query.since is not None:
            conditions.append("a.published_ms >= ?")
            self.params.append(_first_ms_at_or_after(query.since))
        if query.until is not None:
            conditions.append("a.published_ms < ?")
            self.params.append(_first_ms_at_or_after(query.until))
        if query.collapse_duplicates:
            conditions.append("a.duplicate_of IS NULL")
        self.where = " AND ".join(conditions) or "1"

    def select(self, columns: str, tail: str = "") -> str:
        """A SELECT of ``columns`` over the matching articles (``a``); values are bound from :attr:`params`."""
        return f"SELECT {columns} FROM {self.source} WHERE {self.where} {tail}"  # noqa: S608 - fixed SQL pieces only


class Highlighter:
    """Fragments of a hit's title, summary and content with the words it matched in ``<em>``; both stores use it.

    ``Highlighter(parse_query(text))(article)`` gives up to :data:`MAX_HIGHLIGHTS` fragments, title first. Matched
    words: the words and prefixes of the query outside NOT, and the phrases where all their words follow each other
    (as tokens of :func:`~newswire.query.tokenize`).
    """

    def __init__(self, tree: Node | None) -> None:
        self.words: set[str] = set()
        self.phrases: list[tuple[str, ...]] = []
        prefixes: list[str] = []
        pending = [tree] if tree is not None else []
        while pending:
            node = pending.pop()
            if isinstance(node, Term) and node.prefix:
                prefixes.append(node.text)
            elif isinstance(node, Term):
                self.words.add(node.text)
            elif isinstance(node, Phrase):
                self.phrases.append(node.tokens)
            elif isinstance(node, And):
                pending.extend(node.positive)
            else:
                pending.extend(node.parts)
        self.prefixes = tuple(prefixes)

    def __call__(self, article: EnrichedArticle) -> tuple[str, ...]:
        fragments: list[str] = []
        if not (self.words or self.phrases or self.prefixes):
            return ()
        for name in FIELDS:
            for fragment in self._fragments(getattr(article, name)):
                if fragment not in fragments:
                    fragments.append(fragment)
                if len(fragments) == MAX_HIGHLIGHTS:
                    return tuple(fragments)
        return tuple(fragments)

    def _matches(self, text: str) -> list[re.Match[str]]:
        words = list(_WORD.finditer(text))
        tokens = [word.group().lower() for word in words]
        marked = {i for i, token in enumerate(tokens) if token in self.words or token.startswith(self.prefixes)}
        for phrase in self.phrases:
            for i in range(len(tokens) - len(phrase) + 1):
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    marked.update(range(i, i + len(phrase)))
        return [words[i] for i in sorted(marked)]

    def _fragments(self, text: str) -> Iterator[str]:
        """Windows of about FRAGMENT_CHARS characters, from word boundaries, around the matched words."""
        matches = self._matches(text)
        index = 0
        while index < len(matches):
            first = matches[index]
            start = 0
            if len(text) > FRAGMENT_CHARS and first.start() > FRAGMENT_CHARS // 3:  # context before the match
                space = _SPACE.search(text, first.start() - FRAGMENT_CHARS // 3, first.start())
                start = space.end() if space is not None else first.start()
            space = _SPACE.search(text, max(first.end(), start + FRAGMENT_CHARS))
            end = space.start() if space is not None else len(text)
            pieces: list[str] = []
            cursor = start
            while index < len(matches) and matches[index].end() <= end:
                match = matches[index]
                pieces.append(text[cursor : match.start()] + "<em>" + match.group() + "</em>")
                cursor = match.end()
                index += 1
            pieces.append(text[cursor:end])
            yield _SPACE.sub(" ", "".join(pieces)).strip()


def _facets(connection: sqlite3.Connection, sql: _SearchSql, size: int) -> dict[str, tuple[FacetCount, ...]]:
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


def _histogram(connection: sqlite3.Connection, sql: _SearchSql, interval: str) -> tuple[Bucket, ...]:
    """Non-empty UTC buckets of ``published``, oldest first."""
    width = _BUCKET_MS[interval]
    start = f"(a.published_ms - ((a.published_ms % {width}) + {width}) % {width})"  # floor, also before 1970
    rows = connection.execute(sql.select(f"{start} AS bucket, count(*)", "GROUP BY bucket ORDER BY bucket"), sql.params)
    return tuple(Bucket(_EPOCH + timedelta(milliseconds=bucket), count) for bucket, count in rows)
