"""Which entries of a feed are news: new articles, changed articles (a new revision), or already published.

An article's id is a hash of its canonical URL (``newswire.contract.article_id``), so the same story reached through
two feeds, or after a restart, has one id. A known article whose title or text changed is published again with the
same id and ``revision + 1``; one first published by another feed is left to that feed (feeds that syndicate
each other's stories would otherwise flip its revision back and forth).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from newswire.contract import article_id
from newswire.errors import ContractError
from newswire.ingest.base import SeenArticle
from newswire.ingest.normalize import content_hash
from newswire.ingest.parse import ParsedEntry
from newswire.ingest.state import KnownArticle

MIN_REMEMBERED = 200


@dataclass(frozen=True, slots=True)
class Candidate:
    entry: ParsedEntry
    id: str
    hash: str
    revision: int

    def known(self, feed_url: str) -> KnownArticle:
        return KnownArticle(self.id, feed_url, self.hash, self.revision)


def identify(entries: list[ParsedEntry], feed_url: str) -> list[tuple[ParsedEntry, str, str]]:
    """``(entry, id, content hash)`` for every entry that has an id, the first of any repeated id only."""
    identified: dict[str, tuple[ParsedEntry, str, str]] = {}
    for entry in entries:
        try:
            identity = article_id(entry.url, feed_url=feed_url, guid=entry.guid)
        except ContractError:
            continue
        if identity not in identified:
            identified[identity] = (entry, identity, content_hash(entry.title, entry.summary, entry.content))
    return list(identified.values())


def select_news(
    identified: list[tuple[ParsedEntry, str, str]],
    *,
    feed_url: str,
    seen: Mapping[str, SeenArticle],
    known: Mapping[str, KnownArticle],
) -> list[Candidate]:
    """The entries to publish: new ids (revision 1) and changed ones of this feed (revision + 1)."""
    news: list[Candidate] = []
    for entry, identity, digest in identified:
        previous = seen.get(identity)
        if previous is None:
            record = known.get(identity)
            if record is not None:
                if record.feed_url != feed_url:
                    continue  # first published by another feed
                previous = SeenArticle(hash=record.hash, revision=record.revision)
        if previous is None:
            news.append(Candidate(entry, identity, digest, 1))
        elif previous.hash != digest:
            news.append(Candidate(entry, identity, digest, previous.revision + 1))
    return news


def remember(
    seen: Mapping[str, SeenArticle],
    identified: list[tuple[ParsedEntry, str, str]],
    published: list[Candidate],
    *,
    feed_url: str,
    known: Mapping[str, KnownArticle],
    limit: int,
) -> dict[str, SeenArticle]:
    """The feed's recent-article memory after a poll: what it lists now last, oldest forgotten beyond ``limit``."""
    updated = dict(seen)
    revisions = {candidate.id: candidate.revision for candidate in published}
    for _entry, identity, digest in identified:
        previous = updated.pop(identity, None)
        record = known.get(identity)
        if identity in revisions:
            updated[identity] = SeenArticle(hash=digest, revision=revisions[identity])
        elif previous is not None:
            updated[identity] = previous
        elif record is not None and record.feed_url == feed_url:
            updated[identity] = SeenArticle(hash=record.hash, revision=record.revision)
    keep = max(MIN_REMEMBERED, 2 * len(identified))
    keep = min(keep, limit)
    if len(updated) > keep:
        updated = dict(list(updated.items())[-keep:])
    return updated
