"""Seconds from publication to searchable, through the whole pipeline on the loopback Kafka and Elasticsearch.

    .venv/bin/python bench/e2e_bench.py [--feeds 500] [--rates 2 5 10] [--seconds 60] [--replicas 1]
                                        [--poll-interval 10 | --websub] [--plot bench/results/e2e.png]
                                        [--set NAME=VALUE ...]
    .venv/bin/python bench/e2e_bench.py --replot bench/results/e2e-1-replica.json bench/results/e2e-2-replica.json \
                                        --plot bench/results/e2e.png

Needs the loopback services (``newswire services up``). A feed farm on loopback serves ``--feeds`` RSS feeds; from
the start of each step, articles appear at ``--rates`` articles a second (spread over the feeds), each stamped with
the moment it appeared (its publication). The pipeline is the commands ``docker-compose.yml`` runs (``newswire
topics``, ``ingest``, ``--replicas`` times ``process``, ``index``) with topics, groups and index of their own, the
feeds polled every ``--poll-interval`` seconds, or with ``--websub`` pushed: the feeds name a WebSub hub that runs in
the bench (the loopback hub of ``tests/unit/ingest``), ingest subscribes to every feed (the steps start once the hub
has verified them all; polling then drops to the safety-net interval, ``NEWSWIRE_WEBSUB_POLL_INTERVAL``), and each
new article makes the hub push its feed to ingest's callback at once. A probe searches Elasticsearch every 0.25 s for
the newest articles and notes when each is first found. Per rate: publication-to-searchable and fetch-to-searchable
latency p50, p95, p99 (the fetch time is the article's ``fetched``, stamped by the poller), how many were found, and
whether the pipeline kept up (everything found within the step and 60 s more, and the last quarter's p95 within
twice the first quarter's). The highest rate that kept up is the sustainable rate of this run. Results go to
``bench/results/e2e[-websub]-<replicas>-replica.json``; with ``--plot``, a PNG of latency against rate.

What the figures include: the poll interval when polled (an article waits for its feed's next poll: about half of it
on average, the whole of it at worst) or the push (the hub's request to ingest's callback, parsing), the processors'
batches, the indexer's bulk writes and Elasticsearch's 1 s refresh. Each step records the load average at its end
and where the CPU went: the cores each service (with its children), the broker, the node and the bench itself used
over the step and its drain.

``--set NAME=VALUE`` (repeatable) gives every service ``NEWSWIRE_NAME=VALUE``, over the bench's own choices (such as
``topic_partitions=4``); NAME is a field of :class:`newswire.settings.Settings`. The results record the overrides
(``bench/knobs_bench.py`` sweeps them).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Annotated, Any
from xml.sax.saxutils import escape

import psutil
from pydantic import TypeAdapter, ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import scaled
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.search import SearchQuery
from newswire.settings import Settings
from tests.feedfarm import serve_feeds
from tests.unit.ingest.test_websub_loopback import LoopbackHub, free_port

REPO = Path(__file__).resolve().parents[1]
NEWSWIRE = str(Path(sys.executable).with_name("newswire"))
RESULTS = REPO / "bench" / "results"
DRAIN_SECONDS = 60.0
WARM_UP_SECONDS = 45.0  # spaCy and the sentence model load before the first step starts
SUBSCRIBE_SECONDS = 300.0  # for the hub to have verified every feed's subscription


class RateFarm:
    """RSS feeds on loopback whose articles appear at a set rate; ``appeared[url]`` is each one's publication.

    With a ``hub``, each feed names it and itself (``atom:link`` rel hub and self), and a new article has the hub push
    its feed to the subscriber (in a pool of threads, so that publishing keeps its pace); ``pushes`` and
    ``push_failures`` count them, and an article of a feed not subscribed yet waits for its poll.
    """

    def __init__(self, feeds: int, hub: LoopbackHub | None = None) -> None:
        self.feeds = feeds
        self.hub = hub
        self.pushes = 0
        self.push_failures = 0
        self.pusher = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bench-push") if hub else None
        self.texts = scaled(400)
        self.lock = threading.Lock()
        self.items: list[tuple[int, str, str, str, float]] = []  # number, url, title, summary, appeared (epoch s)
        self.appeared: dict[str, float] = {}
        self.fetches = 0
        self.server = serve_feeds(self.feed_xml)

    def publish(self, number: int) -> None:
        text = self.texts[number % len(self.texts)]
        url = f"http://farm.example/{uuid.uuid4().hex[:8]}/{number}"
        now = time.time()
        with self.lock:
            self.items.append((number, url, f"{text.title} ({number})", text.summary, now))
            self.appeared[url] = now
        if self.pusher is not None:
            self.pusher.submit(self._push, number % self.feeds)

    def _push(self, feed: int) -> None:
        assert self.hub is not None
        topic = self.url(feed)
        if topic not in self.hub.subscribers:
            return
        try:
            status = self.hub.push(topic, self.feed_xml(feed, counted=False))
        except Exception:  # counted; the feed's safety-net poll still finds the article
            status = 0
        with self.lock:
            self.pushes += 1
            self.push_failures += not 200 <= status < 300

    def feed_xml(self, feed: int, *, counted: bool = True) -> bytes:
        with self.lock:
            self.fetches += counted
            mine = [item for item in self.items[-5000:] if item[0] % self.feeds == feed][-20:]
        entries = "".join(
            f"<item><title>{escape(title)}</title><link>{url}</link><guid>{url}</guid>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(appeared, UTC))}</pubDate>"
            f"<description>{escape(summary)}</description></item>"
            for _, url, title, summary, appeared in mine
        )
        links = ""
        if self.hub is not None:
            links = (
                f'<atom:link rel="hub" href="{self.hub.url}"/>'
                f'<atom:link rel="self" href="{self.url(feed)}" type="application/rss+xml"/>'
            )
        return (
            '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
            f"<channel><title>Farm {feed}</title><link>http://farm.example/{feed}</link>"
            f"<description>generated</description>{links}{entries}</channel></rss>"
        ).encode()

    def url(self, feed: int) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{feed}.xml"

    def urls(self) -> list[str]:
        return [self.url(feed) for feed in range(self.feeds)]

    def close(self) -> None:
        if self.pusher is not None:
            self.pusher.shutdown(wait=True, cancel_futures=True)
        if self.hub is not None:
            self.hub.stop()
        self.server.shutdown()


class Probe:
    """Searches the index every 0.25 s; ``found[url]`` is when a search first found it, ``fetched[url]`` its fetch."""

    def __init__(self, es_url: str, alias: str) -> None:
        self.store = ElasticsearchStore(es_url, alias=alias)
        self.found: dict[str, float] = {}
        self.fetched: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        query = SearchQuery(sort="date", size=1000, highlight=False)
        while not self.stop.wait(0.25):
            try:
                hits = self.store.search(query).hits
            except Exception:  # the alias may not exist yet; the next search tries again
                continue
            now = time.time()
            for hit in hits:
                url = hit.article.url
                if url not in self.found:
                    self.found[url] = now
                    self.fetched[url] = hit.article.fetched.timestamp()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.store.close()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _start(name: str, argv: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    log = (logs / f"{name}.log").open("ab")
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)


def cpu_seconds(services: dict[str, subprocess.Popen[bytes]]) -> dict[str, float]:
    """CPU seconds so far of each service (with its children: the spaCy worker), the broker, the node and this
    bench (the farm, the hub and the probe), to show where a step's time goes."""
    groups: dict[str, list[psutil.Process]] = {}
    for name, process in services.items():
        try:
            parent = psutil.Process(process.pid)
            # The replicas (process-1, process-2) count as one service.
            groups.setdefault(name.rstrip("-0123456789"), []).extend([parent, *parent.children(recursive=True)])
        except psutil.NoSuchProcess:
            continue
    for process in psutil.process_iter(["cmdline"]):
        line = " ".join(process.info["cmdline"] or [])
        if "kafka.Kafka" in line:
            groups.setdefault("kafka", []).append(process)
        elif "org.elasticsearch.bootstrap.Elasticsearch" in line:
            groups.setdefault("elasticsearch", []).append(process)
    groups["bench"] = [psutil.Process()]
    seconds: dict[str, float] = {}
    for name, processes in groups.items():
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        seconds[name] = total
    return seconds


