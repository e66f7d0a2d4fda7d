"""Canonical entities from the cleaned mentions of one article: short forms, the alias table, memory and one label.

:func:`canonical_entities` is the second half of entity extraction (:mod:`.entities` reads and cleans the spans):

1. within the article, short forms join the fullest name they belong to, whatever label spaCy gave them: a surname
   or first name the full person's name ("Prigozhin" -> "Yevgeny Prigozhin"), an acronym its expansion ("WHO" ->
   "World Health Organization", from "(WHO)" after it or from the initials), the first or last words of a
   multi-word organisation the organisation ("Novo" -> "Novo Nordisk"; never an acronym: "NHS" is no short form of
   "NHS Confederation"), a club's word the club ("City"), a state's last words its formal name ("Congo" ->
   "Democratic Republic of Congo"), a word inside a long name the person ("Lula"), a company's first word the
   company even where the model took it for a person ("Corvane"), a place without its kind word the place ("the
   Ashe" -> "River Ashe"), a party's plural the party ("the Greens" -> "Green Party"); but no name whose form gives
   it another label ("Commonwealth Games" is no short form of "Commonwealth Games Federation"), and no company's name
   a short form of the facility named after it ("Apple Park"). A full name is a person's when the model says so,
   when the article calls it by its last word alone or by its first word as a person, or when it starts with a
   given name; an organisation's when the article calls it by its first word;
2. the alias table maps the rest across articles ("PMC Wagner" -> "Wagner Group") and overrides labels, and a word
   made from a country's name is a nationality ("Lithuanian"); an optional
   :class:`~newswire.processors.memory.EntityMemory` then carries what earlier articles established (full names of
   surnames, acronyms and club words, labels);
3. mentions of one canonical name are counted together, with their surface forms and the first offset, and get one
   label: the alias table's, else a person's if joined as one, else the one the name's form gives ("Kerch Strait"
   is a LOC, "Aston Villa" an ORG), else a vote of the mentions (with the memory's votes, and without the NORP
   votes of a word that reads as no nationality when there are others, "Tesla"; ties go to the memory, then to the
   fullest mention, then to the first), which the gazetteer may overrule for a place the model took for a person,
   an organisation or a facility ("Copenhagen").
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from newswire.contract import Entity
from newswire.processors.aliases import DROP, AliasTable, Place, shipped_given_names, shipped_places
from newswire.processors.cleaning import reads_as_group, singular_norp
from newswire.processors.memory import EntityMemory
from newswire.processors.shapes import (
    ACRONYM,
    COMPANY_TAILS,
    ORG_LIKE_LABELS,
    PERSON_NAME_WORD,
    PLACE_LABELS,
    PLACE_PREFIXES,
    bare_names_of,
    initials,
    is_club_word,
    is_sports_story,
    other_kind,
    shape_label,
)

logger = logging.getLogger(__name__)

_INNER_POSSESSIVE = re.compile(r"\w['\u2019]s\s")
MEMORY_VOTES = 2  # at most this many votes from the memory against an article's own mentions
_MAX_PERSON_WORDS = 4
_MAX_GIVEN_NAME_WORDS = 3
# A city the model took for a person is a city from this size on; one it took for an organisation only from the
# larger size (companies are named after towns: Nokia, Mercedes), and never in a sports story (clubs are).
CITY_FOR_PERSON = 50_000
CITY_FOR_ORGANISATION = 250_000
MAX_SURFACE_FORMS = 10
_DEMONYM_ENDINGS = ("ian", "an", "n", "ese", "i")
# A state's formal name, whose short form is its last words: "Democratic Republic of Congo" is "Congo" too.
_STATE_OF = re.compile(
    r"^(?:[A-Z][\w-]+\s+)*(?:Republic|Kingdom|Federation|Emirate|Commonwealth|Principality|Sultanate)\s+of\s+"
    r"(?:the\s+)?([A-Z].*)$"
)


@dataclass(slots=True)
class Mention:
    """One cleaned mention of a name in an article: its name so far, label, one-line surface form, start offset, and
    the abbreviation the text gives after it; resolution rewrites ``name`` and ``label``."""

    name: str
    label: str
    surface: str
    start: int
    abbreviation: str = ""
    fixed: bool = False  # the label comes from the alias table and must not be outvoted
    person: bool = False  # joined to a full PERSON name of the article: a person whatever the model said
    resolved: bool = False  # joined within the article or by the alias table: the memory is not asked


@dataclass(slots=True)
class _Tally:
    labels: Counter[str] = field(default_factory=Counter)
    fixed_label: str | None = None
    person: bool = False
    count: int = 0
    surface_forms: list[str] = field(default_factory=list)
    fullest: tuple[int, str] = (0, "")  # (words, label) of the longest surface form
    first_offset: int = 0
    name: str = ""


def _unique(candidates: set[str] | None) -> str | None:
    return next(iter(candidates)) if candidates and len(candidates) == 1 else None


def _people(
    mentions: list[Mention], sports: bool, is_given_name: Callable[[str], bool], places: Mapping[str, Place]
) -> set[str]:
    """Multi-word names that are people's whatever label the model gave them: those that start with a given name
    ("Marcus Thuram") or with a word the article calls a person alone ("Vinicius Junior" ... "Vinicius"), and
    those the article also calls by their last word alone, as reporters call people ("Pep Guardiola ...
    Guardiola"; organisations go by their first word, "Novo").

    Names whose form says otherwise ("Aston Villa", "Kerch Strait", "South Africa") are left out, as are names of
    the gazetteer ("San Jose"), nationalities, and a last word the model took for a place more than once ("Wadi
    Derna" ... "Derna"); a given name makes a person only of a name of two or three words that the model never
    took for an organisation when it ends in a given name too ("Eli Lilly", "Morgan Stanley").
    """
    bare: dict[str, list[str]] = defaultdict(list)
    organisations = set()  # a company named after its founder ("Eli Lilly") is one the model often gets right
    for mention in mentions:
        if " " not in mention.name:
            bare[mention.name.casefold()].append(mention.label)
        elif mention.label == "ORG":
            organisations.add(mention.name)
    people = set()
    company_firsts = _company_firsts(mentions)
    for mention in mentions:
        words = mention.name.split()
        if (
            not 1 < len(words) <= _MAX_PERSON_WORDS
            or mention.label == "NORP"
            or words[0].casefold() in PLACE_PREFIXES
            or not all(PERSON_NAME_WORD.fullmatch(word) for word in words)
            or not words[0][:1].isupper()
            or shape_label(mention.name, sports=sports) is not None
            or mention.name.casefold() in places
        ):
            continue
        # A company named after its founder has a given name at both ends ("Eli Lilly", "Morgan Stanley").
        given = is_given_name(words[0].casefold()) and (
            mention.name not in organisations or not is_given_name(words[-1].casefold())
        )
        if given and len(words) <= _MAX_GIVEN_NAME_WORDS:
            people.add(mention.name)
            continue
        # "Vinicius Junior" (ORG) ... "Vinicius" (PERSON): a person the article calls by the given name.
        first_labels = bare.get(words[0].casefold())
        if (
            first_labels
            and all(label == "PERSON" for label in first_labels)
            and len(words) <= _MAX_GIVEN_NAME_WORDS
            # "Brenmoor Energy" ... "Brenmoor" is a company, and so is "Novo Nordisk" beside "Novo Holdings".
            and words[-1].casefold() not in COMPANY_TAILS
            and words[0].casefold() not in company_firsts
        ):
            people.add(mention.name)
            continue
        labels = bare.get(words[-1].casefold())
        if (
            mention.label not in PLACE_LABELS
            and labels
            and not (len(labels) > 1 and all(label in PLACE_LABELS for label in labels))
            # An organisation the model also calls by its last word as one ("Meridian Media" ... "Media lawyers").
            and not (mention.label == "ORG" and all(label == "ORG" for label in labels))
        ):
            people.add(mention.name)
    return people


def _company_firsts(mentions: list[Mention]) -> set[str]:
    """The first words of the article's companies by their form ("novo" for "Novo Holdings")."""
    return {
        m.name.split()[0].casefold()
        for m in mentions
        if m.label == "ORG" and " " in m.name and m.name.rsplit(maxsplit=1)[-1].casefold() in COMPANY_TAILS
    }


def _called_by_first_word(mentions: list[Mention], is_given_name: Callable[[str], bool]) -> set[str]:
    """Multi-word names the model took for people that the article calls by their first word alone, as reporters
    call organisations ("Novo Nordisk" ... "Novo", "Halvorsen Seafood" ... "Halvorsen"), when that word is no given
    name and the model did not take it for a person there; or whose first word starts the name of a company of the
    article too ("Novo Nordisk" beside "Novo Holdings")."""
    bare = {m.name.casefold() for m in mentions if " " not in m.name and m.label not in ("PERSON", "NORP")}
    bare -= {m.name.casefold() for m in mentions if " " not in m.name and m.label == "PERSON"}
    bare |= _company_firsts(mentions)
    bare_last = {m.name.casefold() for m in mentions if " " not in m.name}
    firms = set()
    for mention in mentions:
        words = mention.name.split()
        if mention.label != "PERSON" or len(words) < 2:
            continue
        first = words[0].casefold()
        if first in bare and not is_given_name(first) and words[-1].casefold() not in bare_last:
            firms.add(mention.name)
    return firms


def _resolve_short_forms(
    mentions: list[Mention],
    aliases: AliasTable,
    sports: bool,
    is_given_name: Callable[[str], bool],
    places: Mapping[str, Place],
) -> dict[str, str]:
    """Join short forms to the fullest name of the article they stand for; returns what was joined to what.

    A surname (or any trailing part) of a full person's name, or a PERSON-labelled first name, becomes that
    person; a full name is a person's when the model labels it PERSON, the article calls it by its last word
    alone, or it starts with a given name (see :func:`_people`). An acronym the article spells out ("(WHO)" after
    the name, or matching the initials) becomes the expansion. The first or last words of a multi-word
    organisation, facility or event, unless the model took them for a place, become that name, and so does the
    word that makes a club a club ("City" for "Manchester City", "Real" for "Real Madrid") wherever the model put
    it. A short form that fits two names is left alone.
    """
    people = _people(mentions, sports, is_given_name, places)
    firms = _called_by_first_word(mentions, is_given_name) - people
    persons = {m.name for m in mentions if m.label == "PERSON" and " " in m.name} - firms | people
    for mention in mentions:
        if mention.name in people:
            mention.label, mention.person = "PERSON", True
        elif mention.name in firms:
            mention.label = "ORG"
    clubs = {m.name for m in mentions if " " in m.name and shape_label(m.name, sports=sports) == "ORG"} - persons
    organisations = {m.name for m in mentions if m.label in ORG_LIKE_LABELS and " " in m.name} - persons
    organisations |= clubs
    by_suffix: dict[str, set[str]] = defaultdict(set)
    by_first_name: dict[str, set[str]] = defaultdict(set)
    for full in persons:
        words = full.split()
        by_first_name[words[0].casefold()].add(full)
        # A long name also goes by a word inside it: "Lula" for "Luiz Inacio Lula da Silva".
        for inner in words[1:-1] if len(words) > _MAX_GIVEN_NAME_WORDS - 1 else ():
            if inner[:1].isupper():
                by_first_name[inner.casefold()].add(full)
        for cut in range(1, len(words)):
            by_suffix[" ".join(words[cut:]).casefold()].add(full)
    by_affix: dict[str, set[str]] = defaultdict(set)
    by_initials: dict[str, set[str]] = defaultdict(set)
    # "Djokovic's Wimbledon" is two names run together, not the full form of "Wimbledon".
    for full in (name for name in organisations if not _INNER_POSSESSIVE.search(name)):
        words = full.split()
        for cut in range(1, len(words)):
            by_affix[" ".join(words[:cut]).casefold()].add(full)
            by_affix[" ".join(words[cut:]).casefold()].add(full)
    for full in {m.name for m in mentions if " " in m.name and m.label not in PLACE_LABELS} - persons:
        by_initials[initials(full)].add(full)
    spelled_out = {m.abbreviation: m.name for m in mentions if m.abbreviation and " " in m.name}
    for abbreviation, full in list(spelled_out.items()):
        # "Africa CDC" is also "CDC" where the model marked the place apart ("head of Africa CDC").
        last = abbreviation.rsplit(maxsplit=1)[-1]
        if last != abbreviation and ACRONYM.fullmatch(last):
            spelled_out.setdefault(last, full)
    states: dict[str, set[str]] = defaultdict(set)
    for mention in mentions:
        state = _STATE_OF.match(mention.name) if mention.label in PLACE_LABELS else None
        if state is not None:
            states[state.group(1).casefold()].add(mention.name)
    bare_names = bare_names_of(((m.name, m.label) for m in mentions), persons, is_given_name)
    joined: dict[str, str] = {}
    for mention in mentions:
        target, person = _short_form_target(
            mention,
            aliases,
            spelled_out=spelled_out,
            by_initials=by_initials,
            by_suffix=by_suffix,
            by_first_name=by_first_name,
        )
        if target is None and mention.label in PLACE_LABELS:
            target = _unique(states.get(mention.name.casefold()))
        if target is None and " " not in mention.name:
            target, label = bare_names.get((mention.name.casefold(), mention.label), (None, ""))
            mention.label = label or mention.label
        if (
            target is None
            and (mention.label not in PLACE_LABELS or is_club_word(mention.name))
            and mention.label != "PERSON"
            and aliases.lookup(mention.name) is None  # "Wagner" is the alias table's to map
            # An acronym before other words qualifies them ("NHS Confederation", "BBC Sport"): it is no short form
            # of that name; its expansion or the memory decide.
            and not ACRONYM.fullmatch(mention.name)
        ):
            target = _unique(by_affix.get(mention.name.casefold()))
            # A facility is named after the body that owns it: "Apple" is no short form of "Apple Park" (a road's
            # number is, "M4" of "M4 motorway").
            if target and mention.label == "ORG" and mention.name.isalpha() and shape_label(target) == "FAC":
                target = None
        # A full name of the article is no short form of another one, unless it is part of it ("World Cup" in
        # "Cricket World Cup", "Von der Leyen" in "Ursula von der Leyen").
        if target is not None and target != mention.name and not other_kind(mention.name, target, sports=sports):
            joined[mention.name] = target
            mention.name, mention.resolved = target, True
            if person:
                mention.label, mention.person = "PERSON", True
    return joined


def _short_form_target(
    mention: Mention,
    aliases: AliasTable,
    *,
    spelled_out: Mapping[str, str],
    by_initials: Mapping[str, set[str]],
    by_suffix: Mapping[str, set[str]],
    by_first_name: Mapping[str, set[str]],
) -> tuple[str | None, bool]:
    """(the full name an acronym, surname or first name stands for, whether it is a person)."""
    # An acronym the alias table knows ("EU", "UN") is the table's to map.
    if aliases.lookup(mention.name) is None:
        target = spelled_out.get(mention.name)
        if target is None and ACRONYM.fullmatch(mention.name):
            target = _unique(by_initials.get(mention.name))
        if target is not None:
            return target, False
    key = mention.name.casefold()
    person = _unique(by_suffix.get(key))
    if person is None and mention.label == "PERSON" and " " not in mention.name:
        person = _unique(by_first_name.get(key))
    return person, person is not None


def _apply_aliases(mentions: list[Mention], aliases: AliasTable, places: Mapping[str, Place]) -> list[Mention]:
    """Map names through the alias table; a plural nationality the table does not know is made singular, and a word
    made from the name of a country or a continent is a nationality whatever the model said ("Lithuanian")."""
    attested = frozenset(mention.name.casefold() for mention in mentions)
    kept = []
    for mention in mentions:
        canonical = aliases.lookup(mention.name)
        if canonical is None and mention.label != "NORP" and not mention.person and _demonym(mention.name, places):
            mention.label = "NORP"
        if canonical is None and mention.label == "NORP":
            mention.name = singular_norp(mention.name, attested)
            canonical = aliases.lookup(mention.name)
        if canonical is not None:
            if canonical.label == DROP:
                continue
            mention.name, mention.label, mention.fixed, mention.resolved = canonical.name, canonical.label, True, True
        kept.append(mention)
    return kept


def _demonym(name: str, places: Mapping[str, Place]) -> bool:
    """Whether a one-word name is made from the name of a country or a continent of the gazetteer: "Lithuanian"
    (Lithuania), "Italians" (Italy), "Chinese" (China), "Israeli" (Israel)."""
    if " " in name or not name[:1].isupper():
        return False
    word = name.casefold()
    word = word[:-1] if word.endswith("s") and not word.endswith("ss") else word
    for ending in _DEMONYM_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            stem = word[: -len(ending)]
            for restored in ("", "a", "e", "o", "y"):
                place = places.get(stem + restored)
                if place is not None and place.kind in ("country", "continent"):
                    return True
    return False


def _recall(mentions: list[Mention], memory: EntityMemory, sports: bool) -> None:
    """Give the short forms the article left unresolved the full names earlier articles established; a club's
    word ("City") only in a sports story ("City officials said" is no club)."""
    for mention in mentions:
        if mention.resolved or (not sports and is_club_word(mention.name)):
            continue
        known = memory.recall(mention.name)
        if known is not None and known.name.casefold() != mention.name.casefold():
            mention.name = known.name
            if known.label == "PERSON":
                mention.label, mention.person = "PERSON", True


def _label(tally: _Tally, memory: EntityMemory | None, sports: bool, places: Mapping[str, Place]) -> str:
    """One label for a canonical entity: alias table, then a person joined by name, then the form, then the vote,
    which the gazetteer may overrule (see :func:`_place_label`)."""
    if tally.fixed_label is not None:
        return tally.fixed_label
    if tally.person:
        return "PERSON"
    by_shape = shape_label(tally.name, sports=sports)
    if by_shape is not None:
        return by_shape
    votes = Counter(tally.labels)
    if "NORP" in votes and len(votes) > 1 and not reads_as_group(tally.name):
        del votes["NORP"]  # "Tesla" as a nationality once and a company once is a company
    # The votes of this very name: a short form the article did not join ("City" outside sport) has its own.
    known = memory.recall(tally.name, short_forms=False) if memory is not None else None
    if known is not None:
        votes[known.label] += min(known.mentions, MEMORY_VOTES)
    best = max(votes.values())
    tied = [label for label, count in votes.items() if count == best]  # in the order of first mention
    voted = tied[0]
    if len(tied) > 1:
        for preferred in (known.label if known is not None else None, tally.fullest[1]):
            if preferred in tied:
                voted = preferred
                break
    place = places.get(tally.name.casefold())
    return _place_label(place, voted, sports) if place is not None else voted


def _place_label(place: Place, voted: str, sports: bool) -> str:
    """The label of a name the gazetteer knows, against the label the vote gave it: a country or a state is a GPE
    and a continent a LOC whatever the model said (but a nationality stays one); a city is a GPE when the model
    took it for a person, a geographic place or a facility, or for an organisation outside sports stories if it is
    large."""
    if voted == "NORP":
        return voted
    if place.kind in ("country", "state"):
        return "GPE"
    if place.kind == "continent":
        return "LOC"
    if voted in ("PERSON", "LOC", "FAC") and place.population >= CITY_FOR_PERSON:
        return "GPE"
    if voted == "ORG" and not sports and place.population >= CITY_FOR_ORGANISATION:
        return "GPE"
    return voted


def canonical_entities(
    mentions: list[Mention],
    aliases: AliasTable,
    wanted_labels: frozenset[str],
    memory: EntityMemory | None = None,
    places: Mapping[str, Place] | None = None,
) -> list[Entity]:
    """The canonical entities of one article's cleaned ``mentions``, most mentioned first (see the module doc).

    ``places`` is the gazetteer (casefolded name -> :class:`~newswire.processors.aliases.Place`), by default the
    shipped one.

    Entities whose final label is not in ``wanted_labels`` are left out after canonicalisation, so the alias table
    can rescue a span spaCy labelled wrongly. With a ``memory``, names the article leaves unresolved are looked up
    in it, and what the article established is added to it (see :class:`EntityMemory`).
    """
    sports = is_sports_story(mention.name for mention in mentions)
    places = shipped_places() if places is None else places
    given_names = shipped_given_names()

    def is_given_name(word: str) -> bool:
        return word in given_names or (memory is not None and memory.knows_given_name(word))

    joined = _resolve_short_forms(mentions, aliases, sports, is_given_name, places)
    mentions = _apply_aliases(mentions, aliases, places)
    if memory is not None:
        _recall(mentions, memory, sports)
    tallies: dict[str, _Tally] = {}
    for mention in sorted(mentions, key=lambda m: m.start):
        tally = tallies.setdefault(mention.name.casefold(), _Tally(first_offset=mention.start, name=mention.name))
        tally.count += 1
        if mention.fixed:
            tally.fixed_label = mention.label
        tally.person = tally.person or mention.person
        tally.labels[mention.label] += 1
        words = len(mention.surface.split())
        if words > tally.fullest[0]:
            tally.fullest = (words, mention.label)
        if mention.surface not in tally.surface_forms and len(tally.surface_forms) < MAX_SURFACE_FORMS:
            tally.surface_forms.append(mention.surface)
    entities = []
    for tally in tallies.values():
        label = _label(tally, memory, sports, places)
        if label in wanted_labels:
            entities.append(
                Entity(
                    name=tally.name,
                    label=label,
                    count=tally.count,
                    surface_forms=tally.surface_forms,
                    first_offset=tally.first_offset,
                )
            )
    if memory is not None:
        memory.learn(entities, joined)
    entities.sort(key=lambda entity: (-entity.count, entity.first_offset))
    return entities
