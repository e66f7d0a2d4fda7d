"""The Kibana saved objects: generated from the index template, loaded by compose's kibana profile."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from newswire.indexer.elasticsearch.translation import MAPPINGS

REPO = Path(__file__).resolve().parents[2]
EXPORT = REPO / "deploy" / "kibana" / "newswire.ndjson"


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_saved_objects", REPO / "deploy" / "kibana" / "build_saved_objects.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _objects() -> list[dict]:
    return [json.loads(line) for line in EXPORT.read_text(encoding="utf-8").splitlines()]


def test_the_committed_export_is_what_the_index_template_gives():
    assert _builder().main(["--check"]) == 0, "run deploy/kibana/build_saved_objects.py and commit the export"


def test_every_aggregated_field_is_an_aggregatable_field_of_the_index():
    fields = []
    for item in _objects():
        if item["type"] == "visualization":
            state = json.loads(item["attributes"]["visState"])
            fields += [agg["params"]["field"] for agg in state["aggs"] if "field" in agg["params"]]
    assert {"published", "source", "entity_names", "topic_labels"} <= set(fields)
    for name in fields:
        assert MAPPINGS["properties"][name]["type"] in {"keyword", "date"}, name


def test_every_reference_resolves_to_an_object_of_the_export():
    objects = _objects()
    known = {(item["type"], item["id"]) for item in objects}
    assert ("index-pattern", "newswire-news") in known
    for item in objects:
        for reference in item["references"]:
            assert (reference["type"], reference["id"]) in known, (item["id"], reference)
    [board] = [item for item in objects if item["type"] == "dashboard"]
    panels = json.loads(board["attributes"]["panelsJSON"])
    assert {panel["panelRefName"] for panel in panels} == {reference["name"] for reference in board["references"]}
    assert len(panels) == len(objects) - 2  # every visualization and the search, not the data view or itself


def test_a_field_the_template_lacks_stops_the_build(monkeypatch):
    builder = _builder()
    with pytest.raises(SystemExit, match="no aggregatable field 'headline'"):
        builder.top_terms("x", "x", "headline")
    monkeypatch.setitem(builder.MAPPINGS["properties"], "url", {"type": "text"})
    with pytest.raises(SystemExit, match="'url'"):
        builder.field("url")


def test_compose_loads_the_export_once_kibana_is_healthy():
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    setup = services["kibana-setup"]
    assert setup["profiles"] == ["kibana"]
    assert setup["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert "healthcheck" in services["kibana"]
    assert "./deploy/kibana:/kibana:ro" in setup["volumes"]
    assert "file=@/kibana/newswire.ndjson" in setup["command"][0]
    assert "_import?overwrite=true" in setup["command"][0]
