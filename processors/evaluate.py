"""Evaluation on the labelled sets in ``processors/eval/``: topics, entities, stories and duplicates.

- **topics** (``topics.jsonl``): macro-F1 over the 17 IPTC topics (every label counts the same however rare),
  target :data:`TOPIC_MACRO_F1_TARGET`;
- **entities** (``entities.jsonl``, the development set ``entities_dev.jsonl`` and the held-apart
  ``entities_test.jsonl``): precision and recall per label of the set of (name, label) pairs of each article, for
  the raw spaCy output (surface text and label as the model gives them, no boilerplate removal, no ruler) and for
  the processor's canonical entities, each set read as a stream with an empty entity memory at its start. Names
  match case-insensitively after both sides go through the alias table, which is what defines one entity; targets
  F1 after cleaning at least :data:`ENTITY_F1_TARGET` and no loss from cleaning, on the shipped and held-apart sets
  (the development set, on which the rules were chosen, without targets);
- **stories**: on each of ``storylines_dev.jsonl`` (the development half), ``storylines_test.jsonl`` (the test
  half) and ``stories.jsonl`` (the shipped set), B-cubed F1 of the predicted events and storylines against the gold
  ones, target :data:`STORY_BCUBED_F1_TARGET` at both levels, and precision and recall of the predicted first
  copies (``duplicate_of``), targets :data:`DUPLICATE_TARGET`; the development half without targets. Articles are
  fed in publication order, as a live feed would bring them.

None of the target sets is used to build the classifier, the lexicon, the alias table or the thresholds; the topic
lexicon was tuned on ``tests/unit/processors/data/topics_dev.jsonl``, the event and storyline settings on
``storylines_dev.jsonl``, the entity rules on ``entities.jsonl`` and ``entities_dev.jsonl`` (so the shipped
entity figure is not a held-out one: ``entities_test.jsonl`` is).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from newswire.contract import Article
from newswire.errors import ConfigError
from newswire.processors.base import TOPIC_LABELS
from newswire.processors.cleaning import canonical_form
from newswire.processors.embedding import shared_embedder
from newswire.processors.service import ArticleProcessor
from newswire.processors.stories import StoryTracker, group_articles
from newswire.processors.storylines import StorylineTracker

logger = logging.getLogger(__name__)

EVAL_DIR = Path(__file__).resolve().parent / "eval"
TOPIC_MACRO_F1_TARGET = 0.80
ENTITY_F1_TARGET = 0.85
ENTITY_TEST_SET = "entities_test.jsonl"  # held apart: never used to tune the cleaning
# (label, file beside entities.jsonl or "" for it, with targets): the rules were chosen on the first two.
ENTITY_SETS = (("shipped", "", True), ("dev", "entities_dev.jsonl", False), ("test", ENTITY_TEST_SET, True))
STORY_BCUBED_F1_TARGET = 0.90
DUPLICATE_TARGET = 0.95
BATCH = 64
AGREEMENT_DIR = "agreement"  # beside stories.jsonl: independent labellings of the same articles
AGREEMENT_SET = "stories.jsonl"
# (label, file, with targets): the development half chose the settings, so it is printed without targets.
STORY_SETS = (
    ("dev", "storylines_dev.jsonl", False),
    ("test", "storylines_test.jsonl", True),
    ("shipped", AGREEMENT_SET, True),
)


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    target: float | None = None

    @property
    def passed(self) -> bool:
        return self.target is None or self.value >= self.target - 1e-9

    def __str__(self) -> str:
        target = f"  (target >= {self.target:.2f}{'' if self.passed else ', BELOW'})" if self.target is not None else ""
        return f"{self.name:<44} {self.value:6.3f}{target}"


@dataclass(slots=True)
class Report:
    """The figures of one evaluation, and lines of detail for a reader."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(figure.passed for figure in self.figures)

    def render(self) -> str:
        lines = [f"== {self.name}", *(str(figure) for figure in self.figures), *self.details]
        return "\n".join(lines)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file; a bad line is a :class:`ConfigError` naming it."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the evaluation set {path}: {exc.strerror}") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not JSON: {exc.msg}") from exc
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{number}: expected a JSON object")
        rows.append(row)
    return rows


