"""How the filters compare names: entity, topic and source filters are case-insensitive, and topics have names.

Both search stores index the keys of :func:`entity_keys`, :func:`topic_key` and :func:`source_key` next to the
names themselves and compare a filter's :func:`fold` with them, so ``prigozhin`` finds the entity "Yevgeny
Prigozhin" (a person's surname is a key, as is every surface form the processor saw) and ``Politics`` the topic
``politics``, identically in both. A topic filter may also give the topic's name ("Conflict, war and peace").
Aliases the processors' alias table knows ("Evgeny Prigozhin") are turned into the canonical name by the app before
the store is asked (the table is the processor stage's, which this floor module cannot read).

:func:`suggestion_keys` are what ``/api/suggest`` matches a typed prefix against: the folded name and every later word
of it, so ``pri`` suggests "Yevgeny Prigozhin".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from newswire.contract import Entity
from newswire.errors import InvalidQuery

__all__ = [
    "SUGGEST_FIELDS",
    "TOPIC_NAMES",
    "entity_keys",
    "fold",
    "source_key",
    "suggestion_keys",
    "suggestion_prefix",
    "topic_key",
    "topic_name",
]

SUGGEST_FIELDS = ("entity", "topic", "source")
MAX_SUGGESTIONS = 50
MAX_PREFIX_CHARS = 100
# The names of the 17 top-level IPTC Media Topics the topic classifier labels articles with, by slug.
TOPIC_NAMES: dict[str, str] = {
    "arts_culture": "Arts, culture, entertainment and media",
    "conflict_war_peace": "Conflict, war and peace",
    "crime_law_justice": "Crime, law and justice",
    "disaster_accident": "Disaster, accident and emergency incident",
    "economy_business_finance": "Economy, business and finance",
    "education": "Education",
    "environment": "Environment",
    "health": "Health",
    "human_interest": "Human interest",
    "labour": "Labour",
    "lifestyle_leisure": "Lifestyle and leisure",
    "politics": "Politics",
    "religion": "Religion",
    "science_technology": "Science and technology",
    "society": "Society",
    "sport": "Sport",
    "weather": "Weather",
}
_SPACE = re.compile(r"\s+")


# The key functions are pure and the names they are given repeat (the same people, places and outlets across
# articles): the indexers call them for every entity of every article, so their results are kept, a bounded number.
_NAMES_KEPT = 1 << 14


@lru_cache(maxsize=_NAMES_KEPT)
def fold(text: str) -> str:
    """``text`` compared case- and width-insensitively: NFKC, case-folded, whitespace runs as one space."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


_TOPICS_BY_NAME = {fold(name): slug for slug, name in TOPIC_NAMES.items()}


def topic_name(label: str) -> str:
    """The name to show for a topic label: ``conflict_war_peace`` -> "Conflict, war and peace"."""
    known = TOPIC_NAMES.get(label)
    if known is not None:
        return known
    words = label.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else label


@lru_cache(maxsize=_NAMES_KEPT)
def topic_key(value: str) -> str:
    """The key a topic label is indexed under, and a topic filter (label or name) is compared with."""
    folded = fold(value)
    return fold(_TOPICS_BY_NAME.get(folded, folded))


def source_key(value: str) -> str:
    """The key a source is indexed under, and a source filter is compared with."""
    return fold(value)


def entity_keys(entity: Entity) -> frozenset[str]:
    """What an entity filter finds this entity by: its folded name and surface forms, and a person's surname."""
    return _entity_keys(entity.name, entity.label, tuple(entity.surface_forms))


@lru_cache(maxsize=_NAMES_KEPT)
def _entity_keys(name: str, label: str, surface_forms: tuple[str, ...]) -> frozenset[str]:
    keys = {fold(name), *(fold(form) for form in surface_forms)}
    words = fold(name).split(" ")
    if label == "PERSON" and len(words) > 1 and len(words[-1]) > 1:
        keys.add(words[-1])
    keys.discard("")
    return frozenset(keys)


@lru_cache(maxsize=_NAMES_KEPT)
def suggestion_keys(field: str, value: str) -> frozenset[str]:
    """The keys a typed prefix is matched with for one entity name, topic label or source (``field``): the folded
    name from each of its words on (and for a topic, its label's words and its name's)."""
    names = [value.replace("_", " "), topic_name(value)] if field == "topic" else [value]
    keys: set[str] = set()
    for name in names:
        words = fold(name).split(" ")
        keys.update(" ".join(words[start:]) for start in range(len(words)) if words[start])
    return frozenset(keys)


def suggestion_prefix(field: str, prefix: str, size: int) -> str:
    """The folded ``prefix`` of a suggestion request; InvalidQuery for a field, prefix or size it cannot have."""
    if field not in SUGGEST_FIELDS:
        raise InvalidQuery(f"suggestions are for {', '.join(SUGGEST_FIELDS)}, not {field!r}")
    if not 1 <= size <= MAX_SUGGESTIONS:
        raise InvalidQuery(f"size must be between 1 and {MAX_SUGGESTIONS}, got {size}")
    folded = fold(prefix)
    if not folded or len(folded) > MAX_PREFIX_CHARS:
        raise InvalidQuery(f"a prefix has 1 to {MAX_PREFIX_CHARS} characters besides spaces")
    return folded
