"""The processor: raw articles in, enriched articles out, as a :class:`~newswire.stage.Stage` on the bus.

:class:`ArticleProcessor` enriches a batch with one ``nlp.pipe`` call: boilerplate is blanked out, the language
detected, entities extracted and canonicalised, topics labelled, and (when a :class:`Grouping` is given) the story
and the first copy of a syndicated article found. :func:`build_process_stage` wraps it in the at-least-once stage
loop: a record that is not a valid raw article, or an article that makes spaCy fail, is dead-lettered and the rest of
the batch goes on.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from newswire.bus import Bus, Record
from newswire.contract import Article, EnrichedArticle, Enrichment, Entity, Topic, decode_raw, encode_enriched, utc_now
from newswire.errors import ContractError, EnrichmentError
from newswire.processors.aliases import AliasTable, load_aliases
from newswire.processors.base import Enricher, Grouping, TopicClassifier, TopicInput
from newswire.processors.cleaning import mask_boilerplate
from newswire.processors.embedding import shared_embedder
from newswire.processors.entities import EntityMemory, extract_entities, shared_pipeline
from newswire.processors.language import detect_language, is_supported, load_detector
from newswire.processors.spacy_worker import CHUNK_TEXTS, LocalSpans, SpacyWorker, SpanSource
from newswire.processors.spans import Span, with_remembered
from newswire.processors.topics import LexiconTopicClassifier, simple_words
from newswire.settings import Settings
from newswire.stage import BatchOutcome, Output, Rejection, Stage

logger = logging.getLogger(__name__)

PROCESSOR_VERSION = "0.2.0"
WARM_UP_TEXT = "Wagner fighters left Rostov-on-Don on Saturday night, the regional governor said in Moscow."
# Words in each text of the warm-up batch: about a news article's length, so the batch takes what a real one takes.
WARM_UP_WORDS = 300
STAGE_NAME = "processor"
LOOKAHEAD = 2  # batches whose spans are asked for before they are enriched: the one in hand and the next


@dataclass(slots=True)
class _Started:
    """A batch whose spans are being read: its articles, its chunks' bounds, what its sender thread made of each
    chunk (cleaned texts, languages, which ones the model reads) and the answers as they come."""

    articles: list[Article]
    bounds: list[tuple[int, int]]
    prepared: list[tuple[list[str], list[Any], list[bool]]]
    answers: Iterator[list[list[Span]]]
    generation: int


class ArticleProcessor(Enricher):
    """Entities, topics, language, stories and duplicates for batches of articles, with one spaCy pipeline."""

    def __init__(
        self,
        settings: Settings,
        *,
        nlp: Any = None,
        aliases: AliasTable | None = None,
        classifier: TopicClassifier | None = None,
        grouping: Grouping | None = None,
        spans: SpanSource | None = None,
    ) -> None:
        """``spans`` reads the entity spans (a :class:`~.spacy_worker.SpacyWorker`, spaCy in a process of its own);
        without it, ``nlp`` (or the shared pipeline of ``settings.spacy_model``) runs in this process."""
        if spans is None:
            if nlp is None or aliases is None:
                nlp, aliases = shared_pipeline(settings.spacy_model)
            spans = LocalSpans(nlp, warm_up_pipeline)
        self.spans = spans
        self._ahead: deque[_Started] = deque()
        self.aliases = aliases if aliases is not None else load_aliases()
        self.classifier = classifier or LexiconTopicClassifier()
        self.grouping = grouping
        self.wanted_labels = settings.wanted_labels
        # What earlier articles of this process established (full names, labels); each replica keeps its own.
        capacity = settings.entity_memory_capacity
        self.entity_memory = EntityMemory(capacity) if capacity else None
        load_detector()
        self.model_language = spans.lang
        self.enrichment_template = {
            "model": settings.spacy_model,
            "model_version": spans.model_version,
            "processor_version": f"{PROCESSOR_VERSION}+{self.classifier.name}-{self.classifier.version}",
        }

    def warm_up(self, batch_size: int = 1) -> None:
        """Run the pipeline over one batch of ``batch_size`` article-length texts (see :func:`warm_up_pipeline`);
        with grouping, load the sentence model that storylines embed new events with, and run it once."""
        self.spans.warm_up(batch_size)
        if self.grouping is not None:
            shared_embedder().embed([WARM_UP_TEXT])

    def close(self) -> None:
        self._discard_ahead()
        self.spans.close()

    def prefetch(self, articles: Sequence[Article]) -> None:
        """Ask for the spans of ``articles`` now (a :class:`~.spacy_worker.SpacyWorker` starts reading them as soon
        as it has read what was asked for before), so that :meth:`enrich` finds them read or under way. At most
        :data:`LOOKAHEAD` batches wait so; a batch asked for again is not asked twice."""
        if any(started.articles == articles for started in self._ahead):
            return
        self._ahead.append(self._start(list(articles)))
        while len(self._ahead) > LOOKAHEAD:
            self._close(self._ahead.popleft())

    def enrich(self, articles: Sequence[Article]) -> list[EnrichedArticle]:
        """The batch in chunks of :data:`~.spacy_worker.CHUNK_TEXTS` articles, in order: each chunk's texts are made
        (boilerplate masked, language found) just before its spans are read, and it is finished (entities, topics,
        stories) as its spans come, so that a :class:`~.spacy_worker.SpacyWorker` reads one chunk while the next is
        made and the one before is finished. A batch given to :meth:`prefetch` before is not read again."""
        started = self._take_ahead(articles)
        if started is not None:
            try:
                return self._read(articles, started)
            except EnrichmentError as exc:  # its model process died since (a new one reads it), or a text fails again
                logger.info("reading a batch of %d asked for ahead failed (%s); reading it again", len(articles), exc)
        return self._read(articles, self._start(list(articles)))

    def _read(self, articles: Sequence[Article], started: _Started) -> list[EnrichedArticle]:
        enrichment = Enrichment(**self.enrichment_template, enriched_at=utc_now())
        enriched: list[EnrichedArticle] = []
        try:
            for number, chunk_spans in enumerate(started.answers):
                start, end = started.bounds[number]
                texts, guesses, supported = started.prepared[number]
                spans = iter(chunk_spans)
                found = [next(spans) if ok else None for ok in supported]
                enriched += self._finish(articles[start:end], texts, guesses, found, enrichment)
        finally:
            self._close(started)
        return enriched

    def _start(self, articles: list[Article]) -> _Started:
        bounds = [(start, min(start + CHUNK_TEXTS, len(articles))) for start in range(0, len(articles), CHUNK_TEXTS)]
        prepared: list[tuple[list[str], list[Any], list[bool]]] = []

        def texts_of(number: int) -> list[str]:
            # Made just before the chunk is read (in the worker's sender thread), not the whole batch first.
            start, end = bounds[number]
            texts = [mask_boilerplate(article.text) for article in articles[start:end]]
            guesses = [detect_language(text, a.language) for a, text in zip(articles[start:end], texts, strict=True)]
            supported = [is_supported(guess, self.model_language) for guess in guesses]
            prepared.append((texts, guesses, supported))
            return [text for text, ok in zip(texts, supported, strict=True) if ok]

        generation = self.spans.generation
        return _Started(articles, bounds, prepared, self.spans.chunks(len(bounds), texts_of), generation)

    def _take_ahead(self, articles: Sequence[Article]) -> _Started | None:
        """The batch asked for ahead that ``articles`` is; any asked for before it, or after a restart of the
        model's process (whose answers will never come), are dropped, and all of them when it is none."""
        while self._ahead:
            started = self._ahead.popleft()
            if started.generation == self.spans.generation and started.articles == articles:
                return started
            self._close(started)
        return None

    def _discard_ahead(self) -> None:
        while self._ahead:
            self._close(self._ahead.popleft())

    @staticmethod
    def _close(started: _Started) -> None:
        close = getattr(started.answers, "close", None)
        if close is not None:
            close()

    def _finish(
        self,
        articles: Sequence[Article],
        texts: Sequence[str],
        guesses: Sequence[Any],
        found: Sequence[list[Span] | None],
        enrichment: Enrichment,
    ) -> list[EnrichedArticle]:
        """Entities, topics and stories of articles whose spans were read (``None``: a language the model lacks)."""
        topic_inputs = [
            TopicInput(article.title, text, simple_words(text))
            for article, text, spans in zip(articles, texts, found, strict=True)
            if spans is not None
        ]
        topics = iter(self.classifier.classify(topic_inputs))
        enriched = []
        memory = self.entity_memory
        for article, text, guess, spans in zip(articles, texts, guesses, found, strict=True):
            entities: list[Entity] = []
            labels: list[Topic] = []
            if spans is not None:
                read = with_remembered(text, spans, memory)
                entities = extract_entities(read, self.aliases, self.wanted_labels, memory)
                labels = next(topics)
            enriched.append(
                EnrichedArticle.from_article(
                    article,
                    language=guess.code or article.language,
                    language_supported=spans is not None,
                    entities=entities,
                    topics=labels,
                    enrichment=enrichment,
                )
            )
        if self.grouping is not None:
            enriched = self.grouping.assign(enriched)
        return enriched


