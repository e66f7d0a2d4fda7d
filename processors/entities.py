"""Named entities: the spaCy pipeline (NER plus an entity ruler from the alias table) and canonical entities.

The pipeline loads only what NER needs: the ``ner`` component (with its own embedding layer in the ``sm`` models)
behind an ``entity_ruler`` that marks the names of the alias table first, so the statistical model works around
them. :func:`doc_spans` reads the spans of a document with what the text around them says (a title before a name
makes it a person, "Defence" in "Defence Minister" is no entity, a name broken after "of" or "von" is joined, an
abbreviation in parentheses is kept), and :func:`extract_entities` turns them into canonical entities:

1. each span is cleaned (:func:`~newswire.processors.cleaning.canonical_form`, titles, trailing scores and
   numbers, plural nationalities made singular), split where it runs over a sentence or a list, and junk is
   dropped;
2. within the article, short forms join the fullest name they belong to, whatever label spaCy gave them: a surname
   or first name the full PERSON name ("Prigozhin" -> "Yevgeny Prigozhin"), an acronym its expansion ("WHO" ->
   "World Health Organization", from "(WHO)" after it or from the initials), the first or last words of a
   multi-word organisation the organisation ("Novo" -> "Novo Nordisk");
3. the alias table maps the rest across articles ("PMC Wagner" -> "Wagner Group") and overrides labels; an
   optional :class:`EntityMemory` then carries what earlier articles established (full names of surnames and
   acronyms, labels);
4. mentions of one canonical name are counted together, with their surface forms and the first offset, and get one
   label: the alias table's, else the one the name's form gives ("Kerch Strait" is a LOC), else a vote of the
   mentions (with the memory's votes; ties go to the memory, then to the fullest mention, then to the first).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, NamedTuple

from newswire.contract import Entity
from newswire.errors import EnrichmentError
from newswire.processors.aliases import DROP, AliasTable, load_aliases
from newswire.processors.cleaning import (
    canonical_form,
    is_junk,
    label_by_shape,
    singular_norp,
    strip_region_word,
    strip_trailing_numbers,
)

logger = logging.getLogger(__name__)

# Components NER does not need; excluded at load time (never loaded, not just disabled).
UNNEEDED_COMPONENTS = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer", "tok2vec")
# Titles and ranks before a person's name: dropped from PERSON names, and before a span they make it a person.
_TITLES = (
    "mr|mrs|ms|miss|dr|sir|dame|lord|lady|gen|general|col|colonel|lt|lieutenant|sgt|sergeant|capt|captain|maj"
    "|brigadier|admiral|commander|president|vice president|minister|prime minister|pm|deputy|secretary"
    "|chancellor|senator|sen|rep|congressman|congresswoman|councillor|cllr|mayor|governor|premier|ambassador"
    "|judge|justice|prof|professor|father|rev|reverend|bishop|archbishop|cardinal|rabbi|imam|coach"
)
_HONORIFIC = re.compile(
    rf"^(?:(?:{_TITLES}|(?:[A-Z][a-z]+\s+)?(?:minister|secretary|general))\.?\s+)+",
    re.IGNORECASE,
)
_TITLE_WORDS = frozenset(_TITLES.split("|")) | {"spokesman", "spokeswoman", "spokesperson"}
_POST_NOMINALS = re.compile(r",?\s+(?:KC|QC|MP|MEP|MSP|OBE|MBE|CBE|KBE|DBE|PhD)$")
# The word a portfolio stands before: "Defence" in "Defence Minister Sergei Shoigu" is no organisation.
_PORTFOLIO_HEADS = frozenset({"Minister", "Ministers", "Secretary"})
_PLACE_LABELS = frozenset({"GPE", "LOC", "NORP"})
_ORG_LIKE_LABELS = frozenset({"ORG", "FAC", "EVENT"})
# A span never ends in a lower-case particle: "the Security Service of" + "Ukraine" and "Ursula von der" + "Leyen"
# are one name that a line break or the model cut in two.
_CONNECTORS = frozenset(
    ["of", "von", "der", "den", "de", "del", "van", "da", "di", "du", "la", "le", "bin", "al", "and", "for"]
)
# "the World Health Organization (WHO)": the abbreviation the text gives right after a name.
_ACRONYM = re.compile(r"[A-Z][A-Z&]{1,7}")
# Where one span holds two names: "Federer, Rafael Nadal", "Marine Le Pen.\n\nAttal".
_LIST_COMMA = re.compile(r",\s+")
_SENTENCE_BREAK = re.compile(r"(?<=[a-z]{2})\.\s+(?=[A-Z])|\n\s*\n")
_NAME_WORD = re.compile(r"[A-Z][a-z]{2,}")
_NATIONALITY = re.compile(r"(?:an|ish|ese|ic|i|ch|ss)$")  # the endings of nationality adjectives
_INNER_POSSESSIVE = re.compile(r"\w['\u2019]s\s")
_LEGAL_SUFFIXES = frozenset({"Inc", "Ltd", "Jr", "Sr", "plc", "LLC", "Co", "Corp", "AG", "SA"})
_TITLED_SPAN_WORDS = 4  # a title makes a person of a span this long at most
_NEVER_NAMES = frozenset({"DATE", "TIME", "MONEY", "QUANTITY", "PERCENT", "CARDINAL", "ORDINAL"})
MEMORY_VOTES = 2  # at most this many votes from the memory against an article's own mentions
MAX_SURFACE_FORMS = 10


def _load(model: str, exclude: Sequence[str]) -> Any:
    import spacy  # noqa: PLC0415 - spaCy takes a second to import; only the processor needs it

    try:
        return spacy.load(model, exclude=list(exclude))
    except OSError as exc:
        raise EnrichmentError(
            f"the spaCy model {model!r} is not installed (pip install {model.replace('_', '-')}); "
            "set NEWSWIRE_SPACY_MODEL to an installed one"
        ) from exc


def load_pipeline(model: str, aliases: AliasTable) -> Any:
    """The spaCy pipeline ``model`` with only NER and an entity ruler fed from ``aliases``."""
    nlp = _load(model, UNNEEDED_COMPONENTS)
    if "ner" not in nlp.pipe_names:
        raise EnrichmentError(f"the spaCy model {model!r} has no 'ner' component")
    listens = str(nlp.config["components"]["ner"]["model"].get("tok2vec", {}).get("@architectures", ""))
    if "Listener" in listens:
        # The NER of this model reads a shared embedding layer: keep that one (md/lg/trf style pipelines).
        nlp = _load(model, [name for name in UNNEEDED_COMPONENTS if name not in ("tok2vec", "transformer")])
    ruler = nlp.add_pipe("entity_ruler", before="ner", config={"phrase_matcher_attr": "ORTH", "validate": False})
    ruler.add_patterns(aliases.ruler_patterns())
    logger.info("loaded spaCy model %s %s with %s", model, nlp.meta.get("version", "?"), ",".join(nlp.pipe_names))
    return nlp


@cache
def shared_pipeline(model: str) -> tuple[Any, AliasTable]:
    """The pipeline of ``model`` with the shipped alias table, loaded once per process."""
    aliases = load_aliases()
    return load_pipeline(model, aliases), aliases


def model_version(nlp: Any) -> str:
    meta = nlp.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'unknown')}-{meta.get('version', '0')}"


class Span(NamedTuple):
    """One entity span of a document: its text, spaCy's label, its start offset in the text, and the abbreviation
    the text gives for it in parentheses right after it ("World Health Organization (WHO)"), if any."""

    text: str
    label: str
    start: int
    abbreviation: str = ""


def doc_spans(doc: Any) -> list[Span]:
    """The entity spans of a spaCy ``Doc``, read with the words around them.

    A span right after a personal title ("Chancellor", "Mr", "spokesman") is a PERSON whatever the model said; a
    one-word span right before "Minister" or "Secretary" is a portfolio and left out; a span that ends in a
    lower-case particle is joined to the span after it, and a nationality to the organisation right after it
    ("British" + "Geological Survey"); an abbreviation in parentheses after a span is kept on it.
    """
    spans: list[Span] = []
    ends: list[int] = []  # the token after each span, to join a span to the next one
    length = len(doc)
    for ent in doc.ents:
        label, start, end = ent.label_, ent.start, ent.end
        if end - start == 1 and label not in _PLACE_LABELS and end < length and doc[end].text in _PORTFOLIO_HEADS:
            continue
        if label != "PERSON" and start > 0 and end - start <= _TITLED_SPAN_WORDS and _is_title(doc[start - 1]):
            label = "PERSON"
        abbreviation = ""
        if end + 2 < length and doc[end].text == "(" and doc[end + 2].text == ")":
            inner = doc[end + 1].text
            abbreviation = inner if _ACRONYM.fullmatch(inner) else ""
        span = Span(ent.text, label, ent.start_char, abbreviation)
        if spans and _joins(spans[-1], span, doc, ends[-1], start):
            first = spans.pop()
            ends.pop()
            label = span.label if first.label == "NORP" else first.label
            span = Span(doc.text[first.start : ent.end_char], label, first.start, abbreviation)
        spans.append(span)
        ends.append(end)
    return spans


def _is_title(token: Any) -> bool:
    word = token.text.rstrip(".").casefold()
    return word in _TITLE_WORDS and (token.text[:1].isupper() or word.startswith("spokes"))


def _joins(first: Span, span: Span, doc: Any, first_end: int, start: int) -> bool:
    """Whether ``span`` continues ``first``: only white space between, and ``first`` ends in a particle or is a
    nationality right before an organisation."""
    if any(not doc[index].is_space for index in range(first_end, start)):
        return False
    if first.label == "NORP" and span.label == "ORG" and first_end == start and _NATIONALITY.search(first.text):
        return True
    return first.text.rsplit(maxsplit=1)[-1] in _CONNECTORS if first.text.strip() else False


@dataclass(slots=True)
class _Mention:
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


def _clean_person(name: str) -> str:
    return _POST_NOMINALS.sub("", _HONORIFIC.sub("", name)).strip()


@lru_cache(maxsize=100_000)
def _clean_mention(text: str, label: str) -> tuple[str, str] | None:
    """(cleaned name, one-line surface form) of a span, or None for junk; names repeat, so this is cached."""
    name = strip_trailing_numbers(canonical_form(text), bare_numbers=label in {"PERSON", "NORP", "GPE"})
    if label == "PERSON":
        name = _clean_person(name)
        if name.casefold() in _TITLE_WORDS:
            return None  # a bare title ("Councillor's trip"): no one in particular
    elif label == "GPE":
        name = strip_region_word(name)
    if not name or is_junk(name):
        return None
    return name, " ".join(text.split())


def _split_span(text: str, start: int) -> list[tuple[str, int]]:
    """A span's parts where it runs over a sentence break or a list comma, with their offsets."""
    parts = [(text, start)]
    if "," not in text and "." not in text and "\n" not in text:
        return parts
    for pattern in (_SENTENCE_BREAK, _LIST_COMMA):
        split: list[tuple[str, int]] = []
        for part, offset in parts:
            pieces, cursor = [], 0
            for match in pattern.finditer(part):
                pieces.append((part[cursor : match.start()], offset + cursor))
                cursor = match.end()
            pieces.append((part[cursor:], offset + cursor))
            if len(pieces) > 1 and (pattern is _SENTENCE_BREAK or all(_is_name_part(piece) for piece, _ in pieces)):
                split += pieces
            else:
                split.append((part, offset))
        parts = split
    return parts


