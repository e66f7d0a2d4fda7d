"""The message contract: ids, encoding, and what consumers accept or refuse."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.contract import (
    DeadLetter,
    HeadlineChange,
    Origin,
    Revision,
    article_id,
    decode_deadletter,
    decode_enriched,
    decode_raw,
    encode_deadletter,
    encode_enriched,
    encode_raw,
    json_schema,
)
from newswire.errors import ContractError
from tests.factories import article_factory, enriched_factory


def test_article_id_is_stable_and_depends_only_on_the_canonical_url():
    url = "https://harbourpost.example/2023/06/24/wagner"
    assert article_id(url) == article_id(url)
    assert article_id(url) != article_id(url + "-2")
    assert len(article_id(url)) == 32


def test_article_id_falls_back_to_feed_and_guid_without_a_link():
    one = article_id(None, feed_url="https://a.example/feed", guid="item-1")
    assert one == article_id("", feed_url="https://a.example/feed", guid="item-1")
    assert one != article_id(None, feed_url="https://b.example/feed", guid="item-1")


def test_article_id_without_link_or_guid_is_a_contract_error():
    with pytest.raises(ContractError, match="neither a link nor a GUID"):
        article_id(None, feed_url="https://a.example/feed")


def test_raw_round_trip_keeps_every_field():
    article = article_factory(authors=["Анна Петрова"], categories=["World", "Russia"])
    assert decode_raw(encode_raw(article)) == article


def test_wire_times_are_utc_with_z():
    moscow = timezone(timedelta(hours=3))
    article = article_factory(published=datetime(2023, 6, 24, 10, 0, tzinfo=moscow))
    document = json.loads(encode_raw(article))
    assert document["published"] == "2023-06-24T07:00:00Z"
    assert document["schema"] == "newswire.raw/1"


def test_enriched_round_trip_keeps_entities_and_topics():
    enriched = enriched_factory()
    decoded = decode_enriched(encode_enriched(enriched))
    assert decoded == enriched
    assert [e.name for e in decoded.entities] == ["Yevgeny Prigozhin", "Wagner Group", "Rostov-on-Don"]


def test_consumers_ignore_fields_they_do_not_know():
    document = json.loads(encode_raw(article_factory()))
    document["sentiment"] = 0.3
    assert decode_raw(json.dumps(document)).title.startswith("Wagner fighters")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not json at all", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"schema": "newswire.raw/2"}', "not a valid raw message"),
    ],
)
def test_bad_raw_values_are_contract_errors(value, reason):
    with pytest.raises(ContractError, match=reason):
        decode_raw(value)


@pytest.mark.parametrize("field", ["id", "title", "published", "feed_url"])
def test_a_raw_message_without_a_required_field_is_refused_and_named(field):
    document = json.loads(encode_raw(article_factory()))
    del document[field]
    with pytest.raises(ContractError, match=field):
        decode_raw(json.dumps(document))


def test_a_raw_message_is_not_accepted_as_enriched():
    with pytest.raises(ContractError):
        decode_enriched(encode_raw(article_factory()))


def test_the_schema_files_describe_what_producers_write():
    import jsonschema

    for kind, value in (("raw", encode_raw(article_factory())), ("enriched", encode_enriched(enriched_factory()))):
        jsonschema.validate(json.loads(value), json_schema(kind))


def revised_factory() -> Any:
    """The third revision of an article whose headline changed twice."""
    return article_factory(
        title="Wagner columns turn back 200 km from Moscow",
        revision=3,
        revised=Revision(
            previous_title="Wagner columns reach Lipetsk",
            previous_lede="Prigozhin says his fighters are on the M4 motorway.",
            title_changed=True,
            lede_changed=False,
            revised_at=datetime(2023, 6, 24, 18, 30, tzinfo=UTC),
            history=[
                HeadlineChange(title="Wagner columns move north", until=datetime(2023, 6, 24, 9, 15, 0, 250000, UTC)),
                HeadlineChange(title="Wagner columns reach Lipetsk", until=datetime(2023, 6, 24, 18, 30, tzinfo=UTC)),
            ],
        ),
    )


def test_a_revision_carries_the_earlier_headlines_over_the_wire_oldest_first():
    import jsonschema

    article = revised_factory()
    document = json.loads(encode_raw(article))
    assert document["revised"]["history"] == [
        {"title": "Wagner columns move north", "until": "2023-06-24T09:15:00.250Z"},
        {"title": "Wagner columns reach Lipetsk", "until": "2023-06-24T18:30:00Z"},
    ]
    assert decode_raw(encode_raw(article)) == article
    enriched = enriched_factory(article)
    assert decode_enriched(encode_enriched(enriched)).revised == article.revised
    for kind, value in (("raw", encode_raw(article)), ("enriched", encode_enriched(enriched))):
        jsonschema.validate(json.loads(value), json_schema(kind))


def test_a_revision_written_before_the_history_is_still_read():
    document = json.loads(encode_raw(revised_factory()))
    del document["revised"]["history"]
    revised = decode_raw(json.dumps(document)).revised
    assert revised is not None and revised.history is None
    assert revised.previous_title == "Wagner columns reach Lipetsk"


@pytest.mark.parametrize(
    "history",
    [
        "Wagner columns move north",
        {"title": "Wagner columns move north", "until": "2023-06-24T09:15:00Z"},
        [{"title": "Wagner columns move north"}],
        [{"until": "2023-06-24T09:15:00Z"}],
        [{"title": None, "until": "2023-06-24T09:15:00Z"}],
        [{"title": "Wagner columns move north", "until": "2023-06-24T09:15:00"}],
        [{"title": "Wagner columns move north", "until": "the morning"}],
        ["Wagner columns move north"],
    ],
)
def test_a_malformed_history_is_refused(history):
    for encoded, decode in (
        (encode_raw(revised_factory()), decode_raw),
        (encode_enriched(enriched_factory(revised_factory())), decode_enriched),
    ):
        document = json.loads(encoded)
        document["revised"]["history"] = history
        with pytest.raises(ContractError, match="history"):
            decode(json.dumps(document))


def test_dead_letter_round_trip():
    letter = DeadLetter(
        stage="processor",
        reason="not JSON: Expecting value",
        error_type="ContractError",
        origin=Origin(topic="news.raw", partition=2, offset=41, key="abc"),
        payload="{broken",
        failed_at=datetime(2023, 6, 24, tzinfo=UTC),
    )
    assert decode_deadletter(encode_deadletter(letter)) == letter


@given(st.binary(max_size=300))
def test_decoding_arbitrary_bytes_either_works_or_is_a_contract_error(value):
    for decode in (decode_raw, decode_enriched, decode_deadletter):
        with contextlib.suppress(ContractError):
            decode(value)


_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["2023-06-24T07:20:00Z", "2023-06-24T07:20:00", "2023-06-24 07:20:00Z", "", "Z", "x" * 300]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


def _mutated(document: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    document = json.loads(json.dumps(document))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "extra" and isinstance(parent, dict):
        parent[f"{last}_unknown"] = value
    else:
        parent[last] = value
    return document


@given(data=st.data())
def test_the_fast_schema_check_never_passes_what_the_reference_validator_refuses(data):
    """Valid messages skip the reference JSON Schema validator, so the compiled one must be at least as strict."""
    import jsonschema

    revised = revised_factory()
    for kind, value in (
        ("raw", encode_raw(data.draw(st.sampled_from([article_factory(), revised])))),
        ("enriched", encode_enriched(enriched_factory(data.draw(st.sampled_from([article_factory(), revised]))))),
    ):
        document = json.loads(value)
        path = data.draw(st.sampled_from(_paths(document)))
        action = data.draw(st.sampled_from(["delete", "replace", "extra"]))
        broken = _mutated(document, path, action, data.draw(_ODD_VALUES))
        reference = jsonschema.validators.validator_for(json_schema(kind))
        errors = list(reference(json_schema(kind), format_checker=reference.FORMAT_CHECKER).iter_errors(broken))
        try:
            (decode_raw if kind == "raw" else decode_enriched)(json.dumps(broken))
        except ContractError:
            continue
        assert not errors, f"{kind} message passed the check although the reference validator refuses it: {errors[0]}"
