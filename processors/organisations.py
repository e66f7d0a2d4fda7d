"""Organisations the words around a name declare, read from the text, for
:func:`~newswire.processors.spans.model_spans`.

Reporters say what kind of body a name is, and the small model often misses the name or takes it for a person or a
place. Four ways of writing it are read here, each giving an ORG span for a run of capitalised words (with "of",
"and", "for" between them):

- the kind of body right before the name: "the aviation agency Rosaviatsia", "the Japanese company Eisai", "the
  prisoners' charity Russia Behind Bars";
- the kind of body in an apposition after it: "Tarnwell, the Dutch maker of ...", "Holm Holdings, the investment
  arm that ...", "Vessel Air, Norway's largest airline,";
- a lower-case kind of political or business body right after it: "the Law and Justice party", "the new Patriots
  for Europe group", "Prigozhin's Concord group";
- an institution's noun with "for" and what it is for, which often joins two things with "and" that the model
  reads as two names: "the National Commission for Parks and Gardens", "the Centre for Rivers and Wetlands".

A one-word name the model took for a person in a list with an organisation is one too ("supplies Tesco, Asda and
Morrisons", "medicines for Pfizer and Eli Lilly"), unless it is a word of a person's full name in the article.

A country's abbreviation the model marked alone inside an organisation's name is part of it
(:func:`countries_in_names`: "Reform UK", "Alzheimer's Research UK", "the US Geological Survey").

A span of the model that is the run itself, or lies inside it ("Russia" in "Russia Behind Bars", "Bavarian" in
"Bavarian Nordic"), gives way to the organisation; a span that reaches outside the run is left alone.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left, bisect_right, insort

from newswire.processors.cleaning import label_by_shape, reads_as_group
from newswire.processors.missed_names import CALENDAR_WORDS, SENTENCE_ADVERBS, overlaps
from newswire.processors.span_context import ROLE_WORDS, TITLE_WORDS, TRADE_WORDS, Span

logger = logging.getLogger(__name__)

# The kinds of body a reporter puts right before an organisation's name ("the drugmaker Pfizer", "the aviation
# agency Rosaviatsia"): the trades of the span rules, without "rival" ("rival Djokovic" is a player).
_BODY_WORDS = TRADE_WORDS - {"rival"}
# The kinds of body an apposition after a name gives ("Tarnwell, the Dutch maker of ...").
_APPOSITION_BODIES = _BODY_WORDS | {"producer", "supplier", "arm", "subsidiary", "service", "union", "body"}
# Lower-case nouns that follow a political or business body's name ("the Law and Justice party").
_TRAILING_BODIES = "party group alliance coalition movement bloc"
# Words after an apposition's noun that end it, so the noun is its head ("the Dutch maker of", "the arm that").
_APPOSITION_ENDS = frozenset(
    {"of", "that", "which", "whose", "based", "behind", "with", "for", "in", "and", "owned", "controlled", "from"}
    | {"said", ",", ".", ";"}
)
# A capitalised word from its start, of at most 40 characters: inside a long hyphenated or glued run every capital
# would otherwise start a match that reads the rest of the run (a text of one such run took minutes).
_NAME_WORD = r"(?<![\w'\u2019&\-])[A-Z][\w'\u2019&\-]{0,39}"
_INSTITUTIONS = (
    "Commission Centre Center Centres Centers Council Committee Institute Agency Office Department Ministry"
    " Foundation Fund Trust Society Association Alliance Coalition Campaign Organisation Organization Authority"
    " Board Federation"
)
_RUN = rf"{_NAME_WORD}(?:[ ]+(?:(?:of|and|for|&)[ ]+)?{_NAME_WORD}){{0,5}}"
_BODY_BEFORE = re.compile(rf"(?<![\w\-])(?:{'|'.join(sorted(_BODY_WORDS))})[ ]+(?P<name>{_RUN})")
_BODY_AFTER = re.compile(
    rf"(?P<name>{_RUN}),[ ]+(?:the|an?|{_NAME_WORD}['\u2019]s)[ ]+(?:[\w\-]+[ ]+){{0,3}}?"
    rf"(?P<body>{'|'.join(sorted(_APPOSITION_BODIES))})(?P<next>[ ]+[\w]+|[,.;])"
)
_BODY_NOUN_AFTER = re.compile(rf"(?P<name>{_RUN})[ ]+(?:{_TRAILING_BODIES.replace(' ', '|')})\b(?![\w'\u2019\-])")
_SENTENCE_OPENER = re.compile(r"^(?:The|A|An|Its|Their|His|Her)[ ]+")
_INSTITUTION_FOR = re.compile(
    rf"(?P<name>(?:{_NAME_WORD}[ ]+){{0,4}}?(?:{_INSTITUTIONS.replace(' ', '|')})[ ]+for[ ]+{_NAME_WORD}"
    rf"(?:[ ]+(?:and[ ]+)?{_NAME_WORD}){{0,5}})"
)
# Days, months and feasts open no name of a body ("the bank Monday", "a Christmas party").
_CALENDAR = re.compile(
    r"^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|July"
    r"|August|September|October|November|December|Christmas|Easter|Halloween|New Year)\b"
)
# A country's abbreviation the model marks alone inside an organisation's name: "the US Geological Survey"; and
# after the name, as British bodies are named: "Reform UK", "Age UK Harrowgate", "Alzheimer's Research UK" ("US"
# after a capitalised word is an adjective far more often: "Senior US officials").
_COUNTRY_CODES = frozenset({"UK", "US", "USA"})
_CODES_AFTER_NAMES = frozenset({"UK"})
_MOST_WORDS_BEFORE = 3
_WORDS_BEFORE = re.compile(rf"(?<![\w'\u2019\-])((?:[A-Z][\w\-]*(?:['\u2019]s)?[ ]+){{1,{_MOST_WORDS_BEFORE}}})$")
_WORDS_AFTER = re.compile(r"[ ]+([A-Z][\w\-]*(?:[ ]+(?:(?:of|and|for)[ ]+)?[A-Z][\w\-]*){0,4})")
# Capitalised words that open a sentence before a country's abbreviation used as an adjective ("Many UK firms").
_NO_NAME_WORDS_TEXT = (
    "the a an in on at of for and but or as by to from with many most some all any few several both each every other"
    " such no top leading major big more its their his her our this that these those if when while after before"
    " since then now also only even so new overall annual official total average recent latest current former"
    " global national domestic foreign local regional private public senior junior one two three four five"
)
_NO_NAME_WORDS = frozenset(_NO_NAME_WORDS_TEXT.split()) | SENTENCE_ADVERBS | CALENDAR_WORDS
_LIST_JOINS = frozenset({" and ", ", ", ", and ", " and the "})
_LONE_NAME = re.compile(r"[A-Z][\w\-]+")
_POSSESSIVE_WORD = re.compile(r"\S+['\u2019]s[ ]+")


def organisations_named(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with the organisations the words around a name declare (see the module doc): added where the model
    marked nothing, in place of the model's spans that are the name or lie inside it."""
    found: dict[int, Span] = {}
    for pattern in (_BODY_BEFORE, _BODY_AFTER, _BODY_NOUN_AFTER, _INSTITUTION_FOR):
        for match in pattern.finditer(text):
            if pattern is _BODY_AFTER and match.group("next").strip() not in _APPOSITION_ENDS:
                continue
            # A possessive before the name is its owner ("Prigozhin's Concord group"), except in an apposition's
            # subject, which is the whole name ("Alzheimer's Research, the charity").
            organisation = _organisation(text, match.start("name"), match.end("name"), owner=pattern is not _BODY_AFTER)
            if organisation is not None and organisation.start not in found:
                found[organisation.start] = organisation
    if not found:
        return coordinated_organisations(text, spans)
    # The spans by where they start, so that each organisation is compared with the spans near it only (with all of
    # them, a text of many bodies took seconds); the kept spans keep their order, the organisations after them.
    kept = dict(enumerate(spans))
    by_start = sorted((span.start, number) for number, span in kept.items())
    longest = max((len(span.text) for span in spans), default=0)
    for number, organisation in enumerate(found.values(), start=len(spans)):
        start, end = organisation.start, organisation.start + len(organisation.text)
        near = by_start[bisect_left(by_start, (start - longest, -1)) : bisect_left(by_start, (end, -1))]
        overlapping = [(key, kept[key]) for _, key in near if _end(kept[key]) > start]
        inside = [(key, span) for key, span in overlapping if start <= span.start and _end(span) <= end]
        # The model's nationality or group is no name of a body ("the Peronist bloc", "the Russian group").
        if len(inside) < len(overlapping) or any(
            span.label in ("ORG", "NORP") and span.text == organisation.text for _, span in inside
        ):
            continue
        abbreviation = next((span.abbreviation for _, span in inside if span.abbreviation), "")
        for key, span in inside:
            del kept[key]
            by_start.remove((span.start, key))
        kept[number] = organisation._replace(abbreviation=abbreviation)
        insort(by_start, (start, number))
        longest = max(longest, end - start)
    return coordinated_organisations(text, list(kept.values()))


