"""The evaluation on the shipped labelled sets (processors/eval/): every figure must reach its target.

These need no services, so they live with the unit tests; they take about ten seconds (spaCy over ~300 articles).
"""

from __future__ import annotations

import pytest

from newswire.processors.evaluate import EVAL_DIR, evaluate_topics, run_evaluations

from .test_stories import DEV_SET

pytestmark = pytest.mark.slow


# The figures measured below their target, each with why (see the README's "Evaluation"). The test fails when one
# of them reaches its target (take it off this list) and when any other figure falls below its own.
KNOWN_BELOW_TARGET = {
    "stories": {
        # 0.831 on the mutiny set: its reactions share few words with their event, and its same-day happenings share
        # people and places (the written sets' events, 0.933 on the test half, are more distinct in their wording)
        "shipped: events B-cubed F1",
    },
}


@pytest.mark.parametrize("which", ["topics", "entities", "stories"])
def test_shipped_evaluation_sets_reach_their_targets(processor, which):
    if not (EVAL_DIR / f"{which}.jsonl").exists():
        pytest.fail(f"the evaluation set {EVAL_DIR / which}.jsonl is missing")
    [report] = run_evaluations(processor, which)
    below = {figure.name for figure in report.figures if not figure.passed}
    assert below == KNOWN_BELOW_TARGET.get(which, set()), report.render()


def test_dev_topic_set_reaches_the_target(processor):
    """The set the lexicon was tuned on: a guard against edits of the lexicon that break it."""
    report = evaluate_topics(processor, DEV_SET.parent / "topics_dev.jsonl")
    assert report.figures[0].value >= 0.85, report.render()
