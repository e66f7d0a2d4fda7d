"""People the model missed whose full name the article gives once and whose family name it then uses alone, as
reporters write: "Tomas Verhoeven told the hearing ... Verhoeven said", for
:func:`~newswire.processors.spans.model_spans`.

:func:`~newswire.processors.missed_names.given_and_family_names` finds the people whose given name is a known one;
this finds the others, by the family name the article repeats, or by "who" after the name ("Anouk Brel, who ...").
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Any

from newswire.processors.cleaning import label_by_shape
from newswire.processors.missed_names import SENTENCE_ADVERBS, overlaps, plain_name_word
from newswire.processors.shapes import PLACE_PREFIXES
from newswire.processors.span_context import Span

logger = logging.getLogger(__name__)

_WORD = r"[A-Z][a-z]+(?:['\u2019\-][A-Z][a-z]+)?"
# A given and a family name, with no further capitalised word on either side.
_FULL_NAME = re.compile(
    rf"(?<![\w'\u2019\-])(?<![A-Z][\w'\u2019\-]\s)(?P<given>{_WORD})[ ]+(?P<family>{_WORD})"
    rf"(?![\w'\u2019\-]|[ ]+[A-Z])"
)
_WHO_AFTER = re.compile(r", who\b")
# A word in the shape of a name, standing on its own: what a family name used alone looks like.
_NAME_USED = re.compile(rf"(?<![\w'\u2019\-]){_WORD}(?![\w\-])")


def people_called_by_surname(doc: Any, text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with a PERSON span for each full name outside them (after the headline) whose family name the
    article also uses alone, or that "who" follows; neither word may be a title, a role, a month, a place, a stop
    word or a word that gives a name another form ("Harbour Board")."""
    headline_end = max(text.find("\n"), 0)
    taken = sorted((span.start, span.start + len(span.text)) for span in spans)
    # Counted in one pass, so that a text of many names costs no more than one read each (scanning the text for
    # every name took seconds on a few dozen kilobytes of them).
    uses: Counter[str] = Counter()
    after_given: Counter[tuple[str, str]] = Counter()
    before, before_end = "", -2
    for used in _NAME_USED.finditer(text):
        uses[used.group()] += 1
        if used.start() == before_end + 1 and text[before_end] == " ":
            after_given[before, used.group()] += 1
        before, before_end = used.group(), used.end()
    added = []
    for match in _FULL_NAME.finditer(text, headline_end):
        start, end = match.start(), match.end()
        given, family = match.group("given"), match.group("family")
        if overlaps(taken, start, end) or not (plain_name_word(given) and plain_name_word(family)):
            continue
        if given.casefold() in PLACE_PREFIXES or label_by_shape(f"{given} {family}") is not None:
            continue
        token = doc.char_span(start, start + len(given))
        if token is None or token[0].is_stop or given.casefold() in SENTENCE_ADVERBS:  # "Later Verhoeven said"
            continue
        # The family name used once more than after its given name, this use left out (its space may be two).
        alone = uses[family] - 1 - (after_given[given, family] - (match.start("family") == match.end("given") + 1))
        if _WHO_AFTER.match(text, end) or alone > 0:
            added.append(Span(match.group(0), "PERSON", start))
    return [*spans, *added]
