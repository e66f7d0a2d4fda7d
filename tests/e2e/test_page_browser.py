"""The search page in headless Chromium, used as a person uses it, over ``newswire serve``'s app on an embedded store.

The browser is Debian's Chromium (``scripts/browser-setup`` installs it), driven by playwright's Python package; the
page is served by uvicorn on a free loopback port from a store filled with generated articles about the Wagner
mutiny. Screenshots at 1366x768 and 390x844 go to ``$NEWSWIRE_TEST_ARTIFACTS`` (``tests/e2e/artifacts/`` by default);
``$NEWSWIRE_TEST_CHROMIUM`` names another Chromium binary. Without Chromium or playwright the tests fail under CI
(``CI=true``) and are skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from newswire.app.api import create_app
from newswire.app.commands.serve import listen
from newswire.bus import TopicSpec
from newswire.bus.embedded import EmbeddedBus
from newswire.contract import EnrichedArticle, Entity, Topic, decode_alert, encode_enriched
from newswire.indexer.embedded import EmbeddedStore
from newswire.indexer.service import build_index_stage
from newswire.settings import load_settings
from tests.conftest import REPO, UNDER_CI
from tests.factories import BASE_TIME, article_factory, enriched_factory

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Read at import: the autouse fixture clears NEWSWIRE_* variables before each test.
CHROMIUM = Path(os.environ.get("NEWSWIRE_TEST_CHROMIUM") or "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("NEWSWIRE_TEST_ARTIFACTS") or REPO / "tests" / "e2e" / "artifacts")
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 15_000  # how long an expectation waits for the page (a live arrival takes a poll of the store)

PRIGOZHIN = Entity(name="Yevgeny Prigozhin", label="PERSON", count=4, surface_forms=["Prigozhin"])
WAGNER = Entity(name="Wagner Group", label="ORG", count=3, surface_forms=["Wagner"])
ROSTOV = Entity(name="Rostov-on-Don", label="GPE", count=2)
PUTIN = Entity(name="Vladimir Putin", label="PERSON", count=2, surface_forms=["Putin"])
SHOIGU = Entity(name="Sergei Shoigu", label="PERSON", count=1)
LUKASHENKO = Entity(name="Alexander Lukashenko", label="PERSON", count=2, surface_forms=["Lukashenko"])
BELARUS = Entity(name="Belarus", label="GPE", count=1)
MOSCOW = Entity(name="Moscow", label="GPE", count=1)
WAR = Topic(label="conflict_war_peace", score=0.93)
POLITICS = Topic(label="politics", score=0.64)
SOURCES = ("Harbour Post", "Northern Ledger", "Valley Courier", "Coastline Times")

# The storyline's three events: title words, hours after BASE_TIME (06:00 UTC on 24 June 2023), entities.
EVENTS = (
    ("Wagner mutiny: fighters hold the Rostov-on-Don headquarters", 0.5, [PRIGOZHIN, WAGNER, ROSTOV, SHOIGU]),
    ("Putin calls the Wagner mutiny a stab in the back", 4.0, [PUTIN, WAGNER, PRIGOZHIN, MOSCOW]),
    ("Wagner mutiny ends as Prigozhin agrees to leave for Belarus", 30.0, [PRIGOZHIN, LUKASHENKO, BELARUS, WAGNER]),
)


@dataclass
class Corpus:
    """The generated articles, and the ones a test is about."""

    articles: list[EnrichedArticle]
    storyline_title: str
    without_link: EnrichedArticle
    estimated: EnrichedArticle


def _mutiny_corpus() -> Corpus:
    """Three events of one storyline reported by four outlets each, and an unrelated story that does not match."""
    articles: list[EnrichedArticle] = []
    storyline = ""
    without_link = estimated = None
    for number, (title, hours, entities) in enumerate(EVENTS):
        event = ""
        for index, source in enumerate(SOURCES):
            raw = article_factory(
                url=""
                if (number, index) == (0, 3)
                else f"https://{source.split()[0].lower()}.example/{number}/{index}",
                source=source,
                title=title if index == 0 else f"{title}, {source} reports",
                summary=f"{entities[0].name} and the Wagner mutiny, as {source} saw it.",
                content=f"Wagner Group fighters and the mutiny: {', '.join(e.name for e in entities)} were named.",
                published=BASE_TIME + timedelta(hours=hours + index * 0.75),
                fetched=BASE_TIME + timedelta(hours=hours + index * 0.75, minutes=3),
                published_estimated=(number, index) == (2, 2),
            )
            event = event or raw.id
            storyline = storyline or event
            article = enriched_factory(raw, entities=entities, topics=[WAR, POLITICS]).grouped(event, storyline, None)
            articles.append(article)
            if not raw.url:
                without_link = article
            if raw.published_estimated:
                estimated = article
    grain = ""
    for index in range(2):
        raw = article_factory(
            source=SOURCES[index],
            title=f"Grain corridor talks resume in Istanbul ({index})",
            summary="Negotiators meet again over grain shipments.",
            content="Negotiators met again over grain shipments through the Black Sea.",
            published=BASE_TIME + timedelta(days=2, hours=index),
        )
        grain = grain or raw.id
        talks = enriched_factory(raw, entities=[Entity(name="Istanbul", label="GPE", count=1)], topics=[POLITICS])
        articles.append(talks.grouped(grain, grain, None))
    assert without_link is not None and estimated is not None
    return Corpus(articles, EVENTS[0][0], without_link, estimated)


@dataclass
class Served:
    """The page served over a store: its address, the store (to write arrivals into) and the articles in it."""

    address: str
    store: EmbeddedStore
    corpus: Corpus


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium; a clear failure under CI, a skip with the reason elsewhere, when it is missing."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is missing: pip install playwright==1.65.2 (the browser is Debian's)"
    if problem is None and not CHROMIUM.exists():
        problem = f"Chromium is missing at {CHROMIUM}: run scripts/browser-setup (as root; it uses apt)"
    if problem is not None:
        if UNDER_CI:
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``newswire serve``'s app over a filled embedded store, under uvicorn on a free loopback port."""
    corpus = _mutiny_corpus()
    path = tmp_path / "search.sqlite3"
    store = EmbeddedStore(path)
    store.ensure_ready()
    store.upsert(corpus.articles)
    app = create_app(lambda: EmbeddedStore(path))
    sock = listen("127.0.0.1", 0)
    config = uvicorn.Config(
        app, log_config=None, server_header=False, lifespan="on", ws="none", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="page-server", daemon=True)
    thread.start()
    try:
        _wait_for(lambda: server.started or not thread.is_alive())
        assert server.started, "uvicorn did not start"
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}/", store, corpus)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "uvicorn did not stop"
        sock.close()
        store.close()


