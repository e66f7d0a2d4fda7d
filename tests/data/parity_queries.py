"""The queries the search parity test runs against both stores (see ``tests/integration/test_search_parity.py``).

Each covers one feature of :class:`~newswire.search.SearchQuery` a user reaches from ``newswire search``: words,
phrases, OR, NOT, prefixes, grouping, every filter, date ranges, date sort, facets and both histograms.
"""

from __future__ import annotations

from datetime import UTC, datetime

from newswire.search import SearchQuery

JUNE_24 = datetime(2023, 6, 24, tzinfo=UTC)
JUNE_25 = datetime(2023, 6, 25, tzinfo=UTC)
JUNE_26 = datetime(2023, 6, 26, tzinfo=UTC)

PARITY_QUERIES: dict[str, SearchQuery] = {
    "word wagner": SearchQuery(text="wagner"),
    "word prigozhin": SearchQuery(text="prigozhin"),
    "word mutiny": SearchQuery(text="mutiny"),
    "word rain": SearchQuery(text="rain"),
    "word lukashenko": SearchQuery(text="Lukashenko"),
    "word kremlin": SearchQuery(text="kremlin"),
    "word russia": SearchQuery(text="russia"),
    "possessive": SearchQuery(text="Prigozhin's"),
    "phrase armed mutiny": SearchQuery(text='"armed mutiny"'),
    "phrase interest rates": SearchQuery(text='"interest rates"'),
    "hyphenated place": SearchQuery(text="Rostov-on-Don"),
    "two words": SearchQuery(text="wagner moscow"),
    "or": SearchQuery(text="putin OR lukashenko"),
    "minus": SearchQuery(text="wagner -moscow"),
    "not": SearchQuery(text="moscow NOT wagner"),
    "prefix mobil": SearchQuery(text="mobil*"),
    "prefix rate": SearchQuery(text="rate*"),
    "group": SearchQuery(text="(shoigu OR gerasimov) prigozhin"),
    "german word": SearchQuery(text="Kämpfer"),
    "entity putin": SearchQuery(entities=("Vladimir Putin",)),
    "entity lukashenko with text": SearchQuery(text="deal", entities=("Alexander Lukashenko",)),
    "entity shoigu with text": SearchQuery(text="prigozhin", entities=("Sergei Shoigu",)),
    "entity sobyanin with text": SearchQuery(text="moscow", entities=("Sergei Sobyanin",)),
    "two entities": SearchQuery(entities=("Yevgeny Prigozhin", "Belarus")),
    "topic sport": SearchQuery(topics=("sport",)),
    "two topics": SearchQuery(topics=("weather", "environment")),
    "sources with text": SearchQuery(text="putin", sources=("Meridian Wire", "Baltic Dispatch")),
    "language de": SearchQuery(language="de"),
    "day range": SearchQuery(text="wagner", since=JUNE_24, until=JUNE_25),
    "since only": SearchQuery(since=JUNE_26),
    "story": SearchQuery(story_id="deal"),
    "collapse duplicates": SearchQuery(text="rostov", collapse_duplicates=True),
    "sort by date": SearchQuery(text="wagner", sort="date"),
    "facets of everything": SearchQuery(facets=True, facet_size=5),
    "facets of a query": SearchQuery(text="prigozhin", facets=True),
    "day histogram": SearchQuery(histogram="day"),
    "hour histogram": SearchQuery(text="mutiny OR wagner", histogram="hour"),
}
