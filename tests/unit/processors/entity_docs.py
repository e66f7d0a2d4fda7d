"""Documents whose entity spans are set by hand, on a blank spaCy pipeline (no model), for the entity-rule tests."""

from __future__ import annotations

from typing import Any

import spacy

BLANK = spacy.blank("en")


def entity_doc(text: str, *ents: tuple[str, str] | tuple[str, str, int]) -> Any:
    """A document of ``text`` with the given (surface, label[, occurrence]) entity spans."""
    doc = BLANK.make_doc(text)
    spans = []
    for ent in ents:
        surface, label = ent[0], ent[1]
        start = -1
        for _ in range(ent[2] if len(ent) > 2 else 1):  # the occurrence of the surface form
            start = text.index(surface, start + 1)
        span = doc.char_span(start, start + len(surface), label=label)
        assert span is not None, surface
        spans.append(span)
    doc.ents = spans
    return doc
