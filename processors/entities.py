"""Named entities: the spaCy pipeline (NER plus an entity ruler from the alias table) and canonical entities.

The pipeline loads only what NER needs: the ``ner`` component (with its own embedding layer in the ``sm`` models)
behind an ``entity_ruler`` that marks the names of the alias table first, so the statistical model works around
them. :func:`extract_entities` turns the spans :func:`~newswire.processors.spans.doc_spans` reads from a document
into canonical entities:

1. each span is cleaned here (:func:`~newswire.processors.cleaning.canonical_form`, titles, scores and trailing
   numbers, a trailing "party", a company's legal form ("plc", "AB"), a dateline or an opening parenthesis the model
   ran into it, "Name of Place" split in two, and so a body "of" a country it is only from ("Hapag-Lloyd of
   Germany") or "of" its leader), split where it runs over a sentence or a list, and junk is dropped; a name a score
   came with is a team;
2. :func:`~newswire.processors.resolution.canonical_entities` joins short forms to full names, applies the alias
   table, the gazetteer and an optional :class:`~newswire.processors.memory.EntityMemory` of earlier articles,
   and gives each canonical entity one label.

The other modules: :mod:`.spans` (the words around a span), :mod:`.resolution` (one entity, one label),
:mod:`.memory` (across articles), :mod:`.shapes` (what a name's form says). The names other code imports are
re-exported here.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from typing import Any

from newswire.contract import Entity
from newswire.errors import EnrichmentError
from newswire.processors.aliases import AliasTable, load_aliases, shipped_given_names, shipped_places
from newswire.processors.cleaning import canonical_form, is_junk, strip_region_word, strip_trailing_numbers
from newswire.processors.memory import EntityMemory, Recollection
from newswire.processors.missed_names import dateline_name
from newswire.processors.resolution import Mention, canonical_entities
from newswire.processors.shapes import initials, shape_label
from newswire.processors.span_context import TITLE_WORDS, TITLES
from newswire.processors.spans import Span, doc_spans

__all__ = [
    "UNNEEDED_COMPONENTS",
    "EntityMemory",
    "Recollection",
    "Span",
    "dateline_name",
    "doc_spans",
    "extract_entities",
    "initials",
    "load_pipeline",
    "load_spacy",
    "model_version",
    "require_model",
    "shared_pipeline",
]

logger = logging.getLogger(__name__)

# Components NER does not need; excluded at load time (never loaded, not just disabled).
UNNEEDED_COMPONENTS = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer", "tok2vec")
_HONORIFIC = re.compile(
    rf"^(?:(?:{TITLES}|(?:[A-Z][a-z]+\s+)?(?:minister|secretary|general))\.?\s+)+",
    re.IGNORECASE,
)
_POST_NOMINALS = re.compile(r",?\s+(?:KC|QC|MP|MEP|MSP|OBE|MBE|CBE|KBE|DBE|PhD)$")
# Where one span holds two names: "Federer, Rafael Nadal", "Marine Le Pen.\n\nAttal".
_LIST_COMMA = re.compile(r",\s+")
_SENTENCE_BREAK = re.compile(r"(?<=[a-z]{2})\.\s+(?=[A-Z])|\n\s*\n")
_NAME_WORD = re.compile(r"[A-Z][a-z]{2,}")
_LEGAL_SUFFIXES = frozenset({"Inc", "Ltd", "Jr", "Sr", "plc", "LLC", "Co", "Corp", "AG", "SA"})
# "GENEVA - The World Health Organization": a dateline the model ran into the name after it.
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z'.\-]+(?:\s+[A-Z][A-Z'.\-]+)*)(?:,[^\n\-\u2013\u2014]{0,20})?\s+[\-\u2013\u2014]+\s+"
)
# "Africa CDC" in "The Africa Centres for Disease Control and Prevention (Africa CDC": an abbreviation of a few words.
_ABBREVIATION = re.compile(r"(?:[A-Z][a-z]+\s)?[A-Z][A-Za-z&]*[A-Z][A-Za-z&]*")
_PARTY_WORD = re.compile(r"(?<=\w)\s+party$")
# "Corvane Holdings plc", "Halstrom AB": the legal form after a company's name is no part of its canonical name.
_LEGAL_FORM = re.compile(r"(?<=\w),?\s+(?:plc|PLC|Inc|Ltd|LLC|Corp|AG|SA|AB|ASA|NV|SE|GmbH|SpA|BV|Oyj)\.?$")
# A person's full name after "of" in an organisation's span: the body's leader, not a word of its name.
_PERSON_AFTER_OF = re.compile(r"[A-Z][a-z]+(?:\s+(?:von|van|der|den|de|da|di|le|la))*(?:\s+[A-Z][\w'\-]+){1,2}")
# The last words of a body named "X of <country>" that make the country part of the name ("Bank of Japan", "Supreme
# Court of Israel"); without one, the country is where the body is from ("Hapag-Lloyd of Germany").
_OF_COUNTRY_BODIES = frozenset({"court", "union", "league", "state", "states", "embassy", "house", "people", "friends"})
_NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT"})
_SCORE = re.compile(r"\d\s*[-\u2013\u2014:]\s*\d")
_NEVER_NAMES = frozenset({"DATE", "TIME", "MONEY", "QUANTITY", "PERCENT", "CARDINAL", "ORDINAL"})


def require_model(model: str) -> None:
    """Fail as :func:`load_spacy` would when the spaCy pipeline ``model`` is not installed, without loading it (a
    processor whose spaCy runs in a worker process checks this before it starts anything)."""
    if importlib.util.find_spec(model) is None:
        raise EnrichmentError(
            f"the spaCy model {model!r} is not installed (pip install {model.replace('_', '-')}); "
            "set NEWSWIRE_SPACY_MODEL to an installed one"
        )


def load_spacy(model: str, exclude: Sequence[str]) -> Any:
    """The installed spaCy pipeline ``model`` without the ``exclude`` components; a missing model is an
    :class:`~newswire.errors.EnrichmentError` that says how to install it."""
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
    nlp = load_spacy(model, UNNEEDED_COMPONENTS)
    if "ner" not in nlp.pipe_names:
        raise EnrichmentError(f"the spaCy model {model!r} has no 'ner' component")
    listens = str(nlp.config["components"]["ner"]["model"].get("tok2vec", {}).get("@architectures", ""))
    if "Listener" in listens:
        # The NER of this model reads a shared embedding layer: keep that one (md/lg/trf style pipelines).
        nlp = load_spacy(model, [name for name in UNNEEDED_COMPONENTS if name not in ("tok2vec", "transformer")])
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


def _clean_person(name: str) -> str:
    return _POST_NOMINALS.sub("", _HONORIFIC.sub("", name)).strip()


@lru_cache(maxsize=100_000)
def _clean_mention(text: str, label: str) -> tuple[str, str, str] | None:
    """(cleaned name, label, one-line surface form) of a span, or None for junk; names repeat, so this is cached.

    A name the model ran a score into is a team: an organisation, unless the model gave it a label of a name.
    """
    canonical = canonical_form(text)
    name = strip_trailing_numbers(canonical, bare_numbers=label in {"PERSON", "NORP", "GPE"})
    without_form = _LEGAL_FORM.sub("", name)
    if without_form != name:
        name, label = without_form, "ORG"  # only a company has a legal form, whatever the model said
    if label not in _NAME_LABELS and name != canonical and _SCORE.search(canonical):
        label = "ORG"  # "Liverpool 3-1 Fulham" as a product
    if label == "PERSON":
        name = _clean_person(name)
    elif label == "GPE":
        name = strip_region_word(name)
    elif label == "ORG":
        name = _PARTY_WORD.sub("", name)  # "the Georgian Dream party" is Georgian Dream
    if name.casefold() in TITLE_WORDS:
        return None  # a bare title ("Councillor's trip", "Councillor quits"), whatever the label: no one in particular
    if not name or is_junk(name):
        return None
    return name, label, " ".join(text.split())


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


def _mentions(spans: Iterable[tuple[str, str, int] | Span], wanted_labels: frozenset[str]) -> list[Mention]:
    mentions = []
    for span in spans:
        text, label, start = span[0], span[1], span[2]
        if label in _NEVER_NAMES and label not in wanted_labels:
            continue
        abbreviation = span.abbreviation if isinstance(span, Span) else ""
        # "Bakers, Food and Allied Workers' Union (BFAWU)": a name its abbreviation spells out is no list.
        spelled = bool(abbreviation) and initials(canonical_form(text)) == abbreviation
        parts = [(text, start)] if spelled else _split_span(text, start)
        for number, (part, offset) in enumerate(parts):
            # Only the last part stands before the parentheses.
            given = abbreviation if number == len(parts) - 1 else ""
            for piece, piece_label, piece_offset, piece_given in _repaired(part, label, offset, given):
                cleaned = _clean_mention(piece, piece_label)
                if cleaned is not None:
                    mentions.append(Mention(cleaned[0], cleaned[1], cleaned[2], piece_offset, piece_given))
    return mentions


def _repaired(text: str, label: str, start: int, abbreviation: str) -> list[tuple[str, str, int, str]]:
    """A span without the dateline the model ran into it ("GENEVA - The World Health Organization" is Geneva and
    the organisation) and cut before an opening parenthesis it swallowed, whose content is then the abbreviation
    ("... Prevention (Africa CDC"): (text, label, offset, abbreviation) of each piece."""
    pieces = []
    dateline = _DATELINE.match(text)
    if dateline is not None and dateline.end() < len(text):
        pieces.append((dateline_name(dateline.group("place")), "GPE", start, ""))
        text, start = text[dateline.end() :], start + dateline.end()
    if label in ("PERSON", "ORG") and " of " in text:
        owner, _, place = text.rpartition(" of ")
        known = shipped_places().get(place.casefold())
        if known is not None and (label == "PERSON" or (known.kind == "country" and _from_country(owner))):
            pieces.append((owner, label, start, ""))
            text, start, label = place, start + len(owner) + 4, "GPE"
        elif label == "ORG" and _PERSON_AFTER_OF.fullmatch(place) and _given_name(place.split()[0]):
            pieces.append((owner, label, start, ""))  # "the Christian Democratic Union of Ursula von der Leyen"
            text, start, label = place, start + len(owner) + 4, "PERSON"
    cut = text.find(" (")
    if cut > 0 and ")" not in text[cut:]:
        inner = text[cut + 2 :].strip()
        text = text[:cut]
        if _ABBREVIATION.fullmatch(inner):
            abbreviation = inner
    pieces.append((text, label, start, abbreviation))
    return pieces


def _given_name(word: str) -> bool:
    return word.casefold() in shipped_given_names()


def _from_country(owner: str) -> bool:
    """Whether the words before "of <country>" in an organisation's span are a body from that country rather than
    the first words of its name: "Hapag-Lloyd" in "Hapag-Lloyd of Germany", not "Bank" in "Bank of Japan"."""
    words = owner.split()
    if not words or not words[-1][:1].isupper() or words[-1].casefold() in _OF_COUNTRY_BODIES:
        return False
    return shape_label(f"{owner} {words[-1]}") is None and shape_label(owner) is None


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
    return canonical_entities(_mentions(spans, wanted_labels), aliases, wanted_labels, memory)
