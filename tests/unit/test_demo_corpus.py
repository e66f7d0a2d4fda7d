"""The labelled story set (processors/eval/stories.jsonl) and the demo feeds built from it (deploy/demo).

The story set is what story grouping, duplicate detection and enrichment are measured on, and the demo feeds are
what a user sees first; these tests keep both well-formed and keep the committed feeds in step with the script.
"""

from __future__ import annotations

import calendar
import collections
import importlib.util
import itertools
import re
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import feedparser
import pytest

Story = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "deploy" / "demo"

# Everything that is not the Wagner mutiny: the distractors of search and story grouping.
DISTRACTORS = {
    "cup-final": "sport",
    "linden-open-tennis": "sport",
    "southern-europe-heatwave": "weather",
    "ecb-sintra": "economy",
    "nordvik-battery-plant": "economy",
    "avonbridge-ring-opera": "culture",
}
FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "url": str,
    "source": str,
    "feed": str,
    "published": str,
    "title": str,
    "summary": str,
    "text": str,
    "authors": list,
    "categories": list,
    "story": str,
    "event": str,
    "storyline": str,
    "duplicate_of": (str, type(None)),
}


def _load_build_feeds() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_build_feeds", DEMO / "build_feeds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is being built
    spec.loader.exec_module(module)
    return module


build_feeds = _load_build_feeds()
STORIES: list[Story] = build_feeds.load_stories()
BY_ID = {story["id"]: story for story in STORIES}


def published(story: Story) -> datetime:
    return datetime.fromisoformat(story["published"].replace("Z", "+00:00"))


def shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def overlap(a: Story, b: Story) -> float:
    left, right = shingles(a["text"]), shingles(b["text"])
    return len(left & right) / len(left | right)


def same_copy_family(a: Story, b: Story) -> bool:
    root_a: str = a["duplicate_of"] or a["id"]
    root_b: str = b["duplicate_of"] or b["id"]
    return root_a == root_b


def is_mutiny(story: Story) -> bool:
    return story["story"] not in DISTRACTORS


# -- the story set -----------------------------------------------------------------------------------------------


def test_every_article_has_every_field_with_its_type():
    for story in STORIES:
        assert set(story) == set(FIELDS), story["id"]
        for name, kind in FIELDS.items():
            assert isinstance(story[name], kind), (story["id"], name)
        assert story["title"].strip() and story["summary"].strip(), story["id"]
        assert story["authors"] and all(isinstance(author, str) and author for author in story["authors"])
        assert story["categories"] and all(isinstance(category, str) and category for category in story["categories"])


def test_ids_and_urls_are_unique():
    ids = [story["id"] for story in STORIES]
    urls = [story["url"] for story in STORIES]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"s\d{3}", article_id) for article_id in ids)
    assert len(set(urls)) == len(urls)


def test_outlets_are_fictional_and_each_feed_is_one_outlet():
    outlet_of_feed: dict[str, set[str]] = collections.defaultdict(set)
    for story in STORIES:
        host = re.fullmatch(r"https://([a-z0-9.-]+)/\S+", story["url"])
        assert host, story["url"]
        assert host.group(1).endswith(".example"), story["url"]
        outlet_of_feed[story["feed"]].add(story["source"])
        assert story["feed"] == story["source"].lower().replace(" ", "-")
    assert all(len(outlets) == 1 for outlets in outlet_of_feed.values())
    assert len(outlet_of_feed) >= 6


def test_articles_are_short_news_copy_of_60_to_200_words():
    lengths = [len(story["text"].split()) for story in STORIES]
    assert min(lengths) >= 60
    assert max(lengths) <= 200
    # Varied lengths: wire flashes as well as longer pieces.
    assert min(lengths) < 80 < 180 < max(lengths)
    for story in STORIES:
        assert "\n\n" in story["text"], f"{story['id']} has a single paragraph"
        assert story["text"] == story["text"].strip()


def test_publication_times_spread_over_23_to_27_june_with_a_peak_on_the_24th():
    days = collections.Counter(published(story).date().isoformat() for story in STORIES)
    assert set(days) == {f"2023-06-{day}" for day in range(23, 28)}
    assert days.most_common(1)[0][0] == "2023-06-24"
    busy_hours = collections.Counter(published(story).hour for story in STORIES if published(story).day == 24)
    assert sum(1 for count in busy_hours.values() if count >= 3) >= 3
    assert all(story["published"].endswith("Z") for story in STORIES)


