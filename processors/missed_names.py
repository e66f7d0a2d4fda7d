"""Names the model missed or cut short, read from the text itself, for
:func:`~newswire.processors.spans.model_spans`.

Each function takes an article's text (and its spaCy ``Doc`` where it needs the tokens) and the spans found so far,
and returns them with what the text adds:

- :func:`fuller_names`: the given names the model left out before a one-word name ("Jannik Sinner" for "Sinner");
- :func:`given_and_family_names`: the people it missed whose name starts with a known given name;
- :func:`royals`: the royals and popes it missed ("King Felipe VI", "Pope Francis");
- :func:`spelled_out` and :func:`expanded_in_text`: an acronym's expansion, before it in parentheses or anywhere
  else in the article;
- :func:`datelines`: the place of a dateline ("MELBOURNE - ..."), in the case of a name (:func:`dateline_name`);
- :func:`named_by_their_kind`: facilities and places named by their kind word ("The Francis Scott Key Bridge").

:func:`overlaps`, :data:`CAPITALISED_WORD` and :data:`LONG_ACRONYM` are shared with
:func:`~newswire.processors.spans.with_remembered`.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
from collections.abc import Sequence
from typing import Any

from newswire.processors.aliases import shipped_given_names, shipped_places
from newswire.processors.cleaning import canonical_form, head_words, label_by_shape
from newswire.processors.shapes import initials
from newswire.processors.span_context import CONNECTORS, NAME_TOKEN, ROLE_WORDS, TITLE_WORDS, Span

logger = logging.getLogger(__name__)

_DATELINE_LINE = re.compile(
    r"^[ \t]*(?P<place>[A-Z][A-Z'.\-]{2,}(?:[ \t]+[A-Z][A-Z'.\-]{2,})*)"
    r"(?:,[ \t]*[A-Z][a-z]+\.?(?:[ \t]+\d{1,2})?)?[ \t]+[\-\u2013\u2014]+[ \t]",
    re.MULTILINE,
)
_DATELINE_PARTICLES = re.compile(r"(?<=-)(?:On|Upon|Sur|De|La|Le|En)(?=-)")
# What a one-word name the model found may be the surname of, and the words that can be a given name before it.
_FULL_NAME_LABELS = frozenset({"PERSON", "ORG", "GPE"})
_GIVEN_NAMES_BEFORE = 2  # "Jannik Sinner", "Recep Tayyip Erdogan"
_CALENDAR = (
    "january february march april may june july august september october november december monday tuesday wednesday"
    " thursday friday saturday sunday"
)
CALENDAR_WORDS = frozenset(_CALENDAR.split())
# Capitalised adverbs that open a sentence before a name and are no stop words ("Later Sinner said").
_ADVERBS = (
    "later earlier yesterday today tonight tomorrow overnight instead separately recently finally eventually"
    " previously initially officially meanwhile afterwards then now still"
)
SENTENCE_ADVERBS = frozenset(_ADVERBS.split())
_NO_SPAN = Span("", "", -1)  # a token of an entity doc_spans dropped
_SENTENCE_ENDS = frozenset({".", "!", "?", ":", '"', "\u201c", "\u201d", "\n", "\n\n"})
CAPITALISED_WORD = re.compile(r"[A-Z][\w'\u2019.\-]*\w|[A-Z]")
_PARENTHESISED_ACRONYM = re.compile(r"\(([A-Z][A-Za-z&]{1,9})\)")
_ROYAL_IN_TEXT = re.compile(
    r"(?<![\w-])(?:King|Queen|Pope|Emperor|Empress)[ ]+[A-Z][a-z]+(?:[ ]+[IVX]+)?(?![\w'\u2019-]|[ ]+[A-Z])"
)
_GIVEN_AND_FAMILY = re.compile(
    r"(?<![\w'\u2019\-])(?P<given>[A-Z][a-z]+)(?:[ ]+(?:van|von|der|den|de|del|da|di|du|ten|ter))*"
    r"[ ]+(?P<family>[A-Z][a-z]+(?:['\u2019\-][A-Z][a-z]+)?)(?![\w'\u2019\-]|[ ]+[A-Z])"
)
_LONGEST_WORD = 40
_WORD_BEFORE = re.compile(r"(?:[A-Z][\w'\u2019\-]*|\b(?:and|of|for|the))[ ]+$")
# Capitalised words that open sentences and are given names too: "Will", "May", "Grant", "Mark".
_NOT_NAMES = frozenset({"will", "may", "june", "april", "august", "grant", "mark", "major", "king", "rose", "hope"})
LONG_ACRONYM = re.compile(r"[A-Z]{3,6}")
# Capitalised words with the small words of names between them, on one line: "Food and Drug Administration".
_TITLE_CASE_RUN = re.compile(r"[A-Z][\w'\u2019\-]*(?:[ ]+(?:(?:of|and|for|on|the|&)[ ]+)*[A-Z][\w'\u2019\-]*)*")
_SENTENCE_OPENERS = frozenset({"The"})
_WORD = re.compile(r"[^\s,;:()\[\]\n]+")
_LONGEST_EXPANSION = 120  # characters before the parentheses an expansion may take
# A capitalised word that makes a facility or a geographic place of the name it ends ("Bridge", "River"), and the
# capitalised words before it on its line.
_PLACE_HEAD = re.compile(
    r"(?<=[ ])(?:"
    + "|".join(sorted(word.capitalize() for word in head_words("FAC") | head_words("LOC")))
    + r")(?![\w'\u2019\-]|[ ]+[A-Z])"
)
_WORDS_BEFORE_HEAD = re.compile(r"(?<![\w'\u2019\-])(?:[A-Z][\w'\u2019\-]*[ ]+(?:(?:of|de)[ ]+)?){1,4}$")


def overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``start:end`` overlaps the last of the ``taken`` (start, end) offsets, in order, that starts before
    ``end``."""
    at = bisect.bisect_left(taken, (end, end))
    return at > 0 and taken[at - 1][1] > start


