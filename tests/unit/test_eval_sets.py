"""The labelled evaluation sets in ``processors/eval`` are well-formed and keep the promises of their README.

The topic classifier and the entity cleaning are measured against these files, so a malformed line, a label outside
the IPTC list, or a gold entity that the article never mentions would silently distort every score computed on them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from newswire.processors.base import TOPIC_LABELS
from newswire.processors.evaluate import bcubed

EVAL_DIR = Path(__file__).resolve().parents[2] / "processors" / "eval"

IPTC_TOPICS = frozenset(TOPIC_LABELS)
ENTITY_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"})

# Page furniture a scraper drags in with the story. Names that appear only on such lines are not gold entities.
NOISE_LINE = re.compile(
    r"^\s*(read more\b|most read\b|share this article|subscribe\b|sign up\b|photo:|advertisement\b|follow us\b)",
    re.IGNORECASE,
)

# The naming conventions of the README under which a canonical name need not be spelled out in the article.
CONVENTIONAL_ALIASES: dict[str, tuple[str, ...]] = {
    "Wagner Group": ("Wagner", "PMC Wagner"),
    "Russian Defence Ministry": ("Defence Ministry", "Ministry of Defence", "defence ministry"),
    "United States": ("US", "U.S.", "USA", "America"),
    "Britain": ("UK", "United Kingdom"),
    "Bakhmut": ("Artemovsk",),
    "United Nations": ("UN",),
    "European Union": ("EU",),
    "Conservative Party": ("Conservatives", "Tories", "Tory"),
    "Labour Party": ("Labour",),
    "Manchester City": ("Man City", "City"),
    "Tottenham Hotspur": ("Spurs", "Tottenham"),
}
GENERIC_TAIL_WORDS = ("Group", "Party", "Company", "Club")
TITLE_WORDS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "sir",
        "president",
        "general",
        "gen",
        "colonel",
        "minister",
        "defence",
        "prime",
        "chancellor",
        "governor",
        "mayor",
        "councillor",
        "senator",
        "judge",
        "captain",
        "coach",
        "deputy",
        "chief",
        "spokesman",
        "the",
    }
)


def _read_jsonl(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    path = EVAL_DIR / name
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{name}:{number} is not JSON: {exc}")
        assert isinstance(row, dict), f"{name}:{number} is not a JSON object"
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def topic_articles() -> list[dict[str, Any]]:
    return _read_jsonl("topics.jsonl")


@pytest.fixture(scope="module")
def entity_articles() -> list[dict[str, Any]]:
    return _read_jsonl("entities.jsonl")


def _fold(text: str) -> str:
    """Text as a reader compares names: typographic quotes straightened, runs of whitespace (line breaks) as one."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().casefold()


def _mentions(text: str, name: str) -> bool:
    """Whether ``name`` occurs in ``text`` as whole words, allowing a plural or possessive ending."""
    pattern = r"(?<!\w)" + re.escape(_fold(name)) + r"(?:'s|s'|s|')?(?!\w)"
    return re.search(pattern, _fold(text)) is not None


def _story(article: dict[str, Any]) -> str:
    """Title and body without the page-furniture lines."""
    text: str = article["text"]
    body = "\n".join(line for line in text.splitlines() if not NOISE_LINE.match(line))
    return f"{article['title']}\n{body}"


def _is_mentioned(story: str, name: str, label: str) -> bool:
    if _mentions(story, name):
        return True
    if label == "PERSON" and " " in name and _mentions(story, name.split()[-1]):
        return True
    for generic in GENERIC_TAIL_WORDS:
        if name.endswith(" " + generic) and _mentions(story, name.removesuffix(" " + generic)):
            return True
    return any(_mentions(story, alias) for alias in CONVENTIONAL_ALIASES.get(name, ()))


def _words(text: str) -> int:
    return len(text.split())


# -- topics ------------------------------------------------------------------------------------------------------


def test_topic_articles_have_exactly_the_documented_fields(topic_articles: list[dict[str, Any]]) -> None:
    for article in topic_articles:
        assert set(article) == {"id", "title", "text", "topics"}, article.get("id")
        assert isinstance(article["title"], str) and article["title"].strip(), article["id"]
        assert isinstance(article["text"], str), article["id"]
        assert isinstance(article["topics"], list), article["id"]


def test_topic_ids_are_unique_and_well_formed(topic_articles: list[dict[str, Any]]) -> None:
    ids = [article["id"] for article in topic_articles]
    assert all(re.fullmatch(r"t\d{3}", article_id) for article_id in ids)
    assert len(ids) == len(set(ids))


