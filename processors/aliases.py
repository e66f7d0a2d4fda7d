"""The alias table: cross-article canonical names, label overrides, and entity-ruler patterns; and the gazetteer.

The table lives in ``processors/data/aliases.tsv`` (one canonical entity a line: name, label, aliases separated
by ``|``), so an editor can add a name without touching code. Lookups are case-insensitive on the cleaned form of a
name (see :func:`newswire.processors.cleaning.canonical_form`); ruler patterns are exact, as written in the table.

The gazetteer (``processors/data/places.tsv``, written by ``scripts/make-places`` from GeoNames data) knows
countries, US states, continents and cities of 50,000 people or more, with their populations: not names to mark in
the text, but what a name the model labelled a person or an organisation may really be (see :mod:`.resolution`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from newswire.errors import ConfigError
from newswire.processors.cleaning import canonical_form

logger = logging.getLogger(__name__)

DROP = "DROP"
ALIAS_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC", DROP})
_MIN_COLUMNS = 2


@dataclass(frozen=True, slots=True)
class CanonicalName:
    """What an alias stands for: the canonical name and its label (``DROP`` for spans to leave out)."""

    name: str
    label: str


@dataclass(slots=True)
class AliasTable:
    """Maps cleaned names, case-insensitively, to their canonical name and label."""

    entries: dict[str, CanonicalName] = field(default_factory=dict)
    patterns: list[tuple[str, str]] = field(default_factory=list)  # (exact phrase, label) for the entity ruler

    def add(self, canonical: str, label: str, aliases: list[str]) -> None:
        target = CanonicalName(canonical, label)
        for alias in [canonical, *aliases]:
            key = canonical_form(alias).casefold()
            if not key:
                continue
            known = self.entries.get(key)
            if known is not None and known != target:
                logger.warning("alias %r is listed for both %s and %s; keeping %s", alias, known, target, known)
                continue
            self.entries[key] = target
            # "the Kremlin" needs no pattern of its own: "Kremlin" matches, and the span then leaves "the" out. A
            # one-letter name ("X") would mark every such letter in a text: the lookup maps it, the ruler does not.
            if label != DROP and not alias.lower().startswith("the ") and len(alias) > 1:
                self.patterns.append((alias, label))

    def lookup(self, name: str) -> CanonicalName | None:
        """The canonical name ``name`` is an alias of, or None when the table does not know it."""
        return self.entries.get(name.casefold())

    def ruler_patterns(self) -> list[dict[str, str]]:
        """Phrase patterns for spaCy's ``entity_ruler``, each with the canonical name as its id."""
        return [
            {"label": label, "pattern": phrase, "id": self.entries[canonical_form(phrase).casefold()].name}
            for phrase, label in self.patterns
        ]

    def __len__(self) -> int:
        return len(self.entries)


def parse_aliases(text: str, *, source: str = "aliases") -> AliasTable:
    """Read an alias table from its text; a malformed line is a :class:`ConfigError` naming the line."""
    table = AliasTable()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = [column.strip() for column in line.split("\t")]
        if len(columns) < _MIN_COLUMNS or not columns[0]:
            raise ConfigError(f"{source}:{number}: expected 'name<TAB>label<TAB>aliases', got {line!r}")
        label = columns[1].upper()
        if label not in ALIAS_LABELS:
            raise ConfigError(f"{source}:{number}: unknown label {columns[1]!r}; use one of {sorted(ALIAS_LABELS)}")
        aliases = [alias.strip() for alias in columns[2].split("|")] if len(columns) > _MIN_COLUMNS else []
        table.add(canonical_form(columns[0]), label, [alias for alias in aliases if alias])
    return table


def load_aliases(path: Path | None = None) -> AliasTable:
    """The alias table at ``path``, or the one shipped with the processor."""
    if path is None:
        text = resources.files("newswire.processors").joinpath("data", "aliases.tsv").read_text("utf-8")
        return parse_aliases(text, source="processors/data/aliases.tsv")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the alias table {path}: {exc.strerror}") from exc
    return parse_aliases(text, source=str(path))


@dataclass(frozen=True, slots=True)
class Place:
    """What the gazetteer knows of a name: its kind ("country", "state", "continent", "city") and the population
    (0 when unknown)."""

    kind: str
    population: int


PLACE_KINDS = frozenset({"country", "state", "continent", "city"})


def parse_places(text: str, *, source: str = "places") -> dict[str, Place]:
    """A gazetteer from its text (name, kind, population a line), keyed by the casefolded name."""
    places: dict[str, Place] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != 3 or columns[1] not in PLACE_KINDS or not columns[2].isdigit():
            raise ConfigError(f"{source}:{number}: expected 'name<TAB>kind<TAB>population', got {line!r}")
        places[columns[0].casefold()] = Place(columns[1], int(columns[2]))
    return places


@cache
def shipped_places() -> dict[str, Place]:
    """The gazetteer shipped with the processor, read once per process (some 28,000 names)."""
    text = resources.files("newswire.processors").joinpath("data", "places.tsv").read_text("utf-8")
    return parse_places(text, source="processors/data/places.tsv")


@cache
def shipped_given_names() -> frozenset[str]:
    """The casefolded given names shipped with the processor (``processors/data/given_names.tsv``, from the 1990 US
    Census lists by ``scripts/make-given-names``), read once per process."""
    text = resources.files("newswire.processors").joinpath("data", "given_names.tsv").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