def test_corpus_has_the_story_structure_evaluation_needs():
    assert len(STORIES) >= 75
    by_story: dict[str, list[Story]] = collections.defaultdict(list)
    for story in STORIES:
        by_story[story["story"]].append(story)
    mutiny = {label: stories for label, stories in by_story.items() if label not in DISTRACTORS}
    big_from_many_outlets = [
        label for label, stories in mutiny.items() if len({s["source"] for s in stories if not s["duplicate_of"]}) >= 4
    ]
    assert len(big_from_many_outlets) >= 8
    distractors = [label for label in DISTRACTORS if len(by_story[label]) >= 3]
    assert len(distractors) == len(DISTRACTORS)
    assert {"sport", "economy", "weather"} <= {DISTRACTORS[label] for label in distractors}


def test_every_duplicate_is_a_later_copy_of_an_original_in_the_same_story():
    duplicates = [story for story in STORIES if story["duplicate_of"]]
    assert len(duplicates) >= 8
    for copy in duplicates:
        original = BY_ID.get(copy["duplicate_of"])
        assert original is not None, copy["id"]
        assert original["duplicate_of"] is None, f"{copy['id']} points at another copy"
        assert original["story"] == copy["story"]
        assert published(original) < published(copy)
        assert STORIES.index(original) < STORIES.index(copy)
        assert original["source"] != copy["source"]
        assert original["url"] != copy["url"]
        assert overlap(original, copy) >= 0.6, f"{copy['id']} is not a copy of {original['id']}"


def test_articles_that_are_not_copies_are_written_independently():
    for a, b in itertools.combinations(STORIES, 2):
        if not same_copy_family(a, b):
            assert overlap(a, b) < 0.1, f"{a['id']} and {b['id']} share too much text"


def test_distractors_name_none_of_the_mutiny_protagonists():
    protagonists = ("Prigozhin", "Putin", "Shoigu", "Gerasimov", "Lukashenko", "Rostov")
    for story in STORIES:
        if not is_mutiny(story):
            text = " ".join((story["title"], story["summary"], story["text"]))
            assert not any(name in text for name in protagonists), story["id"]


# -- the demo feeds ----------------------------------------------------------------------------------------------


def parsed(spec) -> feedparser.FeedParserDict:
    return feedparser.parse((DEMO / "feeds" / f"{spec.slug}.xml").read_bytes())


def demo_stories() -> list[Story]:
    return [BY_ID[item] for spec in build_feeds.DEMO_FEEDS for item in spec.items]


@pytest.mark.parametrize("spec", build_feeds.DEMO_FEEDS, ids=lambda spec: spec.slug)
def test_each_feed_parses_with_its_stories(spec):
    feed = parsed(spec)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == ("atom10" if spec.shape.startswith("atom") else "rss20")
    assert feed.feed.title == spec.title
    assert len(feed.entries) == len(spec.items)
    assert sorted(entry.title for entry in feed.entries) == sorted(BY_ID[item]["title"] for item in spec.items)
    for entry in feed.entries:
        story = next(BY_ID[item] for item in spec.items if BY_ID[item]["title"] == entry.title)
        assert entry.get("id"), entry.title
        if story["id"] not in spec.linkless:
            assert entry.link == story["url"]
        if story["id"] not in spec.undated:
            assert calendar.timegm(entry.published_parsed) == int(published(story).timestamp())
        assert [author.name for author in entry.authors] == story["authors"]
        assert [tag.term for tag in entry.tags] == story["categories"]


