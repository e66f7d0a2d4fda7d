"""Estimated dates in the embedded store (see ``tests/estimated_dates.py``), and a store made before it knew them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from newswire.indexer.embedded import EmbeddedStore
from tests import estimated_dates


def test_estimated_dates_stay_out_of_the_histogram_the_newest_and_the_story_times(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "search.sqlite3")
    store.ensure_ready()
    articles = estimated_dates.corpus()
    store.upsert(articles)
    try:
        estimated_dates.check(store, articles)
    finally:
        store.close()


def test_a_store_made_before_version_5_reads_estimated_dates_from_its_documents(tmp_path: Path):
    path = tmp_path / "search.sqlite3"
    store = EmbeddedStore(path)
    store.ensure_ready()
    articles = estimated_dates.corpus()
    store.upsert(articles)
    store.close()
    with sqlite3.connect(path) as connection:  # back to schema version 4: no published_estimated column
        connection.executescript(
            "DROP INDEX articles_by_dated_date; ALTER TABLE articles DROP COLUMN published_estimated;"
            " PRAGMA user_version = 4;"
        )
    migrated = EmbeddedStore(path)
    migrated.ensure_ready()
    try:
        estimated_dates.check(migrated, articles)
    finally:
        migrated.close()
