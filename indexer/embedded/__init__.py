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
Stories (:mod:`.stories`) group the rows by ``coalesce(story_id, id)``, which is indexed.

The text is tokenised by :func:`newswire.query.tokenize` before FTS5 sees it: FTS5 indexes the tokens joined by
spaces, so indexed tokens are exactly the query language's tokens (FTS5's ``unicode61`` alone keeps combining
accents inside a token, folds case with Unicode 6.1 tables and splits at ``_``, where ``\\w+`` and ``str.lower`` do
not). ``article_text`` holds each field twice: its tokens (``title``, ...; for phrases, quoted words and prefixes)
and their Snowball stems (``title_stems``, ...; for words), see :func:`match_expression`. The Elasticsearch store
indexes the same pre-tokenised copies, so both find the same articles.

Entity, topic and source filters compare folded keys (:mod:`newswire.names`, table ``filter_keys``), and
:meth:`EmbeddedStore.suggest` matches a typed prefix with ``suggest_keys``; both as the Elasticsearch store does.

Schema versions: a store made by an older newswire is migrated when opened (``ensure_ready``): version 1 gets the
storyline column, and a store older than version 3 a new ``article_text`` and the key tables, filled from the stored
documents (every article is re-tokenised once, in one transaction; a reader meanwhile sees the old store). A store
of a newer version is refused with one line.

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
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from newswire.alerts import SavedSearch
from newswire.contract import ARTICLE_ID, EnrichedArticle, enriched_json
from newswire.errors import InvalidQuery, SearchError, SearchUnavailable
from newswire.highlight import Highlighter
from newswire.indexer.embedded.sql import (
    ADD_INDEXED_SEQ,
    ADD_PUBLISHED_ESTIMATED,
    FIELDS,
    MIGRATIONS,
    REINDEXED_BEFORE,
    SCHEMA,
    SCHEMA_VERSION,
    STEM_FIELDS,
    SearchSql,
    facet_counts,
    histogram_buckets,
    match_expression,
    published_ms,
    suggestions,
)
from newswire.indexer.embedded.stories import MERGES_SCHEMA, apply_merge, list_stories, resolve_storyline
from newswire.names import entity_keys, source_key, suggestion_keys, suggestion_prefix, topic_key
from newswire.query import parse_query, stems, tokenize
from newswire.search import (
    FacetCount,
    LivePosition,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchStore,
    StoriesResult,
    StoryQuery,
    UpsertResult,
)

__all__ = ["SCHEMA_VERSION", "EmbeddedStore", "Highlighter", "match_expression"]

logger = logging.getLogger(__name__)

