"""Which entries of a feed are news: new articles, changed articles (a new revision), or already published.

An article's id is a hash of its canonical URL (``newswire.contract.article_id``), so the same story reached through
two feeds, or after a restart, has one id. A known article whose title or text changed is published again with the
same id and ``revision + 1``, saying what changed and which headlines it had before (the last
:data:`HEADLINE_HISTORY`); one first published by another feed is left to that feed (feeds that syndicate each
other's stories would otherwise flip its revision back and forth).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from newswire.contract import HeadlineChange, Revision, article_id
from newswire.errors import ContractError
from newswire.ingest.base import SeenArticle
from newswire.ingest.normalize import content_hash
from newswire.ingest.parse import ParsedEntry
from newswire.ingest.state import KnownArticle

MIN_REMEMBERED = 200
HEADLINE_HISTORY = 10  # earlier headlines kept per article, and carried by each revision

# Why an entry was not published (counted per feed, shown by `newswire feeds status`).
NO_LINK_OR_GUID = "no link or GUID"
UNUSABLE_LINK = "link not an http(s) URL, and no GUID"
NOTHING_TO_SHOW = "no title, text or link"
REPEATED = "id repeated within the feed"


LEDE_CHARS = 300


def lede(entry: ParsedEntry) -> str:
    """The lede of an entry: the first paragraph of its summary (or content), at most :data:`LEDE_CHARS`."""
    text = entry.summary or entry.content
    return text.split("\n", 1)[0].strip()[:LEDE_CHARS]


@dataclass(frozen=True, slots=True)
class Candidate:
    entry: ParsedEntry
    id: str
    hash: str
    revision: int
    previous: KnownArticle | None = None  # the revision before, when this poller published it

    def known(self, feed_url: str, title: str | None = None, fetched: datetime | None = None) -> KnownArticle:
        """The record of this candidate once published (``title``: the one it was published with, ``fetched``:
        when, which dates the headline it replaces)."""
        headline = (self.entry.title if title is None else title)[:2000]
        history = self.headlines_before(headline, fetched) if fetched is not None else ()
        return KnownArticle(self.id, feed_url, self.hash, self.revision, headline, lede(self.entry), history)

    def headlines_before(self, title: str, fetched: datetime) -> tuple[HeadlineChange, ...]:
        """The headlines the article had before ``title``, oldest first, each with when it was replaced: those the
        revision before had, and its own when ``title`` replaces it now (the last :data:`HEADLINE_HISTORY`)."""
        if self.previous is None:
            return ()
        history = self.previous.history
        if self.previous.title and title != self.previous.title:
            history = (*history, HeadlineChange(title=self.previous.title, until=fetched))
        return history[-HEADLINE_HISTORY:]

    def revised(self, title: str, fetched: datetime) -> Revision | None:
        """What this candidate changes, published with ``title``; ``None`` for a first revision."""
        if self.revision == 1:
            return None
        if self.previous is None:
            return Revision(revised_at=fetched)
        now = lede(self.entry)
        return Revision(
            previous_title=self.previous.title,
            previous_lede=self.previous.lede,
            title_changed=title != self.previous.title,
            lede_changed=now != self.previous.lede,
            revised_at=fetched,
            history=list(self.headlines_before(title[:2000], fetched)),
        )


def identify(
    entries: list[ParsedEntry], feed_url: str, dropped: Counter[str] | None = None
) -> list[tuple[ParsedEntry, str, str]]:
    """``(entry, id, content hash)`` for every entry that can be an article, the first of any repeated id only.

    An entry needs a link or a GUID (its id), and a link or some title or text (something to show); the others are
    counted in ``dropped`` by reason.
    """
    identified: dict[str, tuple[ParsedEntry, str, str]] = {}
    refused: Counter[str] = Counter() if dropped is None else dropped
    for entry in entries:
        try:
            identity = article_id(entry.url, feed_url=feed_url, guid=entry.guid)
        except ContractError:
            refused[UNUSABLE_LINK if entry.link_given else NO_LINK_OR_GUID] += 1
            continue
        if not entry.url and not (entry.title or entry.summary or entry.content):
            refused[NOTHING_TO_SHOW] += 1
        elif identity in identified:
            refused[REPEATED] += 1
        else:
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
            record = known.get(identity)
            before = record if record is not None and record.revision == previous.revision else None
            news.append(Candidate(entry, identity, digest, previous.revision + 1, before))
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