def _article(row: dict[str, Any], number: int) -> Article:
    published = row.get("published") or "2023-06-24T00:00:00Z"
    return Article(
        id=str(row.get("id") or f"row{number}"),
        url=str(row.get("url") or ""),
        feed_url=str(row.get("feed") or row.get("feed_url") or "https://eval.invalid/feed"),
        source=str(row.get("source") or "evaluation"),
        title=str(row.get("title") or ""),
        summary=str(row.get("summary") or ""),
        content=str(row.get("text") or ""),
        published=datetime.fromisoformat(str(published).replace("Z", "+00:00")),
        fetched=datetime.fromisoformat(str(published).replace("Z", "+00:00")),
    )


def _batches(items: Sequence[Article]) -> Iterable[Sequence[Article]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _f1(true_positives: int, predicted: int, gold: int) -> tuple[float, float, float]:
    precision = true_positives / predicted if predicted else (1.0 if not gold else 0.0)
    recall = true_positives / gold if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# --- topics ------------------------------------------------------------------------------------------------------
def topic_scores(gold: Sequence[set[str]], predicted: Sequence[set[str]]) -> dict[str, float]:
    """F1 per topic label (1.0 for a label neither side uses)."""
    scores = {}
    for label in TOPIC_LABELS:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if label in g and label in p)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if label not in g and label in p)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if label in g and label not in p)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return scores


def evaluate_topics(processor: ArticleProcessor, path: Path) -> Report:
    rows = load_jsonl(path)
    articles = [_article(row, number) for number, row in enumerate(rows)]
    predicted = [
        {topic.label for topic in item.topics} for batch in _batches(articles) for item in processor.enrich(batch)
    ]
    gold = [set(row.get("topics", [])) for row in rows]
    per_label = topic_scores(gold, predicted)
    macro = sum(per_label.values()) / len(per_label)
    report = Report(f"topics ({len(rows)} articles, {path.name})")
    report.figures.append(Figure("topics macro-F1", macro, TOPIC_MACRO_F1_TARGET))
    report.details += [f"  {label:<28} F1 {score:.3f}" for label, score in per_label.items()]
    return report


# --- entities ----------------------------------------------------------------------------------------------------
def _entity_key(processor: ArticleProcessor, name: str, label: str) -> tuple[str, str]:
    canonical = processor.aliases.lookup(canonical_form(name))
    if canonical is not None:
        return canonical.name.casefold(), canonical.label
    return name.casefold(), label


def _label_figures(
    gold: Sequence[set[tuple[str, str]]], predicted: Sequence[set[tuple[str, str]]], labels: Iterable[str]
) -> dict[str, tuple[float, float, float]]:
    figures = {}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for g, p in zip(gold, predicted, strict=True):
        for _, label in p:
            counts[label][1] += 1
        for _, label in g:
            counts[label][2] += 1
        for _, label in g & p:
            counts[label][0] += 1
    for label in labels:
        figures[label] = _f1(*counts[label])
    figures["all"] = _f1(*(sum(c[i] for c in counts.values()) for i in range(3)))
    return figures


def evaluate_entities(processor: ArticleProcessor, path: Path, *, targets: bool = True) -> Report:
    """Entities of one labelled set before and after cleaning, by label; ``targets`` False prints the figures
    without targets (the development set, on which the rules were chosen).

    The processor's :class:`~newswire.processors.entities.EntityMemory` is emptied first and then fills as the
    set's articles go through in file order, as a feed's would.
    """
    from newswire.processors.entities import UNNEEDED_COMPONENTS, load_spacy  # noqa: PLC0415

    rows = load_jsonl(path)
    articles = [_article(row, number) for number, row in enumerate(rows)]
    wanted = processor.wanted_labels
    if processor.entity_memory is not None:
        processor.entity_memory.clear()  # each set is its own stream: no set's figure depends on the one before
    gold = [{_entity_key(processor, e["name"], e["label"]) for e in row.get("entities", [])} for row in rows]
    after = [
        {_entity_key(processor, e.name, e.label) for e in item.entities}
        for batch in _batches(articles)
        for item in processor.enrich(batch)
    ]
    plain = load_spacy(processor.enrichment_template["model"], UNNEEDED_COMPONENTS)
    before = [
        {_entity_key(processor, ent.text, ent.label_) for ent in doc.ents if ent.label_ in wanted}
        for doc in plain.pipe([article.text for article in articles])
    ]
    labels = sorted(wanted)
    figures_before = _label_figures(gold, before, labels)
    figures_after = _label_figures(gold, after, labels)
    report = Report(f"entities ({len(rows)} articles, {path.name})")
    report.figures += [
        Figure("entities F1 before cleaning", figures_before["all"][2]),
        Figure("entities F1 after cleaning", figures_after["all"][2], ENTITY_F1_TARGET if targets else None),
        Figure(
            "entities F1 gain from cleaning",
            figures_after["all"][2] - figures_before["all"][2],
            0.0 if targets else None,
        ),
    ]
    header = f"  {'label':<8} {'P before':>9} {'R before':>9} {'P after':>9} {'R after':>9} {'F1 after':>9}"
    report.details.append(header)
    for label in [*labels, "all"]:
        (pb, rb, _), (pa, ra, fa) = figures_before[label], figures_after[label]
        report.details.append(f"  {label:<8} {pb:9.3f} {rb:9.3f} {pa:9.3f} {ra:9.3f} {fa:9.3f}")
    return report


