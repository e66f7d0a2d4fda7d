"""The :class:`Span` type, and what the words around an entity span say of it, for
:func:`~newswire.processors.spans.model_spans`.

Each rule reads the tokens of a spaCy ``Doc`` right before or after a span (``doc[start:end]``) and answers one
question: whether the span is a person (:func:`reads_as_person`: a title or a role before it, a role in an
apposition, "who" or an age after it), a place (:func:`reads_as_place`, :func:`placed_by_words`,
:func:`settlement_of`), a company (:func:`reads_as_firm`), a product or a work (:func:`thing_named`), or a facility
or a geographic place by the common noun after it (:func:`common_head`). :func:`coordinated_people` makes a person
of a full name joined by "and" to a person's, and :func:`joins` says whether a span continues the one before it (a
particle, a nationality before an organisation, a given name before a family name, a possessive before a building).

The word lists :data:`TITLES`, :data:`TITLE_WORDS`, :data:`ROLE_WORDS` and :data:`CONNECTORS` are shared with
:mod:`.missed_names` and :mod:`.entities`.
"""

from __future__ import annotations

import logging
import re
from typing import Any, NamedTuple

from newswire.processors.aliases import shipped_given_names, shipped_places
from newswire.processors.cleaning import canonical_form, head_label, label_by_shape
from newswire.processors.shapes import PERSON_NAME_WORD, PLACE_PREFIXES, shape_label

logger = logging.getLogger(__name__)