def test_topic_labels_are_iptc_slugs_without_repeats(topic_articles: list[dict[str, Any]]) -> None:
    for article in topic_articles:
        labels = article["topics"]
        assert 1 <= len(labels) <= 2, article["id"]
        assert len(labels) == len(set(labels)), article["id"]
        assert set(labels) <= IPTC_TOPICS, (article["id"], set(labels) - IPTC_TOPICS)


def test_topic_set_is_large_enough_and_every_topic_is_represented(topic_articles: list[dict[str, Any]]) -> None:
    assert len(topic_articles) >= 150
    counts = Counter(label for article in topic_articles for label in article["topics"])
    thin = {topic: counts[topic] for topic in IPTC_TOPICS if counts[topic] < 8}
    assert not thin, f"topics with fewer than 8 articles: {thin}"


def test_about_a_third_of_topic_articles_carry_two_labels(topic_articles: list[dict[str, Any]]) -> None:
    share = sum(len(article["topics"]) == 2 for article in topic_articles) / len(topic_articles)
    assert 0.25 <= share <= 0.45, share


def test_topic_articles_are_short_single_paragraph_news(topic_articles: list[dict[str, Any]]) -> None:
    for article in topic_articles:
        text = article["text"]
        assert 40 <= _words(text) <= 120, (article["id"], _words(text))
        assert text == text.strip() and "\n" not in text, article["id"]
        assert text == unicodedata.normalize("NFC", text), article["id"]


def test_topic_articles_are_not_repeated(topic_articles: list[dict[str, Any]]) -> None:
    titles = Counter(_fold(article["title"]) for article in topic_articles)
    texts = Counter(_fold(article["text"]) for article in topic_articles)
    assert [title for title, n in titles.items() if n > 1] == []
    assert max(texts.values()) == 1


def test_topic_set_mixes_the_war_with_everything_else(topic_articles: list[dict[str, Any]]) -> None:
    war = re.compile(r"wagner|prigozhin|ukrain|kremlin|kyiv|kharkiv|dnipro", re.IGNORECASE)
    about_war = sum(bool(war.search(article["title"] + " " + article["text"])) for article in topic_articles)
    assert 15 <= about_war <= len(topic_articles) // 6, about_war


# -- entities ----------------------------------------------------------------------------------------------------


def test_entity_articles_have_exactly_the_documented_fields(entity_articles: list[dict[str, Any]]) -> None:
    for article in entity_articles:
        assert set(article) == {"id", "title", "text", "entities"}, article.get("id")
        assert isinstance(article["title"], str) and article["title"].strip(), article["id"]
        assert isinstance(article["entities"], list) and article["entities"], article["id"]
        for entity in article["entities"]:
            assert set(entity) == {"name", "label"}, (article["id"], entity)


def test_entity_ids_are_unique_and_well_formed(entity_articles: list[dict[str, Any]]) -> None:
    ids = [article["id"] for article in entity_articles]
    assert all(re.fullmatch(r"e\d{3}", article_id) for article_id in ids)
    assert len(ids) == len(set(ids))


def test_entity_set_is_large_enough_and_articles_are_news_length(entity_articles: list[dict[str, Any]]) -> None:
    assert len(entity_articles) >= 40
    for article in entity_articles:
        assert 80 <= _words(article["text"]) <= 250, (article["id"], _words(article["text"]))


def test_entity_labels_are_known_and_each_is_used(entity_articles: list[dict[str, Any]]) -> None:
    counts = Counter(entity["label"] for article in entity_articles for entity in article["entities"])
    assert set(counts) <= ENTITY_LABELS, set(counts) - ENTITY_LABELS
    assert all(counts[label] >= 5 for label in ENTITY_LABELS), counts


def test_each_gold_entity_is_listed_once_per_article(entity_articles: list[dict[str, Any]]) -> None:
    for article in entity_articles:
        names = Counter(_fold(entity["name"]) for entity in article["entities"])
        assert [name for name, n in names.items() if n > 1] == [], article["id"]


def test_gold_names_are_canonical(entity_articles: list[dict[str, Any]]) -> None:
    for article in entity_articles:
        for entity in article["entities"]:
            name = entity["name"]
            assert name == name.strip() and "  " not in name and "\n" not in name, (article["id"], name)
            assert not re.search(r"['\u2019]s?$", name), f"{article['id']}: possessive in {name!r}"
            assert not set("\u2018\u2019\u201c\u201d") & set(name), f"{article['id']}: typographic quote in {name!r}"
            first = name.split()[0].rstrip(".").casefold()
            assert first not in TITLE_WORDS, f"{article['id']}: title or article word leads {name!r}"


def test_a_person_is_one_entity_under_the_fullest_name(entity_articles: list[dict[str, Any]]) -> None:
    for article in entity_articles:
        people = [entity["name"] for entity in article["entities"] if entity["label"] == "PERSON"]
        for short in people:
            longer = [full for full in people if full != short and full.endswith(" " + short)]
            assert not longer, f"{article['id']}: {short!r} is a partial form of {longer}"


