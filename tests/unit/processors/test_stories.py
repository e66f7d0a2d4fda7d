"""Stories and near-duplicates: the grouping rule, the shared state between replicas, the dev-set figures."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from datasketch import MinHash
from hypothesis import given
from hypothesis import strategies as st

from newswire.bus import open_bus
from newswire.contract import EnrichedArticle, Enrichment, Entity, utc_now
from newswire.errors import ContractError
from newswire.processors.duplicates import MIN_SHINGLES, NUM_PERM, SCHEME, fingerprint, shingles
from newswire.processors.evaluate import bcubed, evaluate_stories
from newswire.processors.state import LocalGrouping, SharedGrouping, decode_state, encode_state, state_topic
from newswire.processors.stories import RECENT_MEMBERS, Assignment, Features, StoryTracker, features_of
from newswire.settings import load_settings

DEV_SET = Path(__file__).parent / "data" / "stories_dev.jsonl"
WIRE_COPY = (
    "Wagner fighters took control of the headquarters of the Southern Military District in Rostov-on-Don early on "
    "Saturday, and the group's founder said in a video filmed inside the compound that his men held the military "
    "sites of the city, including the airfield, while armoured vehicles stood in the streets."
)


def _enriched(article_factory, **fields) -> EnrichedArticle:
    entities = fields.pop("entities", [])
    article = article_factory(**fields)
    enrichment = Enrichment(model="m", model_version="1", processor_version="1", enriched_at=utc_now())
    return EnrichedArticle.from_article(article, entities=entities, enrichment=enrichment)


def test_syndicated_copy_points_at_the_first_copy_and_joins_its_story(article_factory):
    grouping = LocalGrouping()
    first = _enriched(article_factory, title="Wagner seizes Rostov HQ", content=WIRE_COPY)
    copy = _enriched(article_factory, title="Mercenaries hold army base", content="UPDATED " + WIRE_COPY + " (Wire)")
    other = _enriched(
        article_factory,
        title="Riverside win the cup",
        content="Riverside won the cup final 2-1 "
        "after extra time, their captain heading in the winner as thousands of fans celebrated.",
    )
    first, copy, other = grouping.assign([first, copy, other])
    assert first.duplicate_of is None and first.story_id == first.id
    assert copy.duplicate_of == first.id and copy.story_id == first.story_id
    assert other.duplicate_of is None and other.story_id == other.id


def test_an_article_handled_again_keeps_its_story(article_factory):
    grouping = LocalGrouping()
    article = _enriched(
        article_factory,
        title="Putin calls revolt treason",
        content="Putin said the revolt was "
        "treason in a televised address and promised harsh punishment for the organisers.",
    )
    [once] = grouping.assign([article])
    [again] = grouping.assign([article])
    assert again.story_id == once.story_id and len(grouping.tracker) == 1


def test_stories_close_after_the_window(article_factory):
    tracker = StoryTracker(window=timedelta(hours=48))
    early = _enriched(article_factory, title="Wagner seizes Rostov HQ", content=WIRE_COPY)
    tracker.assign(features_of(early))
    later = _enriched(
        article_factory,
        title="Wagner seizes Rostov HQ again",
        content=WIRE_COPY,
        published=early.published + timedelta(days=5),
    )
    assert tracker.assign(features_of(later)).story_id == later.id
    assert tracker.known(early.id) is None


def _report(article_factory, title, published, **fields):
    body = (
        f"{title}. Wagner fighters who had taken the army headquarters in Rostov-on-Don left the city overnight "
        "after a deal brokered by Alexander Lukashenko, and residents came out to watch the columns roll away."
    )
    return _enriched(article_factory, title=title, content=body, published=published, **fields)


def test_an_undated_article_does_not_close_the_stories_of_a_backfill(article_factory):
    """A feed item without a date gets its fetch time; it must not move the window to today."""
    grouping = LocalGrouping()
    monday = datetime(2023, 6, 24, 21, 0, tzinfo=UTC)
    first = _report(article_factory, "Wagner leaves Rostov", monday)
    undated = _report(article_factory, "Wagner columns leave Rostov", utc_now(), published_estimated=True)
    later = _report(article_factory, "Rostov watches Wagner leave", monday + timedelta(hours=2))
    first, undated, later = grouping.assign([first, undated, later])
    assert later.story_id == first.story_id
    assert undated.story_id == first.story_id


def test_an_article_arriving_after_newer_ones_still_finds_its_story(article_factory):
    """Feeds are polled in turn: one feed's Saturday report can come after another feed's Tuesday news."""
    grouping = LocalGrouping()
    saturday = datetime(2023, 6, 24, 21, 0, tzinfo=UTC)
    first = _report(article_factory, "Wagner leaves Rostov", saturday)
    tuesday = _enriched(
        article_factory,
        title="Lagarde signals a July rate rise",
        content="The European Central Bank will raise rates again in July, its president told the Sintra forum, "
        "and cannot yet say where the peak will be.",
        published=saturday + timedelta(days=3),
    )
    late = _report(article_factory, "Cheers as Wagner leaves Rostov", saturday + timedelta(hours=1))
    first, tuesday, late = grouping.assign([first, tuesday, late])
    assert late.story_id == first.story_id
    assert tuesday.story_id not in (first.story_id, late.story_id)


def test_replicas_share_stories_and_first_copies_through_the_bus(article_factory, data_dir):
    settings = load_settings(data_dir=data_dir)
    bus = open_bus(settings, embedded=True)
    topic = state_topic(settings)
    bus.ensure_topics([topic])
    first_replica = SharedGrouping(bus, topic.name, "processor", start_timeout=10)
    first_replica.start()
    first = _enriched(
        article_factory,
        title="Wagner seizes Rostov HQ",
        content=WIRE_COPY,
        entities=[
            Entity(name="Wagner Group", label="ORG", count=2),
            Entity(name="Rostov-on-Don", label="GPE", count=1),
        ],
    )
    [first] = first_replica.assign([first])
    producer = bus.producer()
    for output in first_replica.drain_outputs():
        producer.send(output.topic, output.key, output.value)
    producer.close()

    second_replica = SharedGrouping(bus, topic.name, "processor", start_timeout=10)
    second_replica.start()
    copy = _enriched(article_factory, title="Mercenaries hold army base", content=WIRE_COPY + " Wire One")
    [copy] = second_replica.assign([copy])
    assert copy.duplicate_of == first.id
    assert copy.story_id == first.story_id
    assert [decode_state(o.value)[1].story_id for o in second_replica.drain_outputs()] == [first.story_id]
    first_replica.close()
    second_replica.close()
    bus.close()


def test_state_records_round_trip(article_factory):
    article = _enriched(
        article_factory,
        title="Wagner seizes Rostov HQ",
        content=WIRE_COPY,
        entities=[Entity(name="Wagner Group", label="ORG", count=2)],
    )
    features = features_of(article)
    tracker = StoryTracker()
    assignment = tracker.assign(features)
    decoded = decode_state(encode_state(features, assignment, "replica-1"))
    assert decoded is not None
    back, back_assignment = decoded
    assert back_assignment == assignment
    assert back.terms == features.terms and back.entities == features.entities
    assert back.published == features.published
    assert back.fingerprint is not None and features.fingerprint is not None
    assert back.fingerprint.tolist() == features.fingerprint.tolist()
    assert back.estimated is False
    undated = features_of(article.model_copy(update={"published_estimated": True}))
    decoded = decode_state(encode_state(undated, assignment, "replica-1"))
    assert decoded is not None and decoded[0].estimated is True


_WORDS = st.lists(st.sampled_from(["wagner", "rostov", "convoy", "kremlin", "x", "1", "m4", "voronezh"]), max_size=60)


@given(words=_WORDS | st.lists(st.text(min_size=1, max_size=12), max_size=40))
def test_fingerprint_is_datasketchs_minhash(words):
    """Stored fingerprints must keep their meaning: the fast path gives datasketch's own MinHash values."""
    values = fingerprint(words)
    found = shingles(words)
    if len(found) < MIN_SHINGLES:
        assert values is None
        return
    reference = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
    reference.update_batch([shingle.encode("utf-8") for shingle in found])
    assert values is not None and values.dtype.name == "uint32"
    assert values.tolist() == reference.hashvalues.tolist()


