"""Write the Kibana saved objects of newswire (``deploy/kibana/newswire.ndjson``) from the index template's fields.

    .venv/bin/python deploy/kibana/build_saved_objects.py           # rewrite the export
    .venv/bin/python deploy/kibana/build_saved_objects.py --check   # exit 1 if the committed export is stale

The export is generated rather than written by hand so it cannot name a field the index does not have: every field
a visualization aggregates on is looked up in :data:`~newswire.indexer.elasticsearch.translation.MAPPINGS` and must
be a ``keyword`` or ``date`` there (aggregatable in Kibana); a unit test runs ``--check``. docker compose's
``kibana`` profile loads it with a one-shot ``kibana-setup`` service through Kibana's saved-objects import API.

What it holds: a data view over the read alias ``news`` (time field ``published``), four aggregation-based
visualizations (coverage over time, top sources, top entities, top topics), a saved search for the Wagner mutiny
storyline (by its people: the storyline id is only known once the pipeline has grouped the articles), and one
dashboard with all of them, opening on 23-27 June 2023. The objects use the legacy (aggregation-based)
visualization type, which Kibana 8 still imports and migrates; they have not been loaded into a running Kibana on
the project's machines (no Kibana build is reachable from its registries).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from newswire.indexer.elasticsearch.translation import MAPPINGS

EXPORT = Path(__file__).with_name("newswire.ndjson")
DATA_VIEW = "newswire-news"
KIBANA_VERSION = "8.19.21"
_AGGREGATABLE = {"keyword", "date", "long"}
_INDEX_REFERENCE = "kibanaSavedObjectMeta.searchSourceJSON.index"
MUTINY_PEOPLE = ("Yevgeny Prigozhin", "Vladimir Putin", "Sergei Shoigu", "Valery Gerasimov")


def field(name: str) -> str:
    """``name`` if the index template maps it as an aggregatable field; else the export is wrong: fail loudly."""
    mapping = MAPPINGS["properties"].get(name)
    if mapping is None or mapping.get("type") not in _AGGREGATABLE:
        raise SystemExit(f"build_saved_objects: the index template has no aggregatable field {name!r}")
    return name


def _search_source(query: str = "") -> str:
    source = {"query": {"query": query, "language": "kuery"}, "filter": [], "indexRefName": _INDEX_REFERENCE}
    return json.dumps(source, sort_keys=True)


def _index_reference() -> list[dict[str, str]]:
    return [{"name": _INDEX_REFERENCE, "type": "index-pattern", "id": DATA_VIEW}]


def data_view() -> dict[str, Any]:
    return {
        "type": "index-pattern",
        "id": DATA_VIEW,
        "attributes": {"title": "news", "name": "newswire articles", "timeFieldName": field("published")},
        "references": [],
    }


def _visualization(
    object_id: str, title: str, vis_type: str, params: dict[str, Any], aggs: list[Any]
) -> dict[str, Any]:
    state = {"title": title, "type": vis_type, "params": params, "aggs": aggs}
    return {
        "type": "visualization",
        "id": object_id,
        "attributes": {
            "title": title,
            "description": "",
            "version": 1,
            "uiStateJSON": "{}",
            "visState": json.dumps(state, sort_keys=True),
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source()},
        },
        "references": _index_reference(),
    }


def _count() -> dict[str, Any]:
    return {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}


def coverage_over_time() -> dict[str, Any]:
    params = {
        "type": "histogram",
        "addLegend": False,
        "addTooltip": True,
        "legendPosition": "right",
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True}],
        "seriesParams": [
            {
                "data": {"id": "1", "label": "Articles"},
                "type": "histogram",
                "mode": "stacked",
                "show": True,
                "valueAxis": "ValueAxis-1",
            }
        ],
    }
    histogram = {
        "id": "2",
        "enabled": True,
        "type": "date_histogram",
        "schema": "segment",
        "params": {"field": field("published"), "interval": "auto", "min_doc_count": 1, "extended_bounds": {}},
    }
    return _visualization(
        "newswire-coverage", "newswire: coverage over time", "histogram", params, [_count(), histogram]
    )


def top_terms(object_id: str, title: str, name: str, size: int = 15) -> dict[str, Any]:
    params = {
        "perPage": size,
        "showPartialRows": False,
        "showMetricsAtAllLevels": False,
        "showTotal": False,
        "totalFunc": "sum",
        "percentageCol": "",
    }
    terms = {
        "id": "2",
        "enabled": True,
        "type": "terms",
        "schema": "bucket",
        "params": {
            "field": field(name),
            "size": size,
            "order": "desc",
            "orderBy": "1",
            "otherBucket": False,
            "missingBucket": False,
        },
    }
    return _visualization(object_id, title, "table", params, [_count(), terms])


def mutiny_search() -> dict[str, Any]:
    names = " or ".join(f'{field("entity_names")} : "{name}"' for name in MUTINY_PEOPLE)
    return {
        "type": "search",
        "id": "newswire-mutiny",
        "attributes": {
            "title": "newswire: the Wagner mutiny (by its people)",
            "description": "Articles naming Prigozhin, Putin, Shoigu or Gerasimov; add storyline : <id> to follow one.",
            "columns": ["title", field("source"), field("storyline")],
            "sort": [[field("published"), "desc"]],
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(names)},
        },
        "references": _index_reference(),
    }


def dashboard(panels: list[dict[str, Any]]) -> dict[str, Any]:
    layout, references = [], []
    for number, panel in enumerate(panels):
        wide = panel["id"] in {"newswire-coverage", "newswire-mutiny"}
        x, y = (0, 15 * number) if wide else (24 * (number % 2), 15 * number)
        layout.append(
            {
                "version": KIBANA_VERSION,
                "type": panel["type"],
                "gridData": {"x": x, "y": y, "w": 48 if wide else 24, "h": 15, "i": str(number)},
                "panelIndex": str(number),
                "embeddableConfig": {},
                "panelRefName": f"panel_{number}",
            }
        )
        references.append({"name": f"panel_{number}", "type": panel["type"], "id": panel["id"]})
    return {
        "type": "dashboard",
        "id": "newswire-dashboard",
        "attributes": {
            "title": "newswire: how the press covers a story",
            "description": "Coverage over time, top sources, entities and topics, and the Wagner mutiny's articles.",
            "panelsJSON": json.dumps(layout, sort_keys=True),
            "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "2023-06-23T00:00:00.000Z",
            "timeTo": "2023-06-27T00:00:00.000Z",
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
        },
        "references": references,
    }


def saved_objects() -> list[dict[str, Any]]:
    """Every object of the export, the data view first (the import resolves references in any order)."""
    panels = [
        coverage_over_time(),
        top_terms("newswire-sources", "newswire: top sources", "source"),
        top_terms("newswire-entities", "newswire: top entities", "entity_names"),
        top_terms("newswire-topics", "newswire: top topics", "topic_labels"),
        mutiny_search(),
    ]
    return [data_view(), *panels, dashboard(panels)]


def render() -> str:
    return "".join(json.dumps(item, sort_keys=True, ensure_ascii=False) + "\n" for item in saved_objects())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed export is not what this writes")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not EXPORT.exists() or EXPORT.read_text(encoding="utf-8") != text:
            print(f"{EXPORT} is stale: run {Path(__file__).name} to rewrite it", file=sys.stderr)
            return 1
        return 0
    EXPORT.write_text(text, encoding="utf-8")
    print(f"wrote {len(text.splitlines())} saved objects to {EXPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
