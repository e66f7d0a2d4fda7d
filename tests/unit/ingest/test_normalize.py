"""Canonical URLs, plain text, dates and languages, with property tests for what hostile feeds can send."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.ingest.normalize import (
    TRACKING_PARAMS,
    canonical_url,
    detect_language,
    html_to_text,
    language_code,
    normalize_date,
)

FETCHED = datetime(2023, 6, 24, 12, 0, tzinfo=UTC)

# --- canonical URLs ----------------------------------------------------------------------------------------------

hosts = st.from_regex(r"[a-z][a-z0-9-]{0,12}(\.[a-z]{2,6}){1,2}", fullmatch=True)
path_segments = st.lists(st.from_regex(r"[A-Za-z0-9._~%-]{1,10}", fullmatch=True), max_size=4)
param_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: name not in TRACKING_PARAMS and not name.startswith("utm_")
)
param_values = st.from_regex(r"[A-Za-z0-9._~%+-]{0,10}", fullmatch=True)
tracking = st.one_of(st.sampled_from(sorted(TRACKING_PARAMS)), st.from_regex(r"utm_[a-z]{1,8}", fullmatch=True))


@st.composite
def article_urls(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A URL with tracking parameters mixed in, and the non-tracking ``name=value`` pairs in order."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(hosts)
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/" + "/".join(draw(path_segments))
    kept = [f"{name}={value}" for name, value in draw(st.lists(st.tuples(param_names, param_values), max_size=4))]
    noise = [f"{name}={value}" for name, value in draw(st.lists(st.tuples(tracking, param_values), max_size=3))]
    pairs = list(kept)
    for pair in noise:
        pairs.insert(draw(st.integers(0, len(pairs))), pair)
    fragment = draw(st.sampled_from(["", "#top", "#section-2"]))
    query = "?" + "&".join(pairs) if pairs else ""
    return f"{scheme}://{host.upper() if draw(st.booleans()) else host}{port}{path}{query}{fragment}", kept


@given(article_urls())
def test_canonical_url_drops_tracking_and_keeps_the_rest(case):
    url, kept = case
    canonical = canonical_url(url)
    assert canonical is not None
    assert canonical == canonical.strip()
    scheme, rest = canonical.split("://", 1)
    assert scheme in ("http", "https")
    assert "#" not in canonical
    host = rest.split("/", 1)[0]
    assert host == host.lower()
    assert not host.endswith({"http": ":80", "https": ":443"}[scheme])
    query = canonical.partition("?")[2]
    assert (query.split("&") if query else []) == kept


@given(st.text(max_size=200))
def test_canonical_url_never_raises_and_is_idempotent_on_junk(text):
    canonical = canonical_url(text)
    if canonical is not None:
        assert canonical_url(canonical) == canonical
        assert canonical.startswith(("http://", "https://"))


@given(article_urls())
def test_canonical_url_is_idempotent(case):
    url, _kept = case
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(st.text(max_size=60), st.sampled_from(["https://wire.example.org/feeds/rss.xml", "http://a.example/x/"]))
def test_canonical_url_with_a_base_never_raises(text, base):
    result = canonical_url(text, base)
    assert result is None or canonical_url(result) == result


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTPS://Wire.Example.ORG:443/a?utm_source=x&id=7#c", None, "https://wire.example.org/a?id=7"),
        ("http://wire.example.org:80", None, "http://wire.example.org/"),
        ("http://wire.example.org:8080/a", None, "http://wire.example.org:8080/a"),
        (
            "/2023/06/24/mutiny?fbclid=abc",
            "https://wire.example.org/feed.xml",
            "https://wire.example.org/2023/06/24/mutiny",
        ),
        ("story.html", "https://wire.example.org/world/feed.xml", "https://wire.example.org/world/story.html"),
        ("https://user:secret@wire.example.org/a", None, "https://wire.example.org/a"),
        ("https://wire.example.org/a?gclid=1&utm_medium=rss", None, "https://wire.example.org/a"),
        ("https://wire.example.org/a?b=2&a=1", None, "https://wire.example.org/a?b=2&a=1"),
        ("  https://wire.example.org/a\n", None, "https://wire.example.org/a"),
        ("https://wire.example.org/a b?q=x y", None, "https://wire.example.org/a%20b?q=x%20y"),
        ("https://wire.example.org/мятеж", None, "https://wire.example.org/%D0%BC%D1%8F%D1%82%D0%B5%D0%B6"),
        ("https://wire.example.org/a%20b", None, "https://wire.example.org/a%20b"),
        ("javascript:alert(1)", None, None),
        ("mailto:desk@wire.example.org", None, None),
        ("file:///etc/passwd", None, None),
        ("https:///no-host", None, None),
        ("http://wire.example.org:99999/", None, None),
        ("", None, None),
    ],
)
def test_canonical_url_examples(url, base, expected):
    assert canonical_url(url, base) == expected


# --- HTML to text --------------------------------------------------------------------------------------------


def test_html_to_text_strips_markup_scripts_and_entities():
    html = "<p>Wagner&nbsp;units <b>entered</b> Rostov-on-Don</p><script>steal()</script><p>Putin &amp; Shoigu</p>"
    assert html_to_text(html) == "Wagner units entered Rostov-on-Don\nPutin & Shoigu"


def test_html_to_text_keeps_plain_text_with_angle_brackets():
    assert html_to_text("Casualties < 10, says Belarus") == "Casualties < 10, says Belarus"


@given(st.text(max_size=300))
def test_html_to_text_never_raises_and_gives_tidy_lines(text):
    result = html_to_text(text)
    assert all(line and line == line.strip() and "  " not in line for line in result.split("\n") if result)
    if "<" not in result and "&" not in result:
        assert html_to_text(result) == result


@given(st.text(max_size=100))
def test_html_to_text_drops_script_bodies_whatever_they_hold(payload):
    body = payload.replace("<", "").replace(">", "")
    assert "SECRET" not in html_to_text(f"<p>Lede</p><script>SECRET {body}</script><style>SECRET</style>")


# --- dates ---------------------------------------------------------------------------------------------------


def test_date_from_a_time_tuple_is_utc():
    published, estimated = normalize_date(time.struct_time((2023, 6, 24, 7, 0, 0, 5, 175, 0)), FETCHED)
    assert (published, estimated) == (datetime(2023, 6, 24, 7, 0, tzinfo=UTC), False)


def test_aware_datetime_is_converted_to_utc():
    moscow = timezone(timedelta(hours=3))
    published, estimated = normalize_date(datetime(2023, 6, 24, 10, 0, tzinfo=moscow), FETCHED)
    assert (published, estimated) == (datetime(2023, 6, 24, 7, 0, tzinfo=UTC), False)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "yesterday",
        (2023, 13, 40, 0, 0, 0),
        (1970, 1, 1, 0, 0, 0),
        (2023, 6, 25, 12, 0, 0),
        (99999, 1, 1, 0, 0, 0),
    ],
    ids=["missing", "string", "impossible", "epoch", "future", "overflow"],
)
def test_unusable_dates_become_the_fetch_time_and_are_marked(value):
    assert normalize_date(value, FETCHED) == (FETCHED, True)


@given(
    st.one_of(
        st.none(),
        st.tuples(*[st.integers(-(10**6), 10**6)] * 9),
        st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
        st.text(max_size=20),
        st.floats(allow_nan=True),
    ),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_normalized_dates_are_utc_and_never_in_the_future(value, fetched):
    published, estimated = normalize_date(value, fetched)
    assert published.utcoffset() == timedelta(0)
    assert published <= fetched + timedelta(minutes=15)
    assert published <= fetched + timedelta(minutes=15)
    if estimated:
        assert published == fetched
    else:
        assert published >= datetime(1995, 1, 1, tzinfo=UTC)


# --- languages -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "code"),
    [("en-us", "en"), ("RU", "ru"), ("de_DE", "de"), ("", None), ("english", None), (None, None), (42, None)],
)
def test_language_code_from_feed_declarations(declared, code):
    assert language_code(declared) == code


def test_language_is_detected_from_enough_text():
    text = "Yevgeny Prigozhin said his fighters would turn back to avoid bloodshed, after talks with Lukashenko."
    assert detect_language(text) == "en"
    assert detect_language("Wagner") is None