def run_step(
    farm: RateFarm, probe: Probe, rate: float, seconds: float, first: int, services: dict[str, subprocess.Popen[bytes]]
) -> dict[str, object]:
    count = int(rate * seconds)
    cpu_before = cpu_seconds(services)
    started = time.monotonic()
    for number in range(first, first + count):
        delay = started + (number - first) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        farm.publish(number)
    with farm.lock:
        step_urls = [url for n, url, _, _, _ in farm.items if first <= n < first + count]
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and not all(url in probe.found for url in step_urls):
        time.sleep(0.5)
    cpu_after, elapsed = cpu_seconds(services), time.monotonic() - started
    cores = {name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / elapsed, 2) for name in cpu_after}
    found = [url for url in step_urls if url in probe.found]
    publication = [probe.found[url] - farm.appeared[url] for url in found]
    fetch = [probe.found[url] - probe.fetched[url] for url in found]
    quarter = max(1, len(found) // 4)
    kept_up = len(found) == len(step_urls) and bool(found)
    if kept_up and len(found) >= 8:
        kept_up = _percentile(publication[-quarter:], 0.95) <= 2 * max(_percentile(publication[:quarter], 0.95), 1.0)

    def summary(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {
            name: round(_percentile(values, share), 3) for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        }

    return {
        "rate": rate,
        "articles": len(step_urls),
        "found": len(found),
        "kept_up": kept_up,
        "publication_to_searchable": summary(publication),
        "fetch_to_searchable": summary(fetch),
        "mean_publication_to_searchable": round(statistics.fmean(publication), 3) if publication else None,
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "cores_used": dict(sorted(cores.items(), key=lambda item: -item[1])),
    }


def setting_override(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` of ``--set``: NAME a field of :class:`Settings` (any case), VALUE as the environment has it."""
    name, sep, value = text.partition("=")
    name = name.strip().lower()
    if not sep or name not in Settings.model_fields:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME a newswire setting, got {text!r}")
    field = Settings.model_fields[name]
    # The field's type and bounds, so a bad value stops the bench here rather than every service at start-up.
    kind = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    try:
        TypeAdapter(kind).validate_strings(value)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"{name}={value!r}: {exc.errors()[0]['msg']}") from exc
    return name, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--rates", type=float, nargs="+", default=[2.0, 5.0, 10.0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--websub", action="store_true", help="push new articles through a loopback WebSub hub")
    parser.add_argument("--kafka", default="127.0.0.1:9092")
    parser.add_argument("--es", default="http://127.0.0.1:9200")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/e2e[-websub]-N-replica.json)")
    parser.add_argument("--plot", type=Path, help="write a PNG of latency against rate")
    parser.add_argument("--replot", type=Path, nargs="+", help="only plot these results files into --plot")
    parser.add_argument(
        "--set",
        dest="overrides",
        type=setting_override,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="give every service NEWSWIRE_NAME=VALUE, over the bench's own choices (repeatable)",
    )
    args = parser.parse_args()
    overrides: dict[str, str] = dict(args.overrides)
    if args.replot:
        plot([json.loads(path.read_text()) for path in args.replot], args.plot or RESULTS / "e2e.png")
        return 0

    run = uuid.uuid4().hex[:8]
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"newswire-e2e-bench-{run}"
    logs.mkdir(parents=True)
    farm = RateFarm(args.feeds, LoopbackHub().start() if args.websub else None)
    names = {
        "topic_raw": f"bench-{run}.raw",
        "topic_enriched": f"bench-{run}.enriched",
        "topic_deadletter": f"bench-{run}.deadletter",
        "topic_feeds": f"bench-{run}.feeds",
        "topic_alerts": f"bench-{run}.alerts",
        "processor_group": f"bench-{run}-processor",
        "indexer_group": f"bench-{run}-indexer",
        "index_alias": f"bench-{run}",
    }
    settings = {
        "kafka": args.kafka,
        "es": args.es,
        "feeds": ",".join(farm.urls()),
        "allow_private_addresses": "true",
        "poll_interval": str(args.poll_interval),
        "min_poll_interval": str(args.poll_interval),
        "max_poll_interval": str(args.poll_interval),
        "host_fetch_budgets": "127.0.0.1=100000/1",
        "topic_partitions": "4",
        **names,
    }
    if args.websub:
        port = free_port()
        settings |= {"websub": "true", "websub_callback": f"http://127.0.0.1:{port}/websub"}
        settings |= {"websub_listen_port": str(port)}
    settings |= overrides
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update({f"NEWSWIRE_{name.upper()}": value for name, value in settings.items()})
    subprocess.run([NEWSWIRE, "topics"], env=env, check=True, capture_output=True, cwd=REPO)
    services = {"index": _start("index", [NEWSWIRE, "index"], {**env, "NEWSWIRE_DATA_DIR": str(logs / "index")}, logs)}
    for replica in range(args.replicas):
        name = f"process-{replica + 1}"
        services[name] = _start(name, [NEWSWIRE, "process"], {**env, "NEWSWIRE_DATA_DIR": str(logs / name)}, logs)
    services["ingest"] = _start("ingest", [NEWSWIRE, "ingest"], {**env, "NEWSWIRE_DATA_DIR": str(logs / "ing")}, logs)
    probe = Probe(args.es, names["index_alias"])
    results = []
    subscribed = None
    try:
        time.sleep(WARM_UP_SECONDS)
        if farm.hub is not None:
            deadline = time.monotonic() + SUBSCRIBE_SECONDS
            while len(farm.hub.subscribers) < args.feeds and time.monotonic() < deadline:
                time.sleep(1.0)
            subscribed = len(farm.hub.subscribers)
            print(f"{subscribed} of {args.feeds} feeds subscribed and verified", flush=True)
        first = 0
        for rate in args.rates:
            step = run_step(farm, probe, rate, args.seconds, first, services)
            first += int(rate * args.seconds)
            results.append(step)
            print(json.dumps(step), flush=True)
            dead = [name for name, process in services.items() if process.poll() is not None]
            if dead:
                print(f"services that stopped: {dead}; logs in {logs}", file=sys.stderr)
                break
    finally:
        probe.close()
        for process in services.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in services.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        farm.close()
        store = ElasticsearchStore(args.es, alias=names["index_alias"])
        store.drop()
        store.close()
    sustained = [step["rate"] for step in results if step["kept_up"]]
    report = {
        "machine": f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.1f} at the end",
        "feeds": args.feeds,
        "poll_interval": args.poll_interval,
        "mode": "websub" if args.websub else "polled",
        "subscribed": subscribed,
        "pushes": farm.pushes,
        "push_failures": farm.push_failures,
        "replicas": args.replicas,
        "seconds_per_rate": args.seconds,
        "overrides": overrides,
        "steps": results,
        "highest_rate_kept_up": max(sustained) if sustained else None,
    }
    results_file = args.out or RESULTS / f"e2e{'-websub' if args.websub else ''}-{args.replicas}-replica.json"
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(report, indent=2) + "\n")
    print(f"highest rate kept up: {report['highest_rate_kept_up']} articles/s; results in {results_file}; logs {logs}")
    if args.plot:
        plot([report], args.plot)
    return 0


def plot(reports: list[dict[str, Any]], path: Path) -> None:
    """Latency against rate, publication-to-searchable (solid) and fetch-to-searchable (dashed), one colour a run."""
    import matplotlib  # noqa: PLC0415 - only for --plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(figsize=(9.0, 5.0), dpi=100)
    for report in reports:
        steps = [step for step in report["steps"] if step["publication_to_searchable"]]
        rates = [step["rate"] for step in steps]
        label = f"{report['replicas']} processor" + ("s" if report["replicas"] > 1 else "")
        label += ", pushed" if report.get("mode") == "websub" else f", polled every {report['poll_interval']:g} s"
        for key, marker in (("p50", "o"), ("p95", "s")):
            line = axes.plot(rates, [step["publication_to_searchable"][key] for step in steps], marker=marker,
                             label=f"{label}: publication to searchable, {key}")[0]  # fmt: skip
            axes.plot(rates, [step["fetch_to_searchable"][key] for step in steps], marker=marker, linestyle="--",
                      color=line.get_color(), alpha=0.6, label=f"{label}: fetch to searchable, {key}")  # fmt: skip
    first = reports[0]
    axes.set_xlabel("articles a second")
    axes.set_ylabel("seconds (log scale)")
    axes.set_yscale("log")  # pushed runs stay near a second where polled ones are at ten
    axes.set_title(f"newswire end to end: {first['feeds']} feeds, "
                   f"Kafka and Elasticsearch on loopback, {first['machine'].split(';')[0]}", fontsize=9)  # fmt: skip
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=6, ncol=2, loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    print(f"plot in {path}")


if __name__ == "__main__":
    sys.exit(main())
