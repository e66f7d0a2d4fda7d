"""The errors newswire raises, and the control-flow signals that are not faults.

Every error a caller should handle is a :class:`NewswireError`; errors of the libraries underneath (kafka-python,
elasticsearch-py, httpx, spaCy, sqlite3) are translated at the boundary with ``raise ... from exc``.

    NewswireError
    ├── ConfigError            a setting is missing or wrong (bad URL, unknown model, unreadable feed list)
    ├── ContractError          a message does not fit the contract (invalid JSON, unknown schema, missing field)
    ├── BusError               the message bus failed
    │   ├── BusUnavailable     the broker (or the embedded bus file) cannot be reached
    │   └── MessageTooLarge    one message is larger than the bus takes (for good: sending it again cannot help)
    ├── SearchError            the search store failed
    │   ├── SearchUnavailable  the search cluster (or the embedded store) cannot be reached
    │   └── InvalidQuery       the user's query cannot be parsed or run
    ├── FeedError              a feed could not be fetched or parsed
    ├── EnrichmentError        enrichment failed for a reason other than bad input (model missing)
    └── ServicesError          the local Kafka / Elasticsearch services could not be installed or run

Signal (not a fault, not a subclass of :class:`NewswireError`):

    RetryAfter                 back off and try again after ``seconds``
"""

from __future__ import annotations


class NewswireError(Exception):
    """Root of every error newswire raises on purpose."""


class ConfigError(NewswireError):
    """A setting is missing or wrong; the message names the setting and the bad value."""


class ContractError(NewswireError):
    """A message does not fit the message contract (see ``newswire.contract``)."""


class BusError(NewswireError):
    """Producing to, consuming from or committing on the message bus failed."""


class BusUnavailable(BusError):
    """The broker cannot be reached (or the embedded bus cannot be opened)."""


class MessageTooLarge(BusError):
    """A message is larger than the bus accepts; ``topic``, ``key``, ``size`` and ``limit`` (bytes) say which."""

    def __init__(self, topic: str, key: bytes | None, size: int, limit: int) -> None:
        super().__init__(f"a message of {size} bytes for {topic!r} is larger than the bus's limit of {limit} bytes")
        self.topic = topic
        self.key = key
        self.size = size
        self.limit = limit


class SearchError(NewswireError):
    """Writing to or reading from the search store failed."""


class SearchUnavailable(SearchError):
    """The search cluster cannot be reached (or the embedded store cannot be opened); ``retry_after`` is how many
    seconds the cluster asked callers to wait (its ``Retry-After``), ``None`` when it did not say."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidQuery(SearchError):
    """The user's query cannot be parsed or run; the message says where and why."""


class FeedError(NewswireError):
    """A feed could not be fetched or parsed."""


class EnrichmentError(NewswireError):
    """Enrichment could not run (for example the spaCy model is not installed)."""


class ServicesError(NewswireError):
    """The local Kafka or Elasticsearch services could not be installed, started or stopped."""


class RetryAfter(Exception):
    """Back off and retry the current operation after ``seconds``."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(f"retry after {seconds:.1f}s: {reason}" if reason else f"retry after {seconds:.1f}s")
        self.seconds = seconds
        self.reason = reason