# SQLite result codes that mean the file cannot be used now (not a fault of the query or the data).
_UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_NOTADB,
    }
)
_QUERY_ACTIONS = frozenset({"search", "list stories"})


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
        """sqlite3 errors as ours, by SQLite's result code: a locked, unreadable or not yet created store is
        unavailable (the caller may retry), a query SQLite refuses is invalid, anything else a search error."""
        try:
            yield
        except sqlite3.Error as exc:
            code = (exc.sqlite_errorcode or 0) & 0xFF  # the primary code of an extended one (SQLITE_IOERR_*, ...)
            if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise SearchUnavailable(
                    f"the embedded search store {self.path} stayed locked by another writer for "
                    f"{self.busy_timeout:g}s ({action})"
                ) from exc
            if code in _UNAVAILABLE_CODES:
                raise SearchUnavailable(f"cannot {action} the embedded search store {self.path}: {exc}") from exc
            if code == sqlite3.SQLITE_ERROR and not self._has_tables():
                raise SearchUnavailable(
                    f"the embedded search store {self.path} has no tables yet; `newswire run` creates them"
                ) from exc
            if code == sqlite3.SQLITE_ERROR and action in _QUERY_ACTIONS:
                # The full-text MATCH expression is the only part of a query's SQL built from the user's words.
                raise InvalidQuery(f"the embedded search store cannot run the query: {exc}") from exc
            raise SearchError(f"{action} failed on the embedded search store {self.path}: {exc}") from exc

    def _has_tables(self) -> bool:
        """Whether the store's tables exist (asked on a connection of its own, outside any failed transaction)."""
        try:
            with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)) as probe:
                return probe.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles'").fetchone() is not None
        except sqlite3.Error:
            return False

    @staticmethod
    def _has_column(connection: sqlite3.Connection, table: str, column: str) -> bool:
        return any(row[1] == column for row in connection.execute(f"PRAGMA table_info({table})"))

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
            migration = MIGRATIONS.get(version, "") if version else ""
            for column, add in (("indexed_seq", ADD_INDEXED_SEQ), ("published_estimated", ADD_PUBLISHED_ESTIMATED)):
                if version and version < SCHEMA_VERSION and not self._has_column(connection, "articles", column):
                    migration += " " + add
            try:
                connection.executescript(
                    f"BEGIN IMMEDIATE; {migration} {SCHEMA} {MERGES_SCHEMA}"
                )  # no COMMIT: the re-index joins
                if version and version < REINDEXED_BEFORE:
                    self._reindex(connection, version)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        logger.info("embedded search store ready at %s", self.path)

    def _reindex(self, connection: sqlite3.Connection, version: int) -> None:
        """Tokenise, stem and key every stored article again (a store of schema ``version`` lacks some of it)."""
        rows = connection.execute("SELECT rowid, document FROM articles").fetchall()
        connection.execute("DELETE FROM filter_keys")
        for key, document in rows:
            self._index(connection, key, EnrichedArticle.model_validate_json(document), replace=False)
        logger.info("embedded search store %s: %d articles re-indexed (schema %d)", self.path, len(rows), version)

    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        documents: list[tuple[EnrichedArticle, str]] = []
        rejected: list[tuple[str, str]] = []
        for article in articles:
            if not ARTICLE_ID.fullmatch(article.id):
                rejected.append((article.id, f"cannot store article: {article.id!r} is not an article id"))
                continue
            try:
                document = enriched_json(article)
                document.encode("utf-8")  # a lone surrogate cannot be stored; refused here, with the article's id
                documents.append((article, document))
            except UnicodeError as exc:
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
        """Store one article unless a newer revision is there; 1 when written, 0 when the stored one is newer.

        An article in a storyline merged away is stored in the survivor; one that carries a merge applies it.
        """
        storyline = resolve_storyline(connection, article.storyline) if article.storyline else None
        if storyline is not None and storyline != article.storyline:
            article = article.model_copy(update={"storyline_id": storyline})
            document = enriched_json(article)
        if article.merged_storylines and storyline is not None:
            apply_merge(connection, storyline, article.merged_storylines)
        row = connection.execute(
            "SELECT rowid, revision, document FROM articles WHERE id = ?", (article.id,)
        ).fetchone()
        if row is not None and row[1] == article.revision and row[2] == document:
            return 1  # a replay: stored as it is, and not indexed again (the live stream does not show it twice)
        (sequence,) = connection.execute("SELECT coalesce(max(indexed_seq), 0) + 1 FROM articles").fetchone()
        columns = (
            article.revision,
            published_ms(article),
            article.source,
            article.language,
            article.story_id,
            article.duplicate_of,
            article.storyline,
            document,
            sequence,
            int(article.published_estimated),
        )
        if row is None:
            cursor = connection.execute(
                "INSERT INTO articles (revision, published_ms, source, language, story_id, duplicate_of, storyline_id,"
                " document, indexed_seq, published_estimated, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*columns, article.id),
            )
            key = cursor.lastrowid
            assert key is not None  # set by every INSERT into a rowid table
        else:
            key, stored_revision, _ = row
            if stored_revision > article.revision:
                logger.debug("article %s: revision %d kept over %d", article.id, stored_revision, article.revision)
                return 0
            connection.execute(
                "UPDATE articles SET revision = ?, published_ms = ?, source = ?, language = ?, story_id = ?,"
                " duplicate_of = ?, storyline_id = ?, document = ?, indexed_seq = ?, published_estimated = ?"
                " WHERE rowid = ?",
                (*columns, key),
            )
        EmbeddedStore._index(connection, key, article, replace=row is not None)
        return 1

    @staticmethod
    def _index(connection: sqlite3.Connection, key: int, article: EnrichedArticle, *, replace: bool) -> None:
        """The searched rows of the article in row ``key``: text and stems, entities, topics, filter keys."""
        if replace:
            for table in ("article_text", "article_entities", "article_topics", "filter_keys"):
                column = "rowid" if table == "article_text" else "article"
                connection.execute(f"DELETE FROM {table} WHERE {column} = ?", (key,))  # noqa: S608 - fixed names
        tokens = [tokenize(getattr(article, name)) for name in FIELDS]
        texts = [" ".join(words) for words in tokens] + [" ".join(stems(words)) for words in tokens]
        columns = ", ".join(FIELDS + STEM_FIELDS)
        connection.execute(
            f"INSERT INTO article_text (rowid, {columns}) VALUES (?{', ?' * len(texts)})",  # noqa: S608 - fixed names
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
        keys = {("entity", name) for entity in article.entities for name in entity_keys(entity)}
        keys.update(("topic", topic_key(topic.label)) for topic in article.topics)
        keys.add(("source", source_key(article.source)))
        connection.executemany(
            "INSERT OR IGNORE INTO filter_keys (kind, key, article) VALUES (?, ?, ?)",
            [(kind, name, key) for kind, name in keys],
        )
        values = [("entity", entity.name) for entity in article.entities]
        values += [("topic", topic.label) for topic in article.topics] + [("source", article.source)]
        connection.executemany(
            "INSERT OR IGNORE INTO suggest_keys (field, key, value) VALUES (?, ?, ?)",
            [(field, name, value) for field, value in set(values) for name in suggestion_keys(field, value)],
        )

    def search(self, query: SearchQuery) -> SearchResult:
        tree = parse_query(query.text)
        sql = SearchSql(query, tree)
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
            facets = facet_counts(connection, sql, query.facet_size) if query.facets else {}
            histogram = histogram_buckets(connection, sql, query.histogram) if query.histogram else ()
        return SearchResult(total=total, hits=tuple(hits), facets=facets, histogram=histogram)

    def live_position(self) -> LivePosition:
        with self._read("read the live position") as connection:
            row = connection.execute(
                "SELECT indexed_seq, id FROM articles ORDER BY indexed_seq DESC LIMIT 1"
            ).fetchone()
        return LivePosition(int(row[0] or 0), row[1]) if row else LivePosition(0)

    def indexed_after(
        self, query: SearchQuery, after: LivePosition, limit: int
    ) -> tuple[tuple[LivePosition, SearchHit], ...]:
        tree = parse_query(query.text)
        sql = SearchSql(query, tree)
        highlight = Highlighter(tree if query.highlight else None)
        tail = "AND a.indexed_seq > ? ORDER BY a.indexed_seq LIMIT ?"
        with self._read("read the live stream") as connection:
            rows = connection.execute(
                sql.select(f"a.indexed_seq, a.document, {sql.score} AS score", tail),
                [*sql.params, after.mark, limit],
            ).fetchall()
        found = []
        for sequence, document, score in rows:
            article = EnrichedArticle.model_validate_json(document)
            hit = SearchHit(article=article, score=float(score), highlights=highlight(article))
            found.append((LivePosition(int(sequence), article.id), hit))
        return tuple(found)

    def stories(self, query: StoryQuery) -> StoriesResult:
        parse_query(query.text)  # a syntax error is reported before the store is opened
        with self._read("list stories") as connection:
            return list_stories(connection, query)

    def suggest(self, field: str, prefix: str, size: int = 10) -> tuple[FacetCount, ...]:
        folded = suggestion_prefix(field, prefix, size)
        with self._read("suggest") as connection:
            return suggestions(connection, field, folded, size)

    def resolve_storyline(self, storyline_id: str) -> str:
        with self._read("resolve a storyline") as connection:
            return resolve_storyline(connection, storyline_id)

    def save_search(self, saved: SavedSearch) -> None:
        connection = self._connection()
        with self._write_lock, self._translate("save a search"):
            connection.execute(
                "INSERT OR REPLACE INTO saved_searches (id, created_us, document) VALUES (?, ?, ?)",
                (saved.id, int(saved.created.timestamp() * 1_000_000), saved.model_dump_json()),
            )

    def saved_searches(self) -> tuple[SavedSearch, ...]:
        with self._read("read saved searches") as connection:
            rows = connection.execute("SELECT document FROM saved_searches ORDER BY created_us, id").fetchall()
        return tuple(SavedSearch.model_validate_json(document) for (document,) in rows)

    def delete_saved_search(self, saved_search_id: str) -> bool:
        connection = self._connection()
        with self._write_lock, self._translate("delete a saved search"):
            cursor = connection.execute("DELETE FROM saved_searches WHERE id = ?", (saved_search_id,))
        return cursor.rowcount > 0

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

    def replace_with(self, rebuilt: EmbeddedStore) -> None:
        """Make this store's contents those of ``rebuilt`` (a store filled by ``newswire reindex``) in one step.

        SQLite's online backup copies every page of ``rebuilt`` into this file in one write transaction: a search
        running meanwhile reads the old contents (the file is in WAL mode), and the next one the new contents. Writes
        of other processes wait for it (up to ``busy_timeout``, then they are retried by their stage).
        """
        source = rebuilt._connection()
        target = self._connection(create=True)
        with self._write_lock, self._translate("replace"):
            source.backup(target)
        logger.info("embedded search store %s replaced by the rebuild in %s", self.path, rebuilt.path)

    def close(self) -> None:
        with self._registry_lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