def test_feeds_cover_the_shapes_the_poller_must_handle():
    shapes = {spec.shape: spec for spec in build_feeds.DEMO_FEEDS}
    assert {"rss-content", "rss-html", "rss-plain", "atom-text", "atom-xhtml"} <= set(shapes)

    content = parsed(shapes["rss-content"]).entries[0].content[0]
    assert content.type == "text/html" and "<p>" in content.value

    html_summaries = parsed(shapes["rss-html"]).entries
    assert all("<p>" in entry.summary for entry in html_summaries)
    assert sum(1 for entry in html_summaries if not entry.get("published_parsed")) == 1

    plain = parsed(shapes["rss-plain"]).entries
    linkless = [entry for entry in plain if not entry.get("link")]
    assert len(linkless) == 1 and linkless[0].id.startswith("urn:uuid:")

    offsets = {spec.utc_offset_hours for spec in build_feeds.DEMO_FEEDS}
    assert len(offsets) >= 4, "dates should come in several time zones"


def test_demo_subset_covers_the_mutiny_the_distractors_and_copies():
    demo = demo_stories()
    assert 30 <= len(demo) <= 36
    assert len({story["id"] for story in demo}) == len(demo)
    mutiny = [story for story in demo if is_mutiny(story)]
    assert len(mutiny) >= 18
    kinds = collections.Counter(DISTRACTORS[story["story"]] for story in demo if not is_mutiny(story))
    assert kinds["sport"] >= 3 and kinds["economy"] >= 3
    weather = [story for story in demo if "Weather" in story["categories"] or story["story"].endswith("heatwave")]
    assert len(weather) >= 3
    copies = [story for story in demo if story["duplicate_of"]]
    assert len(copies) >= 2
    assert any(BY_ID[copy["duplicate_of"]] in demo for copy in copies), "a copy should meet its original"
    mutiny_text = " ".join(story["title"] + " " + story["text"] for story in mutiny)
    for name in ("Prigozhin", "Rostov-on-Don", "Moscow", "Putin", "Shoigu", "Gerasimov", "Lukashenko", "Belarus"):
        assert name in mutiny_text, name
    assert "Wagner Group" in mutiny_text


def test_committed_files_are_what_the_script_builds():
    files = build_feeds.render(STORIES)
    assert files == build_feeds.render(STORIES)
    expected = {f"feeds/{spec.slug}.xml" for spec in build_feeds.DEMO_FEEDS} | {"feeds.txt", "feeds.opml"}
    assert set(files) == expected
    for path, data in files.items():
        assert (DEMO / path).read_bytes() == data, f"{path} is stale: run python deploy/demo/build_feeds.py"
    assert sorted(path.name for path in (DEMO / "feeds").iterdir()) == sorted(
        f"{spec.slug}.xml" for spec in build_feeds.DEMO_FEEDS
    )


def test_script_writes_the_files_and_checks_them(tmp_path, capsys):
    assert build_feeds.main(["--out", str(tmp_path), "--check"]) == 1
    assert build_feeds.main(["--out", str(tmp_path)]) == 0
    assert build_feeds.main(["--out", str(tmp_path), "--check"]) == 0
    assert (tmp_path / "feeds" / "eastern-wire.xml").read_bytes() == (DEMO / "feeds" / "eastern-wire.xml").read_bytes()
    (tmp_path / "feeds.txt").write_text("edited by hand\n")
    assert build_feeds.main(["--out", str(tmp_path), "--check"]) == 1
    assert "feeds.txt" in capsys.readouterr().err


def test_feed_lists_name_every_feed_with_its_outlet():
    urls = [f"http://127.0.0.1:8808/{spec.slug}.xml" for spec in build_feeds.DEMO_FEEDS]
    lines = (DEMO / "feeds.txt").read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if not line.startswith("#")] == urls
    root = ET.fromstring((DEMO / "feeds.opml").read_bytes())
    assert root.get("version") == "2.0"
    outlines = [outline for outline in root.iter("outline") if outline.get("xmlUrl")]
    assert [outline.get("xmlUrl") for outline in outlines] == urls
    assert [outline.get("title") for outline in outlines] == [spec.title for spec in build_feeds.DEMO_FEEDS]


def test_the_poller_reads_both_feed_lists():
    from newswire.ingest.opml import read_feed_file

    from_text = read_feed_file(DEMO / "feeds.txt")
    from_opml = read_feed_file(DEMO / "feeds.opml")
    assert [feed.url for feed in from_text] == [feed.url for feed in from_opml]
    assert len(from_opml) == len(build_feeds.DEMO_FEEDS)
    assert {feed.title for feed in from_opml} == {spec.title for spec in build_feeds.DEMO_FEEDS}
