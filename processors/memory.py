"""The entity memory: what earlier articles established about entities, for the articles after them."""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from newswire.contract import Entity
from newswire.processors.aliases import shipped_given_names
from newswire.processors.shapes import (
    COMPANY_TAILS,
    ORG_LIKE_LABELS,
    PERSON_NAME_WORD,
    initials,
    is_club_word,
    shape_label,
)

logger = logging.getLogger(__name__)

_FIRST_WORD_NAMES = 3  # words from which a person's name is also learned by its first word


@dataclass(frozen=True, slots=True)
class Recollection:
    """What an :class:`EntityMemory` knows of a name: the canonical name, its label and the mentions behind it."""

    name: str
    label: str
    mentions: int


class EntityMemory:
    """What earlier articles established about entities, for the articles after them; bounded, least recent out.

    Pass one memory to :func:`~newswire.processors.spans.doc_spans` and
    :func:`~newswire.processors.resolution.canonical_entities` (through
    :func:`~newswire.processors.entities.extract_entities`) for a stream of articles: each article first asks it
    about the names it leaves unresolved, then teaches it what the article established. The processor keeps one per
    process (``NEWSWIRE_ENTITY_MEMORY_CAPACITY``): replicas do not share theirs, so which earlier articles a replica
    saw can change a later article's entities, never the spans the model found.

    - **Labels**: the label votes of each canonical entity, one per mention, so "Manchester City" keeps the label
      earlier articles gave it when a later one's model calls it a place (the memory's votes count as at most
      :data:`~newswire.processors.resolution.MEMORY_VOTES` mentions, and win ties).
    - **Short forms**: the surnames of full PERSON names (and the first word of a name of three words or more that
      is no common given name, "Tedros"), the initials of multi-word organisations, and every short
      form an article joined to a fuller name, each to its canonical name, so a later article that says only
      "Guardiola" or "WHO" gets "Pep Guardiola" or "World Health Organization". A short form two names of one
      article share is not learned; a later article's reading replaces an earlier one. Club words too: "City" for
      the "Manchester City" an earlier article named.
    - **Names**: a canonical name earlier articles gave at least twice is marked where a later article's model
      missed it (:meth:`established`), and the first words of full PERSON names count as given names
      (:meth:`knows_given_name`) for names the model labelled wrongly.

    ``capacity`` bounds each of the three tables; the least recently used entries go first.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("an EntityMemory needs a capacity of at least 1")
        self.capacity = capacity
        self._labels: OrderedDict[str, tuple[str, Counter[str]]] = OrderedDict()
        self._short_forms: OrderedDict[str, str] = OrderedDict()
        self._given_names: OrderedDict[str, None] = OrderedDict()

    def recall(self, name: str, *, short_forms: bool = True) -> Recollection | None:
        """What the memory knows of ``name`` (a canonical name or, unless ``short_forms`` is False, a short form of
        one), or None."""
        key = name.casefold()
        canonical = self._short_forms.get(key) if short_forms else None
        if canonical is not None:
            self._short_forms.move_to_end(key)
            key = canonical
        known = self._labels.get(key)
        if known is None:
            return None
        self._labels.move_to_end(key)
        display, votes = known
        return Recollection(display, votes.most_common(1)[0][0], sum(votes.values()))

    def learn(self, entities: Iterable[Entity], short_forms: Mapping[str, str] | None = None) -> None:
        """Remember the canonical ``entities`` of one article and the ``short_forms`` it joined (short -> full)."""
        entities = list(entities)
        names = {entity.name.casefold() for entity in entities}
        implied: dict[str, set[str]] = defaultdict(set)
        firms: dict[str, set[str]] = defaultdict(set)  # a company's first word, unless it is an entity of its own
        for entity in entities:
            key = entity.name.casefold()
            _, votes = self._labels.pop(key, (entity.name, Counter()))
            votes[entity.label] += entity.count
            self._put(self._labels, key, (entity.name, votes))
            words = entity.name.split()
            if entity.label == "PERSON":
                for cut in range(1, len(words)):
                    implied[" ".join(words[cut:]).casefold()].add(key)
                # "Tedros" for "Tedros Adhanom Ghebreyesus": a long name goes by its first word, unless that is a
                # given name many people share ("Mohammed").
                if len(words) >= _FIRST_WORD_NAMES and words[0].casefold() not in shipped_given_names():
                    implied[words[0].casefold()].add(key)
                if len(words) > 1 and PERSON_NAME_WORD.fullmatch(words[0]):
                    self._given_names.pop(words[0].casefold(), None)
                    self._put(self._given_names, words[0].casefold(), None)
            elif entity.label in ORG_LIKE_LABELS:
                if initials(entity.name):
                    implied[initials(entity.name).casefold()].add(key)
                if (
                    entity.label == "ORG"
                    and len(words) > 1
                    and words[-1].casefold() in COMPANY_TAILS
                    and words[0].casefold() not in shipped_given_names()
                ):
                    firms[words[0].casefold()].add(key)
                # A club goes by the word that makes it one: "City", "United", "Real".
                for word in (words[0], words[-1]) if len(words) > 1 else ():
                    if is_club_word(word) and shape_label(entity.name, sports=True) == "ORG":
                        implied[word.casefold()].add(key)
        for short, full in (short_forms or {}).items():
            if full.casefold() in names:
                implied[short.casefold()] = {full.casefold()}
        for short, fulls in firms.items():
            if short not in self._labels:
                implied[short] |= fulls
        for short, fulls in implied.items():
            if len(fulls) == 1 and short not in names:
                self._short_forms.pop(short, None)
                self._put(self._short_forms, short, next(iter(fulls)))

    def established(self, name: str) -> Recollection | None:
        """What the memory knows of ``name`` as a canonical entity of earlier articles (not as a short form), or
        None; unlike :meth:`recall` this does not count as a use."""
        known = self._labels.get(name.casefold())
        if known is None or known[0] != name:
            return None
        display, votes = known
        return Recollection(display, votes.most_common(1)[0][0], sum(votes.values()))

    def knows_given_name(self, word: str) -> bool:
        """Whether ``word`` (casefolded) began the full name of a person of an earlier article."""
        return word in self._given_names

    def clear(self) -> None:
        """Forget everything (a new stream of articles that shares nothing with the earlier one)."""
        self._labels.clear()
        self._short_forms.clear()
        self._given_names.clear()

    def _put(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        if len(table) > self.capacity:
            table.popitem(last=False)

    def __len__(self) -> int:
        return len(self._labels)