def test_every_gold_entity_is_named_in_the_story(entity_articles: list[dict[str, Any]]) -> None:
    missing = [
        (article["id"], entity["name"])
        for article in entity_articles
        for entity in article["entities"]
        if not _is_mentioned(_story(article), entity["name"], entity["label"])
    ]
    assert missing == []


def test_entity_set_covers_the_hard_cases(entity_articles: list[dict[str, Any]]) -> None:
    texts = [article["text"] for article in entity_articles]
    with_noise = sum(any(NOISE_LINE.match(line) for line in text.splitlines()) for text in texts)
    curly_possessive = sum(bool(re.search(r"\w\u2019s\b", text)) for text in texts)
    broken_sentences = sum(bool(re.search(r"[a-z,]\n[a-z]", text)) for text in texts)
    assert with_noise >= 6
    assert curly_possessive >= 5
    assert broken_sentences >= 4


def test_entity_set_is_about_half_the_war(entity_articles: list[dict[str, Any]]) -> None:
    war_names = {"Wagner Group", "Yevgeny Prigozhin", "Ukraine", "Kyiv", "Volodymyr Zelensky"}
    about_war = sum(any(entity["name"] in war_names for entity in article["entities"]) for article in entity_articles)
    assert 0.35 <= about_war / len(entity_articles) <= 0.65, about_war


# -- README ------------------------------------------------------------------------------------------------------


def _readme_counts(section: str) -> dict[str, int]:
    readme = (EVAL_DIR / "README.md").read_text("utf-8")
    start = readme.index(section)
    table = readme[start:].split("\n\n", 2)[1]
    return {match[0]: int(match[1]) for match in re.findall(r"^\| `(\w+)` \| (\d+) \|", table, flags=re.MULTILINE)}


def test_readme_topic_counts_match_the_data(topic_articles: list[dict[str, Any]]) -> None:
    counts = Counter(label for article in topic_articles for label in article["topics"])
    assert _readme_counts("### Articles per topic") == dict(counts)


def test_readme_entity_counts_match_the_data(entity_articles: list[dict[str, Any]]) -> None:
    counts = Counter(entity["label"] for article in entity_articles for entity in article["entities"])
    assert _readme_counts("### Gold entities per label") == dict(counts)


# -- agreement/ ------------------------------------------------------------------------------------------------------
def _labelling(name: str) -> dict[str, str]:
    labels: dict[str, str] = json.loads((EVAL_DIR / "agreement" / f"{name}.json").read_text("utf-8"))
    return labels


@pytest.mark.parametrize("name", ["annotator_a", "annotator_b"])
def test_each_labelling_places_every_story_article_once(name: str) -> None:
    gold = {row["id"] for row in _read_jsonl("stories.jsonl")}
    labels = _labelling(name)
    assert set(labels) == gold
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", story) for story in labels.values())