_TERMS = st.dictionaries(
    st.sampled_from(["wagner", "rostov", "convoy", "m4", "kremlin", "deal", "rouble"]), st.integers(1, 4), min_size=1
)


@given(members=st.lists(_TERMS, min_size=1, max_size=2 * RECENT_MEMBERS + 3), probe=_TERMS)
@mock.patch("newswire.processors.stories.REFRESH_SHARE", 1.0)
def test_story_similarity_is_the_mean_cosine_to_its_recent_members(members, probe):
    """The per-story sum kept up to date as members come and go gives what the definition gives."""
    start = datetime(2023, 6, 24, 6, tzinfo=UTC)
    tracker = StoryTracker()
    # Other articles first, and weights refreshed only when the window doubles: every member below is weighted
    # with the same rarity weights, so each one's vector is what it would be if computed now.
    for number in range(200):
        tracker.observe(Features(f"other{number}", start, {f"word{number}": 1.0}, {}), Assignment(f"other{number}"))
    article = Features("probe", start, {term: float(count) for term, count in probe.items()}, {})
    features = [
        Features(f"m{number}", start, {term: float(count) for term, count in terms.items()}, {})
        for number, terms in enumerate(members)
    ]
    for member in features:
        tracker.observe(member, Assignment("story"))
        tracker.similarity(article, tracker._stories["story"])
    story = tracker._stories["story"]
    recent = features[-RECENT_MEMBERS:]
    probe_vector = tracker._vector(article)
    expected = sum(
        sum(weight * tracker._vector(member).get(key, 0.0) for key, weight in probe_vector.items()) for member in recent
    ) / len(recent)
    assert tracker.similarity(article, story) == pytest.approx(expected, abs=1e-9)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
