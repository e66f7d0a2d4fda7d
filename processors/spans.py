"""Entity spans read with the words around them: what :func:`doc_spans` makes of a spaCy ``Doc``'s entities.

The model's spans are taken as they are, then corrected by the text around them: a title or a role before a name
makes it a person ("Chancellor", "substitute"), "in" before a one-word name a place; a span cut before a particle
or after a nationality is joined to the next one; given names the model left out are put back ("Jannik Sinner"
for "Sinner"), an acronym's expansion in front of its parentheses is read from the text ("The British Medical
Association (BMA)"), and so is a dateline's place; with an :class:`~newswire.processors.memory.EntityMemory`,
names earlier articles established are marked where the model missed them.

The rules live beside this module: :mod:`.span_context` (the :class:`Span` type and what the words around a span
say of it), :mod:`.missed_names` (the names the model missed or cut, read from the text), :mod:`.organisations`
(the bodies the words around a name declare: "the aviation agency Rosaviatsia", "the Law and Justice party") and
:mod:`.surnames` (people named in full once, then by their family name). :class:`Span` is re-exported here for the
users of the spans.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from typing import Any

from newswire.processors.memory import EntityMemory, Recollection
from newswire.processors.missed_names import (
    CAPITALISED_WORD,
    LONG_ACRONYM,
    datelines,
    expanded_in_text,
    fuller_names,
    given_and_family_names,
    named_by_their_kind,
    overlaps,
    royals,
    spelled_out,
)
from newswire.processors.organisations import countries_in_names, organisations_named
from newswire.processors.shapes import ACRONYM, PLACE_LABELS
from newswire.processors.span_context import (
    POSSESSIVE_END,
    Span,
    common_head,
    coordinated_people,
    given_then_family,
    joins,
    placed_by_words,
    possessive_building,
    reads_as_firm,
    reads_as_person,
    reads_as_place,
    settlement_of,
    thing_named,
)
from newswire.processors.surnames import people_called_by_surname

__all__ = ["REMEMBERED_MENTIONS", "Span", "doc_spans", "model_spans", "with_remembered"]

logger = logging.getLogger(__name__)

# The word a portfolio stands before: "Defence" in "Defence Minister Sergei Shoigu" is no organisation.
_PORTFOLIO_HEADS = frozenset({"Minister", "Ministers", "Secretary"})
_TITLED_SPAN_WORDS = 4  # a title makes a person of a span this long at most
_HEADED = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"})  # labels of names a common noun may follow
REMEMBERED_MENTIONS = 2  # a name earlier articles gave this often is marked where the model missed it
_SENTENCE_END_CHARACTERS = frozenset('.!?:"\u201c\u201d\n')
_CAPITALISED_RUN = re.compile(r"(?<![\w'\u2019\-])[A-Z][\w'\u2019.\-]*(?:[ ]+[A-Z][\w'\u2019.\-]*)*")


def doc_spans(doc: Any, memory: EntityMemory | None = None) -> list[Span]:
    """The entity spans of a spaCy ``Doc``, read with the words around them: :func:`model_spans`, then, with a
    ``memory``, :func:`with_remembered`."""
    return with_remembered(doc.text, model_spans(doc), memory)


def model_spans(doc: Any) -> list[Span]:
    """The entity spans of a spaCy ``Doc``, read with the words around them, in the order of the text.

    A pure function of the document, so it can run where the model runs (a process of its own, see
    :mod:`~newswire.processors.spacy_worker`) and only the spans travel.

    A span right after a personal title ("Chancellor", "Mr", "spokesman") is a PERSON whatever the model said; a
    one-word span right before "Minister" or "Secretary" is a portfolio and left out; a span that ends in a
    lower-case particle is joined to the span after it, and a nationality to the organisation right after it
    ("British" + "Geological Survey"); an abbreviation in parentheses after a span is kept on it. Given names the
    model cut off are put back ("Jannik Sinner" for "Sinner"), an acronym's expansion before it in parentheses is
    read from the text, and so is the place of a dateline.

    The words around a span also say: a role in an apposition or "and" with a person, a person ("Edin Terzic, the
    Dortmund coach"); "the town of", a place; the kind of thing before it, a product or a work ("the drug
    Wegovy"); a person's possessive before it, what the person owns; a lower-case common noun after it, a facility
    ("Kakhovka dam") or a geographic place ("High Atlas mountains"). Acronyms get an expansion the text gives
    without parentheses, and royals and people with a known given name that the model missed are found, and so are
    the organisations the words around a name declare and people named in full whose surname the article repeats.
    """
    spans: list[Span] = []
    ends: list[int] = []  # the token after each span, to join a span to the next one
    starts: list[int] = []  # the first token of each span
    length = len(doc)
    # Both are built anew from every token on each access: read them once.
    ents, text = doc.ents, doc.text
    for ent in ents:
        label, start, end = ent.label_, ent.start, ent.end
        if end - start == 1 and label not in PLACE_LABELS and end < length and doc[end].text in _PORTFOLIO_HEADS:
            continue
        if label != "PERSON" and end - start <= _TITLED_SPAN_WORDS and reads_as_person(doc, start, end):
            label = "PERSON"
        elif (
            (label in ("PERSON", "ORG") and end - start == 1 and reads_as_place(doc, start))
            or (label == "PERSON" and placed_by_words(doc, start, end))
            or (
                label in ("PERSON", "ORG", "FAC", "LOC")
                and settlement_of(doc, start)
                # In words: a list of places may be one span ("Maranhao, Tocantins, Piaui").
                and sum(not token.is_punct for token in doc[start:end]) <= _TITLED_SPAN_WORDS
            )
        ):
            label = "GPE"
        elif (
            label in ("PERSON", "GPE", "NORP", "LOC")
            and end - start <= _TITLED_SPAN_WORDS
            and reads_as_firm(doc, start, end)
        ):
            label = "ORG"
        kind = thing_named(doc, start, end)
        if kind is not None:
            label = kind  # "the weight-loss drug Wegovy", "Leqembi, the first drug": a product, no organisation
        if (
            label == "PERSON"
            and spans
            and spans[-1].label == "PERSON"
            and ends[-1] == start
            and POSSESSIVE_END.search(spans[-1].text)
        ):
            label = "ORG"  # "Warren Buffett's Berkshire Hathaway": what a person owns
        end_char = ent.end_char
        headed = common_head(doc, end) if label in _HEADED and end - start <= _TITLED_SPAN_WORDS else None
        if headed is not None:
            # "the Kakhovka dam", "the Zaporizhzhia nuclear power plant" are facilities, with their common noun;
            # "the High Atlas mountains" is the High Atlas, a place that is no political unit.
            label, head = headed
            if label == "FAC":
                end, end_char = head + 1, doc[head].idx + len(doc[head].text)
        abbreviation = ""
        if end + 2 < length and doc[end].text == "(" and doc[end + 2].text == ")":
            inner = doc[end + 1].text
            abbreviation = inner if ACRONYM.fullmatch(inner) else ""
        span = Span(text[ent.start_char : end_char], label, ent.start_char, abbreviation)
        ruled = bool(ent.ent_id_)  # marked by the entity ruler, from the alias table
        if spans and joins(spans[-1], span, doc, ends[-1], start, ruled=ruled):
            first = spans.pop()
            ends.pop()
            start = starts.pop()
            if ruled and given_then_family(first, span, text):
                label = "PERSON"
            elif possessive_building(first, span):
                label = "FAC"
            else:
                label = span.label if first.label in ("NORP", "ORDINAL") else first.label
            span = Span(text[first.start : end_char], label, first.start, abbreviation)
        spans.append(span)
        ends.append(end)
        starts.append(start)
    coordinated_people(doc, spans, starts, ends)
    spans = named_by_their_kind(text, spelled_out(text, fuller_names(doc, text, ents, spans)))
    spans = organisations_named(text, datelines(doc, text, ents, expanded_in_text(text, spans)))
    spans = countries_in_names(text, spans)
    spans = given_and_family_names(text, [*spans, *royals(text, spans)])
    spans = people_called_by_surname(doc, text, spans)
    spans = headline_labels_left_out(text, hyphenated_places(text, spans))
    return sorted(spans, key=lambda span: span.start)


# "Rostov-on-Don", "Stratford-upon-Avon", "Frankfurt-am-Main": a place joined by a particle between hyphens.
_HYPHENATED_PLACE = re.compile(
    r"(?<![\w\-])[A-Z][\w'\u2019]+(?:-(?:on|upon|sur|am|an|en|le|la|les|de|del|di|im|in|under|by)-[A-Z][\w'\u2019]+)+"
)
# A headline's label before a colon: "Explainer: why ...", "Analysis: ...".
_HEADLINE_LABEL = re.compile(r"\s*([A-Z][a-z]+)\s*:")


def hyphenated_places(text: str, spans: list[Span]) -> list[Span]:
    """A place whose name joins words with a particle between hyphens is one place: the model reads "Rostov-on-Don"
    in a headline as two people, "Rostov" and "Don". The spans within such a name become the one name, a place."""
    places = list(_HYPHENATED_PLACE.finditer(text))
    if not places:
        return spans
    spans = sorted(spans, key=lambda span: span.start)
    starts = [span.start for span in spans]
    dropped: set[int] = set()
    kept: list[Span] = []
    for match in places:  # each match looks only at the spans that start inside it: one pass over long texts
        first, last = bisect_left(starts, match.start()), bisect_left(starts, match.end())
        inside = range(first, last)
        if inside and all(spans[n].start + len(spans[n].text) <= match.end() for n in inside):
            dropped.update(inside)
            kept.append(Span(match.group(), "GPE", match.start()))
    return [span for n, span in enumerate(spans) if n not in dropped] + kept


def headline_labels_left_out(text: str, spans: list[Span]) -> list[Span]:
    """A one-word "name" that opens the text before a colon and occurs nowhere else in it is the headline's label
    ("Explainer: why Rostov matters"), no entity; a name the headline opens with and the article repeats ("Putin:
    traitors will be punished", then "Vladimir Putin said") stays."""
    label = _HEADLINE_LABEL.match(text)
    if label is None:
        return spans
    word = label.group(1)
    if re.search(rf"\b{re.escape(word)}\b", text[label.end() :]):
        return spans
    return [span for span in spans if not (span.start == label.start(1) and span.text == word)]


def with_remembered(text: str, spans: list[Span], memory: EntityMemory | None) -> list[Span]:
    """``spans`` (of ``text``, in its order) and the names earlier articles established that the model missed in
    it (see :func:`_remembered`); ``spans`` alone without a ``memory``."""
    if memory is None:
        return spans
    return sorted([*spans, *_remembered(text, spans, memory)], key=lambda span: span.start)


def _remembered(text: str, spans: list[Span], memory: EntityMemory) -> list[Span]:
    """Spans for the names of up to three words that earlier articles established (seen at least
    :data:`REMEMBERED_MENTIONS` times) where the model marked nothing: "Arsenal" in a sentence the model read as
    having no name, and the acronym of one ("PHHT" after "Port Halden Health Trust"). A one-word name at the start
    of a sentence is left alone (it may be an ordinary word there), unless it is an acronym.

    Read from runs of capitalised words in the text, not token by token: spaCy makes a Python object of every
    token it is asked for, and this runs on every article.
    """
    taken = sorted((span.start, span.start + len(span.text)) for span in spans)
    found = []
    for run in _CAPITALISED_RUN.finditer(text):
        words = list(CAPITALISED_WORD.finditer(text, run.start(), run.end()))
        first = 0
        while first < len(words):
            for last in range(min(len(words), first + 3) - 1, first - 1, -1):
                start, end = words[first].start(), words[last].end()
                if overlaps(taken, start, end):
                    continue
                # "Mikel Arteta's side": the name without its possessive is what the memory knows.
                name = POSSESSIVE_END.sub("", text[start:end])
                acronym = last == first and LONG_ACRONYM.fullmatch(name) is not None
                if last == first and not acronym and _opens_sentence(text, start):
                    continue
                known = memory.established(name)
                if known is None and acronym:
                    known = memory.recall(name)  # the initials of an organisation ("PHHT"), an ordinary word nowhere
                if known is not None and (known.mentions >= REMEMBERED_MENTIONS or _full_person(known)):
                    found.append(Span(name, known.label, start))
                    first = last
                    break
            first += 1
    return found


def _full_person(known: Recollection) -> bool:
    # A person's full name is no ordinary word: one earlier mention establishes it.
    return known.label == "PERSON" and " " in known.name


def _opens_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_END_CHARACTERS