def countries_in_names(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with an ORG span in place of a country's abbreviation the model marked alone (a GPE) where it is part
    of an organisation's name: after capitalised words outside every span ("Reform UK", "Age UK Harrowgate",
    "Alzheimer's Research UK"), or before words that make an organisation's name ("US Geological Survey"). Words
    that open a sentence before an adjective ("Many UK firms") and the headline (in title case) are left alone."""
    codes = [span for span in spans if span.label == "GPE" and span.text in _COUNTRY_CODES]
    headline_end = text.find("\n")
    if not codes or headline_end < 0:
        return spans
    taken = sorted((span.start, _end(span)) for span in spans)
    replaced: dict[int, Span] = {}
    for code in codes:
        if code.start < headline_end:
            continue
        # The words a name may have before the code, on the code's line: read back from the code, not the line's start.
        back = _words_back(text, headline_end, code.start, _MOST_WORDS_BEFORE)
        line_start = text.rfind("\n", back, code.start) + 1 or back
        before = _WORDS_BEFORE.search(text, line_start, code.start) if code.text in _CODES_AFTER_NAMES else None
        start = code.start
        if before is not None:
            for word in re.finditer(r"\S+", text[before.start(1) : code.start]):
                at = before.start(1) + word.start()
                if word.group().casefold() in _NO_NAME_WORDS or overlaps(taken, at, at + len(word.group())):
                    start = code.start  # the name starts after a word that is none of it
                elif start == code.start:
                    start = at
        end = _end(code)
        after = _WORDS_AFTER.match(text, end)
        if start < code.start:
            if after is not None and not overlaps(taken, after.start(1), after.end(1)):
                end = after.end(1) if " " not in after.group(1) else end  # "Age UK Harrowgate"
        elif after is not None and label_by_shape(f"{code.text} {after.group(1)}") == "ORG":
            end = after.end(1)  # "US Geological Survey"
        else:
            continue
        replaced[code.start] = Span(text[start:end], "ORG", start)
    if not replaced:
        return spans
    ordered = sorted(spans, key=lambda span: span.start)
    starts = [span.start for span in ordered]
    inside = set()
    for new in replaced.values():  # the spans that start within each new name: one pass over a long text
        for span in ordered[bisect_left(starts, new.start) : bisect_right(starts, _end(new))]:
            if _end(span) <= _end(new) and span.start not in replaced:
                inside.add(span.start)
    return [replaced.get(span.start, span) for span in spans if span.start not in inside]


def _words_back(text: str, floor: int, end: int, count: int) -> int:
    """Where the ``count``-th space-separated piece of text before ``end`` starts (not before ``floor``): no run of
    ``count`` space-separated words ending at ``end`` starts earlier, so a search for one need not start before it."""
    at = end
    for _ in range(count):
        while at > floor and text[at - 1] == " ":
            at -= 1
        while at > floor and text[at - 1] != " ":
            at -= 1
    return at


def _end(span: Span) -> int:
    return span.start + len(span.text)


def coordinated_organisations(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with a one-word PERSON span joined by "and" or a comma to an organisation's relabelled ORG (see
    the module doc), along a whole list ("Tesco, Asda and Morrisons"), also by "and the" to an acronym ("Unison and
    the GMB"); and so is a plural there that reads as no nationality ("the SPD and the Greens")."""
    people_words = {word for span in spans if span.label == "PERSON" and " " in span.text for word in span.text.split()}
    ordered = sorted(spans, key=lambda span: span.start)
    relabelled: dict[int, Span] = {}
    for sweep in (range(len(ordered) - 1), range(len(ordered) - 2, -1, -1)):
        for index in sweep:
            pair = [relabelled.get(span.start, span) for span in ordered[index : index + 2]]
            between = text[pair[0].start + len(pair[0].text) : pair[1].start]
            if between not in _LIST_JOINS or [span.label for span in pair].count("ORG") != 1:
                continue
            other = pair[0] if pair[1].label == "ORG" else pair[1]
            if between == " and the " and not (pair[0] if other is pair[1] else pair[1]).text.isupper():
                continue  # "Unison and the GMB", but "Rice and the Arsenal manager" names a player
            if other.label == "PERSON" and _LONE_NAME.fullmatch(other.text) and other.text not in people_words:
                relabelled[other.start] = other._replace(label="ORG")
            elif other.label == "NORP" and other.text.endswith("s") and not reads_as_group(other.text):
                relabelled[other.start] = other._replace(label="ORG")  # "the SPD and the Greens": a party
    if not relabelled:
        return spans
    return [relabelled.get(span.start, span) for span in spans]


def _organisation(text: str, start: int, end: int, *, owner: bool) -> Span | None:
    """An ORG span for the run of words ``text[start:end]``, without a capitalised article or possessive pronoun
    that opens it, nor (with ``owner``) the owner in the possessive before it; None when it is no name (a
    month, a title or a role)."""
    name = text[start:end]
    opener = _SENTENCE_OPENER.match(name)
    if opener is not None:
        name, start = name[opener.end() :], start + opener.end()
    owned = list(_POSSESSIVE_WORD.finditer(name)) if owner else []
    if owned:
        name, start = name[owned[-1].end() :], start + owned[-1].end()
    words = name.split()
    if not words or _CALENDAR.match(name) or words[0].casefold() in TITLE_WORDS or words[0].casefold() in ROLE_WORDS:
        return None
    return Span(name, "ORG", start)