# Titles and ranks before a person's name: dropped from PERSON names, and before a span they make it a person.
TITLES = (
    "mr|mrs|ms|miss|dr|sir|dame|lord|lady|gen|general|col|colonel|lt|lieutenant|sgt|sergeant|capt|captain|maj"
    "|brigadier|admiral|commander|president|vice president|minister|prime minister|pm|deputy|secretary"
    "|chancellor|senator|sen|rep|congressman|congresswoman|councillor|cllr|mayor|governor|premier|ambassador"
    "|judge|justice|prof|professor|father|rev|reverend|bishop|archbishop|cardinal|rabbi|imam|coach"
)
TITLE_WORDS = frozenset(TITLES.split("|")) | {"spokesman", "spokeswoman", "spokesperson"}
# A span never ends in a lower-case particle: "the Security Service of" + "Ukraine" and "Ursula von der" + "Leyen"
# are one name that a line break or the model cut in two.
CONNECTORS = frozenset(
    ["of", "von", "der", "den", "de", "del", "van", "da", "di", "du", "la", "le", "bin", "al", "and", "for"]
)
_NATIONALITY = re.compile(r"(?:an|ish|ese|ic|i|ch|ss)$")  # the endings of nationality adjectives
# Lower-case roles a reporter puts right before a person's name: "substitute Kyle Dempsey", "manager Tony Halloran".
_ROLES = (
    "substitute striker midfielder defender goalkeeper keeper forward winger manager captain coach boss chief founder"
    " director singer rapper actor actress presenter author novelist writer leader chairman chairwoman economist"
    " analyst spokesman spokeswoman spokesperson veteran teenager activist lawyer player"
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
_AFTER_ROLE = frozenset({"of", "for", "at", "in", "and", "who", "said", "says", "from"})
# Trades and kinds of body a reporter puts right before an organisation's name: "the chipmaker Nvidia", "supermarket
# chain Morrisons", "the aviation agency Rosaviatsia", "the streaming site Vidlo".
_TRADES = (
    "company firm carmaker chipmaker drugmaker automaker maker manufacturer retailer supermarket chain airline carrier"
    " broadcaster publisher lender bank insurer miner brewer startup conglomerate giant group rival agency charity"
    " regulator watchdog platform site operator developer fund"
)
TRADE_WORDS = frozenset(_TRADES.split())
# Ages a reporter puts after a name ("Attal, 34,"): only a person has one.
_AGES = range(16, 111)
# Words before a place ("in Kettlesby", "near Avdiivka"), and the one-word institutions that also follow "in".
_PLACE_PREPOSITIONS = frozenset({"in", "near", "outside", "across"})
# The kinds of products and works a reporter names ("the drug Wegovy", "the opera Parsifal"): never entities here.
_PRODUCTS = "drug medicine injection vaccine jab pill headset smartphone chatbot console"
_WORKS = "song album film movie novel opera documentary painting"
_THINGS = {word: "PRODUCT" for word in _PRODUCTS.split()} | {word: "WORK_OF_ART" for word in _WORKS.split()}
_COMMON_HEAD_WORDS = 3  # lower-case words after a name that may still end in its common noun ("nuclear power plant")
_SETTLEMENT_WORDS = "city town village province region district county municipality state"
# The kinds of settlement or region before "of" and a place, in the singular or before a list ("the states of").
_SETTLEMENTS = frozenset(
    [*_SETTLEMENT_WORDS.split(), *(f"{word}s" for word in _SETTLEMENT_WORDS.split()), "cities", "counties"]
)
_LIST_TOKENS = 12  # tokens of a list of places after "the states of" that a later item may stand behind
_REGION_NOUNS = frozenset({"region", "province", "oblast", "district"})
_INSTITUTIONS = frozenset({"congress", "parliament", "senate", "government", "court", "office", "power"})
_HOLDINGS = frozenset({"shares", "stake", "stakes", "holding", "holdings", "investment", "investments", "interest"})
# One word of a name, in the case of a name: "Sinner", "Jean-Luc".
NAME_TOKEN = re.compile(r"[A-Z][a-z\u00df-\u00ff]+(?:['\u2019\-][A-Z][a-z\u00df-\u00ff]+)?")


class Span(NamedTuple):
    """One entity span of a document: its text, spaCy's label, its start offset in the text, and the abbreviation
    the text gives for it in parentheses right after it ("World Health Organization (WHO)"), if any."""

    text: str
    label: str
    start: int
    abbreviation: str = ""


_LONGEST_GAP = 3  # tokens between two spans that may still be one name (white space, or "of")
POSSESSIVE_END = re.compile(r"['\u2019]s?$")
_NUMBERED = re.compile(r"\d+(?:st|nd|rd|th)")


def _is_title(token: Any) -> bool:
    word = token.text.rstrip(".").casefold()
    return word in TITLE_WORDS and (token.text[:1].isupper() or word.startswith("spokes"))


def reads_as_place(doc: Any, start: int) -> bool:
    """Whether a one-word name is a place by the word before it: "based in Kettlesby", "near Avdiivka" (not an
    acronym, "in NATO", nor an institution, "in Congress")."""
    token = doc[start]
    return (
        start > 0
        and doc[start - 1].text in _PLACE_PREPOSITIONS
        and not token.text.isupper()
        and token.text.casefold() not in _INSTITUTIONS
        and not (start > 1 and doc[start - 2].lower_ in _HOLDINGS)  # "shares in Maersk", "a stake in Nvidia"
    )


def placed_by_words(doc: Any, start: int, end: int) -> bool:
    """Whether the words around a name the model took for a person say it is a place: a region's noun after it
    ("the Tarvos region"), or "in" before a name of two words that starts with no given name and owns nothing ("he
    lives in Ostra Vela", not "in Jeremy Hunt's budget")."""
    if end < len(doc) and doc[end].text in _REGION_NOUNS and start > 0 and doc[start - 1].lower_ == "the":
        return end - start == 1
    return (
        end - start == 2
        and start > 0
        and doc[start - 1].text == "in"
        and all(token.is_title for token in doc[start:end])
        and doc[start].lower_ not in shipped_given_names()
        and not (end < len(doc) and doc[end].text in ("'s", "\u2019s"))
    )


def thing_named(doc: Any, start: int, end: int) -> str | None:
    """PRODUCT or WORK_OF_ART when the words around a name say it is one: the kind of thing right before it ("the
    drug Wegovy", "a headset called Vision Pro", "the song Waterloo") or as an apposition after it ("Leqembi, the
    first drug shown to ...", "Threads, a rival text-based app"); else None."""
    before = start - 1
    if before > 0 and doc[before].text in ("called", "named"):
        before -= 1
    if before >= 0 and doc[before].text in _THINGS:
        return _THINGS[doc[before].text]
    if (
        before > 0
        and doc[before].text == ","
        and doc[before - 1].text in _THINGS
        and end < len(doc)
        and doc[end].text == ","
    ):
        return _THINGS[doc[before - 1].text]  # "the drug, Verolix, caused ...": the kind before the comma
    if end >= len(doc) - 1 or doc[end].text != "," or doc[end + 1].text not in ("the", "a", "an"):
        return None
    for index in range(end + 2, min(end + 3 + _APPOSITION_WORDS, len(doc) - 1)):
        token = doc[index]
        if token.is_punct:
            return None
        if token.text in _THINGS:
            after = doc[index + 1].text
            return None if after in TRADE_WORDS or after.startswith("make") else _THINGS[token.text]
    return None


def common_head(doc: Any, end: int) -> tuple[str, int] | None:
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


def settlement_of(doc: Any, start: int) -> bool:
    """Whether a name follows "the town of", "the province of" (a settlement or a region named after its kind), also
    as a later item of a list after it ("the states of Tocantins, Piaui and Bahia")."""
    index = start - 1
    if index > 1 and doc[index].text in (",", "and"):
        # "the states of Maranhao, Tocantins, Piaui and Bahia": a later item of the list stands behind the earlier ones.
        while index > 1 and start - index < _LIST_TOKENS and (doc[index].text in (",", "and") or doc[index].is_title):
            index -= 1
    return index > 0 and doc[index].text == "of" and doc[index - 1].text in _SETTLEMENTS


def reads_as_firm(doc: Any, start: int, end: int) -> bool:
    """Whether the words around a name say it is a company or a body: a trade right before it ("the chipmaker
    Nvidia", "drugmaker Pfizer"), also as an apposition ("the rescue agency, Basarnas"), or its shares right after it
    ("Tesla shares fell")."""
    before = doc[start - 1].text.casefold() if start > 0 else ""
    if before == "," and start > 1 and doc[start - 2].is_lower:
        before = doc[start - 2].text
    after = doc[end].text.casefold() if end < len(doc) else ""
    return before in TRADE_WORDS or after in ("shares", "stock")


def reads_as_person(doc: Any, start: int, end: int) -> bool:
    """Whether the words around ``doc[start:end]`` say it is a person: a title or a role right before it
    ("Chancellor", "substitute"), "said" before a plain full name, or "who" or an age right after a comma
    ("Ashdown, who", "Attal, 34,")."""
    if start > 0:
        before = doc[start - 1]
        if _is_title(before) or (before.text in ROLE_WORDS and doc[start].text[:1].isupper()):
            return True
        if before.text == "," and start > 1 and doc[start - 2].text in _APPOSITION_ROLES:
            return True  # "said its leader, Priya Mistry"
        if before.text in ("said", "says") and _plain_full_name(doc[start:end].text):
            return True  # "said Anna Kowal of the ...": a full name that no form explains, quoted
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


def coordinated_people(doc: Any, spans: list[Span], starts: list[int], ends: list[int]) -> None:
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


def possessive_building(first: Span, span: Span) -> bool:
    """Whether a name in the possessive and the one word after it are one building: "St Brigid's" + "Church"."""
    return (
        POSSESSIVE_END.search(first.text) is not None
        and " " not in span.text
        and shape_label(f"{first.text} {span.text}") == "FAC"
    )


def given_then_family(first: Span, span: Span, text: str) -> bool:
    """Whether two one-word spans one space apart are a given name and a family name (that the entity ruler
    marked on its own, the caller checks): "Katharina" (PERSON, or a NORP without a nationality's ending) +
    "Wagner" (the alias table's ORG) is Katharina Wagner."""
    return (
        (first.label == "PERSON" or (first.label == "NORP" and not _NATIONALITY.search(first.text)))
        and span.label in ("PERSON", "ORG", "GPE", "NORP")
        and NAME_TOKEN.fullmatch(first.text) is not None
        and NAME_TOKEN.fullmatch(span.text) is not None
        and text[first.start + len(first.text) : span.start] == " "
    )


def joins(first: Span, span: Span, doc: Any, first_end: int, start: int, *, ruled: bool = False) -> bool:
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
    if ruled and first_end == start and given_then_family(first, span, doc.text):
        return True
    if first_end == start and possessive_building(first, span):
        return True
    if first.label == "ORDINAL" and _NUMBERED.fullmatch(first.text) and first_end == start:
        return label_by_shape(canonical_form(span.text)) == "ORG"  # "3rd" + "Assault Brigade"
    return first.text.rsplit(maxsplit=1)[-1] in CONNECTORS if first.text.strip() else False
