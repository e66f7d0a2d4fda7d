"""Hostile text does not stall the span rules: each shape below once made a rule read the rest of the text from
every name in it (a quadratic pass), so that an article of a few hundred kilobytes held a processor for minutes.

The documents come from a blank spaCy pipeline (no model, no entities of the model): what is read here is the
text alone, as the rules read it. The timeout is a hang guard, not a speed target: a linear pass over these texts
takes well under a second, the quadratic ones took from one to six minutes.
"""

from __future__ import annotations

import re

import pytest
import spacy

from newswire.processors.entities import doc_spans
from newswire.processors.missed_names import named_by_their_kind
from newswire.processors.organisations import countries_in_names
from newswire.processors.span_context import Span

BLANK = spacy.blank("en")
SIZE = 200_000  # characters: an article well under the bus's 1 MiB that a feed could still carry

# Pieces written for this test, each repeated to SIZE.
SHAPES = {
    "one hyphenated run": "Rostov-on-Don-Moscow-Kyiv-",
    "places joined by particles, among names": "Anna Kowal of Rostov-on-Don met Bera Lund-on-Sea. ",
    "bodies and appositions": "the agency Velo of Ardent, the maker of Cade party and ",
    "institutions for things": "Commission Alpha Beta Centre for Rivers and Wetlands and ",
    "names used again": "Anna Kowal. Bera Lund said. ",
    "a capitalised run": "Commission Alpha Beta ",
    "acronyms": "Harbour Safety Board (HSB) said HSB and ",
    "titles and roles": "Mr Kowal and Dr Anna Nowak, the chief executive of ",
    "lists": "Tarro, Velko, Mirren and ",
}


@pytest.mark.timeout(60)  # a hang guard, see the module doc
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_long_text_of_one_shape_is_read_in_one_pass(shape):
    text = "A headline\n" + SHAPES[shape] * (SIZE // len(SHAPES[shape]))
    spans = doc_spans(BLANK(text))
    assert all(text[span.start : span.start + len(span.text)] == span.text for span in spans)
    assert len({span.start for span in spans}) == len(spans)  # no span found twice


# Rules that only act on spans the model gives (a blank pipeline gives none): fed the spans a model would give.
SPANNED_SHAPES = {
    "country codes after names": ("Age UK Harrowgate and Anna Kowal said. ", ("UK", "GPE"), countries_in_names),
    "places named by their kind": (
        "near the Kettle Bridge, Anna Kowal said. ",
        ("Anna Kowal", "PERSON"),
        named_by_their_kind,
    ),
}


@pytest.mark.timeout(60)  # a hang guard, see the module doc
@pytest.mark.parametrize("shape", sorted(SPANNED_SHAPES))
def test_a_long_text_with_many_spans_is_read_in_one_pass(shape):
    piece, (surface, label), rule = SPANNED_SHAPES[shape]
    text = "A headline\n" + piece * (SIZE // len(piece))
    spans = [Span(surface, label, match.start()) for match in re.finditer(rf"\b{re.escape(surface)}\b", text)]
    found = rule(text, spans)
    assert found != spans  # the rule did read the text: each piece gives it a name to find
    assert all(text[span.start : span.start + len(span.text)] == span.text for span in found)
