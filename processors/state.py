"""Story and duplicate state shared by every processor replica, kept on the bus.

**Design.** Each replica decides events and storylines for the articles of its own partitions, so each needs to
know what the others decided. Every decision is published as a small record (the article's id, time, top words,
entities, fingerprint, event, storyline and first copy, and for an article that opened an event the event's
embedding, so no replica embeds it again) to one single-partition topic, ``<topic_enriched>.stories``, kept for
three event windows or the storyline window, whichever is longer (an event may join a storyline that paused for
weeks). Every replica reads that topic from the start with a consumer group of its own (so it sees every record,
not a share of them), rebuilding the same :class:`~newswire.processors.stories.StoryTracker` and its
:class:`~newswire.processors.storylines.StorylineTracker`.

- **Start-up.** A replica publishes a marker and reads until it sees it: it then knows every decision made before
  it started (a single partition keeps one order for all).
- **Before each batch** it reads whatever the others published since (without waiting).
- **After each batch** its own records go out with the enriched articles, in the same flush, before the stage
  commits: a decision is in the shared state whenever its article is on the enriched topic (at least once).

**Consistency.** Eventual, with these guarantees: an article handled again (a retry, a replay after a crash, or
another replica after a rebalance that has read the first decision) keeps its story and first copy; an article
always joins a story some replica opened before it. What can differ from one replica deciding everything: two
articles of a new story handled by two replicas within the same short interval (one batch, before either sees the
other's record) can open two stories, and later articles then join whichever fits best. Nothing merges events
afterwards (storylines do merge, below); the enriched messages already published keep their ids.

**Storyline merges.** When a new event shows two open storylines to be one (see
:mod:`newswire.processors.storylines`, "Merges"), the deciding replica publishes a merge record
(``{"schema": "newswire.storystate-merge/1", "into": ..., "merged": [...], "event": ...}``) just before the
opening article's own record, in the same flush; every replica applies it when it reads it (replaying the topic
applies it again, harmlessly), so all of them put later articles of either storyline in the survivor, the older
one. The enriched messages already published keep the old id; the opening article carries ``merged_storylines``
on the enriched topic, and the stores apply the merge from it. Code older than merges skips the record with a
warning (an unknown schema), and goes on deciding as before, without the merge.

Records are JSON (``{"schema": "newswire.storystate/1", ...}``); a record this code cannot read is skipped with a
warning, never fatal.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from newswire.bus import Bus, Consumer, Record, TopicSpec
from newswire.contract import EnrichedArticle, format_time
from newswire.errors import ContractError
from newswire.processors.duplicates import decode_fingerprint, encode_fingerprint
from newswire.processors.stories import WINDOW, Assignment, Features, StoryTracker, features_of
from newswire.processors.storylines import WINDOW as STORYLINE_WINDOW
from newswire.processors.storylines import StorylineTracker
from newswire.settings import Settings
from newswire.stage import Output

logger = logging.getLogger(__name__)

STATE_SCHEMA = "newswire.storystate/1"
MARKER_SCHEMA = "newswire.storystate-marker/1"
MERGE_SCHEMA = "newswire.storystate-merge/1"
MAX_MERGED = 64  # storylines one merge record may name (the enriched schema's bound on merged_storylines)


@dataclass(frozen=True, slots=True)
class StorylineMerge:
    """A merge record: the storylines ``merged`` are part of ``into`` from now on (``event`` showed it)."""

    into: str
    merged: tuple[str, ...]
    event: str


def encode_merge(merge: StorylineMerge, replica: str) -> bytes:
    document = {
        "schema": MERGE_SCHEMA,
        "into": merge.into,
        "merged": list(merge.merged),
        "event": merge.event,
        "replica": replica,  # last, as in encode_state: a replica knows its own records by their end
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _decode_merge(document: dict[str, object]) -> StorylineMerge:
    into, merged, event = document.get("into"), document.get("merged"), document.get("event")
    if not (isinstance(into, str) and into and isinstance(event, str) and event):
        raise ContractError("a storyline merge record needs a non-empty into and event")
    if not isinstance(merged, list) or not 0 < len(merged) <= MAX_MERGED:
        raise ContractError(f"merged must be a list of 1 to {MAX_MERGED} storyline ids")
    if not all(isinstance(key, str) and key and key != into for key in merged):
        raise ContractError("merged must hold non-empty storyline ids other than into")
    return StorylineMerge(into, tuple(merged), event)


SYNC_POLLS = 20  # at most this many polls when catching up before a batch (each returns at most 1,000 records)


def state_topic(settings: Settings) -> TopicSpec:
    """The shared state topic: one partition (one order for all replicas), kept for three event windows or the
    storyline window and one event window, whichever is longer."""
    retention = max(WINDOW * 3, STORYLINE_WINDOW + WINDOW)
    return TopicSpec(f"{settings.topic_enriched}.stories", 1, int(retention.total_seconds() * 1000))


def encode_embedding(vector: npt.NDArray[np.float32]) -> str:
    """An event's embedding on the state topic: float16, little-endian, base64 (768 bytes for 384 dimensions)."""
    return base64.b64encode(np.asarray(vector, dtype="<f2").tobytes()).decode("ascii")


