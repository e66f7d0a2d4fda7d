"""The HTTP API finds what people mean (aliases, any case, topic names, suggestions) and answers defects found from
outside: deep parentheses, 405 without Allow, unescaped highlights, hosts, paths in 503s, long access-log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from newswire.app.api import MAX_LOGGED_TARGET, create_app
from newswire.app.cli import main
from newswire.app.openapi import openapi_document
from newswire.contract import EnrichedArticle, Entity, Topic
from newswire.indexer.embedded import EmbeddedStore
from tests.factories import article_factory, enriched_factory

LOCAL = "http://localhost"
PRIGOZHIN = Entity(name="Yevgeny Prigozhin", label="PERSON", count=2)
WAGNER = Entity(name="Wagner Group", label="ORG", count=1)


def _article(title: str, summary: str, source: str, entities: list[Entity], topics: list[str]) -> EnrichedArticle:
    raw = article_factory(title=title, summary=summary, content=summary, source=source)
    return enriched_factory(raw, entities=entities, topics=[Topic(label=label, score=0.8) for label in topics])


ARTICLES = [
    _article(
        "Mutineers march on Moscow",
        "Prigozhin's column marched north <script>alert(1)</script> with <em>fake</em> emphasis & more.",
        "Harbour Post",
        [PRIGOZHIN, WAGNER],
        ["conflict_war_peace", "politics"],
    ),
    _article("A mutineer speaks", "One of the fighters explains.", "Steppe Herald", [WAGNER], ["conflict_war_peace"]),
]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api-meaning") / "search.sqlite3"
    store = EmbeddedStore(path)
    store.ensure_ready()
    store.upsert(ARTICLES)
    store.close()
    return path


@pytest.fixture(scope="module")
def client(store_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: EmbeddedStore(store_path)), base_url=LOCAL) as test_client:
        yield test_client


def _ok(client: TestClient, path: str, **params: object) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _refused(client: TestClient, path: str, status: int = 400, **params: object) -> str:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    return response.json()["error"]


def _titles(document: dict) -> list[str]:
    return sorted(hit["title"] for hit in document["hits"])


# --- what people mean --------------------------------------------------------------------------------------------


def test_a_word_finds_its_inflections_and_a_quoted_word_only_itself(client: TestClient) -> None:
    assert _titles(_ok(client, "/api/search", q="mutineers")) == ["A mutineer speaks", "Mutineers march on Moscow"]
    assert _titles(_ok(client, "/api/search", q='"mutineers"')) == ["Mutineers march on Moscow"]


@pytest.mark.parametrize("entity", ["prigozhin", "Evgeny Prigozhin", "YEVGENY PRIGOZHIN", "Yevgeny Prigozhin"])
def test_an_entity_filter_by_surname_alias_or_any_case(client: TestClient, entity: str) -> None:
    document = _ok(client, "/api/search", entity=entity)
    assert _titles(document) == ["Mutineers march on Moscow"]
    assert document["hits"][0]["matched_entities"] == ["Yevgeny Prigozhin"]


def test_topic_and_source_filters_by_any_case_and_topic_name(client: TestClient) -> None:
    assert _titles(_ok(client, "/api/search", topic="Politics")) == ["Mutineers march on Moscow"]
    assert len(_ok(client, "/api/search", topic="Conflict, war and peace")["hits"]) == 2
    assert _titles(_ok(client, "/api/search", source="steppe herald")) == ["A mutineer speaks"]


def test_topics_are_shown_by_name(client: TestClient) -> None:
    document = _ok(client, "/api/search", q="moscow", facets="true")
    assert document["hits"][0]["topics"][0] == {
        "label": "conflict_war_peace",
        "name": "Conflict, war and peace",
        "score": 0.8,
    }
    assert {"value": "politics", "count": 1, "name": "Politics"} in document["facets"]["topics"]


def test_suggestions_as_the_user_types(client: TestClient) -> None:
    assert _ok(client, "/api/suggest", prefix="pri", field="entity") == {
        "field": "entity",
        "prefix": "pri",
        "suggestions": [{"value": "Yevgeny Prigozhin", "name": "Yevgeny Prigozhin", "count": 1}],
    }
    assert _ok(client, "/api/suggest", prefix="wag")["suggestions"][0]["value"] == "Wagner Group"  # entity by default
    topics = _ok(client, "/api/suggest", prefix="war", field="topic")["suggestions"]
    assert topics == [{"value": "conflict_war_peace", "name": "Conflict, war and peace", "count": 2}]
    assert _ok(client, "/api/suggest", prefix="ste", field="source")["suggestions"][0]["count"] == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "give the prefix"),
        ({"prefix": "pri", "field": "story"}, "field must be one of"),
        ({"prefix": "pri", "size": "0"}, "size must be"),
        ({"prefix": "pri", "q": "x"}, "unknown parameter 'q'"),
        ({"prefix": "   "}, "a prefix has"),
    ],
)
def test_a_bad_suggestion_request_is_a_400(client: TestClient, params: dict, message: str) -> None:
    assert message in _refused(client, "/api/suggest", **params)


# --- defects found from outside --------------------------------------------------------------------------------------


def test_deeply_nested_parentheses_are_a_400_that_says_so(client: TestClient) -> None:
    message = _refused(client, "/api/search", q="(" * 325 + "wagner" + ")" * 325)
    assert "nested parentheses" in message
    assert "nested parentheses" in _refused(client, "/api/stories", q="(" * 325 + "wagner" + ")" * 325)


def test_deeply_nested_parentheses_on_the_command_line_are_one_line(tmp_path: Path, capsys) -> None:
    code = main(["search", "(" * 325 + "wagner" + ")" * 325, "--data-dir", str(tmp_path), "--embedded"])
    captured = capsys.readouterr()
    assert code == 2
    assert "nested parentheses" in captured.err
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1


def test_an_error_says_where_it_is(client: TestClient) -> None:
    assert "OR needs something on its left at character 1" in _refused(client, "/api/search", q="OR wagner")
    assert "quote at character 8 is not closed" in _refused(client, "/api/search", q='wagner "rostov')


def test_a_405_keeps_its_allow_header(client: TestClient) -> None:
    for response in (client.post("/api/search"), client.delete("/api/articles/x"), client.put("/api/suggest")):
        assert response.status_code == 405
        assert {method.strip() for method in response.headers["allow"].split(",")} == {"GET", "HEAD"}
        assert set(response.json()) == {"error"}


def test_highlights_are_escaped_html_with_only_our_em(client: TestClient) -> None:
    hit = _ok(client, "/api/search", q="column")["hits"][0]
    (highlight,) = [text for text in hit["highlights"] if "column" in text]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in highlight
    assert "&lt;em&gt;fake&lt;/em&gt;" in highlight and "&amp; more" in highlight
    assert highlight.replace("<em>", "").replace("</em>", "").count("<") == 0
    assert "<em>column</em>" in highlight


@pytest.mark.parametrize("path", ["/api/health", f"/api/articles/{ARTICLES[0].id}", "/openapi.json", "/api/docs"])
def test_unknown_parameters_are_refused_everywhere(client: TestClient, path: str) -> None:
    assert "unknown parameter 'foo'" in _refused(client, path, foo="1")


@pytest.mark.parametrize("offset", ["1e3", "1.0", "+1", "0x10", " 1", "-1"])
def test_an_offset_is_a_whole_number_written_plainly(client: TestClient, offset: str) -> None:
    assert "offset must be a whole number" in _refused(client, "/api/search", q="wagner", offset=offset)


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "127.0.0.2:8080", "[::2]:80", ""])
def test_a_host_not_allowed_is_refused_and_never_reflected(client: TestClient, host: str) -> None:
    for path in ("/api/search?q=wagner", "/api/search/", "/", "/openapi.json"):
        response = client.get(path, headers={"host": host}, follow_redirects=False)
        assert response.status_code == 400, (path, host)
        assert "location" not in response.headers
        assert host == "" or host not in response.text
        assert response.headers["content-security-policy"]


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1:9", "[::1]:8080", "LOCALHOST"])
def test_localhost_is_allowed(client: TestClient, host: str) -> None:
    assert client.get("/api/health", headers={"host": host}).status_code == 200


def test_the_allowed_hosts_are_settable_and_redirects_stay_on_them(store_path: Path) -> None:
    app = create_app(lambda: EmbeddedStore(store_path), allowed_hosts=("news.example.org",))
    with TestClient(app, base_url="http://news.example.org") as custom:
        assert custom.get("/api/health").status_code == 200
        assert custom.get("/api/health", headers={"host": "localhost"}).status_code == 400
        redirect = custom.get("/api/search/", follow_redirects=False)
        assert redirect.status_code == 307
        assert redirect.headers["location"].startswith("http://news.example.org/")


def test_the_access_log_cuts_long_request_lines(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    target = "/api/search?q=" + "wagner+" * 15_000
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        # The line uvicorn's access logger writes for each request (uvicorn.protocols.http.h11_impl).
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", target, "1.1", 400)
    (line,) = [record.getMessage() for record in caplog.records if record.name == "uvicorn.access"]
    assert len(line) < MAX_LOGGED_TARGET + 100
    assert f"[{len(target)} characters]" in line


# --- the description -----------------------------------------------------------------------------------------------


def test_the_openapi_description_and_its_page_list_every_api_route(client: TestClient) -> None:
    served = _ok(client, "/openapi.json")
    assert served == openapi_document()
    routes = {route.path for route in client.app.routes if route.path.startswith("/api/")}  # type: ignore[attr-defined]
    documented = set(served["paths"])
    assert routes - {"/api/docs"} == {
        path.replace("{article_id}", "{article_id:path}").replace("{story_id}", "{story_id:path}")
        for path in documented
    }
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for path in documented:
        assert f"GET {path}" in page.text


def test_the_page_reads_the_suggestions_and_topic_names_it_is_given(client: TestClient) -> None:
    script = client.get("/app.js").text
    document = _ok(client, "/api/suggest", prefix="con", field="topic")
    for name in ("/api/suggest", "suggestions", "value", "name", "count"):
        assert name in script
    assert set(document["suggestions"][0]) == {"value", "name", "count"}
    assert "topic.name" in script and "facet.name" in script
    assert "unescapeHtml" in script  # highlights arrive escaped
