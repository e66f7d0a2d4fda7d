"""Entity filters by alias: the app turns a name the processors' alias table knows into its canonical name.

``newswire search --entity "Evgeny Prigozhin"`` and ``/api/search?entity=evgeny+prigozhin`` both ask the store for
"Yevgeny Prigozhin", the name the processors gave the entity. The table is the processor stage's
(``processors/data/aliases.tsv``); the floor cannot read it, so the app resolves the names before it builds the
query, and the stores compare what they get case-insensitively (:mod:`newswire.names`). A name the table does not
know is passed on as it is (a surname, a surface form or another case of a canonical name still finds it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

from newswire.errors import ConfigError
from newswire.processors.aliases import AliasTable, load_aliases
from newswire.processors.cleaning import canonical_form

logger = logging.getLogger(__name__)


@functools.cache
def _table() -> AliasTable | None:
    try:
        return load_aliases()
    except ConfigError as exc:  # a broken table must not stop searching: names are then passed on as typed
        logger.warning("entity filters without aliases: %s", exc)
        return None


def canonical_entities(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` with every alias the table knows replaced by its canonical name (order kept, repeats dropped)."""
    table = _table()
    resolved: list[str] = []
    for name in names:
        known = table.lookup(canonical_form(name)) if table is not None else None
        resolved.append(known.name if known is not None and known.label != "DROP" else name)
    return tuple(dict.fromkeys(resolved))