_FIELDS = ["id", "published", "story_id", "duplicate_of", "terms", "entities", "fingerprint", "replica"]


@given(
    st.binary(max_size=300)
    | st.dictionaries(st.sampled_from(_FIELDS), _JSON).map(
        lambda doc: json.dumps({"schema": "newswire.storystate/1", **doc}).encode()
    )
)
def test_hostile_state_records_decode_or_are_refused_with_a_contract_error(value):
    """Whatever another process wrote to the state topic, reading it never fails in any other way."""
    with contextlib.suppress(ContractError):
        decoded = decode_state(value)
        if decoded is not None:
            features, assignment = decoded
            assert features.article_id and assignment.story_id


@pytest.mark.parametrize(
    "value",
    [
        b'{"schema": "newswire.storystate/1"}',
        b'{"schema": "newswire.storystate/1", "id": "a", "published": "yesterday", "story_id": "a", "terms": {}, '
        b'"entities": {}}',
        b'{"schema": "newswire.storystate/1", "id": "a", "published": "2023-06-24T00:00:00Z", "story_id": "a", '
        b'"terms": [], "entities": {}, "fingerprint": "!!"}',
        b'{"schema": "newswire.storystate/1", "id": "a", "published": "2023-06-24T00:00:00Z", "story_id": "a", '
        b'"terms": {}, "entities": {}, "estimated": "yes"}',
        b"[1, 2]",
        b'{"schema": "something/else"}',
    ],
)
def test_malformed_state_records_are_refused(value):
    with pytest.raises(ContractError):
        decode_state(value)


def test_bcubed_of_a_perfect_and_of_a_lumped_clustering():
    gold = {"a": "x", "b": "x", "c": "y", "d": "y"}
    assert bcubed(gold, {"a": "1", "b": "1", "c": "2", "d": "2"}) == (1.0, 1.0, 1.0)
    precision, recall, _ = bcubed(gold, {"a": "1", "b": "1", "c": "1", "d": "1"})
    assert precision == 0.5 and recall == 1.0


def test_dev_set_stories_stay_grouped(processor):
    """The set the story threshold was chosen on (a regression guard; the target is on the shipped eval set).

    Its gold is the old, coarser story level (one heat story for Spain's heatwave and Italy and Greece bracing for
    it); since an overtaken event scores less (``OVERTAKEN``), Monday's wildfire report no longer joins Sunday's
    Spanish event once the Italian one has opened, 0.866 -> 0.850, hence 0.84 rather than 0.85.
    """
    report = evaluate_stories(processor, DEV_SET)
    figures = {figure.name: figure.value for figure in report.figures}
    assert figures["stories B-cubed F1"] >= 0.84, report.render()
    assert figures["duplicates precision"] == 1.0 and figures["duplicates recall"] == 1.0, report.render()


