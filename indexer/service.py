"""The indexer stage: decode enriched messages, write them to the search store, dead-letter what cannot be indexed.

One batch from the bus is one bulk write. A message that is not a valid enriched article, or that the store refuses
for good, becomes a dead letter with the reason; a store that is down makes the stage retry the same batch after a
back-off (:data:`RETRY_SECONDS`, or longer when a busy node's ``Retry-After`` asks for it), without committing, so
nothing is lost and the idempotent writes absorb the repeats.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from newswire.bus import Bus, Record
from newswire.contract import EnrichedArticle, decode_enriched, utc_now
from newswire.errors import ContractError, RetryAfter, SearchUnavailable
from newswire.indexer.alerts import AlertWatcher
from newswire.metrics import INDEX_DELAY_SECONDS
from newswire.search import SearchStore
from newswire.settings import Settings
from newswire.stage import BatchHandler, BatchOutcome, Rejection, Stage

logger = logging.getLogger(__name__)

STAGE_NAME = "indexer"
RETRY_SECONDS = 5.0


def newest_articles(records: Sequence[Record], outcome: BatchOutcome) -> dict[str, tuple[EnrichedArticle, Record]]:
    """The articles of ``records`` by id, one each: the highest revision (the later record on a tie); a record that is
    not a valid enriched article is added to ``outcome.rejections``."""
    latest: dict[str, tuple[EnrichedArticle, Record]] = {}
    for record in records:
        try:
            article = decode_enriched(record.value)
        except ContractError as exc:
            outcome.rejections.append(Rejection(record, str(exc), type(exc).__name__))
            continue
        known = latest.get(article.id)
        if known is None or article.revision >= known[0].revision:
            latest[article.id] = (article, record)
    return latest


def index_handler(store: SearchStore, alerts: AlertWatcher | None = None) -> BatchHandler:
    """The batch handler of the indexer stage over ``store``; with ``alerts``, the written articles' alerts are
    outputs of the batch (see :mod:`newswire.indexer.alerts`)."""

    def handle(records: Sequence[Record]) -> BatchOutcome:
        outcome = BatchOutcome()
        latest = newest_articles(records, outcome)
        if not latest:
            return outcome
        try:
            result = store.upsert([article for article, _ in latest.values()])
        except SearchUnavailable as exc:
            # A busy node's own Retry-After, when longer than ours (the stage caps any wait at its max_backoff).
            raise RetryAfter(max(RETRY_SECONDS, exc.retry_after or 0.0), str(exc)) from exc
        for article_id, reason in result.rejected:
            if article_id in latest:
                outcome.rejections.append(Rejection(latest[article_id][1], reason, "SearchRejected"))
            else:
                logger.error("the store refused article %s, which was not in the batch: %s", article_id, reason)
        refused = {article_id for article_id, _ in result.rejected}
        written = [article for article_id, (article, _) in latest.items() if article_id not in refused]
        now = utc_now()
        for article in written:
            INDEX_DELAY_SECONDS.observe(max(0.0, (now - article.fetched).total_seconds()))
        if alerts is not None:
            try:
                alerts.alerts(written, outcome)
            except SearchUnavailable as exc:  # the articles are written; the retry writes them again, idempotently
                raise RetryAfter(RETRY_SECONDS, f"alerts: {exc}") from exc
        return outcome

    return handle


def build_index_stage(settings: Settings, bus: Bus, store: SearchStore) -> Stage:
    """The indexer stage: group ``settings.indexer_group`` on ``settings.topic_enriched`` into ``store``, alerts of
    the saved searches to ``settings.topic_alerts``."""
    alerts = AlertWatcher(store, settings.topic_alerts, settings.alerts_reload_seconds)
    return Stage(
        name=STAGE_NAME,
        bus=bus,
        topics=[settings.topic_enriched],
        group=settings.indexer_group,
        handle=index_handler(store, alerts),
        deadletter_topic=settings.topic_deadletter,
        batch_size=settings.batch_size,
    )
