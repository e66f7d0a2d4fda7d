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

from newswire.processors.aliases import shipped_given_names, shipped_places
from newswire.processors.cleaning import canonical_form, head_label, label_by_shape
from newswire.processors.memory import EntityMemory, Recollection
from newswire.processors.shapes import ACRONYM, PERSON_NAME_WORD, PLACE_LABELS, PLACE_PREFIXES, initials, shape_label

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
# Roles in an apposition, before a name after a comma ("its leader, Priya Mistry") or after it ("Edin Terzic, the
# Dortmund coach,"): lower-case and singular, so "the league leaders" and "the Premier League" are none.
_APPOSITION_ROLES = (ROLE_WORDS | frozenset(TITLES.split("|")) | {"executive", "head", "administrator", "speaker"}) - {
    "pm",
    "sen",
    "rep",
}
_APPOSITION_WORDS = 4  # words between the comma and the role at most ("the Russian-installed governor")
_CLAUSE_WORDS = frozenset({"who", "whose", "which", "that", "where", "when"})
_AFTER_ROLE = frozenset({"of", "for", "at", "in", "and", "who", "said", "says"})
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
# The kinds of products and works a reporter names ("the drug Wegovy", "the opera Parsifal"): never entities here.
_PRODUCTS = "drug medicine injection vaccine jab pill headset smartphone chatbot console"
_WORKS = "song album film movie novel opera documentary painting"
_THINGS = {word: "PRODUCT" for word in _PRODUCTS.split()} | {word: "WORK_OF_ART" for word in _WORKS.split()}
_HEADED = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"})  # labels of names a common noun may follow
_COMMON_HEAD_WORDS = 3  # lower-case words after a name that may still end in its common noun ("nuclear power plant")
_SETTLEMENTS = frozenset({"city", "town", "village", "province", "region", "district", "county", "municipality"})
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
# Capitalised adverbs that open a sentence before a name and are no stop words ("Later Sinner said").
_ADVERBS = (
    "later earlier yesterday today tonight tomorrow overnight instead separately recently finally eventually"
    " previously initially officially meanwhile afterwards then now still"
)
_SENTENCE_ADVERBS = frozenset(_ADVERBS.split())


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
_POSSESSIVE_END = re.compile(r"['\u2019]s?$")
_PARENTHESISED_ACRONYM = re.compile(r"\(([A-Z][A-Za-z&]{1,9})\)")
_ROYAL_IN_TEXT = re.compile(
    r"(?<![\w-])(?:King|Queen|Pope|Emperor|Empress)[ ]+[A-Z][a-z]+(?:[ ]+[IVX]+)?(?![\w'\u2019-]|[ ]+[A-Z])"
)
_NUMBERED = re.compile(r"\d+(?:st|nd|rd|th)")
_GIVEN_AND_FAMILY = re.compile(
    r"(?<![\w'\u2019\-])(?P<given>[A-Z][a-z]+)(?:[ ]+(?:van|von|der|den|de|del|da|di|du|ten|ter))*"
    r"[ ]+(?P<family>[A-Z][a-z]+(?:['\u2019\-][A-Z][a-z]+)?)(?![\w'\u2019\-]|[ ]+[A-Z])"
)
_LONGEST_WORD = 40
_WORD_BEFORE = re.compile(r"(?:[A-Z][\w'\u2019\-]*|\b(?:and|of|for|the))[ ]+$")
# Capitalised words that open sentences and are given names too: "Will", "May", "Grant", "Mark".
_NOT_NAMES = frozenset({"will", "may", "june", "april", "august", "grant", "mark", "major", "king", "rose", "hope"})
_LONG_ACRONYM = re.compile(r"[A-Z]{3,6}")
# Capitalised words with the small words of names between them, on one line: "Food and Drug Administration".
_TITLE_CASE_RUN = re.compile(r"[A-Z][\w'\u2019\-]*(?:[ ]+(?:(?:of|and|for|on|the|&)[ ]+)*[A-Z][\w'\u2019\-]*)*")
_SENTENCE_OPENERS = frozenset({"The"})
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

    The words around a span also say: a role in an apposition or "and" with a person, a person ("Edin Terzic, the
    Dortmund coach"); "the town of", a place; the kind of thing before it, a product or a work ("the drug
    Wegovy"); a person's possessive before it, what the person owns; a lower-case common noun after it, a facility
    ("Kakhovka dam") or a geographic place ("High Atlas mountains"). Acronyms get an expansion the text gives
    without parentheses, and royals and people with a known given name that the model missed are found.
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
        if label != "PERSON" and end - start <= _TITLED_SPAN_WORDS and _reads_as_person(doc, start, end):
            label = "PERSON"
        elif (label in ("PERSON", "ORG") and end - start == 1 and _reads_as_place(doc, start)) or (
            label in ("PERSON", "ORG", "FAC", "LOC")
            and end - start <= _TITLED_SPAN_WORDS
            and _settlement_of(doc, start)
        ):
            label = "GPE"
        elif (
            label in ("PERSON", "GPE", "NORP", "LOC")
            and end - start <= _TITLED_SPAN_WORDS
            and _reads_as_firm(doc, start, end)
        ):
            label = "ORG"
        kind = _thing_named(doc, start, end)
        if kind is not None:
            label = kind  # "the weight-loss drug Wegovy", "Leqembi, the first drug": a product, no organisation
        if (
            label == "PERSON"
            and spans
            and spans[-1].label == "PERSON"
            and ends[-1] == start
            and _POSSESSIVE_END.search(spans[-1].text)
        ):
            label = "ORG"  # "Warren Buffett's Berkshire Hathaway": what a person owns
        end_char = ent.end_char
        headed = _common_head(doc, end) if label in _HEADED and end - start <= _TITLED_SPAN_WORDS else None
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
        if spans and _joins(spans[-1], span, doc, ends[-1], start, ruled=ruled):
            first = spans.pop()
            ends.pop()
            start = starts.pop()
            if ruled and _given_then_family(first, span, text):
                label = "PERSON"
            elif _possessive_building(first, span):
                label = "FAC"
            else:
                label = span.label if first.label in ("NORP", "ORDINAL") else first.label
            span = Span(text[first.start : end_char], label, first.start, abbreviation)
        spans.append(span)
        ends.append(end)
        starts.append(start)
    _coordinated_people(doc, spans, starts, ends)
    spans = _spelled_out(text, _fuller_names(doc, text, ents, spans))
    spans = _datelines(doc, text, ents, _expanded_in_text(text, spans))
    spans = _given_and_family_names(text, [*spans, *_royals(text, spans)])
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
    having no name, and the acronym of one ("PHHT" after "Port Halden Health Trust"). A one-word name at the start
    of a sentence is left alone (it may be an ordinary word there), unless it is an acronym.

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
                # "Mikel Arteta's side": the name without its possessive is what the memory knows.
                name = _POSSESSIVE_END.sub("", text[start:end])
                acronym = last == first and _LONG_ACRONYM.fullmatch(name) is not None
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


def _given_and_family_names(text: str, spans: list[Span]) -> list[Span]:
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
        elif not _overlaps(taken, match.start(), match.end()):
            added.append(person)
    return [replaced.get(span.start, span) for span in spans] + added


def _plain_word(word: str) -> bool:
    folded = word.casefold()
    return (
        folded not in TITLE_WORDS
        and folded not in ROLE_WORDS
        and folded not in _CALENDAR_WORDS
        and folded not in _NOT_NAMES
        and folded not in shipped_places()
        and label_by_shape(f"X {word}") is None
    )


def _royals(text: str, spans: list[Span]) -> list[Span]:
    """PERSON spans for the royals and popes the model missed, by their conventional name: "King Felipe VI was in
    Berlin", "Pope Francis said" (a title, one capitalised name and a regnal number, then no further name)."""
    taken = sorted((span.start, span.start + len(span.text)) for span in spans)
    return [
        Span(match.group(0), "PERSON", match.start())
        for match in _ROYAL_IN_TEXT.finditer(text)
        if not _overlaps(taken, match.start(), match.end())
    ]


def _expanded_in_text(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` with the expansion of an acronym the article uses without parentheses, where the model missed it:
    "The US Food and Drug Administration ... The FDA said" gives "Food and Drug Administration" (an ORG span, in
    place of the spans inside it), whose initials then join "FDA" to it. Only acronyms of three letters or more
    that no span of the article spells out, and only one run of words on one line that spells each."""
    acronyms = {span.text for span in spans if _LONG_ACRONYM.fullmatch(span.text)}
    # An acronym in parentheses ("(WHO)", "(Africa CDC)") is spelled out before them, for _spelled_out to read.
    acronyms = {acronym for acronym in acronyms if not re.search(rf"\([^()]*\b{acronym}\b", text)}
    if acronyms:
        acronyms -= {initials(canonical_form(span.text)) for span in spans if " " in span.text}
    if not acronyms:
        return spans
    candidates: dict[str, list[tuple[int, int]]] = {}
    for run in _TITLE_CASE_RUN.finditer(text):
        words = list(_CAPITALISED_WORD.finditer(text, run.start(), run.end()))
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
    return (
        not opens_sentence
        or folded in shipped_given_names()
        or (person and folded not in _SENTENCE_ADVERBS and not token.is_upper)
    )


def _datelines(doc: Any, text: str, ents: Sequence[Any], spans: list[Span]) -> list[Span]:
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


def _thing_named(doc: Any, start: int, end: int) -> str | None:
    """PRODUCT or WORK_OF_ART when the words around a name say it is one: the kind of thing right before it ("the
    drug Wegovy", "a headset called Vision Pro", "the song Waterloo") or as an apposition after it ("Leqembi, the
    first drug shown to ...", "Threads, a rival text-based app"); else None."""
    before = start - 1
    if before > 0 and doc[before].text in ("called", "named"):
        before -= 1
    if before >= 0 and doc[before].text in _THINGS:
        return _THINGS[doc[before].text]
    if end >= len(doc) - 1 or doc[end].text != "," or doc[end + 1].text not in ("the", "a", "an"):
        return None
    for index in range(end + 2, min(end + 3 + _APPOSITION_WORDS, len(doc) - 1)):
        token = doc[index]
        if token.is_punct:
            return None
        if token.text in _THINGS:
            after = doc[index + 1].text
            return None if after in _TRADE_WORDS or after.startswith("make") else _THINGS[token.text]
    return None


def _common_head(doc: Any, end: int) -> tuple[str, int] | None:
    """(label, index) of a lower-case common noun that makes the name before it a facility or a geographic place,
    right after it or after a few other lower-case words: "Kakhovka dam", "Zaporizhzhia nuclear power plant",
    "High Atlas mountains"; None when there is none (or a small word such as "and" comes first)."""
    for index in range(end, min(end + _COMMON_HEAD_WORDS, len(doc))):
        token = doc[index]
        if not token.is_lower or not token.is_alpha or token.is_stop:
            return None
        label = head_label(token.text)
        if label in ("FAC", "LOC"):
            return label, index
    return None


def _settlement_of(doc: Any, start: int) -> bool:
    """Whether a name follows "the town of", "the province of" (a settlement or a region named after its kind)."""
    return start > 1 and doc[start - 1].text == "of" and doc[start - 2].text in _SETTLEMENTS


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
        if before.text == "," and start > 1 and doc[start - 2].text in _APPOSITION_ROLES:
            return True  # "said its leader, Priya Mistry"
    if shape_label(doc[start:end].text, sports=True) is None and _role_follows(doc, end):
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


def _coordinated_people(doc: Any, spans: list[Span], starts: list[int], ends: list[int]) -> None:
    """Relabel, in place, a full name joined by "and" or a comma to a person's full name as a person: "Swati Dhingra
    and Dave Ramsden", "Karim Adeyemi and Niclas Fullkrug" (names of two or three words that no form, place or
    nationality explains)."""
    for index in range(len(spans) - 1):
        pair = (spans[index], spans[index + 1])
        between = [doc[token].text for token in range(ends[index], starts[index + 1])]
        if between not in (["and"], [","]) or [span.label == "PERSON" for span in pair].count(True) != 1:
            continue
        other = 1 if pair[0].label == "PERSON" else 0
        if _plain_full_name(pair[1 - other].text) and _plain_full_name(pair[other].text):
            spans[index + other] = pair[other]._replace(label="PERSON")


def _plain_full_name(name: str) -> bool:
    words = name.split()
    return (
        1 < len(words) <= 3
        and all(PERSON_NAME_WORD.fullmatch(word) for word in words)
        and words[0].casefold() not in PLACE_PREFIXES
        and shape_label(name, sports=True) is None
        and name.casefold() not in shipped_places()
    )


def _role_follows(doc: Any, end: int) -> bool:
    """Whether a person's role follows a name as an apposition: "Simone Inzaghi, the Inter coach,", "Jeremy Hunt,
    the chancellor." (a role in the singular and lower case, a few words after the comma, then the clause ends)."""
    if end >= len(doc) or doc[end].text != ",":
        return False
    for index in range(end + 1, min(end + 2 + _APPOSITION_WORDS, len(doc) - 1)):
        token = doc[index]
        if token.is_punct or token.text in _CLAUSE_WORDS:
            return False
        if token.text in _APPOSITION_ROLES:
            after = doc[index + 1]
            return after.is_punct or after.text in _AFTER_ROLE
    return False


def _possessive_building(first: Span, span: Span) -> bool:
    """Whether a name in the possessive and the one word after it are one building: "St Brigid's" + "Church"."""
    return (
        _POSSESSIVE_END.search(first.text) is not None
        and " " not in span.text
        and shape_label(f"{first.text} {span.text}") == "FAC"
    )


def _given_then_family(first: Span, span: Span, text: str) -> bool:
    """Whether two one-word spans one space apart are a given name and a family name (that the entity ruler
    marked on its own, the caller checks): "Katharina" (PERSON, or a NORP without a nationality's ending) +
    "Wagner" (the alias table's ORG) is Katharina Wagner."""
    return (
        (first.label == "PERSON" or (first.label == "NORP" and not _NATIONALITY.search(first.text)))
        and span.label in ("PERSON", "ORG", "GPE", "NORP")
        and _NAME_TOKEN.fullmatch(first.text) is not None
        and _NAME_TOKEN.fullmatch(span.text) is not None
        and text[first.start + len(first.text) : span.start] == " "
    )


def _joins(first: Span, span: Span, doc: Any, first_end: int, start: int, *, ruled: bool = False) -> bool:
    """Whether ``span`` continues ``first``: only white space between, and ``first`` ends in a particle, is a
    nationality right before an organisation, a number before a unit ("3rd" + "Assault Brigade"), a given name
    before a family name the entity ruler marked (``ruled``, "Katharina" + "Wagner"), or a possessive before the
    word of a building ("St Brigid's" + "Church"); or "of" between an
    organisation whose form says so and a place ("the Public Health Agency" + "of" + "Sweden")."""
    if start - first_end > _LONGEST_GAP:
        return False
    between = [doc[index] for index in range(first_end, start) if not doc[index].is_space]
    if [token.text for token in between] == ["of"] and first.label == "ORG" and span.label in ("GPE", "LOC"):
        return label_by_shape(canonical_form(first.text)) == "ORG"
    if between:
        return False
    if first.label == "NORP" and span.label == "ORG" and first_end == start and _NATIONALITY.search(first.text):
        return True
    if ruled and first_end == start and _given_then_family(first, span, doc.text):
        return True
    if first_end == start and _possessive_building(first, span):
        return True
    if first.label == "ORDINAL" and _NUMBERED.fullmatch(first.text) and first_end == start:
        return label_by_shape(canonical_form(span.text)) == "ORG"  # "3rd" + "Assault Brigade"
    return first.text.rsplit(maxsplit=1)[-1] in CONNECTORS if first.text.strip() else False
