"""The message contract: what travels on ``news.raw``, ``news.enriched``, ``news.deadletter`` and ``news.alerts``.

Every message value is UTF-8 JSON with a ``schema`` field naming its kind and version; the message key is the
article id (see :func:`article_id`), so one article always lands on one partition. The JSON Schema of each kind is
in ``newswire/schemas/`` and is checked on both sides: :func:`encode_raw` and friends validate what a producer
writes, :func:`decode_raw` and friends what a consumer accepts. Consumers ignore fields they do not know, so a
producer may add optional fields without a new version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import fastjsonschema
import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator, model_validator

from newswire.errors import ContractError

RAW_SCHEMA: Final = "newswire.raw/1"
ENRICHED_SCHEMA: Final = "newswire.enriched/2"
ENRICHED_SCHEMA_1: Final = "newswire.enriched/1"  # still read: its story_id is the event, and its own storyline
DEADLETTER_SCHEMA: Final = "newswire.deadletter/1"
ALERT_SCHEMA: Final = "newswire.alert/1"


# What an article id looks like (the schemas' "id" pattern): a store that keys rows by it can check it cheaply.
ARTICLE_ID = re.compile(r"[0-9a-f]{8,128}")


def article_id(canonical_url: str | None, *, feed_url: str = "", guid: str | None = None) -> str:
    """The stable id of an article: a hash of its canonical URL, or of feed and GUID when it has no link.

    The id is also the Kafka message key and the search document id, which is what makes replays idempotent.
    """
    if canonical_url:
        basis = "url\n" + canonical_url
    elif guid:
        basis = "guid\n" + feed_url + "\n" + guid
    else:
        raise ContractError(f"an article from {feed_url or 'an unknown feed'} has neither a link nor a GUID")
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    """UTC ISO 8601 with a ``Z`` and whole seconds or milliseconds, as on the wire."""
    value = _as_utc(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class HeadlineChange(_Message):
    """An earlier headline of an article, and when the poller saw it replaced."""

    title: str
    until: datetime = Field(description="When the poller saw the next headline (the fetch time).")

    @field_validator("until")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @field_serializer("until")
    def _wire_time(self, value: datetime) -> str:
        return format_time(value)


class Revision(_Message):
    """What changed in an article the poller had published before (on revision 2 and later, optional in raw/1).

    The previous texts are ``None`` when the poller publishing the revision no longer knew them (the feed moved to
    it from another poller); the flags are then ``None`` too, and so is ``history``, which messages written before
    it lack as well.
    """

    previous_title: str | None = None
    previous_lede: str | None = None
    title_changed: bool | None = None
    lede_changed: bool | None = None
    revised_at: datetime = Field(description="When the poller saw the change (the fetch time).")
    history: list[HeadlineChange] | None = Field(
        default=None,
        description="The headlines the article had before this revision's, oldest first, each with when it was "
        "replaced (the last is `previous_title` when this revision changed it); the poller keeps the last few.",
    )

    @field_serializer("revised_at")
    def _wire_time(self, value: datetime) -> str:
        return format_time(value)


class Article(_Message):
    """A news article as the feed poller found it (``news.raw``)."""

    schema_: Literal["newswire.raw/1"] = Field(default=RAW_SCHEMA, alias="schema")
    id: str = Field(min_length=1, max_length=128)
    url: str = Field(description="Canonical article URL ('' when the entry had only a GUID).")
    feed_url: str
    source: str = Field(description="Human name of the outlet, from the feed title or the feed list.")
    title: str
    summary: str = ""
    content: str = ""
    published: datetime
    published_estimated: bool = Field(
        default=False, description="True when the feed gave no usable date and `published` is the fetch time."
    )
    fetched: datetime
    language: str | None = None
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    guid: str | None = None
    revision: int = Field(default=1, ge=1, description="Bumped when a known article's title or text changed.")
    revised: Revision | None = Field(default=None, description="What changed, on revision 2 and later.")

    @field_validator("published", "fetched")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @field_serializer("published", "fetched")
    def _wire_time(self, value: datetime) -> str:
        return format_time(value)

    @property
    def text(self) -> str:
        """Title, summary and content as one text, for enrichment."""
        parts = [self.title, self.summary]
        if self.content and self.content != self.summary:
            parts.append(self.content)
        return "\n\n".join(part for part in parts if part)


class Entity(_Message):
    """A named entity found in an article, under its canonical name."""

    name: str = Field(min_length=1)
    label: str = Field(min_length=1, description="spaCy label: PERSON, ORG, GPE, LOC, NORP, EVENT, FAC.")
    count: int = Field(ge=1, description="Mentions in the article.")
    surface_forms: list[str] = Field(default_factory=list)
    first_offset: int = Field(default=0, ge=0, description="Character offset of the first mention in `text`.")


class Topic(_Message):
    """A topic label (an IPTC Media Topic at the top level) with the classifier's score in [0, 1]."""

    label: str
    score: float = Field(ge=0.0, le=1.0)


