"""Named entities: the spaCy pipeline (NER plus an entity ruler from the alias table) and canonical entities.

The pipeline loads only what NER needs: the ``ner`` component (with its own embedding layer in the ``sm`` models)
behind an ``entity_ruler`` that marks the names of the alias table first, so the statistical model works around
them. :func:`extract_entities` turns the spans of one document into canonical entities:

1. each span is cleaned (:func:`~newswire.processors.cleaning.canonical_form`) and junk is dropped;
2. within the article, a surname or a trailing part of a full PERSON name in the same article becomes that name
   ("Prigozhin" -> "Yevgeny Prigozhin"), whatever label spaCy gave the short form;
3. the alias table maps the rest across articles ("PMC Wagner" -> "Wagner Group") and overrides labels;
4. mentions of one canonical name are counted together, with their surface forms and the first offset.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from newswire.contract import Entity
from newswire.errors import EnrichmentError
from newswire.processors.aliases import DROP, AliasTable, load_aliases
from newswire.processors.cleaning import canonical_form, is_junk

logger = logging.getLogger(__name__)

# Components NER does not need; excluded at load time (never loaded, not just disabled).
UNNEEDED_COMPONENTS = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer", "tok2vec")
_HONORIFIC = re.compile(
    r"^(?:(?:mr|mrs|ms|miss|dr|sir|dame|lord|lady|gen|general|col|colonel|lt|sgt|president|minister|prime minister"
    r"|defence minister|defense minister|chancellor|senator|sen|rep|judge|justice|prof|professor|father|rev)\.?\s+)+",
    re.IGNORECASE,
)
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


@dataclass(slots=True)
class _Mention:
    name: str
    label: str
    surface: str
    start: int
    fixed: bool  # the label comes from the alias table and must not be outvoted


@dataclass(slots=True)
class _Tally:
    labels: Counter[str] = field(default_factory=Counter)
    fixed_label: str | None = None
    count: int = 0
    surface_forms: list[str] = field(default_factory=list)
    first_offset: int = 0
    name: str = ""


def _clean_person(name: str) -> str:
    return _HONORIFIC.sub("", name).strip()


@lru_cache(maxsize=100_000)
def _clean_mention(text: str, label: str) -> tuple[str, str] | None:
    """(cleaned name, one-line surface form) of a span, or None for junk; names repeat, so this is cached."""
    name = canonical_form(text)
    if label == "PERSON":
        name = _clean_person(name)
    if not name or is_junk(name):
        return None
    return name, " ".join(text.split())


def _mentions(spans: Iterable[tuple[str, str, int]], aliases: AliasTable) -> list[_Mention]:
    mentions = []
    for text, label, start in spans:
        cleaned = _clean_mention(text, label)
        if cleaned is not None:
            mentions.append(_Mention(cleaned[0], label, cleaned[1], start, fixed=False))
    return mentions


def _resolve_partial_names(mentions: list[_Mention]) -> None:
    """Map a surname (or any trailing part) of a full PERSON name in the same article to that full name."""
    full_names = {m.name for m in mentions if m.label == "PERSON" and " " in m.name}
    by_suffix: dict[str, set[str]] = defaultdict(set)
    for full in full_names:
        words = full.split()
        for cut in range(1, len(words)):
            by_suffix[" ".join(words[cut:]).casefold()].add(full)
    for mention in mentions:
        candidates = by_suffix.get(mention.name.casefold())
        if candidates and len(candidates) == 1 and mention.name not in full_names:
            mention.name = next(iter(candidates))
            mention.label = "PERSON"


def _apply_aliases(mentions: list[_Mention], aliases: AliasTable) -> list[_Mention]:
    kept = []
    for mention in mentions:
        canonical = aliases.lookup(mention.name)
        if canonical is not None:
            if canonical.label == DROP:
                continue
            mention.name, mention.label, mention.fixed = canonical.name, canonical.label, True
        kept.append(mention)
    return kept


def extract_entities(
    spans: Iterable[tuple[str, str, int]], aliases: AliasTable, wanted_labels: frozenset[str]
) -> list[Entity]:
    """Canonical entities from ``(text, label, start offset)`` spans, most mentioned first.

    Entities whose final label is not in ``wanted_labels`` are left out after canonicalisation, so the alias table
    can rescue a span spaCy labelled wrongly.
    """
    mentions = _mentions(spans, aliases)
    _resolve_partial_names(mentions)
    mentions = _apply_aliases(mentions, aliases)
    tallies: dict[str, _Tally] = {}
    for mention in sorted(mentions, key=lambda m: m.start):
        tally = tallies.setdefault(mention.name.casefold(), _Tally(first_offset=mention.start, name=mention.name))
        tally.count += 1
        if mention.fixed:
            tally.fixed_label = mention.label
        tally.labels[mention.label] += 1
        if mention.surface not in tally.surface_forms and len(tally.surface_forms) < MAX_SURFACE_FORMS:
            tally.surface_forms.append(mention.surface)
    entities = []
    for tally in tallies.values():
        label = tally.fixed_label or tally.labels.most_common(1)[0][0]
        if label not in wanted_labels:
            continue
        entities.append(
            Entity(
                name=tally.name,
                label=label,
                count=tally.count,
                surface_forms=tally.surface_forms,
                first_offset=tally.first_offset,
            )
        )
    entities.sort(key=lambda entity: (-entity.count, entity.first_offset))
    return entities


def doc_spans(doc: Any) -> list[tuple[str, str, int]]:
    """The entity spans of a spaCy ``Doc`` as ``(text, label, start offset)``."""
    return [(ent.text, ent.label_, ent.start_char) for ent in doc.ents]