def spelled_out(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with the expansions the text gives an acronym in parentheses that the model missed or cut: "The
    British Medical Association (BMA)" is one ORG span with its abbreviation, in place of "British" (NORP) alone.

    The expansion is the run of words right before the parentheses whose capitalised initials spell the acronym,
    with "of", "and", "for" and "the" allowed between them.
    """
    found: list[Span] = []
    for match in _PARENTHESISED_ACRONYM.finditer(text):
        acronym = match.group(1)
        start = _expansion_start(text, match.start(), acronym)
        if start is None or any(span.start == start and span.abbreviation for span in spans):
            continue
        found.append(Span(text[start : match.start()].rstrip(), "ORG", start, acronym))
    if not found:
        return spans
    kept = [span for span in spans if not any(new.start <= span.start < new.start + len(new.text) for new in found)]
    return kept + found


def named_by_their_kind(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with a FAC or LOC span for a run of capitalised words the model missed that ends in the word of a
    facility or a geographic place: "The Francis Scott Key Bridge in Baltimore" (without the "The" that opens it),
    in place of the spans inside it; outside the headline (often in title case), and of two words at least, unless
    the first is a given name."""
    headline_end = text.find("\n")
    if headline_end < 0:
        return spans
    taken = sorted((span.start, span.start + len(span.text)) for span in spans)
    taken_starts = [first for first, _ in taken]
    reach = list(itertools.accumulate((last for _, last in taken), max))  # the furthest end of the spans so far
    found: list[Span] = []
    # From each capitalised head word back (a pass over the text's runs of capitalised words took longer).
    for head in _PLACE_HEAD.finditer(text, headline_end):
        before = _WORDS_BEFORE_HEAD.search(text, max(headline_end, head.start() - _LONGEST_EXPANSION), head.start())
        if before is None:
            continue
        words = before.group(0).split()
        start = before.start() + (4 if words[0] == "The" else 0)
        name_words = words[1:] if words[0] == "The" else words
        if not name_words or (len(name_words) == 1 and name_words[0].casefold() in shipped_given_names()):
            continue  # "in Ruth Street" may be a person named so: Street is a surname too
        # No span may reach into the name from before it, and none that starts inside it may reach past its end.
        first, after = bisect.bisect_left(taken_starts, start), bisect.bisect_left(taken_starts, head.end())
        if (first == 0 or reach[first - 1] <= start) and all(last <= head.end() for _, last in taken[first:after]):
            found.append(Span(text[start : head.end()], str(label_by_shape(f"X {head.group(0)}")), start))
    if not found:
        return spans
    by_start = sorted(found, key=lambda new: new.start)
    found_starts = [new.start for new in by_start]
    found_reach = list(itertools.accumulate((new.start + len(new.text) for new in by_start), max))

    def within_found(offset: int) -> bool:
        at = bisect.bisect_right(found_starts, offset)
        return at > 0 and found_reach[at - 1] > offset

    return [span for span in spans if not within_found(span.start)] + found


def given_and_family_names(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with the people the model missed whose name starts with a known given name: "Francesco Acerbi
    headed Inter in front", "Stan Deal, head of ...", "Erik ten Hag complained" (in place of "Erik" alone).

    A known given name, particles, and one capitalised family name that is no place, title, role or month, with no
    further capitalised word on either side, outside the headline (often in title case) and every other span.
    """
    headline_end = max(text.find("\n"), 0)
    taken = sorted((span.start, span.start + len(span.text)) for span in spans)
    by_start = {span.start: span for span in spans}
    replaced: dict[int, Span] = {}
    added = []
    for match in _GIVEN_AND_FAMILY.finditer(text, headline_end):
        given, family = match.group("given"), match.group("family")
        if not _plain_word(given) or not _plain_word(family) or given.casefold() not in shipped_given_names():
            continue
        if _WORD_BEFORE.search(text[max(0, match.start() - _LONGEST_WORD) : match.start()]):
            continue  # a longer run of capitalised words ("Art Gallery" in "Harrowgate Museum and Art Gallery")
        person = Span(match.group(0), "PERSON", match.start())
        own = by_start.get(match.start())
        if own is not None and own.text == given and own.label == "PERSON":
            replaced[match.start()] = person  # "Erik" + "ten Hag"
        elif not overlaps(taken, match.start(), match.end()):
            added.append(person)
    return [replaced.get(span.start, span) for span in spans] + added


def plain_name_word(word: str) -> bool:
    """Whether ``word`` can be one word of a person's name: no title, role, month or weekday, shipped place, nor a
    word that gives a name another form (``label_by_shape``)."""
    folded = word.casefold()
    return (
        folded not in TITLE_WORDS
        and folded not in ROLE_WORDS
        and folded not in CALENDAR_WORDS
        and folded not in shipped_places()
        and label_by_shape(f"X {word}") is None
    )


def _plain_word(word: str) -> bool:
    return word.casefold() not in _NOT_NAMES and plain_name_word(word)


def royals(text: str, spans: list[Span]) -> list[Span]:
    """PERSON spans for the royals and popes the model missed, by their conventional name: "King Felipe VI was in
    Berlin", "Pope Francis said" (a title, one capitalised name and a regnal number, then no further name)."""
    taken = sorted((span.start, span.start + len(span.text)) for span in spans)
    return [
        Span(match.group(0), "PERSON", match.start())
        for match in _ROYAL_IN_TEXT.finditer(text)
        if not overlaps(taken, match.start(), match.end())
    ]


def expanded_in_text(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with the expansion of an acronym the article uses without parentheses, where the model missed it:
    "The US Food and Drug Administration ... The FDA said" gives "Food and Drug Administration" (an ORG span, in
    place of the spans inside it), whose initials then join "FDA" to it. Only acronyms of three letters or more
    that no span of the article spells out, and only one run of words on one line that spells each."""
    acronyms = {span.text for span in spans if LONG_ACRONYM.fullmatch(span.text)}
    # An acronym in parentheses ("(WHO)", "(Africa CDC)") is spelled out before them, for spelled_out to read.
    acronyms = {acronym for acronym in acronyms if not re.search(rf"\([^()]*\b{acronym}\b", text)}
    if acronyms:
        acronyms -= {initials(canonical_form(span.text)) for span in spans if " " in span.text}
    if not acronyms:
        return spans
    candidates: dict[str, list[tuple[int, int]]] = {}
    for run in _TITLE_CASE_RUN.finditer(text):
        words = list(CAPITALISED_WORD.finditer(text, run.start(), run.end()))
        for first in range(len(words)):
            letters = ""
            for last in range(first, len(words)):
                if words[last].group(0).isupper():
                    break  # an acronym ("FDA Deputy Commissioner") is no word of an expansion
                letters += words[last].group(0)[0]
                if letters not in acronyms:
                    if any(acronym.startswith(letters) for acronym in acronyms):
                        continue
                    break
                candidates.setdefault(letters, []).append((words[first].start(), words[last].end()))
    found = [
        Span(text[start:end], "ORG", start)
        for acronym, places in candidates.items()
        for start, end in set(places)
        if len(set(places)) == 1 and text[start:end] not in _SENTENCE_OPENERS
    ]
    if not found:
        return spans
    kept = [span for span in spans if not any(new.start <= span.start < new.start + len(new.text) for new in found)]
    return kept + found


def _expansion_start(text: str, end: int, acronym: str) -> int | None:
    """Where the words before ``end`` that spell ``acronym`` start, or None."""
    letters = [char for char in acronym if char.isupper()]
    words = list(_WORD.finditer(text, max(0, end - _LONGEST_EXPANSION), end))
    wanted = len(letters)
    lower = 0  # lower-case words inside the expansion that the acronym leaves out ("Healthcare products Regulatory")
    for match in reversed(words):
        word = match.group(0)
        if word.casefold() in CONNECTORS or word.casefold() == "the":
            continue
        if word.islower() and wanted < len(letters) and not lower:
            lower += 1
            continue
        if not word[:1].isupper() or not wanted or word[0] != letters[wanted - 1]:
            return None
        wanted -= 1
        if not wanted:
            return match.start()
    return None


def fuller_names(doc: Any, text: str, ents: Sequence[Any], spans: list[Span]) -> list[Span]:
    """``spans`` with the given names the model left out before a one-word name put back: "Jannik Sinner" where the
    model found only "Sinner", here or anywhere else the word occurs, so the surname has a full name to join.

    Only capitalised words that are no stop words, titles or roles, on the same line and outside every other span,
    count; the first line (the headline, often in title case) is left as it is.
    """
    one_word: dict[str, str] = {}
    for span in spans:
        if span.label in _FULL_NAME_LABELS and NAME_TOKEN.fullmatch(span.text):
            one_word.setdefault(span.text, span.label)
    if not one_word:
        return spans
    covered: dict[int, Span] = {}  # first character of each token in a span -> the span
    by_start = {span.start: span for span in spans}
    for ent in ents:
        for token in ent:
            covered[token.idx] = by_start.get(ent.start_char) or by_start.get(token.idx) or _NO_SPAN
    headline_end = text.find("\n")
    replaced: dict[int, Span] = {}
    added: list[Span] = []
    occurrences = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, one_word)) + r")(?!\w)")
    for match in occurrences.finditer(text, max(headline_end, 0)):
        word = doc.char_span(match.start(), match.end())
        if word is None or len(word) != 1 or word.start == 0:
            continue
        token = word[0]
        label = one_word[token.text]
        first = token.i
        person = label == "PERSON"
        while first > token.i - _GIVEN_NAMES_BEFORE and first > 0 and _given_name(doc, first - 1, covered, person):
            first -= 1
        if first == token.i:
            continue
        start = doc[first].idx
        span = Span(text[start : token.idx + len(token.text)], label, start)
        own = covered.get(token.idx)
        if own is not None and own.start == token.idx:
            replaced[token.idx] = span._replace(label=own.label)
        elif own is None:
            added.append(span)
    return [replaced.get(span.start, span) for span in spans] + added


def _given_name(doc: Any, index: int, covered: dict[int, Span], person: bool = False) -> bool:
    """Whether ``doc[index]`` can be a given name before the name after it; at the start of a sentence, where every
    word is capitalised ("Later Sinner said"), only a known given name can, or, before a name the model took for a
    ``person``, any word but the adverbs that open sentences ("Kyrylo Budanov, the head of ...")."""
    token = doc[index]
    text = token.text
    folded = text.casefold()
    if (
        not NAME_TOKEN.fullmatch(text)
        or token.whitespace_ != " "
        or token.is_stop
        or token.idx in covered
        or folded in TITLE_WORDS
        or folded in ROLE_WORDS
        or folded in CALENDAR_WORDS
    ):
        return False
    opens_sentence = index == 0 or doc[index - 1].text in _SENTENCE_ENDS or "\n" in doc[index - 1].text
    return (
        not opens_sentence
        or folded in shipped_given_names()
        or (person and folded not in SENTENCE_ADVERBS and not token.is_upper)
    )


def datelines(doc: Any, text: str, ents: Sequence[Any], spans: list[Span]) -> list[Span]:
    """``spans`` with the place of each dateline as a GPE span in the case of a name: added where the model did not
    mark it ("MELBOURNE - Jannik Sinner won ..."), in place of the model's span that is the place alone, whatever
    its label ("LAHAINA" as an organisation, which would read as an acronym), and cut off a span that ran into it
    from the line before (the headline's "Lahaina on Maui" + "LAHAINA")."""
    found = []
    replaced: dict[int, Span] = {}
    for match in _DATELINE_LINE.finditer(text):
        start, end = match.start("place"), match.end("place")
        if doc.char_span(start, end, alignment_mode="expand") is None:
            continue
        place = Span(dateline_name(match.group("place")), "GPE", start)
        covering = next((ent for ent in ents if ent.start_char <= start < ent.end_char), None)
        if covering is None:
            found.append(place)
        elif covering.end_char == end and covering.start_char == start:
            replaced[start] = place
        elif covering.end_char == end and "\n" in text[covering.start_char : start]:
            before = text[covering.start_char : start].rstrip()
            replaced[covering.start_char] = Span(before, covering.label_, covering.start_char)
            found.append(place)
        # (a place the model ran into the name after it is for entities._repaired to split)
    return [replaced.get(span.start, span) for span in spans] + found


def dateline_name(place: str) -> str:
    """A dateline's place in the case of a name: "NEW DELHI" -> "New Delhi", "ROSTOV-ON-DON" -> "Rostov-on-Don"."""
    name = re.sub(r"[^\W\d_]+", lambda word: word.group(0).capitalize(), place)
    return _DATELINE_PARTICLES.sub(lambda particle: particle.group(0).lower(), name)
