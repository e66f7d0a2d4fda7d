"""`newswire subscribe --changed`: a subscriber sees the revisions whose headline or lede changed, and only those."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswire.app.cli import main
from newswire.bus import pipeline_topics
from newswire.bus.embedded import EmbeddedBus
from newswire.contract import Revision, encode_enriched
from newswire.settings import load_settings
from tests.factories import article_factory, enriched_factory

SEEN = datetime(2023, 6, 24, 9, 30, tzinfo=UTC)


def _publish(data_dir: Path) -> dict[str, str]:
    """Four articles on the embedded enriched topic; their ids by what happened to them."""
    settings = load_settings(data_dir=str(data_dir))
    cases = {
        "first": {},
        "retitled": {
            "revision": 2,
            "revised": Revision(previous_title="Wagner moves", title_changed=True, lede_changed=False, revised_at=SEEN),
        },
        "body only": {"revision": 2, "revised": Revision(title_changed=False, lede_changed=False, revised_at=SEEN)},
        "unknown": {"revision": 3, "revised": Revision(revised_at=SEEN)},
    }
    bus = EmbeddedBus(settings.embedded_bus_path)
    bus.ensure_topics(pipeline_topics(settings))
    producer = bus.producer()
    ids = {}
    for name, fields in cases.items():
        article = enriched_factory(article_factory(**fields))
        producer.send(settings.topic_enriched, article.id.encode(), encode_enriched(article))
        ids[name] = article.id
    producer.flush()
    producer.close()
    bus.close()
    return ids


@pytest.mark.parametrize(
    ("flags", "expected"),
    [((), {"first", "retitled", "body only", "unknown"}), (("--changed",), {"retitled", "unknown"})],
)
def test_changed_shows_only_revisions_with_a_new_headline_or_lede(tmp_path, capsys, flags, expected):
    ids = _publish(tmp_path)
    code = main(
        ["subscribe", "--embedded", "--data-dir", str(tmp_path), "--from-beginning", "--idle-exit", "1", *flags]
    )
    assert code == 0
    printed = {json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()}
    assert printed == {ids[name] for name in expected}