def _is_name_part(piece: str) -> bool:
    return bool(_NAME_WORD.search(piece)) and piece.strip(" .") not in _LEGAL_SUFFIXES


def _mentions(spans: Iterable[tuple[str, str, int] | Span], wanted_labels: frozenset[str]) -> list[_Mention]:
    mentions = []
    for span in spans:
        text, label, start = span[0], span[1], span[2]
        if label in _NEVER_NAMES and label not in wanted_labels:
            continue
        abbreviation = span.abbreviation if isinstance(span, Span) else ""
        parts = _split_span(text, start)
        for number, (part, offset) in enumerate(parts):
            cleaned = _clean_mention(part, label)
            if cleaned is not None:
                # Only the last part stands before the parentheses.
                given = abbreviation if number == len(parts) - 1 else ""
                mentions.append(_Mention(cleaned[0], label, cleaned[1], offset, given))
    return mentions


def initials(name: str) -> str:
    """The initials of a multi-word name's capitalised words: "World Health Organization" -> "WHO"."""
    words = re.split(r"[\s\-]+", name)
    return "".join(word[0] for word in words if word[:1].isupper()) if len(words) > 1 else ""


def _unique(candidates: set[str] | None) -> str | None:
    return next(iter(candidates)) if candidates and len(candidates) == 1 else None


