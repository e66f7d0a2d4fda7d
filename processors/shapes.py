"""What the form of a name says about it, without the article: the word that makes a club a club ("Aston Villa",
"Real Madrid"), a facility, a region, a storm or a stretch of land, and the labels and patterns the entity
modules share. :func:`shape_label` adds these to :func:`~newswire.processors.cleaning.label_by_shape`;
:func:`other_kind` and :func:`bare_names_of` read the forms of an article's names for :mod:`.resolution` (a name
whose form gives another label is no short form; the one-word forms of companies, places and parties).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from newswire.processors.cleaning import label_by_shape

logger = logging.getLogger(__name__)

PLACE_LABELS = frozenset({"GPE", "LOC", "NORP"})
_KIND_WORDS = frozenset({"river", "mount", "lake"})  # the first words that say what kind of place a name is
_BARE_LABELS = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC")  # whatever the model called a place's bare name
ORG_LIKE_LABELS = frozenset({"ORG", "FAC", "EVENT"})
# "the World Health Organization (WHO)": the abbreviation the text gives right after a name.
ACRONYM = re.compile(r"[A-Z][A-Z&]{1,7}")
# The words of a football club's name, wherever the model put it ("Manchester City" as a place, "Manchester United"
# as a person): a last word or a first word that only clubs have, and last words that make a club in a sports story
# only ("Mexico City" is a city).
_CLUB_HEADS = frozenset({"united", "rovers", "wanderers", "hotspur", "albion", "athletic", "villa", "fc", "afc"})
_CLUB_PREFIXES = frozenset(
    {"real", "inter", "ac", "fc", "borussia", "bayern", "atletico", "sporting", "olympique", "dynamo"}
)
_SPORT_CLUB_HEADS = frozenset({"city", "town", "county"})
# Buildings the shape rules of the cleaning do not know ("Halden General Hospital", "St Brigid's Church").
_FACILITY_HEADS = frozenset({"hospital", "infirmary", "church", "chapel", "temple", "synagogue", "abbey"})
# The last words of companies' names, which reporters drop after the first mention: "Skellmouth" for "Skellmouth
# Ports Group", "Brenmoor" for "Brenmoor Energy".
_COMPANY_TAIL_WORDS = (
    "group holdings industries enterprises ventures foods motors airlines airways pharmaceuticals technologies"
    " laboratories energy utilities capital partners media ports"
)
COMPANY_TAILS = frozenset(_COMPANY_TAIL_WORDS.split())
# Administrative regions ("Uttar Pradesh") and named storms ("Storm Daniel", "Hurricane Beryl").
_REGION_HEADS = frozenset({"pradesh", "governorate", "prefecture", "voivodeship", "krai", "canton"})
_WEATHER_EVENTS = frozenset({"storm", "hurricane", "typhoon", "cyclone"})
_LAND_HEADS = frozenset({"island", "islands", "coast", "archipelago", "highlands"})
# Words in the names of competitions: an article that names one is a sports story.
_COMPETITION_WORDS = frozenset(
    {"league", "cup", "trophy", "open", "championship", "championships", "olympics", "serie", "bundesliga", "liga"}
)
# First words of place and title names that are no given names ("South Africa", "Wadi Derna", "Daily Mirror").
_PLACE_PREFIX_WORDS = (
    "north south east west new upper lower greater great port fort mount lake cape san santa st saint wadi gulf"
    " bay rio isle daily sunday evening royal national federal central general international grand old"
)
PLACE_PREFIXES = frozenset(_PLACE_PREFIX_WORDS.split())
# The words of a person's name: "Gary O'Neil", "Erik ten Hag", "Luis de la Fuente" (no "Djokovic's Wimbledon").
PERSON_NAME_WORD = re.compile(
    r"[A-Z](?:[a-z\u00df-\u00ff]|['\u2019\-](?!s\b)[A-Za-z])+|d[aeiou]s?|de[lnr]|v[ao]n|te[nr]|l[ae]|bin|al|el"
)


def initials(name: str) -> str:
    """The initials of a multi-word name's capitalised words: "World Health Organization" -> "WHO"."""
    words = re.split(r"[\s\-]+", name)
    return "".join(word[0] for word in words if word[:1].isupper()) if len(words) > 1 else ""


