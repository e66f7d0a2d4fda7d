"""What the form of a name says about it, without the article: the word that makes a club a club ("Aston Villa",
"Real Madrid"), a facility, a region, a storm or a stretch of land, and the labels and patterns the entity
modules share. :func:`shape_label` adds these to :func:`~newswire.processors.cleaning.label_by_shape`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from newswire.processors.cleaning import label_by_shape

logger = logging.getLogger(__name__)

PLACE_LABELS = frozenset({"GPE", "LOC", "NORP"})
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
_FACILITY_HEADS = frozenset({"hospital", "church", "chapel", "temple", "synagogue", "abbey"})
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