# --- stories and duplicates --------------------------------------------------------------------------------------
def bcubed(gold: dict[str, str], predicted: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering ``predicted`` (item -> cluster) against ``gold``."""
    gold_members: dict[str, set[str]] = defaultdict(set)
    predicted_members: dict[str, set[str]] = defaultdict(set)
    for item, cluster in gold.items():
        gold_members[cluster].add(item)
    for item, cluster in predicted.items():
        predicted_members[cluster].add(item)
    precision = recall = 0.0
    for item in gold:
        mine, truth = predicted_members[predicted[item]], gold_members[gold[item]]
        overlap = len(mine & truth)
        precision += overlap / len(mine)
        recall += overlap / len(truth)
    precision, recall = precision / len(gold), recall / len(gold)
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def evaluate_stories(
    processor: ArticleProcessor,
    path: Path,
    tracker: StoryTracker | None = None,
    *,
    targets: bool = True,
    agreement: bool | None = None,
    set_label: str | None = None,
) -> Report:
    """Events, storylines and first copies of one labelled set, its articles fed in publication order.

    The gold event is a row's ``event`` (its ``story`` in a set that predates events), the gold storyline its
    ``storyline``; a set that still has the old ``story`` column also gets that figure, without a target.
    ``targets`` False prints the figures without targets (the development half, on which the settings were chosen).
    ``agreement`` compares with the independent labellings in ``agreement/`` (by default only for ``stories.jsonl``,
    the set they label); ``set_label`` ("dev", "test", "shipped") picks the set in the two-level labellings there.
    ``tracker`` defaults to a fresh :class:`StoryTracker` with a :class:`StorylineTracker`.
    """
    rows = load_jsonl(path)
    articles = sorted((_article(row, n) for n, row in enumerate(rows)), key=lambda a: (a.published, a.id))
    if processor.entity_memory is not None:
        processor.entity_memory.clear()  # a set's figures must not depend on the sets evaluated before it
    enriched = [item for batch in _batches(articles) for item in processor.enrich(batch)]
    # The model loads here, before the clock starts: the time per article is the grouping's, not the loading's.
    tracker = tracker if tracker is not None else StoryTracker(storylines=StorylineTracker(shared_embedder()))
    started = time.perf_counter()
    grouped = group_articles(enriched, tracker)
    elapsed = time.perf_counter() - started
    predicted_events = {item.id: item.event or item.id for item in grouped}
    # Read as a store shows them once every merge notice is applied: an article published before its storyline was
    # merged is in the survivor.
    merged_into = {old: item.storyline or item.id for item in grouped for old in item.merged_storylines}
    predicted_storylines = {item.id: _survivor(item.storyline or item.id, merged_into) for item in grouped}
    gold_events = {str(row["id"]): str(row.get("event") or row["story"]) for row in rows}
    gold_copies = {(str(row["id"]), str(row["duplicate_of"])) for row in rows if row.get("duplicate_of")}
    found_copies = {(item.id, item.duplicate_of) for item in grouped if item.duplicate_of}
    dup_precision, dup_recall, _ = _f1(len(gold_copies & found_copies), len(found_copies), len(gold_copies))
    level_target = STORY_BCUBED_F1_TARGET if targets else None
    duplicate_target = DUPLICATE_TARGET if targets else None
    event_p, event_r, event_f1 = bcubed(gold_events, predicted_events)
    report = Report(f"stories ({len(rows)} articles, {len(set(gold_events.values()))} events, {path.name})")
    report.figures.append(Figure("events B-cubed F1", event_f1, level_target))
    report.details.append(
        f"  events: B-cubed precision {event_p:.3f}, recall {event_r:.3f}; {len(set(predicted_events.values()))} found"
    )
    if all(row.get("storyline") for row in rows):
        gold_storylines = {str(row["id"]): str(row["storyline"]) for row in rows}
        line_p, line_r, line_f1 = bcubed(gold_storylines, predicted_storylines)
        report.figures.append(Figure("storylines B-cubed F1", line_f1, level_target))
        report.details.append(
            f"  storylines: B-cubed precision {line_p:.3f}, recall {line_r:.3f}; "
            f"{len(set(predicted_storylines.values()))} found of {len(set(gold_storylines.values()))}"
        )
    if all(row.get("story") for row in rows):
        gold_stories = {str(row["id"]): str(row["story"]) for row in rows}
        report.figures.append(Figure("stories B-cubed F1", bcubed(gold_stories, predicted_events)[2]))
    report.figures += [
        Figure("duplicates precision", dup_precision, duplicate_target),
        Figure("duplicates recall", dup_recall, duplicate_target),
    ]
    report.details.append(f"  copies: {len(gold_copies)} labelled, {len(found_copies)} found")
    storylines = tracker.storylines
    if storylines is not None and grouped:
        per_article = 1000 * elapsed / len(grouped)
        without = 1000 * (elapsed - storylines.embedding_seconds) / len(grouped)
        report.details.append(
            f"  grouping {per_article:.1f} ms per article ({without:.1f} ms without the embedding); "
            f"{storylines.embedding_calls / len(grouped):.2f} embedding calls per article"
        )
    if set_label is not None and all(row.get("storyline") for row in rows):
        gold_levels = {str(row["id"]): (gold_events[str(row["id"])], str(row["storyline"])) for row in rows}
        predicted_levels = {item: (predicted_events[item], predicted_storylines[item]) for item in predicted_events}
        report.details += level_agreement_lines(set_label, gold_levels, predicted_levels, path.parent / AGREEMENT_DIR)
    if agreement if agreement is not None else path.name == AGREEMENT_SET:
        # The labellings cut one story per news event, so they are read against the events, gold and predicted.
        report.details += agreement_lines(gold_events, predicted_events, path.parent / AGREEMENT_DIR)
    return report


def _survivor(storyline: str, merged_into: dict[str, str]) -> str:
    """The storyline ``storyline`` ended in, following the merges in order (bounded against a cycle)."""
    for _ in range(len(merged_into)):
        if storyline not in merged_into:
            break
        storyline = merged_into[storyline]
    return storyline


def evaluate_story_sets(processor: ArticleProcessor, path: Path) -> Report:
    """Events, storylines and duplicates on the three story sets beside ``path`` (``stories.jsonl``), in one report.

    The development half (``storylines_dev.jsonl``) is printed without targets, since the grouping's settings were
    chosen on it; the test half and the shipped set carry the targets.
    """
    parts = [
        (label, evaluate_stories(processor, path.parent / name, targets=targets, set_label=label))
        for label, name, targets in STORY_SETS
    ]
    return _combined("stories: events and storylines", parts)


def _combined(name: str, parts: Iterable[tuple[str, Report]]) -> Report:
    """One report of several, each figure's name prefixed with its set's label."""
    report = Report(name)
    for label, part in parts:
        report.figures += [Figure(f"{label}: {figure.name}", figure.value, figure.target) for figure in part.figures]
        report.details += [f"-- {label}: {part.name}", *part.details]
    return report


def agreement_lines(gold: dict[str, str], predicted: dict[str, str], folder: Path) -> list[str]:
    """How the labellings in ``folder`` agree with the gold set, each other and ``predicted`` (report lines).

    Each ``<labeller>.json`` maps every article id of the story set to a story, labelled independently of the gold
    set (see ``processors/eval/README.md``): the scale against which the story figure is read. B-cubed F1 is
    symmetric, so "A against B" is "B against A".
    """
    labellings: dict[str, dict[str, str]] = {}
    for labels_path in sorted(folder.glob("*.json")):
        document = json.loads(labels_path.read_text(encoding="utf-8"))
        if any(isinstance(value, dict) for value in document.values()):
            continue  # a labelling of events and storylines (see level_agreement_lines), not of stories
        labels = {str(key): str(value) for key, value in document.items()}
        if set(labels) != set(gold):
            raise ConfigError(f"{labels_path}: labels {len(labels)} articles, the story set has {len(gold)}")
        labellings[labels_path.stem] = labels
    if not labellings:
        return []
    lines = [f"  independent labellings ({folder.name}/), B-cubed F1:"]
    names = sorted(labellings)
    for name in names:
        labels = labellings[name]
        lines.append(
            f"    {name}: {len(set(labels.values()))} stories; against the gold {bcubed(gold, labels)[2]:.3f}, "
            f"the grouping against it {bcubed(labels, predicted)[2]:.3f}"
        )
    for index, name in enumerate(names):
        for other in names[index + 1 :]:
            lines.append(f"    {name} against {other}: {bcubed(labellings[name], labellings[other])[2]:.3f}")
    return lines


def level_agreement_lines(
    set_label: str,
    gold: dict[str, tuple[str, str]],
    predicted: dict[str, tuple[str, str]],
    folder: Path,
) -> list[str]:
    """How the two-level labellings in ``folder`` of the set ``set_label`` agree with the gold and the grouping.

    ``gold`` and ``predicted`` map each article id to its (event, storyline). A ``<labeller>.json`` of this kind
    maps a set label ("test", "shipped") to article id -> ``{"event": ..., "storyline": ...}``; files that do not
    label this set are passed over.
    """
    lines: list[str] = []
    for labels_path in sorted(folder.glob("*.json")):
        document = json.loads(labels_path.read_text(encoding="utf-8"))
        labels = document.get(set_label)
        if not isinstance(labels, dict) or not all(isinstance(value, dict) for value in labels.values()):
            continue
        if set(labels) != set(gold):
            raise ConfigError(f"{labels_path}: labels {len(labels)} articles of {set_label}, the set has {len(gold)}")
        if not lines:
            lines.append(f"  independent two-level labellings ({folder.name}/), B-cubed F1 events / storylines:")
        figures = []
        for level, key in ((0, "event"), (1, "storyline")):
            theirs = {str(item): str(value[key]) for item, value in labels.items()}
            ours = {item: pair[level] for item, pair in predicted.items()}
            truth = {item: pair[level] for item, pair in gold.items()}
            figures.append((bcubed(truth, theirs)[2], bcubed(theirs, ours)[2]))
        lines.append(
            f"    {labels_path.stem}: against the gold {figures[0][0]:.3f} / {figures[1][0]:.3f}, "
            f"the grouping against it {figures[0][1]:.3f} / {figures[1][1]:.3f}"
        )
    return lines


def evaluate_entity_sets(processor: ArticleProcessor, path: Path) -> Report:
    """Entities on ``entities.jsonl``, the development set ``entities_dev.jsonl`` and the held-apart
    ``entities_test.jsonl`` beside it, in one report; the development set is printed without targets."""
    parts = [
        (label, evaluate_entities(processor, path.parent / name if name else path, targets=targets))
        for label, name, targets in ENTITY_SETS
    ]
    return _combined("entities: the shipped set, the development set and the held-apart test set", parts)


EVALUATIONS = {"topics": evaluate_topics, "entities": evaluate_entity_sets, "stories": evaluate_story_sets}


def run_evaluations(processor: ArticleProcessor, which: str, eval_dir: Path = EVAL_DIR) -> list[Report]:
    """Run ``which`` (topics, entities, stories or all) on the sets in ``eval_dir``."""
    names = list(EVALUATIONS) if which == "all" else [which]
    reports = []
    for name in names:
        if name not in EVALUATIONS:
            raise ConfigError(f"unknown evaluation {name!r}; choose topics, entities, stories or all")
        reports.append(EVALUATIONS[name](processor, eval_dir / f"{name}.jsonl"))
    return reports