def is_club_word(name: str) -> bool:
    """Whether ``name`` is a word that makes a club a club on its own ("City", "United", "Real")."""
    folded = name.casefold()
    return folded in _CLUB_HEADS or folded in _CLUB_PREFIXES or folded in _SPORT_CLUB_HEADS


def is_sports_story(names: Iterable[str]) -> bool:
    """Whether an article with these names names a competition or a club by its form ("Premier League", "Kirkwell
    Rovers")."""
    for name in names:
        words = name.casefold().split()
        if len(words) > 1 and (words[-1] in _CLUB_HEADS or words[0] in _CLUB_PREFIXES):
            return True
        if any(word in _COMPETITION_WORDS for word in words):
            return True
    return False


def shape_label(name: str, *, sports: bool = False) -> str | None:
    """The label a multi-word name's form gives it: :func:`~newswire.processors.cleaning.label_by_shape`
    ("Kerch Strait" -> LOC), else ORG for the form of a football club ("Aston Villa", "Real Madrid"; "Manchester
    City" in a sports story), else None."""
    by_shape = label_by_shape(name)
    if by_shape is not None:
        return by_shape
    words = name.casefold().split()
    if len(words) > 1 and words[-1] in _FACILITY_HEADS:
        return "FAC"
    if len(words) > 1 and words[-1] in _REGION_HEADS:
        return "GPE"
    if len(words) > 1 and words[-1] in _LAND_HEADS:
        return "LOC"
    if len(words) > 1 and words[0] in _WEATHER_EVENTS:
        return "EVENT"
    if len(words) < 2:  # one word has no form to read
        return None
    if words[-1] in _CLUB_HEADS or words[0] in _CLUB_PREFIXES or (sports and words[-1] in _SPORT_CLUB_HEADS):
        return "ORG"
    return None


def bare_names_of(
    names: Iterable[tuple[str, str]], persons: set[str], is_given_name: Callable[[str], bool]
) -> dict[tuple[str, str], tuple[str, str]]:
    """For the (name, label) pairs of an article's mentions and its people's full names: (casefolded one-word name,
    the model's label) -> (the full name of the article it stands for, its label), for three short forms reporters
    use that :mod:`.resolution`'s other rules leave alone:

    - the first word of a company the model took for a person ("Corvane Holdings" ... "Corvane said"), when it is no
      given name and no word of a person's full name in the article;
    - a place without the word that says what kind of place it is ("River Ashe" ... "the Ashe", "Mount Everest" ...
      "Everest", "Patapsco River" ... "Patapsco"), whatever the model's label;
    - a party by the plural of its first word ("Green Party" ... "the Greens").

    A word that fits two names is left out.
    """
    person_words = {word.casefold() for name in persons for word in name.split()}
    firms: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    places: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)  # before the firms named after them
    for name, label in names:
        words = name.split()
        if len(words) < 2 or name in persons:
            continue
        first = words[0].casefold()
        if label == "ORG" and not is_given_name(first) and first not in person_words:
            firms[first, "PERSON"].add((name, "ORG"))
        if len(words) == 2 and words[1] == "Party":
            firms[f"{first}s", "NORP"].add((name, "ORG"))
            firms[f"{first}s", "ORG"].add((name, "ORG"))
        if len(words) == 2 and shape_label(name) == "LOC" and words[0][:1].isupper() and words[1][:1].isupper():
            kind = 1 if words[1].casefold() == "river" else 0 if words[0].casefold() in _KIND_WORDS else -1
            for bare_label in _BARE_LABELS if kind >= 0 else ():
                places[words[1 - kind].casefold(), bare_label].add((name, "LOC"))
    unique = {key: next(iter(names)) for key, names in firms.items() if len(names) == 1}
    return unique | {key: next(iter(names)) for key, names in places.items() if len(names) == 1}


def other_kind(name: str, target: str, *, sports: bool = False) -> bool:
    """Whether a multi-word name's form gives it a label the fuller name's form does not: "Commonwealth Games" (an
    event) is no short form of "Commonwealth Games Federation"."""
    if " " not in name:
        return False
    kind = shape_label(name, sports=sports)
    return kind is not None and kind != shape_label(target, sports=sports)