def _wait_for(condition: Callable[[], bool]) -> None:
    done = threading.Event()
    for _ in range(300):
        if condition():
            return
        done.wait(0.05)


@pytest.fixture
def open_page(browser: Browser, served: Served) -> Iterator[Callable[[dict[str, int]], Page]]:
    """A new page at a viewport, in Tokyo's time zone (so local and UTC times differ); no script error allowed.

    It needs ``served`` so that its pages (and their live streams) close before the server stops."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(viewport: dict[str, int]) -> Page:
        context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Asia/Tokyo")
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == []  # a CSP refusal or a script error shows here


def _search(page: Page, served: Served, text: str = "wagner mutiny") -> None:
    page.goto(served.address)
    page.get_by_label("Search articles").fill(text)
    page.get_by_label("Search articles").press("Enter")
    _expect(page.locator("#status")).to_have_text(re.compile(r"\d+ articles match"))


def _expect(locator: Any) -> Any:
    from playwright.sync_api import expect

    return expect(locator)


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_a_search_shows_hits_with_all_their_entities_local_times_and_estimated_dates(open_page, served) -> None:
    page = open_page(DESKTOP)
    _search(page, served)
    _expect(page.locator("#status")).to_have_text(re.compile(r"^12 articles match; showing 1\u201310"))
    first = page.locator(".hit").first
    chips = first.locator(".entities .chip")
    _expect(chips).to_have_count(4)  # all four, not only Wagner Group, which the search named
    _expect(first.locator(".entities .chip.matched")).to_have_text(["Wagner Group"])
    # Times in the reader's zone (Tokyo, UTC+9), UTC in the tooltip.
    published = first.locator("time").first
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", published.get_attribute("title") or "")
    assert "GMT+9" in published.inner_text()
    _search(page, served, "belarus")  # the event whose Valley Courier report came without a date
    estimated = page.locator(f'.hit[data-id="{served.corpus.estimated.id}"]')
    _expect(estimated.locator(".estimated")).to_have_text("date estimated")
    assert page.locator(".estimated").count() == 1
    page.get_by_label("Sort by").select_option("date")  # newest first: the estimated date comes after the dated
    _expect(page.locator(".hit").last).to_have_attribute("data-id", served.corpus.estimated.id)
    _expect(page.locator("#health")).to_contain_text("14 articles indexed")
    _shot(page, "search-1366x768")


def test_clicking_an_entity_applies_it_as_a_filter(open_page, served) -> None:
    page = open_page(DESKTOP)
    _search(page, served)
    page.locator(".hit .entities").get_by_role("button", name="Sergei Shoigu", exact=True).first.click()
    _expect(page.get_by_role("button", name="Remove entity filter Sergei Shoigu")).to_be_visible()
    _expect(page.locator("#status")).to_have_text(re.compile(r"^4 articles match"))
    assert "entity=Sergei+Shoigu" in page.url
    _expect(page.locator("#facet-entities .facet[aria-pressed=true]")).to_contain_text("Sergei Shoigu")


def test_a_storyline_opens_with_its_events_coverage_entities_and_sources(open_page, served) -> None:
    page = open_page(DESKTOP)
    _search(page, served)
    page.locator(".hit").first.get_by_role("button", name="Whole storyline").click()
    _expect(page.locator("#status strong")).to_have_text(served.corpus.storyline_title)
    _expect(page.locator(".event-head")).to_have_count(3)
    _expect(page.locator("#histogram-heading")).to_have_text("Coverage of this storyline (UTC)")
    _expect(page.locator("#facet-sources .facet-value")).to_have_text(sorted(SOURCES), use_inner_text=True)
    _expect(page.locator("#facet-entities .facet-value").first).to_have_text("Wagner Group")
    _expect(page.locator("#coverage rect")).to_have_count(2)  # 24 and 25 June
    _shot(page, "storyline-1366x768")
    page.locator(".event-head").nth(1).get_by_role("button").click()  # one event, with its own coverage
    _expect(page.locator("#histogram-heading")).to_have_text("Coverage of this event (UTC)")
    _expect(page.locator(".hit")).to_have_count(4)


def test_the_article_view_shows_everything_also_for_an_article_without_a_link(open_page, served) -> None:
    page = open_page(DESKTOP)
    _search(page, served)
    page.get_by_label("Sort by").select_option("date")
    newest = page.locator(".hit").first
    _expect(newest.locator("h3")).to_have_text(EVENTS[2][0] + ", Coastline Times reports")
    newest.get_by_role("link", name="Article view").click()
    view = page.locator("#article-view")
    _expect(view.locator("h2")).to_have_text(EVENTS[2][0] + ", Coastline Times reports")
    _expect(view.get_by_role("link", name="Read it at coastline.example")).to_be_visible()
    _expect(view.locator(".chips .chip")).to_have_count(4)
    _expect(view.locator(".facts")).to_contain_text("Conflict, war and peace, Politics")
    _expect(view.locator(".facts")).to_contain_text(EVENTS[2][0] + " (4 articles)")
    _expect(view.locator(".facts")).to_contain_text(served.corpus.storyline_title + " (3 events, 12 articles)")
    _expect(view.locator(".meta")).to_contain_text("fetched")
    _shot(page, "article-1366x768")
    assert page.locator("#results-view").is_hidden()
    view.get_by_role("button", name="Back to the results").click()
    _expect(page.locator(".hit").first).to_be_visible()

    # The article without a link: its title opens it in the page, and its address can be shared.
    page.goto(served.address + "?q=wagner+mutiny&source=Coastline+Times#article=" + served.corpus.without_link.id)
    _expect(view.locator("h2")).to_have_text(served.corpus.without_link.title)
    _expect(view.locator(".article-link")).to_contain_text("No link")
    _expect(view.locator(".facts")).to_contain_text("Conflict, war and peace")
    view.get_by_role("button", name="Back to the results").click()
    no_link = page.locator(f'.hit[data-id="{served.corpus.without_link.id}"] h3 a')
    assert (no_link.get_attribute("href") or "").startswith("#article=")
    no_link.click()
    _expect(view.locator(".article-link")).to_contain_text("No link")
    view.get_by_role("button", name="Yevgeny Prigozhin").click()  # an entity there searches with it
    _expect(page.get_by_role("button", name="Remove entity filter Yevgeny Prigozhin")).to_be_visible()
    assert page.locator("#article-view").is_hidden()


def test_the_chart_counts_on_its_axis_and_a_bar_narrows_the_dates(open_page, served) -> None:
    page = open_page(DESKTOP)
    _search(page, served)
    _expect(page.locator("#coverage .tick")).to_have_text(["0", "2", "4", "6", "8"])
    page.locator("#coverage rect").first.click()  # 24 June: 8 articles
    _expect(page.locator("#status")).to_have_text(re.compile(r"^8 articles match"))
    _expect(page.get_by_role("button", name=re.compile("Remove the date range 2023-06-24"))).to_be_visible()
    assert "from=2023-06-24" in page.url and "to=2023-06-24" in page.url
    _expect(page.get_by_label("Coverage per")).to_have_value("hour")  # the day now counted per hour
    page.locator('#coverage rect[data-start="2023-06-24T08:00:00Z"]').click()  # 08:00 and 08:45 UTC
    _expect(page.locator("#status")).to_have_text(re.compile(r"^2 articles match"))
    assert "from=2023-06-24T08" in page.url and "to=2023-06-24T08" in page.url
    _shot(page, "chart-narrowed-1366x768")


def test_live_puts_a_newly_indexed_article_on_top(open_page, served) -> None:
    page = open_page(DESKTOP)
    _search(page, served)
    page.get_by_label("Live: add new articles as they are indexed").check()
    _expect(page.locator("#live-marker")).to_have_text("Live: waiting for new articles")
    arrival = enriched_factory(
        article_factory(title="Wagner mutiny: convoy turns back 200 km from Moscow", source="Valley Courier"),
        entities=[WAGNER, MOSCOW],
    )
    served.store.upsert([arrival])
    first = page.locator(".hit").first
    _expect(first.locator("h3")).to_have_text(arrival.title)
    _expect(first).to_have_class(re.compile(r"\bnew\b"))
    _expect(page.locator("#live-marker")).to_have_text("1 new")
    _expect(page.locator("#health")).to_contain_text("15 articles indexed")


def test_on_a_phone_the_results_come_before_the_filters(open_page, served) -> None:
    page = open_page(PHONE)
    _search(page, served)
    first = page.locator(".hit").first
    box = first.bounding_box()
    assert box is not None and box["y"] + 40 < PHONE["height"]  # the first hit's title is on the first screen
    assert page.get_by_label("Entity", exact=True).is_hidden()  # the filters are folded
    _shot(page, "search-390x844")
    page.get_by_text("Filters and options").click()
    _expect(page.get_by_label("Entity", exact=True)).to_be_visible()
    first.get_by_role("link", name="Article view").click()
    _expect(page.locator("#article-view h2")).to_be_in_viewport()
    _shot(page, "article-390x844")


def test_a_search_saved_on_the_page_alerts_when_the_indexer_writes_a_match(open_page, served, tmp_path) -> None:
    page = open_page(DESKTOP)
    _search(page, served)
    page.get_by_label("Saved search name").fill("Wagner convoy")
    page.get_by_role("button", name="Save this search").click()
    _expect(page.locator("#saved-status")).to_contain_text("Saved as ss-")
    _expect(page.locator("#saved-list .saved-item strong")).to_have_text(["Wagner convoy"])
    (saved,) = served.store.saved_searches()
    assert (saved.name, saved.text, saved.kind) == ("Wagner convoy", "wagner mutiny", "articles")
    # The indexer, on the embedded bus, writes a matching article and sends its alert.
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([TopicSpec("news.enriched", 1), TopicSpec("news.alerts", 1), TopicSpec("news.deadletter", 1)])
    arrival = enriched_factory(article_factory(title="Wagner mutiny: the convoy turns back 200 km from Moscow"))
    producer = bus.producer()
    producer.send("news.enriched", arrival.id.encode(), encode_enriched(arrival))
    producer.flush()
    stage = build_index_stage(load_settings(), bus, served.store)
    stop = threading.Event()
    runner = threading.Thread(target=stage.run, args=(stop,))
    runner.start()
    _wait_for(lambda: stage.counters["consumed"] >= 1)
    stop.set()
    runner.join()
    consumer = bus.consumer(["news.alerts"], "reader")
    alerts = [decode_alert(record.value) for record in consumer.poll(10, 5.0)]
    consumer.close()
    bus.close()
    assert [(alert.saved_search.id, alert.article.id) for alert in alerts] == [(saved.id, arrival.id)]
    page.locator("#saved-list .saved-item").get_by_role("button", name="Delete").click()
    _expect(page.locator("#saved-list .saved-item")).to_have_count(0)
    assert served.store.saved_searches() == ()