def _resolve_short_forms(mentions: list[_Mention], aliases: AliasTable) -> dict[str, str]:
    """Join short forms to the fullest name of the article they stand for; returns what was joined to what.

    A surname (or any trailing part) of a full PERSON name, or a PERSON-labelled first name, becomes that person;
    an acronym the article spells out ("(WHO)" after the name, or matching the initials) becomes the expansion; the
    first or last words of a multi-word organisation, facility or event, unless the model took them for a place,
    become that name. A short form that fits two names is left alone.
    """
    persons = {m.name for m in mentions if m.label == "PERSON" and " " in m.name}
    organisations = {m.name for m in mentions if m.label in _ORG_LIKE_LABELS and " " in m.name} - persons
    by_suffix: dict[str, set[str]] = defaultdict(set)
    by_first_name: dict[str, set[str]] = defaultdict(set)
    for full in persons:
        words = full.split()
        by_first_name[words[0].casefold()].add(full)
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
    for full in {m.name for m in mentions if " " in m.name and m.label not in _PLACE_LABELS} - persons:
        by_initials[initials(full)].add(full)
    spelled_out = {m.abbreviation: m.name for m in mentions if m.abbreviation and " " in m.name}
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
        if (
            target is None
            and mention.label not in _PLACE_LABELS
            and mention.label != "PERSON"
            and aliases.lookup(mention.name) is None  # "Wagner" is the alias table's to map
        ):
            target = _unique(by_affix.get(mention.name.casefold()))
        # A full name of the article is no short form of another one, unless it is part of it ("World Cup" in
        # "Cricket World Cup", "Von der Leyen" in "Ursula von der Leyen").
        if target is not None and target != mention.name:
            joined[mention.name] = target
            mention.name, mention.resolved = target, True
            if person:
                mention.label, mention.person = "PERSON", True
    return joined


