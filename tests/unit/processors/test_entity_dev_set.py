"""The entity development set (``processors/eval/entities_dev.jsonl``) is well-formed and keeps its README's promises.

The rules of the entity resolution are chosen on it and on ``entities.jsonl``, so a malformed line or a gold entity
that no article names would silently move every figure computed on it.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from newswire.processors.aliases import load_aliases
from newswire.processors.evaluate import EVAL_DIR

LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"})


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    lines = (EVAL_DIR / "entities_dev.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_set_has_the_documented_fields_ids_and_size(rows):
    assert len(rows) >= 40
    assert [row["id"] for row in rows] == [f"ed{number:03d}" for number in range(1, len(rows) + 1)]
    for row in rows:
        assert set(row) == {"id", "title", "text", "entities"}, row["id"]
        assert 100 <= len(row["text"].split()) <= 220, row["id"]
        assert row["entities"], row["id"]
        for entity in row["entities"]:
            assert set(entity) == {"name", "label"} and entity["label"] in LABELS, (row["id"], entity)


def test_each_entity_is_listed_once_per_article(rows):
    for row in rows:
        names = Counter(entity["name"].casefold() for entity in row["entities"])
        assert max(names.values()) == 1, (row["id"], names.most_common(1))


def _words(text: str) -> set[str]:
    return {word.casefold() for word in re.findall(r"[\w-]+", text)}


def test_every_gold_entity_is_named_here_or_established_by_an_earlier_article(rows):
    """A name is in its article (in any case: datelines are in capitals), or an alias of the shipped table is
    ("Tory" for the Conservative Party); a name the article gives only in part ("the BMA", "Tedros", "City") must
    be spelled out in an earlier one: that is what the entity memory is measured on."""
    aliases = defaultdict(set)
    for alias, canonical in load_aliases().entries.items():
        aliases[canonical.name].add(alias)
    seen = ""
    for row in rows:
        story = f"{row['title']}\n{row['text']}"
        words = _words(story)
        for entity in row["entities"]:
            name = entity["name"]
            if name.casefold() in story.casefold() or any(_words(alias) <= words for alias in aliases[name]):
                continue
            initials = "".join(word[0] for word in name.split() if word[:1].isupper())
            in_part = bool(_words(name) & words) or initials in story
            assert in_part and name in seen, (row["id"], name)
        seen += story


def test_every_label_is_used_and_the_readme_counts_are_current(rows):
    counts = Counter(entity["label"] for row in rows for entity in row["entities"])
    assert set(counts) == LABELS
    readme = (EVAL_DIR / "README.md").read_text("utf-8")
    table = readme[readme.index("### Gold entities per label in the development set") :].split("\n\n", 2)[1]
    documented = {label: int(count) for label, count in re.findall(r"^\| `(\w+)` \| (\d+) \|", table, re.MULTILINE)}
    assert documented == dict(counts)
