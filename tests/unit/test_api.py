"""The HTTP search API and the page (``newswire serve``), over an embedded store filled through ``SearchStore``."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from newswire.app.api import CONTENT_SECURITY_POLICY, create_app
from newswire.app.commands.serve import listen
from newswire.contract import EnrichedArticle, Entity, Topic, decode_enriched
from newswire.errors import ConfigError, SearchError
from newswire.indexer.embedded import EmbeddedStore
from newswire.query import parse_query, positive_tokens
from newswire.search import SearchQuery, SearchResult, SearchStore, StoriesResult, StoryQuery, UpsertResult
from newswire.views import result_as_json, stories_as_json
from tests.factories import BASE_TIME, article_factory, enriched_factory

PRIGOZHIN = Entity(name="Yevgeny Prigozhin", label="PERSON", count=2)
PUTIN = Entity(name="Vladimir Putin", label="PERSON", count=1)
LUKASHENKO = Entity(name="Alexander Lukashenko", label="PERSON", count=1)
BELARUS = Entity(name="Belarus", label="GPE", count=1)
LOCAL = "http://localhost"  # the API answers to localhost only, by default
ROSTOV = Entity(name="Rostov-on-Don", label="GPE", count=1)
WAR = Topic(label="conflict_war_peace", score=0.9)
POLITICS = Topic(label="politics", score=0.7)


def _article(source: str, hours: float, title: str, summary: str, **fields) -> EnrichedArticle:
    raw = article_factory(
        source=source, title=title, summary=summary, content=summary, published=BASE_TIME + timedelta(hours=hours)
    )
    return enriched_factory(raw, **fields)


def _corpus() -> dict[str, EnrichedArticle]:
    rostov = _article(
        "Harbour Post",
        1,
        "Wagner fighters hold Rostov-on-Don headquarters",
        "Yevgeny Prigozhin says his men control the military headquarters in Rostov-on-Don.",
        entities=[PRIGOZHIN, ROSTOV],
        topics=[WAR],
        story_id="mutiny",
    )
    return {
        "rostov": rostov,
        "putin": _article(
            "Lakeside Ledger",
            3,
            "Putin calls the mutiny treason",
            "Vladimir Putin says the armed rebellion led by Prigozhin is a stab in the back.",
            entities=[PUTIN, PRIGOZHIN],
            topics=[POLITICS, WAR],
            story_id="mutiny",
        ),
        "deal": _article(
            "Northern Courier",
            27,
            "Lukashenko brokers a deal to halt the march",
            "Alexander Lukashenko of Belarus says Prigozhin agreed to turn his convoy around.",
            entities=[LUKASHENKO, BELARUS, PRIGOZHIN],
            topics=[POLITICS],
        ),
        "russian": _article(
            "Vostok Daily",
            28,
            "Пригожин уезжает в Беларусь",
            "Пригожин и Лукашенко договорились.",
            entities=[PRIGOZHIN, BELARUS],
            topics=[POLITICS],
            language="ru",
        ),
        "copy": _article(
            "Wire Relay",
            2,
            "Wagner fighters hold Rostov-on-Don headquarters",
            "Yevgeny Prigozhin says his men control the military headquarters in Rostov-on-Don.",
            entities=[PRIGOZHIN, ROSTOV],
            topics=[WAR],
            duplicate_of=rostov.id,
        ),
    }


@pytest.fixture(scope="module")
def corpus() -> dict[str, EnrichedArticle]:
    return _corpus()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory, corpus: dict[str, EnrichedArticle]) -> Path:
    path = tmp_path_factory.mktemp("api") / "search.sqlite3"
    store = EmbeddedStore(path)
    store.ensure_ready()
    assert store.upsert(list(corpus.values())).written == len(corpus)
    store.close()
    return path


@pytest.fixture(scope="module")
def client(store_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: EmbeddedStore(store_path)), base_url=LOCAL) as test_client:
        yield test_client


def _search(client: TestClient, **params) -> dict:
    response = client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _titles(document: dict) -> list[str]:
    return [hit["title"] for hit in document["hits"]]


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


# --- search ---------------------------------------------------------------------------------------------------------


def test_search_answers_the_document_of_newswire_search_json(client: TestClient, store_path: Path) -> None:
    params = {"q": "prigozhin OR rostov", "entity": "Yevgeny Prigozhin", "facets": "true", "histogram": "day"}
    document = _search(client, **params)
    query = SearchQuery(text=params["q"], entities=("Yevgeny Prigozhin",), facets=True, histogram="day")
    store = EmbeddedStore(store_path)
    try:
        expected = result_as_json(store.search(query), set(positive_tokens(parse_query(params["q"]))), {PRIGOZHIN.name})
    finally:
        store.close()
    assert document == expected
    assert document["total"] == 4  # the Russian article names Prigozhin only in Cyrillic
    first = document["hits"][0]
    assert set(first) >= {"id", "score", "source", "published", "title", "url", "matched_entities", "highlights"}
    assert "Yevgeny Prigozhin" in first["matched_entities"]
    assert any("<em>" in text for hit in document["hits"] for text in hit["highlights"])


def test_search_is_utf8_json(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "Пригожин"})
    assert response.status_code == 200
    assert "Пригожин уезжает в Беларусь".encode() in response.content  # not \\u-escaped
    assert _titles(response.json()) == ["Пригожин уезжает в Беларусь"]


def test_filters_narrow_the_hits(client: TestClient, corpus: dict[str, EnrichedArticle]) -> None:
    assert _search(client, entity=["Yevgeny Prigozhin", "Belarus"])["total"] == 2
    assert _titles(_search(client, entity="Vladimir Putin")) == [corpus["putin"].title]
    assert _search(client, topic="conflict_war_peace")["total"] == 3
    assert _titles(_search(client, source=["Northern Courier"])) == [corpus["deal"].title]
    assert _search(client, source=["Northern Courier", "Lakeside Ledger"])["total"] == 2
    assert _titles(_search(client, language="ru")) == [corpus["russian"].title]
    assert {hit["id"] for hit in _search(client, story="mutiny")["hits"]} == {corpus["rostov"].id, corpus["putin"].id}
    day_one = _search(client, since="2023-06-24", until="2023-06-25")
    assert {hit["id"] for hit in day_one["hits"]} == {corpus[name].id for name in ("rostov", "putin", "copy")}
    assert _search(client, since="2023-06-25T09:30:00+00:00")["total"] == 1
    assert corpus["copy"].id not in {hit["id"] for hit in _search(client, collapse_duplicates="true")["hits"]}


def test_empty_parameters_are_left_out(client: TestClient) -> None:
    assert _search(client, q="", entity="", since="", sort="")["total"] == 5


def test_sort_by_date_and_paging(client: TestClient, corpus: dict[str, EnrichedArticle]) -> None:
    newest_first = sorted(corpus.values(), key=lambda article: article.published, reverse=True)
    everything = _search(client, sort="date", size=100)
    assert [hit["id"] for hit in everything["hits"]] == [article.id for article in newest_first]
    page_two = _search(client, sort="date", size=2, offset=2)
    assert [hit["id"] for hit in page_two["hits"]] == [article.id for article in newest_first[2:4]]
    assert page_two["total"] == 5


def test_facets_and_histogram(client: TestClient) -> None:
    document = _search(client, facets="true", histogram="day")
    entities = {facet["value"]: facet["count"] for facet in document["facets"]["entities"]}
    assert entities["Yevgeny Prigozhin"] == 5
    assert entities["Belarus"] == 2
    sources = {facet["value"] for facet in document["facets"]["sources"]}
    assert sources == {"Harbour Post", "Lakeside Ledger", "Northern Courier", "Vostok Daily", "Wire Relay"}
    assert document["histogram"] == [
        {"start": "2023-06-24T00:00:00Z", "count": 3},
        {"start": "2023-06-25T00:00:00Z", "count": 2},
    ]
    assert _search(client, q="prigozhin")["facets"] == {}


# --- errors ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "(wagner"}, "missing ')'"),
        ({"q": "-sport"}, "only excludes"),
        ({"q": "x" * 1001}, "at most 1000"),
        ({"since": "yesterday"}, "since is not an ISO date"),
        ({"until": "2023-13-01"}, "until is not an ISO date"),
        ({"since": "2023-06-25", "until": "2023-06-24"}, "the date range is empty"),
        ({"size": "101"}, "size must be a whole number from 0 to 100"),
        ({"size": "-1"}, "size must be a whole number"),
        ({"size": "ten"}, "size must be a whole number"),
        ({"offset": "9950", "size": "100"}, "offset + size must stay within 10000"),
        ({"sort": "popularity"}, "sort must be one of relevance, date"),
        ({"histogram": "minute"}, "histogram must be one of hour, day"),
        ({"facets": "maybe"}, "facets must be true or false"),
        ({"entitiy": "Belarus"}, "unknown parameter 'entitiy'"),
        ({"q": ["wagner", "putin"]}, "at most once"),
        ({"entity": [f"e{n}" for n in range(21)]}, "at most 20 'entity' filters"),
        ({"source": "s" * 301}, "at most 300"),
        ({"entity": "Bel\x00arus"}, "control character"),
    ],
)
def test_bad_parameters_are_a_400_with_one_line(client: TestClient, params: dict, expected: str) -> None:
    assert expected in _error(client.get("/api/search", params=params), 400)


def test_an_unknown_article_is_a_404(client: TestClient) -> None:
    assert "no article" in _error(client.get("/api/articles/0123456789abcdef0123456789abcdef"), 404)
    assert "no article" in _error(client.get("/api/articles/" + "a" * 500), 404)
    _error(client.get("/api/articles/..%2F..%2Fetc%2Fpasswd"), 404)
    assert "no such page" in _error(client.get("/api/nothing-here"), 404)


def test_an_article_is_its_wire_json(client: TestClient, corpus: dict[str, EnrichedArticle]) -> None:
    article = corpus["deal"]
    response = client.get(f"/api/articles/{article.id}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert decode_enriched(response.content) == article
    assert response.json()["schema"] == "newswire.enriched/2"


def test_only_get(client: TestClient) -> None:
    assert client.post("/api/search", content=b"q=wagner").status_code == 405
    assert client.delete("/api/articles/x").status_code == 405


# --- stories --------------------------------------------------------------------------------------------------------


def _stories(client: TestClient, **params) -> dict:
    response = client.get("/api/stories", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_stories_answer_the_document_of_newswire_stories_json(client: TestClient, store_path: Path) -> None:
    document = _stories(client, q="prigozhin", sort="size", size=3)
    store = EmbeddedStore(store_path)
    try:
        expected = stories_as_json(store.stories(StoryQuery(text="prigozhin", sort="size", size=3, level="storyline")))
    finally:
        store.close()
    assert document == expected
    assert document["total"] == 3  # the mutiny story (two articles), the deal and the syndicated copy
    assert [story["story_id"] for story in document["stories"]][:1] == ["mutiny"]
    mutiny = document["stories"][0]
    assert (mutiny["size"], mutiny["sources"], mutiny["first_published"]) == (2, 2, "2023-06-24T07:00:00Z")


def test_stories_filters_and_paging(client: TestClient, corpus: dict[str, EnrichedArticle]) -> None:
    everything = _stories(client)
    assert everything["total"] == 4
    newest_first = [corpus["russian"].id, corpus["deal"].id, "mutiny", corpus["copy"].id]
    assert [story["story_id"] for story in everything["stories"]] == newest_first
    page = _stories(client, size=2, offset=1)
    assert (page["total"], [story["story_id"] for story in page["stories"]]) == (4, newest_first[1:3])
    assert [story["story_id"] for story in _stories(client, entity="Belarus", language="ru")["stories"]] == [
        corpus["russian"].id
    ]
    assert _stories(client, source="Lakeside Ledger", since="2023-06-24", until="2023-06-25")["total"] == 1
    assert _stories(client, topic="conflict_war_peace", q="", sort="")["total"] == 2


def test_a_story_is_its_summary_and_its_articles_oldest_first(
    client: TestClient, corpus: dict[str, EnrichedArticle]
) -> None:
    response = client.get("/api/stories/mutiny")
    assert response.status_code == 200
    document = response.json()
    assert document["story"]["title"] == corpus["rostov"].title  # the earliest: no article has the id "mutiny"
    assert document["articles_total"] == 2
    assert [article["id"] for article in document["articles"]] == [corpus["rostov"].id, corpus["putin"].id]
    alone = client.get(f"/api/stories/{corpus['deal'].id}").json()
    assert [article["title"] for article in alone["articles"]] == [corpus["deal"].title]


def test_an_unknown_story_is_a_404(client: TestClient) -> None:
    assert "no story with id 'nothing'" in _error(client.get("/api/stories/nothing"), 404)
    assert "no story" in _error(client.get("/api/stories/" + "a" * 500), 404)
    assert "no story" in _error(client.get("/api/stories/bad%07id"), 404)


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/api/stories", {"q": "(wagner"}, "missing ')'"),
        ("/api/stories", {"sort": "date"}, "sort must be one of latest, size"),
        ("/api/stories", {"size": "0"}, "size must be a whole number from 1 to 100"),
        ("/api/stories", {"size": "101"}, "size must be a whole number from 1 to 100"),
        ("/api/stories", {"offset": "-1"}, "offset must be a whole number"),
        ("/api/stories", {"offset": "9990", "size": "20"}, "offset + size must stay within 10000"),
        ("/api/stories", {"since": "2023-06-25", "until": "2023-06-24"}, "the date range is empty"),
        ("/api/stories", {"story": "mutiny"}, "unknown parameter 'story'"),
        ("/api/stories", {"facets": "true"}, "unknown parameter 'facets'"),
        ("/api/stories", {"q": ["wagner", "putin"]}, "at most once"),
        ("/api/stories", {"entity": "Bel\x00arus"}, "control character"),
        ("/api/stories/mutiny", {"size": "5"}, "unknown parameter 'size'"),
    ],
)
def test_bad_story_parameters_are_a_400_with_one_line(
    client: TestClient, path: str, params: dict, expected: str
) -> None:
    assert expected in _error(client.get(path, params=params), 400)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    source=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    sort=st.text(max_size=8),
    offset=st.one_of(st.text(max_size=8), st.integers(-5, 10_005).map(str)),
    story=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60),
)
def test_any_story_parameters_give_200_or_a_clear_4xx(
    client: TestClient, query: str, source: str, sort: str, offset: str, story: str
) -> None:
    response = client.get("/api/stories", params={"q": query, "source": source, "sort": sort, "offset": offset})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        _error(response, 400)
    one = client.get("/api/stories/" + quote(story, safe=""))
    assert one.status_code in (200, 404), one.text


# --- health and an unavailable store --------------------------------------------------------------------------------


def test_health_counts_the_articles_and_says_when_the_last_was_indexed(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    health = response.json()
    assert (health["status"], health["articles"]) == ("ok", 5)
    newest = client.get(f"/api/articles/{health['last_indexed_article']}").json()
    assert health["last_indexed"] == newest["enrichment"]["enriched_at"]


def test_metrics_count_the_requests_answered_and_the_articles_held(client: TestClient) -> None:
    client.get("/api/search", params={"q": "wagner"})
    client.get("/api/articles/0123456789abcdef0123456789abcdef")  # a 404, counted under its route
    text = client.get("/metrics").text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"}
    assert samples["newswire_store_articles"] == 5
    assert samples['newswire_http_requests_total{method="GET",route="/api/search",status="200"}'] >= 1
    assert samples['newswire_http_requests_total{method="GET",route="/api/articles/{id}",status="404"}'] >= 1
    assert "process_resident_memory_bytes" in samples


def test_a_missing_store_is_a_503_not_a_crash(tmp_path: Path) -> None:
    with TestClient(create_app(lambda: EmbeddedStore(tmp_path / "absent.sqlite3")), base_url=LOCAL) as missing:
        health = missing.get("/api/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        assert "unavailable" in health.json()["error"]
        message = _error(missing.get("/api/search", params={"q": "wagner"}), 503)
        assert "unavailable" in message
        assert str(tmp_path) not in message and str(tmp_path) not in health.text  # the server's files stay private
        _error(missing.get("/api/articles/abc"), 503)
        assert missing.get("/").status_code == 200  # the page still loads and can say so


class _BrokenStore(SearchStore):
    """A store that fails the way a bug or a refused request would, and records that it was closed."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.closed = False

    def ensure_ready(self) -> None:
        pass

    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        raise self.failure

    def search(self, query: SearchQuery) -> SearchResult:
        raise self.failure

    def stories(self, query: StoryQuery) -> StoriesResult:
        raise self.failure

    def get(self, article_id: str) -> EnrichedArticle | None:
        raise self.failure

    def count(self) -> int:
        raise self.failure

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_a_bug_is_a_json_500_without_traceback_and_the_store_is_closed() -> None:
    store = _BrokenStore(ZeroDivisionError("division by zero in the ranking"))
    with TestClient(create_app(lambda: store), base_url=LOCAL) as broken:
        response = broken.get("/api/search", params={"q": "wagner"})
        message = _error(response, 500)
        assert "division" not in message and "internal error" in message
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert not store.closed
    assert store.closed