def _short_form_target(
    mention: _Mention,
    aliases: AliasTable,
    *,
    spelled_out: Mapping[str, str],
    by_initials: Mapping[str, set[str]],
    by_suffix: Mapping[str, set[str]],
    by_first_name: Mapping[str, set[str]],
) -> tuple[str | None, bool]:
    """(the full name an acronym, surname or first name stands for, whether it is a person)."""
    # An acronym the alias table knows ("EU", "UN") is the table's to map.
    if _ACRONYM.fullmatch(mention.name) and aliases.lookup(mention.name) is None:
        target = spelled_out.get(mention.name) or _unique(by_initials.get(mention.name))
        if target is not None:
            return target, False
    key = mention.name.casefold()
    person = _unique(by_suffix.get(key))
    if person is None and mention.label == "PERSON" and " " not in mention.name:
        person = _unique(by_first_name.get(key))
    return person, person is not None


def _apply_aliases(mentions: list[_Mention], aliases: AliasTable) -> list[_Mention]:
    """Map names through the alias table; a plural nationality the table does not know is made singular."""
    attested = frozenset(mention.name.casefold() for mention in mentions)
    kept = []
    for mention in mentions:
        canonical = aliases.lookup(mention.name)
        if canonical is None and mention.label == "NORP":
            mention.name = singular_norp(mention.name, attested)
            canonical = aliases.lookup(mention.name)
        if canonical is not None:
            if canonical.label == DROP:
                continue
            mention.name, mention.label, mention.fixed, mention.resolved = canonical.name, canonical.label, True, True
        kept.append(mention)
    return kept


@dataclass(frozen=True, slots=True)
class Recollection:
    """What an :class:`EntityMemory` knows of a name: the canonical name, its label and the mentions behind it."""

    name: str
    label: str
    mentions: int