def warm_up_pipeline(nlp: Any, batch_size: int) -> None:
    """Run ``nlp`` over ``batch_size`` texts of about :data:`WARM_UP_WORDS` words and drop the results.

    The first full batch grows the heap by the tens of megabytes spaCy's layers need for it: some 16,000 page faults
    on the bench corpus, a third of a second of kernel time. Paid here, before the first poll, it neither delays the
    first articles nor counts against the rate; with :func:`~newswire.processors.runtime.keep_heap` the memory then
    stays for later batches. About a second and a half on one core for 64 texts.
    """
    sentence_words = len(WARM_UP_TEXT.split())
    text = " ".join([WARM_UP_TEXT] * max(1, WARM_UP_WORDS // sentence_words))
    for _ in nlp.pipe([text] * max(1, batch_size), batch_size=max(1, batch_size)):
        pass


def _position(record: Record) -> tuple[str, int, int]:
    return (record.topic, record.partition, record.offset)


def prefetch_batch(
    processor: Enricher, records: Sequence[Record], decoded: dict[tuple[str, int, int], Article]
) -> None:
    """Decode ``records`` into ``decoded`` (by position, for :func:`handle_batch`) and hand the valid articles to
    ``processor.prefetch``; a record that is not an article is left for :func:`handle_batch` to reject."""
    articles = []
    for record in records:
        position = _position(record)
        article = decoded.get(position)
        if article is None:
            try:
                article = decoded[position] = decode_raw(record.value)
            except ContractError:
                continue
        articles.append(article)
    if articles:
        processor.prefetch(articles)


def handle_batch(
    processor: Enricher,
    records: Sequence[Record],
    topic_enriched: str,
    decoded: Mapping[tuple[str, int, int], Article] | None = None,
) -> BatchOutcome:
    """Decode, enrich and encode ``records``; what cannot be handled becomes a :class:`Rejection`.

    ``decoded`` holds articles :func:`prefetch_batch` decoded already. The decisions the processor's grouping made
    for the batch go out with the enriched articles (before the commit).
    """
    outcome = BatchOutcome()
    valid: list[tuple[Record, Article]] = []
    for record in records:
        article = decoded.get(_position(record)) if decoded else None
        if article is not None:
            valid.append((record, article))
            continue
        try:
            valid.append((record, decode_raw(record.value)))
        except ContractError as exc:
            outcome.rejections.append(Rejection(record, str(exc), type(exc).__name__))
    if not valid:
        return outcome
    try:
        enriched = list(zip(valid, processor.enrich([article for _, article in valid]), strict=True))
    except Exception as exc:
        logger.warning("enrichment of a batch of %d failed (%s); retrying one article at a time", len(valid), exc)
        enriched = []
        for record, article in valid:
            try:
                enriched.append(((record, article), processor.enrich([article])[0]))
            except Exception as single_exc:
                reason = f"enrichment failed: {type(single_exc).__name__}: {single_exc}"
                outcome.rejections.append(Rejection(record, reason, type(single_exc).__name__))
    for (record, article), result in enriched:
        try:
            value = encode_enriched(result)
        except ContractError as exc:
            outcome.rejections.append(Rejection(record, str(exc), type(exc).__name__))
            continue
        outcome.outputs.append(Output(topic_enriched, article.id.encode("utf-8"), value))
    if processor.grouping is not None:
        outcome.outputs += processor.grouping.drain_outputs()
    return outcome


class ProcessStage(Stage):
    """The stage loop, with the model warmed up (unless ``warm_up`` is false: a one-shot run, where no first batch
    waits on a cold model any longer than the run would anyway) and the shared story state caught up before the first
    batch."""

    def __init__(self, *, processor: Enricher, warm_up: bool = True, **stage: Any) -> None:
        super().__init__(**stage)
        self.processor = processor
        self.warm_up = warm_up

    def run(self, stop: threading.Event) -> None:
        if self.warm_up:
            self.processor.warm_up(self.batch_size)
        grouping = self.processor.grouping
        if grouping is not None:
            grouping.start()
        try:
            super().run(stop)
        finally:
            if grouping is not None:
                grouping.close()
            self.processor.close()


def build_process_stage(
    settings: Settings, bus: Bus, *, processor: Enricher | None = None, warm_up: bool = True
) -> ProcessStage:
    """The processor stage: group ``settings.processor_group`` on ``settings.topic_raw`` to ``topic_enriched``.

    Without a ``processor``, one is built with story grouping shared through the bus (see :mod:`.state`).
    """
    from newswire.processors.state import SharedGrouping, state_topic  # noqa: PLC0415 - avoids an import cycle

    if processor is None:
        topic = state_topic(settings)
        bus.ensure_topics([topic])
        spans = SpacyWorker(settings.spacy_model) if settings.spacy_worker else None
        processor = ArticleProcessor(
            settings, grouping=SharedGrouping(bus, topic.name, settings.processor_group), spans=spans
        )
    enricher = processor
    decoded: dict[tuple[str, int, int], Article] = {}  # the batch in hand and the one read ahead

    def lookahead(records: Sequence[Record]) -> None:
        prefetch_batch(enricher, records, decoded)

    def handle(records: Sequence[Record]) -> BatchOutcome:
        try:
            return handle_batch(enricher, records, settings.topic_enriched, decoded)
        finally:
            for record in records:
                decoded.pop(_position(record), None)

    return ProcessStage(
        processor=processor,
        warm_up=warm_up,
        name=STAGE_NAME,
        bus=bus,
        topics=[settings.topic_raw],
        group=settings.processor_group,
        handle=handle,
        deadletter_topic=settings.topic_deadletter,
        batch_size=settings.batch_size,
        lookahead=lookahead,
    )
