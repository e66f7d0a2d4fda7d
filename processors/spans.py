"""Entity spans read with the words around them: what :func:`doc_spans` makes of a spaCy ``Doc``'s entities.

The model's spans are taken as they are, then corrected by the text around them: a title or a role before a name
makes it a person ("Chancellor", "substitute"), "in" before a one-word name a place; a span cut before a particle
or after a nationality is joined to the next one; given names the model left out are put back ("Jannik Sinner"
for "Sinner"), an acronym's expansion in front of its parentheses is read from the text ("The British Medical
Association (BMA)"), and so is a dateline's place; with an :class:`~newswire.processors.memory.EntityMemory`,
names earlier articles established are marked where the model missed them.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from newswire.processors.aliases import shipped_given_names
from newswire.processors.cleaning import canonical_form, label_by_shape
from newswire.processors.memory import EntityMemory
from newswire.processors.shapes import ACRONYM, PLACE_LABELS, shape_label

logger = logging.getLogger(__name__)

# Titles and ranks before a person's name: dropped from PERSON names, and before a span they make it a person.
TITLES = (
    "mr|mrs|ms|miss|dr|sir|dame|lord|lady|gen|general|col|colonel|lt|lieutenant|sgt|sergeant|capt|captain|maj"
    "|brigadier|admiral|commander|president|vice president|minister|prime minister|pm|deputy|secretary"
    "|chancellor|senator|sen|rep|congressman|congresswoman|councillor|cllr|mayor|governor|premier|ambassador"
    "|judge|justice|prof|professor|father|rev|reverend|bishop|archbishop|cardinal|rabbi|imam|coach"
)
TITLE_WORDS = frozenset(TITLES.split("|")) | {"spokesman", "spokeswoman", "spokesperson"}
# The word a portfolio stands before: "Defence" in "Defence Minister Sergei Shoigu" is no organisation.
_PORTFOLIO_HEADS = frozenset({"Minister", "Ministers", "Secretary"})
# A span never ends in a lower-case particle: "the Security Service of" + "Ukraine" and "Ursula von der" + "Leyen"
# are one name that a line break or the model cut in two.
CONNECTORS = frozenset(
    ["of", "von", "der", "den", "de", "del", "van", "da", "di", "du", "la", "le", "bin", "al", "and", "for"]
)
_NATIONALITY = re.compile(r"(?:an|ish|ese|ic|i|ch|ss)$")  # the endings of nationality adjectives
_TITLED_SPAN_WORDS = 4  # a title makes a person of a span this long at most
# Lower-case roles a reporter puts right before a person's name: "substitute Kyle Dempsey", "manager Tony Halloran".
_ROLES = (
    "substitute striker midfielder defender goalkeeper keeper forward winger manager captain coach boss chief founder"
    " director singer rapper actor actress presenter author novelist writer leader chairman chairwoman economist"
    " analyst spokesman spokeswoman spokesperson veteran teenager activist lawyer"
)
ROLE_WORDS = frozenset(_ROLES.split())
# Trades a reporter puts right before a company's name: "the chipmaker Nvidia", "supermarket chain Morrisons".
_TRADES = (
    "company firm carmaker chipmaker drugmaker automaker maker manufacturer retailer supermarket chain airline carrier"
    " broadcaster publisher lender bank insurer miner brewer startup conglomerate giant group rival"
)
_TRADE_WORDS = frozenset(_TRADES.split())
# Ages a reporter puts after a name ("Attal, 34,"): only a person has one.
_AGES = range(16, 111)
# Words before a place ("in Kettlesby", "near Avdiivka"), and the one-word institutions that also follow "in".
_PLACE_PREPOSITIONS = frozenset({"in", "near", "outside", "across"})
_INSTITUTIONS = frozenset({"congress", "parliament", "senate", "government", "court", "office", "power"})
_DATELINE_LINE = re.compile(
    r"^[ \t]*(?P<place>[A-Z][A-Z'.\-]{2,}(?:[ \t]+[A-Z][A-Z'.\-]{2,})*)"
    r"(?:,[ \t]*[A-Z][a-z]+\.?(?:[ \t]+\d{1,2})?)?[ \t]+[\-\u2013\u2014]+[ \t]",
    re.MULTILINE,
)
_DATELINE_PARTICLES = re.compile(r"(?<=-)(?:On|Upon|Sur|De|La|Le|En)(?=-)")
# What a one-word name the model found may be the surname of, and the words that can be a given name before it.
_FULL_NAME_LABELS = frozenset({"PERSON", "ORG", "GPE"})
_NAME_TOKEN = re.compile(r"[A-Z][a-z\u00df-\u00ff]+(?:['\u2019\-][A-Z][a-z\u00df-\u00ff]+)?")
_GIVEN_NAMES_BEFORE = 2  # "Jannik Sinner", "Recep Tayyip Erdogan"
_CALENDAR = (
    "january february march april may june july august september october november december monday tuesday wednesday"
    " thursday friday saturday sunday"
)
_CALENDAR_WORDS = frozenset(_CALENDAR.split())


class Span(NamedTuple):
    """One entity span of a document: its text, spaCy's label, its start offset in the text, and the abbreviation
    the text gives for it in parentheses right after it ("World Health Organization (WHO)"), if any."""

    text: str
    label: str
    start: int
    abbreviation: str = ""


_LONGEST_GAP = 3  # tokens between two spans that may still be one name (white space, or "of")
_NO_SPAN = Span("", "", -1)  # a token of an entity doc_spans dropped
REMEMBERED_MENTIONS = 2  # a name earlier articles gave this often is marked where the model missed it
_SENTENCE_ENDS = frozenset({".", "!", "?", ":", '"', "\u201c", "\u201d", "\n", "\n\n"})
_SENTENCE_END_CHARACTERS = frozenset('.!?:"\u201c\u201d\n')
_CAPITALISED_WORD = re.compile(r"[A-Z][\w'\u2019.\-]*\w|[A-Z]")
_CAPITALISED_RUN = re.compile(r"(?<![\w'\u2019\-])[A-Z][\w'\u2019.\-]*(?:[ ]+[A-Z][\w'\u2019.\-]*)*")
_PARENTHESISED_ACRONYM = re.compile(r"\(([A-Z][A-Za-z&]{1,9})\)")
_WORD = re.compile(r"[^\s,;:()\[\]\n]+")
_LONGEST_EXPANSION = 120  # characters before the parentheses an expansion may take


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
    """
    spans: list[Span] = []
    ends: list[int] = []  # the token after each span, to join a span to the next one
    length = len(doc)
    # Both are built anew from every token on each access: read them once.
    ents, text = doc.ents, doc.text
    for ent in ents:
        label, start, end = ent.label_, ent.start, ent.end
        if end - start == 1 and label not in PLACE_LABELS and end < length and doc[end].text in _PORTFOLIO_HEADS:
            continue
        if label != "PERSON" and end - start <= _TITLED_SPAN_WORDS and _reads_as_person(doc, start, end):
            label = "PERSON"
        elif label in ("PERSON", "ORG") and end - start == 1 and _reads_as_place(doc, start):
            label = "GPE"
        elif (
            label in ("PERSON", "GPE", "NORP", "LOC")
            and end - start <= _TITLED_SPAN_WORDS
            and _reads_as_firm(doc, start, end)
        ):
            label = "ORG"
        abbreviation = ""
        if end + 2 < length and doc[end].text == "(" and doc[end + 2].text == ")":
            inner = doc[end + 1].text
            abbreviation = inner if ACRONYM.fullmatch(inner) else ""
        span = Span(ent.text, label, ent.start_char, abbreviation)
        if spans and _joins(spans[-1], span, doc, ends[-1], start):
            first = spans.pop()
            ends.pop()
            label = span.label if first.label == "NORP" else first.label
            span = Span(text[first.start : ent.end_char], label, first.start, abbreviation)
        spans.append(span)
        ends.append(end)
    spans = [*_spelled_out(text, _fuller_names(doc, text, ents, spans)), *_datelines(doc, text, ents)]
    return sorted(spans, key=lambda span: span.start)