class EntityMemory:
    """What earlier articles established about entities, for the articles after them; bounded, least recent out.

    Pass one memory to :func:`extract_entities` for a stream of related articles (a storyline, a feed): each call
    first asks it about the names the article leaves unresolved, then teaches it what the article established.

    - **Labels**: the label votes of each canonical entity, one per mention, so "Manchester City" keeps the label
      earlier articles gave it when a later one's model calls it a place (the memory's votes count as at most
      :data:`MEMORY_VOTES` mentions, and win ties).
    - **Short forms**: the surnames of full PERSON names, the initials of multi-word organisations, and every short
      form an article joined to a fuller name, each to its canonical name, so a later article that says only
      "Guardiola" or "WHO" gets "Pep Guardiola" or "World Health Organization". A short form two names of one
      article share is not learned; a later article's reading replaces an earlier one.

    ``capacity`` bounds each of the two tables; the least recently used entries go first.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("an EntityMemory needs a capacity of at least 1")
        self.capacity = capacity
        self._labels: OrderedDict[str, tuple[str, Counter[str]]] = OrderedDict()
        self._short_forms: OrderedDict[str, str] = OrderedDict()

    def recall(self, name: str) -> Recollection | None:
        """What the memory knows of ``name`` (a canonical name or a short form of one), or None."""
        key = name.casefold()
        canonical = self._short_forms.get(key)
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
        for entity in entities:
            key = entity.name.casefold()
            _, votes = self._labels.pop(key, (entity.name, Counter()))
            votes[entity.label] += entity.count
            self._put(self._labels, key, (entity.name, votes))
            words = entity.name.split()
            if entity.label == "PERSON":
                for cut in range(1, len(words)):
                    implied[" ".join(words[cut:]).casefold()].add(key)
            elif entity.label in _ORG_LIKE_LABELS and initials(entity.name):
                implied[initials(entity.name).casefold()].add(key)
        for short, full in (short_forms or {}).items():
            if full.casefold() in names:
                implied[short.casefold()] = {full.casefold()}
        for short, fulls in implied.items():
            if len(fulls) == 1 and short not in names:
                self._short_forms.pop(short, None)
                self._put(self._short_forms, short, next(iter(fulls)))

    def _put(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        if len(table) > self.capacity:
            table.popitem(last=False)

    def __len__(self) -> int:
        return len(self._labels)


def _recall(mentions: list[_Mention], memory: EntityMemory) -> None:
    """Give the short forms the article left unresolved the full names earlier articles established."""
    for mention in mentions:
        if mention.resolved:
            continue
        known = memory.recall(mention.name)
        if known is not None and known.name.casefold() != mention.name.casefold():
            mention.name = known.name
            if known.label == "PERSON":
                mention.label, mention.person = "PERSON", True


def _label(tally: _Tally, memory: EntityMemory | None) -> str:
    """One label for a canonical entity: alias table, then a person joined by name, then the form, then the vote."""
    if tally.fixed_label is not None:
        return tally.fixed_label
    if tally.person:
        return "PERSON"
    by_shape = label_by_shape(tally.name)
    if by_shape is not None:
        return by_shape
    votes = Counter(tally.labels)
    known = memory.recall(tally.name) if memory is not None else None
    if known is not None:
        votes[known.label] += min(known.mentions, MEMORY_VOTES)
    best = max(votes.values())
    tied = [label for label, count in votes.items() if count == best]  # in the order of first mention
    if len(tied) == 1:
        return tied[0]
    for preferred in (known.label if known is not None else None, tally.fullest[1]):
        if preferred in tied:
            return preferred
    return tied[0]


def extract_entities(
    spans: Iterable[tuple[str, str, int] | Span],
    aliases: AliasTable,
    wanted_labels: frozenset[str],
    memory: EntityMemory | None = None,
) -> list[Entity]:
    """Canonical entities from ``(text, label, start offset)`` spans (or :class:`Span`), most mentioned first.

    Entities whose final label is not in ``wanted_labels`` are left out after canonicalisation, so the alias table
    can rescue a span spaCy labelled wrongly. With a ``memory``, names the article leaves unresolved are looked up
    in it, and what the article established is added to it (see :class:`EntityMemory`).
    """
    mentions = _mentions(spans, wanted_labels)
    joined = _resolve_short_forms(mentions, aliases)
    mentions = _apply_aliases(mentions, aliases)
    if memory is not None:
        _recall(mentions, memory)
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
        label = _label(tally, memory)
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