class Enrichment(_Message):
    """Which models made the enrichment."""

    model: str
    model_version: str
    processor_version: str
    enriched_at: datetime

    @field_serializer("enriched_at")
    def _wire_time(self, value: datetime) -> str:
        return format_time(value)


class EnrichedArticle(Article):
    """An article with entities, topics, its event and storyline (``news.enriched``, schema version 2).

    ``event_id`` is the id of the event's first article, ``storyline_id`` that of the storyline's first event.
    ``story_id`` is the same as ``event_id``, kept for readers of version 1 for one more version. A version 1
    message is read as version 2 without them: :attr:`event` is then its ``story_id``, and :attr:`storyline` the
    event itself. Read the two properties, not the fields, to handle both.
    """

    schema_: Literal["newswire.enriched/2"] = Field(default=ENRICHED_SCHEMA, alias="schema")  # type: ignore[assignment]
    entities: list[Entity] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    event_id: str | None = None
    storyline_id: str | None = None
    story_id: str | None = Field(default=None, description="Deprecated alias of event_id.")
    duplicate_of: str | None = None
    merged_storylines: list[str] = Field(
        default_factory=list,
        description="Storylines this article's event showed to be its storyline: merged into storyline_id.",
    )
    language_supported: bool = Field(default=True, description="False when NER was skipped for the language.")
    enrichment: Enrichment

    @model_validator(mode="before")
    @classmethod
    def _read_version_1(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("schema") == ENRICHED_SCHEMA_1:
            data = {**data, "schema": ENRICHED_SCHEMA}
        return data

    @property
    def event(self) -> str | None:
        """The article's event: ``event_id``, or ``story_id`` in a version 1 message; None before grouping."""
        return self.event_id or self.story_id

    @property
    def storyline(self) -> str | None:
        """The article's storyline: ``storyline_id``, or its event when it has none (version 1)."""
        return self.storyline_id or self.event

    def grouped(
        self, event_id: str, storyline_id: str, duplicate_of: str | None, merged_storylines: Sequence[str] = ()
    ) -> EnrichedArticle:
        """This article in event ``event_id`` of storyline ``storyline_id`` (``story_id`` follows the event), with
        the storylines its event merged into that one (a store applies the merge when it writes the article)."""
        update = {
            "event_id": event_id,
            "story_id": event_id,
            "storyline_id": storyline_id,
            "duplicate_of": duplicate_of,
            "merged_storylines": list(merged_storylines),
        }
        return self.model_copy(update=update)

    @classmethod
    def from_article(cls, article: Article, **enriched: Any) -> EnrichedArticle:
        fields = article.model_dump(exclude={"schema_"})
        fields.update(enriched)
        return cls(**fields)


class Origin(_Message):
    """Where a dead-lettered message was read from."""

    topic: str
    partition: int | None = None
    offset: int | None = None
    key: str | None = None


class DeadLetter(_Message):
    """A message a stage could not handle (``news.deadletter``), kept with the reason and its origin."""

    schema_: Literal["newswire.deadletter/1"] = Field(default=DEADLETTER_SCHEMA, alias="schema")
    stage: str = Field(description="ingest, processor or indexer.")
    reason: str
    error_type: str
    origin: Origin
    payload: str = Field(description="The original message value, decoded as UTF-8 with replacement characters.")
    failed_at: datetime = Field(default_factory=utc_now)

    @field_serializer("failed_at")
    def _wire_time(self, value: datetime) -> str:
        return format_time(value)


class AlertSearch(_Message):
    """The saved search an alert is for."""

    id: str
    name: str
    kind: Literal["articles", "new_story", "story_growth"]


class AlertArticle(_Message):
    """The article that made the alert (for a new story: its first matching one; for growth: the newest)."""

    id: str
    title: str
    url: str
    source: str
    published: datetime
    event_id: str | None = None
    storyline_id: str | None = None

    @field_serializer("published")
    def _wire_time(self, value: datetime) -> str:
        return format_time(value)


class AlertStory(_Message):
    """For a story alert: the story, and for ``story_growth`` its articles published within the window."""

    id: str
    level: Literal["event", "storyline"]
    articles_in_window: int | None = None
    window_minutes: int | None = None


class Alert(_Message):
    """A saved search matched (``news.alerts``, keyed by the saved search's id).

    ``id`` is the same each time the same article (or story and window) makes the same saved search match, so a
    consumer that keeps the ids it has seen drops the repeats that at-least-once delivery and replays can bring.
    """

    schema_: Literal["newswire.alert/1"] = Field(default=ALERT_SCHEMA, alias="schema")
    id: str = Field(min_length=1, max_length=400)
    saved_search: AlertSearch
    article: AlertArticle
    story: AlertStory | None = None
    alerted_at: datetime = Field(default_factory=utc_now)

    @field_serializer("alerted_at")
    def _wire_time(self, value: datetime) -> str:
        return format_time(value)


# The schema file of each kind of message: the version written, and "enriched-1", still read.
_SCHEMA_FILES: Final = {
    "raw": "raw-1",
    "enriched": "enriched-2",
    "enriched-1": "enriched-1",
    "deadletter": "deadletter-1",
    "alert": "alert-1",
}


@cache
def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``kind`` (``raw``, ``enriched``, ``enriched-1``, ``deadletter`` or ``alert``) in
    ``newswire/schemas``."""
    text = resources.files("newswire").joinpath("schemas", f"{_SCHEMA_FILES[kind]}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(kind: str) -> jsonschema.protocols.Validator:
    schema = json_schema(kind)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


@cache
def _fast_validator(kind: str) -> Callable[[Any], Any]:
    compiled: Callable[[Any], Any] = fastjsonschema.compile(json_schema(kind))
    return compiled


def _check(kind: str, document: Any) -> None:
    # Every message of the pipeline goes through here twice, so a valid one is passed by a compiled validator
    # (about 15 times faster); only a document it refuses goes to the reference validator, which words the error
    # and has the last say. tests/unit/test_contract.py checks the compiled one never passes what the reference
    # refuses.
    try:
        _fast_validator(kind)(document)
    except fastjsonschema.JsonSchemaException:
        pass
    else:
        return
    error = jsonschema.exceptions.best_match(_validator(kind).iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise ContractError(f"not a valid {kind} message at {where}: {error.message}")


def _encode(kind: str, message: _Message) -> bytes:
    document = message.model_dump(mode="json", by_alias=True)
    _check(kind, document)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# The schema versions each kind of message is read in.
_READABLE: Final = {
    "raw": (RAW_SCHEMA,),
    "enriched": (ENRICHED_SCHEMA, ENRICHED_SCHEMA_1),
    "deadletter": (DEADLETTER_SCHEMA,),
    "alert": (ALERT_SCHEMA,),
}


def _decode(kind: str, value: bytes | str) -> dict[str, Any]:
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ContractError(f"expected a JSON object, got {type(document).__name__}")
    schema, readable = document.get("schema"), _READABLE[kind]
    if isinstance(schema, str) and schema not in readable:
        # Say which version came, so a dead letter from a newer writer names it (the schema check only says which
        # one it expected).
        raise ContractError(
            f"not a valid {kind} message: unknown schema {schema[:100]!r}; this newswire reads {', '.join(readable)}"
        )
    _check("enriched-1" if kind == "enriched" and document.get("schema") == ENRICHED_SCHEMA_1 else kind, document)
    return document


def encode_raw(article: Article) -> bytes:
    return _encode("raw", article)


def decode_raw(value: bytes | str) -> Article:
    """Parse and check a ``news.raw`` value; :class:`ContractError` says what is wrong."""
    document = _decode("raw", value)
    try:
        return Article.model_validate(document)
    except ValidationError as exc:
        raise ContractError(f"not a valid raw message: {exc.errors()[0]['msg']}") from exc


def encode_enriched(article: EnrichedArticle) -> bytes:
    return _encode("enriched", article)


def enriched_json(article: EnrichedArticle) -> str:
    """The JSON text of an article that is already a checked :class:`EnrichedArticle`, for a store to keep.

    The same document as :func:`encode_enriched`, without checking it against the schema again: a store writes what
    the indexer decoded (and checked) at the bus boundary a moment before.
    """
    return json.dumps(article.model_dump(mode="json", by_alias=True), ensure_ascii=False, separators=(",", ":"))


def decode_enriched(value: bytes | str) -> EnrichedArticle:
    """Parse and check a ``news.enriched`` value; :class:`ContractError` says what is wrong."""
    document = _decode("enriched", value)
    try:
        return EnrichedArticle.model_validate(document)
    except ValidationError as exc:
        raise ContractError(f"not a valid enriched message: {exc.errors()[0]['msg']}") from exc


def encode_deadletter(letter: DeadLetter) -> bytes:
    return _encode("deadletter", letter)


def decode_deadletter(value: bytes | str) -> DeadLetter:
    document = _decode("deadletter", value)
    try:
        return DeadLetter.model_validate(document)
    except ValidationError as exc:
        raise ContractError(f"not a valid dead letter: {exc.errors()[0]['msg']}") from exc


def encode_alert(alert: Alert) -> bytes:
    return _encode("alert", alert)


def decode_alert(value: bytes | str) -> Alert:
    """Parse and check a ``news.alerts`` value; :class:`ContractError` says what is wrong."""
    document = _decode("alert", value)
    try:
        return Alert.model_validate(document)
    except ValidationError as exc:
        raise ContractError(f"not a valid alert: {exc.errors()[0]['msg']}") from exc
