"""docker-compose.yml checked against the code it starts (tests/e2e/test_compose_stack.py runs it), and the override
that swaps in the images built here."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from newswire.app.cli import build_parser
from newswire.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = [name for name, spec in SERVICES.items() if spec.get("image") == "newswire:latest"]


def _command(spec: dict) -> list[str]:
    command = spec["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_the_pipeline_services_are_all_there():
    assert {"kafka", "elasticsearch", "topics", "ingest", "processor", "indexer", "kibana"} <= set(SERVICES)
    assert {"topics", "ingest", "processor", "indexer", "demo-feeds"} <= set(APP_SERVICES)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_command_is_a_real_newswire_command(name):
    command = _command(SERVICES[name])
    assert command[0] == "newswire"
    args = build_parser().parse_args(command[1:])
    assert callable(args.func)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_variable_is_a_real_setting_with_a_valid_value(name):
    environment = SERVICES[name]["environment"]
    overrides = {}
    for variable, value in environment.items():
        assert variable.startswith("NEWSWIRE_"), variable
        field = variable.removeprefix("NEWSWIRE_").lower()
        assert field in Settings.model_fields, f"{name}: {variable} is not a setting"
        overrides[field] = value
    load_settings(**overrides)


def test_the_app_image_is_built_from_deploy():
    build = SERVICES["ingest"]["build"]
    dockerfile = REPO / build["context"] / build["dockerfile"]
    text = dockerfile.read_text()
    mapped = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    assert {"newswire", "app", "ingest", "processors", "indexer", "deploy/services"} <= set(mapped.values())
    for folder in (*mapped.values(), "deploy/demo"):
        assert re.search(rf"^COPY {re.escape(folder)} ", text, re.MULTILINE), folder


def test_app_services_reach_kafka_on_its_internal_listener():
    kafka = SERVICES["kafka"]["environment"]
    advertised = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    internal = advertised[kafka["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    for name in APP_SERVICES:
        assert SERVICES[name]["environment"]["NEWSWIRE_KAFKA"] == internal
    # The host listener is advertised on the port the host sees, whatever KAFKA_PORT moves it to.
    assert advertised["HOST"] == "localhost:${KAFKA_PORT:-9092}"
    assert "${KAFKA_PORT:-9092}:9092" in SERVICES["kafka"]["ports"]
    assert "HOST://:9092" in kafka["KAFKA_LISTENERS"]


def test_app_services_reach_elasticsearch_by_service_name_and_port():
    for name in APP_SERVICES:
        url = urlsplit(SERVICES[name]["environment"]["NEWSWIRE_ES"])
        assert url.hostname == "elasticsearch"
        assert url.port == 9200
    assert "${ES_PORT:-9200}:9200" in SERVICES["elasticsearch"]["ports"]
    assert SERVICES["elasticsearch"]["environment"]["discovery.type"] == "single-node"
    assert SERVICES["elasticsearch"]["environment"]["xpack.security.enabled"] == "false"


def test_services_start_in_order():
    for name, spec in SERVICES.items():
        for dependency, condition in spec.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on a missing service {dependency}"
            assert condition["condition"] in ("service_healthy", "service_completed_successfully", "service_started")
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{dependency} has no health check"
    assert "topics" in SERVICES["processor"]["depends_on"]
    assert "elasticsearch" in SERVICES["indexer"]["depends_on"]


def test_two_processor_replicas_and_kibana_under_a_profile():
    assert SERVICES["processor"]["deploy"]["replicas"] == 2
    assert SERVICES["kibana"]["profiles"] == ["kibana"]


def test_the_compose_feed_list_points_at_the_demo_feed_service():
    feeds = SERVICES["ingest"]["environment"]["NEWSWIRE_FEEDS"]
    listed = REPO / feeds.removeprefix("/app/")
    urls = [line.strip() for line in listed.read_text().splitlines() if line.strip() and not line.startswith("#")]
    served = {path.name for path in (REPO / "deploy" / "demo" / "feeds").glob("*.xml")}
    assert urls
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname == "demo-feeds"
        assert parts.path.lstrip("/") in served
    port = _command(SERVICES["demo-feeds"])[_command(SERVICES["demo-feeds"]).index("--port") + 1]
    assert {urlsplit(url).port for url in urls} == {int(port)}


def test_images_match_the_versions_run_without_docker():
    from newswire.services import ServicesConfig

    config = ServicesConfig(home=Path("/nonexistent"))
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{config.kafka_version}"
    assert SERVICES["elasticsearch"]["image"].endswith(f":{config.es_version}")
    assert SERVICES["kibana"]["image"].endswith(f":{config.es_version}")


LOCAL = yaml.safe_load((REPO / "deploy" / "docker" / "compose.local.yml").read_text())["services"]


def test_the_stand_in_images_are_the_releases_the_tests_run() -> None:
    pom = (REPO / "deploy" / "services" / "pom.xml").read_text()
    for service, prop in (("kafka", "kafka.version"), ("elasticsearch", "es.version")):
        version = pom.split(f"<{prop}>")[1].split("</")[0]
        assert SERVICES[service]["image"].endswith(f":{version}"), service
        assert LOCAL[service]["image"].endswith(f":{version}"), service


def test_the_override_changes_only_images() -> None:
    allowed = {"image", "pull_policy", "build"}
    for name, spec in LOCAL.items():
        assert set(spec) <= allowed, name
        assert set(spec.get("build", {})) <= {"args"}, name
    for script in (REPO / "deploy" / "docker" / "build-images", REPO / "scripts" / "docker-setup"):
        assert script.stat().st_mode & 0o111, f"{script} is not executable"