def test_a_failing_store_is_a_500_that_says_why() -> None:
    failing_app = create_app(lambda: _BrokenStore(SearchError("the index news-v1 is read-only")))
    with TestClient(failing_app, base_url=LOCAL) as failing:
        assert "read-only" in _error(failing.get("/api/search"), 500)
        assert failing.get("/api/health").status_code == 503


# --- the page and its headers ---------------------------------------------------------------------------------------


def test_the_page_is_served_with_a_strict_csp(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    page = response.text
    assert '<label for="q">' in page and 'role="search"' in page
    assert "<script>" not in page and "style=" not in page  # nothing inline: the CSP would block it
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert "//" not in asset and ":" not in asset, asset  # only files served by the app itself
        assert client.get("/" + asset).status_code == 200


def test_the_assets_have_their_types(client: TestClient) -> None:
    script = client.get("/app.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "textContent" in script.text and "innerHTML" not in script.text
    live = client.get("/live.js")  # the live mode: hits drawn by app.js's drawHit, never as markup
    assert live.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "api/live?" in live.text and "drawHit(hit)" in live.text and "innerHTML" not in live.text
    assert client.get("/app.css").headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/favicon.svg").headers["content-type"] == "image/svg+xml"


def test_api_answers_are_never_cached(client: TestClient) -> None:
    for path in ("/api/search?q=wagner", "/api/health", "/api/search?q=(", "/api/articles/nope"):
        assert client.get(path).headers["cache-control"] == "no-store", path


# --- hostile input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        '"><script>alert(1)</script>',
        "<em>wagner</em>",
        "\x00",
        "wagner\x00",
        "x" * 20_000,
        "*",
        "a*",
        "((((((((((",
        '"' * 999,
        "wagner " * 80,
        "%00",
        "'; DROP TABLE articles; --",
        "NEAR(wagner putin)",
        "title:wagner",
        "\u202e",
    ],
)
def test_hostile_queries_are_a_400_or_an_ordinary_answer(client: TestClient, query: str) -> None:
    response = client.get("/api/search", params={"q": query, "facets": "true", "histogram": "hour"})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        _error(response, 400)
    else:
        assert set(response.json()) == {"total", "hits", "facets", "histogram"}