def with_remembered(text: str, spans: list[Span], memory: EntityMemory | None) -> list[Span]:
    """``spans`` (of ``text``, in its order) and the names earlier articles established that the model missed in
    it (see :func:`_remembered`); ``spans`` alone without a ``memory``."""
    if memory is None:
        return spans
    return sorted([*spans, *_remembered(text, spans, memory)], key=lambda span: span.start)


def _remembered(text: str, spans: list[Span], memory: EntityMemory) -> list[Span]:
    """Spans for the names of up to three words that earlier articles established (seen at least
    :data:`REMEMBERED_MENTIONS` times) where the model marked nothing: "Arsenal" in a sentence the model read as
    having no name. A one-word name at the start of a sentence is left alone (it may be an ordinary word there).

    Read from runs of capitalised words in the text, not token by token: spaCy makes a Python object of every
    token it is asked for, and this runs on every article.
    """
    taken = sorted((span.start, span.start + len(span.text)) for span in spans)
    found = []
    for run in _CAPITALISED_RUN.finditer(text):
        words = list(_CAPITALISED_WORD.finditer(text, run.start(), run.end()))
        first = 0
        while first < len(words):
            for last in range(min(len(words), first + 3) - 1, first - 1, -1):
                start, end = words[first].start(), words[last].end()
                if _overlaps(taken, start, end):
                    continue
                if last == first and _opens_sentence(text, start):
                    continue
                known = memory.established(text[start:end])
                if known is not None and known.mentions >= REMEMBERED_MENTIONS:
                    found.append(Span(text[start:end], known.label, start))
                    first = last
                    break
            first += 1
    return found