_QUIET_WEEK = [
    (
        "Riverside beat Ashby in the league opener",
        "Riverside beat Ashby two goals to one in the league opener on a wet night.",
    ),
    (
        "Heavy rain forecast for the north coast",
        "Forecasters warned of heavy rain and gales along the north coast from Tuesday.",
    ),
    (
        "Library reopens after roof repairs",
        "The town library reopened after a year of roof repairs, with a new children's room.",
    ),
    (
        "Bakery chain opens its tenth shop",
        "The bakery chain opened its tenth shop, in the old post office on the high street.",
    ),
    (
        "Council approves new cycle lanes",
        "Councillors approved three new cycle lanes across the city centre after a long debate.",
    ),
    (
        "Museum buys a lost landscape painting",
        "The museum bought a landscape painting missing for a century at an auction in Paris.",
    ),
]


def _harbour_dispute(article_factory, start: datetime) -> list[EnrichedArticle]:
    """A quiet morning's news, then a dock strike (two reports) and, four hours on, a court injunction against it."""
    quiet = [
        _enriched(article_factory, title=title, content=lede, published=start - timedelta(hours=10 - number))
        for number, (title, lede) in enumerate(_QUIET_WEEK)
    ]
    strike = [
        _enriched(
            article_factory,
            title="Saltmere dockers walk out over crane safety",
            content="Dockers at Saltmere harbour walked out at dawn over crane safety after a crane collapse, the "
            "union said.",
            published=start,
        ),
        _enriched(
            article_factory,
            title="Saltmere strike: union says crane safety walkout will last",
            content="The union leading the walkout at Saltmere harbour said the crane safety strike would last until a "
            "review.",
            published=start + timedelta(hours=1),
        ),
    ]
    injunction = _enriched(
        article_factory,
        title="Court grants Saltmere port owner an injunction",
        content="A high court judge granted the port owner an injunction ordering an end to the action from Friday.",
        published=start + timedelta(hours=4),
    )
    return [*quiet, *strike, injunction]


@pytest.mark.parametrize("overtaken, joins", [(None, "injunction"), (1.0, "strike")])
def test_a_reaction_joins_the_latest_event_it_refers_to_not_an_overtaken_one(article_factory, overtaken, joins):
    """Rules E3/E4: the union's answer to the injunction is in the injunction's event, although its background (the
    walkout, the harbour, the dockers) resembles the strike's reports more; without the rule (1.0) it would not be."""
    start = datetime(2023, 3, 6, 6, tzinfo=UTC)
    *earlier, injunction = _harbour_dispute(article_factory, start)
    answer = _enriched(
        article_factory,
        title="Saltmere union vows to fight court order",
        content="Union leaders at Saltmere harbour said they would fight the court order in the appeal court, and "
        "dockers kept the walkout going.",
        published=start + timedelta(hours=6),
    )
    patch = mock.patch("newswire.processors.stories.OVERTAKEN", overtaken) if overtaken else contextlib.nullcontext()
    with patch:
        tracker = StoryTracker()
        placed = [tracker.assign(features_of(article)).story_id for article in (*earlier, injunction, answer)]
    strike_event, injunction_event, answer_event = placed[-4], placed[-2], placed[-1]
    assert placed[-3] == strike_event and injunction_event != strike_event
    assert answer_event == (injunction_event if joins == "injunction" else strike_event)


def test_an_event_is_not_overtaken_by_a_newer_one_about_something_else(article_factory):
    """Only a newer event the article also resembles overtakes: a match report in between leaves the strike open."""
    start = datetime(2023, 3, 6, 6, tzinfo=UTC)
    *earlier, _ = _harbour_dispute(article_factory, start)
    match = _enriched(
        article_factory,
        title="Kirkby Town sign a goalkeeper from Ashby",
        content="Kirkby Town signed the Ashby goalkeeper on a two-year contract before the new season.",
        published=start + timedelta(hours=3),
    )
    traders = _enriched(
        article_factory,
        title="Saltmere traders fear losses as the dockers' walkout drags on",
        content="Fish traders at Saltmere harbour said the dockers' crane safety walkout was costing them dearly.",
        published=start + timedelta(hours=6),
    )
    # Overtaking made all but final, so that a strike overtaken by the match would lose the traders' report.
    with mock.patch("newswire.processors.stories.OVERTAKEN", 0.01):
        tracker = StoryTracker()
        placed = [tracker.assign(features_of(article)).story_id for article in (*earlier, match, traders)]
    assert placed[-2] != placed[-3]
    assert placed[-1] == placed[-3]  # the strike's event