def test_readme_agreement_table_matches_the_labellings() -> None:
    gold = {row["id"]: row["story"] for row in _read_jsonl("stories.jsonl")}
    first, second = _labelling("annotator_a"), _labelling("annotator_b")
    readme = (EVAL_DIR / "README.md").read_text("utf-8")
    rows = {line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| `annotator_")}
    between = f"{bcubed(first, second)[2]:.3f}"
    for name, labels in (("annotator_a", first), ("annotator_b", second)):
        row = rows[f"`{name}.json`"]
        cells = [cell.strip() for cell in row.split("|")[2:5]]
        assert cells == [str(len(set(labels.values()))), f"{bcubed(gold, labels)[2]:.3f}", between], row


# -- events and storylines ---------------------------------------------------------------------------------------
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@pytest.fixture(scope="module")
def story_articles() -> list[dict[str, Any]]:
    return _read_jsonl("stories.jsonl")


def test_every_event_lies_in_exactly_one_storyline(story_articles: list[dict[str, Any]]) -> None:
    storylines_of_event: dict[str, set[str]] = {}
    for article in story_articles:
        assert SLUG.fullmatch(article["event"]) and SLUG.fullmatch(article["storyline"]), article["id"]
        storylines_of_event.setdefault(article["event"], set()).add(article["storyline"])
    assert {event: lines for event, lines in storylines_of_event.items() if len(lines) > 1} == {}


def test_every_copy_is_in_its_originals_event(story_articles: list[dict[str, Any]]) -> None:
    # E8: a syndicated copy is always in its original's event, so a grouping that finds the copy cannot be penalised.
    event = {article["id"]: article["event"] for article in story_articles}
    strays = [a["id"] for a in story_articles if a["duplicate_of"] and event[a["id"]] != event[a["duplicate_of"]]]
    assert strays == []


def test_readme_adjudicated_table_matches_the_data(story_articles: list[dict[str, Any]]) -> None:
    readme = (EVAL_DIR / "README.md").read_text("utf-8")
    section = readme[readme.index("### The adjudicated gold") :]
    table = section[section.index("| Storyline | Event |") :].split("\n\n", 1)[0]
    cell = r"\s*\|\s*"
    rows = re.findall(
        rf"^\|\s*(?:`([\w-]+)`)?{cell}(?:`([\w-]+)`|(\d+) events?){cell}(\d+){cell}([\d: -]+?){cell}$", table, re.M
    )
    documented_storylines = {row[0]: (int(row[2]), int(row[3]), row[4]) for row in rows if row[0]}
    documented_events = {row[1]: (int(row[3]), row[4]) for row in rows if row[1]}

    def first(articles: list[dict[str, Any]]) -> str:
        return str(min(article["published"] for article in articles))[:16].replace("T", " ")

    by_event: dict[str, list[dict[str, Any]]] = {}
    by_storyline: dict[str, list[dict[str, Any]]] = {}
    for article in story_articles:
        by_event.setdefault(article["event"], []).append(article)
        by_storyline.setdefault(article["storyline"], []).append(article)
    assert documented_events == {event: (len(items), first(items)) for event, items in by_event.items()}
    assert documented_storylines == {
        storyline: (len({article["event"] for article in items}), len(items), first(items))
        for storyline, items in by_storyline.items()
    }
    assert f"**{len(by_event)} events in {len(by_storyline)} storylines**" in section


# --- the larger event and storyline set ------------------------------------------------------------------------

STORYLINE_FIELDS = ["id", "url", "source", "feed", "published", "title", "summary", "text", "authors", "categories"]
STORYLINE_FIELDS += ["event", "storyline", "duplicate_of"]


@pytest.fixture(scope="module")
def storyline_halves() -> dict[str, list[dict[str, Any]]]:
    return {half: _read_jsonl(f"storylines_{half}.jsonl") for half in ("dev", "test")}


def test_the_two_halves_are_as_large_as_promised_and_share_no_storyline(storyline_halves) -> None:
    rows = [row for half in storyline_halves.values() for row in half]
    assert len(rows) >= 200
    assert len({row["event"] for row in rows}) >= 60
    assert len({row["storyline"] for row in rows}) >= 30
    dev, test = ({row["storyline"] for row in half} for half in storyline_halves.values())
    assert not dev & test
    assert len({row["id"] for row in rows}) == len(rows)
    assert len({row["url"] for row in rows}) == len(rows)


@pytest.mark.parametrize("half", ["dev", "test"])
def test_each_half_is_a_stream_of_well_formed_labelled_articles(storyline_halves, half) -> None:
    rows = storyline_halves[half]
    assert all(list(row) == STORYLINE_FIELDS for row in rows)
    times = [row["published"] for row in rows]
    assert times == sorted(times)
    storyline_of: dict[str, str] = {}
    for row in rows:
        assert storyline_of.setdefault(row["event"], row["storyline"]) == row["storyline"], row["id"]
    by_id = {row["id"]: row for row in rows}
    copies = [row for row in rows if row["duplicate_of"]]
    assert len(copies) >= 8
    for copy in copies:
        original = by_id[copy["duplicate_of"]]
        assert original["published"] < copy["published"] and original["event"] == copy["event"], copy["id"]
        assert original["source"] != copy["source"] and original["title"] != copy["title"], copy["id"]


@pytest.mark.parametrize("half", ["dev", "test"])
def test_each_half_holds_storylines_that_pause_and_resume(storyline_halves, half) -> None:
    """Rule S2: a storyline with a gap of ten days or more between two of its events."""
    from datetime import datetime, timedelta
    from itertools import pairwise

    by_storyline: dict[str, list[datetime]] = {}
    for row in storyline_halves[half]:
        by_storyline.setdefault(row["storyline"], []).append(datetime.fromisoformat(row["published"]))
    gaps = [max(b - a for a, b in pairwise(times)) for times in by_storyline.values() if len(times) > 1]
    assert any(gap >= timedelta(days=10) for gap in gaps)


def test_the_level_labellings_cover_both_sets_and_every_event_sits_in_one_storyline() -> None:
    sets = {"shipped": _read_jsonl("stories.jsonl"), "test": _read_jsonl("storylines_test.jsonl")}
    for path in sorted((EVAL_DIR / "agreement").glob("levels_*.json")):
        labels = json.loads(path.read_text(encoding="utf-8"))
        for name, rows in sets.items():
            assert set(labels[name]) == {row["id"] for row in rows}, (path.name, name)
            storyline_of: dict[str, str] = {}
            for label in labels[name].values():
                assert storyline_of.setdefault(label["event"], label["storyline"]) == label["storyline"]