def _overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    at = bisect.bisect_left(taken, (end, end))
    return at > 0 and taken[at - 1][1] > start


def _opens_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_END_CHARACTERS


def _spelled_out(text: str, spans: list[Span]) -> list[Span]:
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


def _expansion_start(text: str, end: int, acronym: str) -> int | None:
    """Where the words before ``end`` that spell ``acronym`` start, or None."""
    letters = [char for char in acronym if char.isupper()]
    words = list(_WORD.finditer(text, max(0, end - _LONGEST_EXPANSION), end))
    wanted = len(letters)
    for match in reversed(words):
        word = match.group(0)
        if word.casefold() in CONNECTORS or word.casefold() == "the":
            continue
        if not word[:1].isupper() or not wanted or word[0] != letters[wanted - 1]:
            return None
        wanted -= 1
        if not wanted:
            return match.start()
    return None


def _fuller_names(doc: Any, text: str, ents: Sequence[Any], spans: list[Span]) -> list[Span]:
    """``spans`` with the given names the model left out before a one-word name put back: "Jannik Sinner" where the
    model found only "Sinner", here or anywhere else the word occurs, so the surname has a full name to join.

    Only capitalised words that are no stop words, titles or roles, on the same line and outside every other span,
    count; the first line (the headline, often in title case) is left as it is.
    """
    one_word: dict[str, str] = {}
    for span in spans:
        if span.label in _FULL_NAME_LABELS and _NAME_TOKEN.fullmatch(span.text):
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
        while first > token.i - _GIVEN_NAMES_BEFORE and first > 0 and _given_name(doc, first - 1, covered):
            first -= 1
        if first == token.i:
            continue
        start = doc[first].idx
        span = Span(text[start : token.idx + len(token.text)], label, start)
        own = covered.get(token.idx)
        if own is not None and own.start == token.idx:
            replaced[token.idx] = span
        elif own is None:
            added.append(span)
    return [replaced.get(span.start, span) for span in spans] + added


def _given_name(doc: Any, index: int, covered: dict[int, Span]) -> bool:
    """Whether ``doc[index]`` can be a given name before the name after it; at the start of a sentence, where every
    word is capitalised ("Later Sinner said"), only a known given name can."""
    token = doc[index]
    text = token.text
    folded = text.casefold()
    if (
        not _NAME_TOKEN.fullmatch(text)
        or token.whitespace_ != " "
        or token.is_stop
        or token.idx in covered
        or folded in TITLE_WORDS
        or folded in ROLE_WORDS
        or folded in _CALENDAR_WORDS
    ):
        return False
    opens_sentence = index == 0 or doc[index - 1].text in _SENTENCE_ENDS or "\n" in doc[index - 1].text
    return not opens_sentence or folded in shipped_given_names()