def decode_embedding(text: str) -> npt.NDArray[np.float32]:
    """The vector :func:`encode_embedding` wrote, as unit-length float32; ContractError when it is not one."""
    try:
        vector = np.frombuffer(base64.b64decode(text, validate=True), dtype="<f2").astype(np.float32)
    except (binascii.Error, ValueError) as exc:
        raise ContractError(f"not an embedding: {exc}") from exc
    norm = float(np.linalg.norm(vector))
    if vector.size == 0 or not math.isfinite(norm) or norm == 0.0:
        raise ContractError("an embedding must be a non-empty finite vector")
    return vector / norm


def encode_state(
    features: Features,
    assignment: Assignment,
    replica: str,
    embedding: npt.NDArray[np.float32] | None = None,
    embedder: str | None = None,
) -> bytes:
    """A decision as a state record; ``embedder`` names the vector space of ``embedding`` (see :func:`decode_state`)."""
    document = {
        "schema": STATE_SCHEMA,
        "id": features.article_id,
        "published": format_time(features.published),
        "story_id": assignment.story_id,
        "storyline_id": assignment.storyline_id,
        "duplicate_of": assignment.duplicate_of,
        "terms": features.terms,
        "entities": features.entities,
        "fingerprint": encode_fingerprint(features.fingerprint) if features.fingerprint is not None else None,
        "estimated": features.estimated,
        "embedding": encode_embedding(embedding) if embedding is not None else None,
        "embedder": embedder if embedding is not None else None,
        "replica": replica,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_state(value: bytes, embedder: str | None = None) -> tuple[Features, Assignment] | StorylineMerge | None:
    """A state record, a merge record, or None for a marker; :class:`ContractError` for anything else.

    With ``embedder`` (the reading replica's vector space), an embedding made by another model is left out, so
    vectors of two spaces are never compared (during a rolling upgrade of the model, say): the event then links
    later events by its entities alone on this replica. Records written before the field existed carry no name and
    are taken as they are.
    """
    try:
        document = json.loads(value)
        schema = document.get("schema")
        if schema == MARKER_SCHEMA:
            return None
        if schema == MERGE_SCHEMA:
            return _decode_merge(document)
        if schema != STATE_SCHEMA:
            raise ContractError(f"not a story state record (schema {schema!r})")
        article_id, story_id, duplicate_of = document["id"], document["story_id"], document.get("duplicate_of")
        if not (isinstance(article_id, str) and article_id and isinstance(story_id, str) and story_id):
            raise ContractError("a story state record needs a non-empty id and story_id")
        if duplicate_of is not None and not isinstance(duplicate_of, str):
            raise ContractError("duplicate_of must be a string or null")
        storyline_id = document.get("storyline_id")  # absent in records written before storylines
        if storyline_id is not None and not (isinstance(storyline_id, str) and storyline_id):
            raise ContractError("storyline_id must be a non-empty string or null")
        embedding = document.get("embedding")
        if embedding is not None and not isinstance(embedding, str):
            raise ContractError("embedding must be a string or null")
        made_by = document.get("embedder")
        if made_by is not None and not isinstance(made_by, str):
            raise ContractError("embedder must be a string or null")
        if embedding and made_by and embedder and made_by != embedder:
            _warn_foreign_embedder(made_by, embedder)
            embedding = None
        estimated = document.get("estimated", False)
        if not isinstance(estimated, bool):
            raise ContractError("estimated must be true or false")
        published = datetime.fromisoformat(str(document["published"]).replace("Z", "+00:00"))
        if published.tzinfo is None:
            raise ContractError("published must carry a time zone")
        features = Features(
            article_id=article_id,
            published=published.astimezone(UTC),
            terms=_weights(document["terms"]),
            entities=_weights(document["entities"]),
            fingerprint=decode_fingerprint(document["fingerprint"]) if document.get("fingerprint") else None,
            estimated=estimated,
            embedding=decode_embedding(embedding) if embedding else None,
        )
        return features, Assignment(story_id, duplicate_of or None, storyline_id)
    except ContractError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise ContractError(f"not a valid story state record: {type(exc).__name__}: {exc}") from exc


_warned_embedders: set[str] = set()


def _warn_foreign_embedder(made_by: str, embedder: str) -> None:
    if made_by not in _warned_embedders:  # once per model a process meets, not once per record
        _warned_embedders.add(made_by)
        logger.warning(
            "story state: leaving out embeddings made by %s (this replica embeds with %s)", made_by, embedder
        )


def _weights(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ContractError("terms and entities must be objects")
    weights = {str(key): float(count) for key, count in value.items()}
    if not all(math.isfinite(count) and count > 0 for count in weights.values()):
        raise ContractError("term and entity weights must be positive numbers")
    return weights


class LocalGrouping:
    """Event and storyline grouping within one process (the embedded pipeline, tests, evaluation): no shared state."""

    def __init__(self, tracker: StoryTracker | None = None) -> None:
        self.tracker = tracker if tracker is not None else StoryTracker(storylines=StorylineTracker())

    def assign(self, articles: Sequence[EnrichedArticle]) -> list[EnrichedArticle]:
        return [self._assign(article) for article in articles]

    def _assign(self, article: EnrichedArticle) -> EnrichedArticle:
        features = self.tracker.place(features_of(article))
        assignment = self.tracker.assign(features)
        self.published(features, assignment, self.tracker.embedding_of(features.article_id))
        return assignment.applied_to(article)

    def published(self, features: Features, assignment: Assignment, embedding: npt.NDArray[np.float32] | None) -> None:
        """Hook for a decision just made (the shared grouping publishes it), with the event's embedding if new."""

    def drain_outputs(self) -> list[Output]:
        return []

    def start(self) -> None:
        """Nothing to catch up on."""

    def close(self) -> None:
        """Nothing to release."""


class SharedGrouping(LocalGrouping):
    """Story grouping whose decisions all replicas share through the state topic on ``bus``."""

    def __init__(
        self,
        bus: Bus,
        topic: str,
        group_prefix: str,
        *,
        tracker: StoryTracker | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        super().__init__(tracker)
        self.bus = bus
        self.topic = topic
        self.replica = f"{group_prefix}.state.{uuid.uuid4().hex[:12]}"
        self.start_timeout = start_timeout
        self._consumer: Consumer | None = None
        self._outputs: list[Output] = []
        # encode_state writes the replica last, so a record of ours ends with this: it needs no decoding, as the
        # tracker observed the decision when it was made (decoding every own record back cost ~0.3 ms an article).
        self._own_suffix = b',"replica":' + json.dumps(self.replica, ensure_ascii=False).encode("utf-8") + b"}"
        self.records_read = 0

    def start(self) -> None:
        """Read every decision made so far: publish a marker, then read until it comes back."""
        self._consumer = self.bus.consumer([self.topic], self.replica, from_beginning=True)
        marker = json.dumps({"schema": MARKER_SCHEMA, "replica": self.replica}).encode("utf-8")
        producer = self.bus.producer()
        try:
            producer.send(self.topic, f"marker:{self.replica}".encode(), marker)
            producer.flush()
        finally:
            producer.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._read(self._consumer.poll(1000, 1.0), marker):
                logger.info(
                    "story state %s: caught up with %d records, %d articles and %d stories in the window",
                    self.topic,
                    self.records_read,
                    len(self.tracker),
                    self.tracker.story_count,
                )
                return
        logger.warning(
            "story state %s: marker not seen within %.0fs; going on with what was read", self.topic, self.start_timeout
        )

    def sync(self) -> None:
        """Take in what other replicas decided since the last look, without waiting for more."""
        if self._consumer is None:
            return
        for _ in range(SYNC_POLLS):
            records = self._consumer.poll(1000, 0.0)
            if not records:
                return
            self._read(records, None)

    def _read(self, records: Sequence[Record], marker: bytes | None) -> bool:
        seen_marker = False
        for record in records:
            value = record.value
            if marker is not None and value == marker:
                seen_marker = True
                continue
            if value.endswith(self._own_suffix):
                continue
            try:
                decoded = decode_state(value, self._embedder_name())
            except ContractError as exc:
                logger.warning("story state %s@%d: skipping a record: %s", self.topic, record.offset, exc)
                continue
            if isinstance(decoded, StorylineMerge):
                self.records_read += 1
                self.tracker.merge_storylines(decoded.into, decoded.merged)
            elif decoded is not None:
                self.records_read += 1
                self.tracker.observe(*decoded)
        return seen_marker

    def assign(self, articles: Sequence[EnrichedArticle]) -> list[EnrichedArticle]:
        self.sync()
        return super().assign(articles)

    def published(self, features: Features, assignment: Assignment, embedding: npt.NDArray[np.float32] | None) -> None:
        if assignment.merged_storylines and assignment.storyline_id is not None:
            # Before the article's own record, in the same flush: a replica that reads the article in the survivor
            # has applied the merge already.
            merge = StorylineMerge(assignment.storyline_id, assignment.merged_storylines, features.article_id)
            key = f"merge:{features.article_id}".encode()
            self._outputs.append(Output(self.topic, key, encode_merge(merge, self.replica)))
        value = encode_state(
            features, assignment, self.replica, embedding, self._embedder_name() if embedding is not None else None
        )
        self._outputs.append(Output(self.topic, features.article_id.encode("utf-8"), value))

    def _embedder_name(self) -> str | None:
        storylines = self.tracker.storylines
        return storylines.embedder_name if storylines is not None else None

    def drain_outputs(self) -> list[Output]:
        outputs, self._outputs = self._outputs, []
        return outputs

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