@pytest.mark.parametrize(
    "raw",
    ["q=%FF%FE%00", "q=%", "q=%zz", "q&q", "entity=%ED%A0%80", "size=1e3", "size=%EF%BC%91", "since=2023-06-24T99"],
)
def test_malformed_query_strings_never_crash(client: TestClient, raw: str) -> None:
    response = client.get("/api/search?" + raw)
    assert response.status_code in (200, 400), response.text


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=_text,
    entity=_text,
    since=st.one_of(st.just(""), _text, st.dates().map(str), st.datetimes().map(lambda moment: moment.isoformat())),
    size=st.one_of(_text, st.integers(-5, 200).map(str)),
)
def test_any_parameters_give_200_or_a_clear_400(
    client: TestClient, query: str, entity: str, since: str, size: str
) -> None:
    response = client.get("/api/search", params={"q": query, "entity": entity, "since": since, "size": size})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        _error(response, 400)


# --- newswire serve -------------------------------------------------------------------------------------------------


def test_listen_on_a_port_in_use_is_a_config_error() -> None:
    taken = listen("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            listen("127.0.0.1", port)
    finally:
        taken.close()


def test_answers_on_a_kept_alive_connection_are_not_held_back_for_an_ack() -> None:
    server = listen("127.0.0.1", 0)
    client = socket.create_connection(server.getsockname()[:2])
    accepted, _ = server.accept()
    try:  # without TCP_NODELAY each answer after the first on a kept-alive connection waited for a delayed ACK
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for each in (accepted, client, server):
            each.close()


_SERVE = """
import argparse, sys
from newswire.app.cli import common_parser, settings_from
from newswire.app.signals import configure_logging
from newswire.app.commands.serve import add_commands
parser = argparse.ArgumentParser(prog="newswire")
add_commands(parser.add_subparsers(dest="command", required=True), [common_parser()])
args = parser.parse_args(sys.argv[1:])
settings = settings_from(args)
configure_logging(settings.log_level)
sys.exit(args.func(args, settings))
"""


@pytest.mark.timeout(120)
def test_serve_answers_on_loopback_and_stops_on_sigterm(store_path: Path) -> None:
    command = [sys.executable, "-c", _SERVE, "serve", "--embedded", "--data-dir", str(store_path.parent), "--port", "0"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as server:
        try:
            assert server.stderr is not None
            address = _served_address(server.stderr)
            assert httpx.get(address + "api/health").json()["articles"] == 5
            assert httpx.get(address + "api/search", params={"q": "lukashenko"}).json()["total"] == 1
            huge = httpx.get(address + "api/search", params={"q": "wagner " * 3_000})  # past uvicorn's line limit
            assert huge.status_code in (400, 414)
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0
            assert "Traceback" not in server.stderr.read()
        finally:
            if server.poll() is None:
                server.kill()


def _served_address(log: IO[str]) -> str:
    """The address ``newswire serve`` logs once it listens (``--port 0`` picks a free one)."""
    lines = []
    while True:
        line = log.readline()
        assert line, "serve exited before listening:\n" + "".join(lines)
        lines.append(line)
        found = re.search(r"serving search on (http://127\.0\.0\.1:\d+/)", line)
        if found:
            return found.group(1)


def test_serve_rejects_a_bad_port() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SERVE, "serve", "--port", "70000"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "not a port number: '70000'" in result.stderr


def test_the_page_json_shapes_match_the_script(client: TestClient) -> None:
    # The script reads these names; a renamed field in the CLI's JSON would leave the page blank.
    document = _search(client, q="wagner", facets="true", histogram="hour")
    script = client.get("/app.js").text
    for name in ("total", "hits", "facets", "histogram", "matched_entities", "highlights", "published", "source"):
        assert name in script
        assert name in json.dumps(document)


def test_the_page_reads_the_story_json_it_is_given(client: TestClient) -> None:
    # The stories view reads these names; a renamed field in the stories JSON would leave it blank.
    listing = json.dumps(_stories(client))
    story = client.get("/api/stories/mutiny").text
    script = client.get("/app.js").text
    for name in ("stories", "story_id", "title", "size", "copies", "sources", "first_published", "last_published"):
        assert name in script and name in listing
    for name in ("top_entities", "label", "count"):
        assert name in script and name in listing
    for name in ("story", "articles", "articles_total"):
        assert name in script and name in story
    assert "api/stories" in script
    page = client.get("/").text
    assert '<select id="view" name="view">' in page