def _datelines(doc: Any, text: str, ents: Sequence[Any]) -> list[Span]:
    """The place of a dateline the model did not mark ("MELBOURNE - Jannik Sinner won ..."), as a GPE span."""
    found = []
    for match in _DATELINE_LINE.finditer(text):
        start = match.start("place")
        if doc.char_span(start, match.end("place"), alignment_mode="expand") is None:
            continue
        if any(ent.start_char <= start < ent.end_char for ent in ents):
            continue  # the model marked it, or ran it into a name: _repaired splits that
        found.append(Span(dateline_name(match.group("place")), "GPE", start))
    return found


def dateline_name(place: str) -> str:
    """A dateline's place in the case of a name: "NEW DELHI" -> "New Delhi", "ROSTOV-ON-DON" -> "Rostov-on-Don"."""
    name = re.sub(r"[^\W\d_]+", lambda word: word.group(0).capitalize(), place)
    return _DATELINE_PARTICLES.sub(lambda particle: particle.group(0).lower(), name)


def _is_title(token: Any) -> bool:
    word = token.text.rstrip(".").casefold()
    return word in TITLE_WORDS and (token.text[:1].isupper() or word.startswith("spokes"))


def _reads_as_place(doc: Any, start: int) -> bool:
    """Whether a one-word name is a place by the word before it: "based in Kettlesby", "near Avdiivka" (not an
    acronym, "in NATO", nor an institution, "in Congress")."""
    token = doc[start]
    return (
        start > 0
        and doc[start - 1].text in _PLACE_PREPOSITIONS
        and not token.text.isupper()
        and token.text.casefold() not in _INSTITUTIONS
    )


def _reads_as_firm(doc: Any, start: int, end: int) -> bool:
    """Whether the words around a name say it is a company: a trade right before it ("the chipmaker Nvidia",
    "drugmaker Pfizer") or its shares right after it ("Tesla shares fell")."""
    before = doc[start - 1].text.casefold() if start > 0 else ""
    after = doc[end].text.casefold() if end < len(doc) else ""
    return before in _TRADE_WORDS or after in ("shares", "stock")


def _reads_as_person(doc: Any, start: int, end: int) -> bool:
    """Whether the words around ``doc[start:end]`` say it is a person: a title or a role right before it
    ("Chancellor", "substitute"), or "who" or an age right after a comma ("Ashdown, who", "Attal, 34,")."""
    if start > 0:
        before = doc[start - 1]
        if _is_title(before) or (before.text in ROLE_WORDS and doc[start].text[:1].isupper()):
            return True
    if end + 1 < len(doc) and doc[end].text == ",":
        after = doc[end + 1].text
        aged = after.isdigit() and int(after) in _AGES and end + 2 < len(doc) and doc[end + 2].text == ","
        # Clubs and bands are "who" too ("Arsenal, who play at Everton"): only a name of two or three words that
        # has no other form ("Priya Mistry, who") counts.
        named = 1 < end - start <= 3 and shape_label(doc[start:end].text, sports=True) is None
        if aged or (after == "who" and named):
            return True
    return False


def _joins(first: Span, span: Span, doc: Any, first_end: int, start: int) -> bool:
    """Whether ``span`` continues ``first``: only white space between, and ``first`` ends in a particle or is a
    nationality right before an organisation; or "of" between an organisation whose form says so and a place
    ("the Public Health Agency" + "of" + "Sweden", "the Security Service" + "of" + "Ukraine")."""
    if start - first_end > _LONGEST_GAP:
        return False
    between = [doc[index] for index in range(first_end, start) if not doc[index].is_space]
    if [token.text for token in between] == ["of"] and first.label == "ORG" and span.label in ("GPE", "LOC"):
        return label_by_shape(canonical_form(first.text)) == "ORG"
    if between:
        return False
    if first.label == "NORP" and span.label == "ORG" and first_end == start and _NATIONALITY.search(first.text):
        return True
    return first.text.rsplit(maxsplit=1)[-1] in CONNECTORS if first.text.strip() else False
