"""The ingest stage's vocabulary: a feed (its configuration and polling state) and the outcome of one fetch.

A :class:`Feed` is what travels on the compacted ``news.feeds`` topic (key: :func:`feed_key` of its URL, value:
:meth:`Feed.to_json`) and what the local state file caches, so a feed can move from one poller to another with its
validators, schedule, failure counts and the ids of the articles it recently published.

    FeedConfig      what the user chose: URL, name, ignore validators, full text, enabled
    FeedState       what polling learnt: validators, body hash, schedule, failures, recent article ids
    Feed            both, keyed by the URL hash
    FetchResult     one HTTP exchange, successful or not, with a FetchFailure saying what went wrong
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

FEED_RECORD_VERSION = 1


def feed_key(url: str) -> str:
    """The key of a feed on the feeds topic and in the state file: a hash of its configured URL."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


class FeedConfig(BaseModel):
    """What the user configured for one feed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str
    title: str | None = Field(default=None, description="Outlet name; the feed's own title when unset.")
    ignore_validators: bool = Field(default=False, description="Never send If-None-Match / If-Modified-Since.")
    full_text: bool = Field(default=False, description="Fetch each new article's page and extract its main text.")


class SeenArticle(BaseModel):
    """An article this feed published recently: its content hash and the revision last published."""

    model_config = ConfigDict(frozen=True)

    hash: str
    revision: int = 1


class FeedState(BaseModel):
    """What polling learnt about a feed; times are Unix seconds (wall clock) so they survive a move."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    # Where the feed lives now (after permanent redirects) and its validators.
    current_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    source_title: str | None = None
    # Schedule.
    interval: float | None = None
    next_poll: float = 0.0
    recent_new: list[int] = Field(default_factory=list, description="New articles found by the last polls.")
    hint_min_interval: float | None = Field(default=None, description="From ttl / sy:updatePeriod.")
    # Outcome of the last polls.
    last_fetch: float | None = None
    last_status: str = "never polled"
    last_error: str | None = None
    last_warning: str | None = Field(default=None, description="What was wrong with a feed that could be read.")
    new_items_last: int = 0
    new_items_total: int = 0
    polls_total: int = 0
    errors_total: int = 0
    temporary_failures: int = Field(default=0, description="Consecutive timeouts, 5xx and 429.")
    permanent_failures: int = Field(default=0, description="Consecutive 404s, parse failures and refusals.")
    disabled: bool = False
    disabled_reason: str | None = None
    last_command: float = Field(default=0.0, description="When the last `newswire feeds` command was issued.")
    # Politeness: when requests went out, and the host's throttles as this feed met them.
    recent_fetches: list[int] = Field(default_factory=list, description="Request starts in the last hour (Unix s).")
    throttles_total: int = Field(default=0, description="Answers that paused the feed's host (429, 403 burst).")
    last_throttle: str | None = None
    throttled_until: float | None = None
    # Entries of the feed that were not published, by reason, and those published with a title made for them.
    dropped_last: dict[str, int] = Field(default_factory=dict)
    dropped_total: dict[str, int] = Field(default_factory=dict)
    untitled_total: int = Field(default=0, description="Entries without a title, titled from their URL.")
    # Recently published articles: id -> hash and revision (enough to deduplicate after a move).
    seen: dict[str, SeenArticle] = Field(default_factory=dict)


class Feed(BaseModel):
    """A feed with its configuration and state, as stored on the feeds topic and in the state file."""

    model_config = ConfigDict(extra="ignore")

    version: int = FEED_RECORD_VERSION
    config: FeedConfig
    state: FeedState = Field(default_factory=FeedState)
    seq: int = Field(default=0, description="Bumped by every write; the highest wins when records race.")
    command: str | None = Field(default=None, description="Set by `newswire feeds`: add, enable, remove.")
    writer: str | None = None

    @property
    def key(self) -> str:
        return feed_key(self.config.url)

    @property
    def fetch_url(self) -> str:
        """Where to fetch the feed now: the target of its last permanent redirect, else the configured URL."""
        return self.state.current_url or self.config.url

    @property
    def name(self) -> str:
        return self.config.title or self.state.source_title or self.config.url

    def to_json(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, value: bytes | str) -> Feed:
        return cls.model_validate(json.loads(value))


class FailureKind(StrEnum):
    """Why a fetch failed, which decides what happens to the feed next."""

    TEMPORARY = "temporary"  # timeout, connection error, 5xx, 429: back off and retry
    NOT_FOUND = "not_found"  # 404: retried, disabled after repeated failures
    GONE = "gone"  # 410: disabled at once
    REFUSED = "refused"  # private address, bad scheme, redirect loop, body too large, bad encoding
    PARSE = "parse"  # not a feed, malformed beyond repair, empty
    THROTTLED = "throttled"  # the host asked for a pause (429, Retry-After, 403 after a burst), or is in one


@dataclass(frozen=True, slots=True)
class FetchFailure:
    kind: FailureKind
    reason: str
    retry_after: float | None = None


@dataclass(slots=True)
class FetchResult:
    """One fetch of one URL: the final response (after redirects) or the failure."""

    url: str
    final_url: str
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    moved_to: str | None = None  # the last permanent (301/308) redirect target, if any
    failure: FetchFailure | None = None
    started: float | None = None  # when the request went out (Unix time); None when none did (host paused)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())
