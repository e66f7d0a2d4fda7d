"""The Kafka bus: :mod:`newswire.bus` over Apache Kafka through kafka-python.

- **Producing.** Every producer is idempotent with ``acks=all`` and retries (the broker drops the duplicates a retry
  would make), lingers ``producer_linger_ms`` (5 ms) to batch, and uses kafka-python's default partitioner, which is
  the Java client's murmur2 (see :mod:`newswire.bus.partitioner`), so one key always lands on one partition, the same
  one the embedded bus picks. :meth:`KafkaProducer.flush` waits for the broker and then checks every message sent
  since the last flush, raising :class:`BusError` with the topic and the error of the first that failed.
- **Consuming.** Consumers join their group with auto-commit off; :meth:`KafkaConsumer.commit` commits, for each
  partition, the offset after the highest record given. A commit that the group refuses (the consumer was thrown
  out, or the group rebalanced) raises :class:`BusError`; the records are then delivered again. A poll waits for
  the broker in rounds of at least 50 ms, so a broker that stops answering leaves it waiting, not spinning.
- **Failing fast.** Opening the bus first tries a plain TCP connection to the bootstrap servers (a refused port or
  an unknown host fails at once), then bootstraps an admin client; if no broker answers within ``connect_timeout``
  seconds it raises :class:`BusUnavailable` with one line naming the servers. Topics are never created by accident:
  producing to or subscribing to a topic that :meth:`KafkaBus.ensure_topics` did not create fails (producing) or
  waits (consuming) instead of making a one-partition topic.
"""

from __future__ import annotations

import logging
import socket
import threading
import warnings
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

with warnings.catch_warnings():
    # kafka-python 3.0 reads its protocol schemas with importlib.resources.read_text, deprecated since Python 3.11;
    # the warning is theirs to fix and would otherwise fail every test that loads this driver.
    warnings.filterwarnings("ignore", r"(read|open)_text is deprecated", DeprecationWarning)
    import kafka
    import kafka.errors
    from kafka import KafkaAdminClient, OffsetAndMetadata, TopicPartition

from newswire.bus import Bus, Consumer, Producer, Record, TopicSpec, close_clients, message_size, next_positions
from newswire.errors import BusError, BusUnavailable, MessageTooLarge

logger = logging.getLogger(__name__)


class _ClosedSocketRace(logging.Filter):
    """Turn kafka-python's traceback for a socket closed under its IO thread into one debug line.

    kafka-python 3.0.12 (the newest release) can close a connection from the caller's thread while its IO thread is
    reading or writing it; the IO thread then finds the socket gone (``'NoneType' object has no attribute 'recv'``),
    logs the error with a traceback and drops the connection, which was being closed anyway. A clean shutdown must
    not print a traceback, so that one case is logged at debug level without it (upstream: dpkp/kafka-python pull
    requests 2995 and 3097). Any other network error keeps its level and traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, AttributeError) and "'NoneType' object has no attribute" in str(error):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.msg = f"{record.msg} (the socket was closed under the IO thread: {error})"
            record.exc_info, record.exc_text = None, None
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


logging.getLogger("kafka.net.transport").addFilter(_ClosedSocketRace())

_TOPIC_ALREADY_EXISTS = kafka.errors.TopicAlreadyExistsError.errno
RECONNECT_BACKOFF_MAX_MS = 1000


class KafkaBus(Bus):
    """The Kafka cluster at ``bootstrap_servers`` (``host:port[,host:port]``)."""

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str = "newswire",
        *,
        replication: int = 1,
        connect_timeout: float = 5.0,
        request_timeout: float = 30.0,
        session_timeout: float = 8.0,
        max_poll_interval: float = 300.0,
        producer_buffer_bytes: int | None = None,
        producer_linger_ms: int = 5,
    ) -> None:
        self.servers = bootstrap_servers
        self.producer_linger_ms = producer_linger_ms
        self.producer_buffer_bytes = producer_buffer_bytes or DEFAULT_BUFFER_BYTES
        # A member that stops heartbeating leaves its group after session_timeout (kafka-python's default, 45 s,
        # kept a crashed poller's feeds unpolled that long); heartbeats every quarter of it. A member that heartbeats
        # but does not poll for max_poll_interval (a stage retrying one batch while the search cluster is down) is
        # made to leave by kafka-python's heartbeat thread; its next poll rejoins and reads from the committed
        # positions. kafka-python also sends it as the group's rebalance timeout (it has no separate setting).
        self._group_timing = {
            "session_timeout_ms": int(session_timeout * 1000),
            "heartbeat_interval_ms": max(500, int(session_timeout * 1000) // 4),
            "max_poll_interval_ms": int(max_poll_interval * 1000),
        }
        self.client_id = client_id
        self.replication = replication
        self._common: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers.split(","),
            "client_id": client_id,
            "bootstrap_timeout_ms": int(connect_timeout * 1000),
            "request_timeout_ms": int(request_timeout * 1000),
            # kafka-python 3 backs reconnects off exponentially up to 30 s (the Java client: 1 s), so a client that
            # lost its broker for a restart could sit up to half a minute after the broker was back; 1 s, as Java.
            "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        }
        _probe(bootstrap_servers, connect_timeout)
        # Built in two steps so that a bootstrap failure can still stop the client's network thread.
        admin = KafkaAdminClient.__new__(KafkaAdminClient)
        try:
            with self._translated("connect"):
                admin.__init__(**self._common)
        except BusError:
            admin._closed = False  # close() skips a client whose __init__ did not finish
            admin.close()
            raise
        self._admin = admin
        self._clients: weakref.WeakSet[KafkaProducer | KafkaConsumer] = weakref.WeakSet()

    def _translated(self, doing: str) -> _KafkaErrors:
        return _KafkaErrors(self.servers, doing)

    def ensure_topics(self, topics: Iterable[TopicSpec]) -> None:
        specs = list(topics)
        if not specs:
            return
        with self._translated("list topics"):
            existing = set(self._admin.list_topics())
        wanted: dict[str, dict[str, Any]] = {}
        for spec in specs:
            if spec.name in existing or spec.name in wanted:
                continue
            configs = {}
            if spec.retention_ms is not None:
                configs["retention.ms"] = str(spec.retention_ms)
            if spec.compacted:
                configs["cleanup.policy"] = "compact"
            wanted[spec.name] = {
                "num_partitions": spec.partitions,
                "replication_factor": self.replication,
                "configs": configs,
            }
        if not wanted:
            return
        with self._translated(f"create topics {', '.join(wanted)}"):
            response = self._admin.create_topics(wanted, raise_errors=False)
            created = []
            for result in response["topics"]:
                code = result["error_code"]
                if code == 0:
                    created.append(result["name"])
                elif code != _TOPIC_ALREADY_EXISTS:  # another process created it in the meantime: fine
                    error = kafka.errors.for_code(code)
                    message = result.get("error_message") or error.description
                    raise BusError(f"cannot create topic {result['name']!r} on Kafka at {self.servers}: {message}")
            # A created topic has no partition leaders for a moment; wait so the first send does not fail.
            self._admin.wait_for_topics(list(wanted))
        for name in created:
            logger.info("created topic %s on %s: %s", name, self.servers, wanted[name])

    def producer_config(self) -> dict[str, Any]:
        """The options this bus gives kafka-python's producer (a benchmark builds its reference from them)."""
        return {
            **self._common,
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": self.producer_linger_ms,
            # A stage sends a whole batch of enriched articles (a few kB each) at once and then flushes; with the
            # default 16 kB a batch went out as dozens of requests, each one costly in a Python client.
            "batch_size": 256 * 1024,
            "allow_auto_create_topics": False,
            "max_block_ms": int(MAX_BLOCK_SECONDS * 1000),
            "max_request_size": self.max_message_bytes,
        }

    def producer(self) -> KafkaProducer:
        with self._translated("start a producer"):
            client = kafka.KafkaProducer(**self.producer_config())
        _forbid_topic_creation(client._metadata)
        producer = KafkaProducer(client, self.servers, self.max_message_bytes, self.producer_buffer_bytes)
        self._clients.add(producer)
        return producer

    def consumer(self, topics: Sequence[str], group: str, *, from_beginning: bool = True) -> KafkaConsumer:
        with self._translated(f"join group {group!r}"):
            client = kafka.KafkaConsumer(
                **self._common,
                **self._group_timing,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest" if from_beginning else "latest",
                allow_auto_create_topics=False,
            )
            _forbid_topic_creation(client._cluster)
            client.subscribe(list(topics))
        consumer = KafkaConsumer(client, group, self.servers)
        _pace_fetch_waits(client, consumer)
        self._clients.add(consumer)
        return consumer

    def end_offsets(self, topic: str) -> dict[int, int]:
        reader = self._reader()
        try:
            with self._translated(f"read the end offsets of {topic!r}"):
                return {
                    tp.partition: int(end) for tp, end in reader.end_offsets(self._partitions(reader, topic)).items()
                }
        finally:
            reader.close()

    def committed(self, group: str, topic: str) -> dict[int, int]:
        with self._translated(f"read the positions of group {group!r}"):
            offsets = self._admin.list_group_offsets({group: None}).get(group, {})
        return {
            tp.partition: int(meta.offset) for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0
        }

    def read(self, topic: str, *, since_ms: int | None = None, batch: int = 500) -> Iterator[list[Record]]:
        reader = self._reader()
        try:
            with self._translated(f"read {topic!r}"):
                partitions = self._partitions(reader, topic)
                ends = reader.end_offsets(partitions)
                starts = reader.beginning_offsets(partitions)
                if since_ms is not None:
                    found = reader.offsets_for_times(dict.fromkeys(partitions, since_ms))
                    starts = {tp: ends[tp] if found.get(tp) is None else found[tp].offset for tp in partitions}
                left = {tp for tp in partitions if starts[tp] < ends[tp]}
                reader.assign(sorted(left, key=lambda tp: tp.partition))
                for tp in left:
                    reader.seek(tp, starts[tp])
            while left:
                with self._translated(f"read {topic!r}"):
                    polled = reader.poll(timeout_ms=1000, max_records=batch)
                records: list[Record] = []
                for tp in sorted(polled, key=lambda tp: tp.partition):
                    records += [
                        Record(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp)
                        for m in polled[tp]
                        if m.offset < ends[tp]
                    ]
                with self._translated(f"read {topic!r}"):
                    # A partition is done when the reader is past its end (compaction and transactions leave gaps).
                    done = {tp for tp in left if reader.position(tp) >= ends[tp]}
                if done:
                    left -= done
                    reader.pause(*done)
                if records:
                    yield records
        finally:
            reader.close()

    def _reader(self) -> kafka.KafkaConsumer:
        """A consumer outside any group, for reading a topic by offsets."""
        with self._translated("start a reader"):
            client = kafka.KafkaConsumer(
                **self._common, group_id=None, enable_auto_commit=False, allow_auto_create_topics=False
            )
        _forbid_topic_creation(client._cluster)
        return client

    def _partitions(self, reader: kafka.KafkaConsumer, topic: str) -> list[TopicPartition]:
        numbers = reader.partitions_for_topic(topic)
        if not numbers:
            raise BusError(f"topic {topic!r} does not exist on Kafka at {self.servers}")
        return [TopicPartition(topic, number) for number in sorted(numbers)]

    def close(self) -> None:
        """Close the producers (flushing them) and consumers (without committing) still open, then the admin."""
        failure = close_clients(self._clients)
        self._admin.close()
        if failure:
            raise failure


def _forbid_topic_creation(cluster: Any) -> None:
    """Make the client's metadata requests stop asking the broker to create unknown topics.

    kafka-python 3.0.12 accepts ``allow_auto_create_topics`` but never hands it to the cluster metadata that sends the
    requests, so a broker with ``auto.create.topics.enable`` would create any topic a typo names, with the broker's
    default partition count. Set it where it is read, before the client asks about any topic.
    """
    config = getattr(cluster, "config", None)
    if isinstance(config, dict) and "allow_auto_create_topics" in config:
        config["allow_auto_create_topics"] = False
    else:
        logger.warning("kafka-python changed: cannot switch off topic auto-creation; unknown topics may be created")


# What a producer may have sent and not yet had settled (see KafkaProducer); NEWSWIRE_PRODUCER_BUFFER_MB.
DEFAULT_BUFFER_BYTES = 64 * 2**20
# The longest a send waits: for a topic's metadata (kafka-python's max_block_ms), or for room under that bound.
MAX_BLOCK_SECONDS = 10.0

# The shortest wait for a fetch response in one round of a group consumer's poll (see _pace_fetch_waits).
MIN_FETCH_WAIT_MS = 50


def _pace_fetch_waits(client: kafka.KafkaConsumer, consumer: KafkaConsumer) -> None:
    """Keep a group consumer's poll from spinning, and growing, while its broker holds a request unanswered.

    kafka-python 3.0.12 caps each round of ``poll`` at the time left to the next heartbeat; while a heartbeat waits
    for a broker that has stopped answering (hung, frozen, cut off without a reset), that is 0 for as long as the
    request lasts (``request_timeout``, 30 s), so ``poll`` loops without waiting, and every round hangs another
    callback and event on the fetch in flight: a poller on a frozen broker took a core and grew by 250-400 MB
    until the request timed out. Each round here waits at least :data:`MIN_FETCH_WAIT_MS` (never more than the
    caller's own timeout): a fetch that completes still wakes it at once, and a heartbeat goes out at most that much
    later. The wait is set where kafka-python reads it (its fetcher); without one, a warning, and the library's own.
    Found with tests/integration/test_backpressure.py and not yet reported upstream; a sibling busy loop (several
    brokers) was fixed in dpkp/kafka-python pull request 3084, before 3.0.12, which still has this one.
    """
    fetcher: Any = getattr(client, "_fetcher", None)
    fetch_records = getattr(fetcher, "fetch_records", None)
    if fetcher is None or fetch_records is None:
        logger.warning("kafka-python changed: cannot pace its fetch waits; a hung broker may make poll spin")
        return

    def paced(max_records: int | None = None, update_offsets: bool = True, timeout_ms: float | None = None) -> Any:
        if timeout_ms is not None:
            timeout_ms = max(timeout_ms, consumer.min_fetch_wait_ms)
        return fetch_records(max_records, update_offsets=update_offsets, timeout_ms=timeout_ms)

    fetcher.fetch_records = paced


def _probe(servers: str, timeout: float) -> None:
    """Fail at once, with the reason, when no bootstrap server accepts a connection (kafka-python would retry)."""
    problems = []
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            problems.append(f"{server.strip()}: {getattr(exc, 'strerror', None) or exc}")
    raise BusUnavailable(f"no Kafka broker answers at {servers} ({'; '.join(problems)})")


class _KafkaErrors:
    """Turns kafka-python errors into ours: BusUnavailable when no broker answers, BusError for the rest."""

    def __init__(self, servers: str, doing: str) -> None:
        self.servers = servers
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, kafka.errors.KafkaConnectionError) or (
            isinstance(exc, kafka.errors.KafkaTimeoutError) and "bootstrap" in str(exc)
        ):
            raise BusUnavailable(f"no Kafka broker answers at {self.servers} (while trying to {self.doing})") from exc
        if isinstance(exc, kafka.errors.KafkaError):
            raise BusError(f"Kafka at {self.servers}: cannot {self.doing}: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class KafkaProducer(Producer):
    """Sends through a kafka-python producer, keeping each message's future until the next :meth:`flush`.

    kafka-python 3 keeps every record it has not delivered until its delivery timeout (two minutes), with no bound
    on their bytes (it has no ``buffer.memory``): a caller that sends again after a failed flush (ingest polls its
    feeds again) would pile copies up for as long as the broker is away. So the messages sent and not yet settled
    (stored, or failed for good) are counted, and a send that would take them over ``buffer_bytes`` waits for
    earlier ones to settle, as the Java client's send waits for ``buffer.memory``, at most ``block_seconds``; then
    it raises :class:`BusError`, and the caller keeps its data and tries later, as after any failed send.
    """

    def __init__(
        self,
        client: kafka.KafkaProducer,
        servers: str,
        limit: int,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        block_seconds: float = MAX_BLOCK_SECONDS,
    ) -> None:
        self._client = client
        self._limit = limit
        self._servers = servers
        self._buffer_bytes = buffer_bytes
        self._block_seconds = block_seconds
        self._pending: list[tuple[str, Any]] = []
        self._closed = False
        self._unsettled = 0  # bytes sent and not yet settled; kafka-python's sender thread settles them
        self._settled = threading.Condition()

    @property
    def unsettled_bytes(self) -> int:
        """Bytes of the messages sent and neither stored nor failed yet."""
        return self._unsettled

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        # kafka-python sizes the record itself and raises MessageSizeTooLargeError; checked here first, so the error
        # is ours with the sizes, the same as the embedded bus's.
        size = message_size(key, value)
        if size > self._limit:
            raise MessageTooLarge(topic, key, size, self._limit)
        with self._settled:
            # A message larger than the bound still goes when nothing else waits, or it never could.
            room = self._settled.wait_for(
                lambda: not self._unsettled or self._unsettled + size <= self._buffer_bytes, self._block_seconds
            )
            if not room:
                raise BusError(
                    f"Kafka at {self._servers} has not settled {self._unsettled / 2**20:.1f} MiB of messages sent "
                    f"earlier within {self._block_seconds:g}s (the producer's bound: "
                    f"{self._buffer_bytes / 2**20:.0f} MiB); not sending to {topic}"
                )
            self._unsettled += size
        try:
            with _KafkaErrors(self._servers, f"send to {topic}"):
                future = self._client.send(topic, key=key, value=value)
        except BaseException:
            self._settle(size, None)
            raise
        future.add_both(self._settle, size)
        self._pending.append((topic, future))

    def _settle(self, size: int, _outcome: object) -> None:
        with self._settled:
            self._unsettled -= size
            self._settled.notify_all()

    def flush(self, timeout: float = 30.0) -> None:
        pending, self._pending = self._pending, []
        try:
            self._client.flush(timeout=timeout)
        except kafka.errors.KafkaTimeoutError as exc:
            raise BusError(
                f"Kafka at {self._servers} did not acknowledge {len(pending)} messages within {timeout:g}s"
            ) from exc
        failed = [(topic, future) for topic, future in pending if not future.succeeded()]
        if failed:
            topic, future = failed[0]
            cause = future.exception
            reason = _describe(cause) if cause is not None else "not acknowledged"
            raise BusError(
                f"{len(failed)} of {len(pending)} messages were not stored by Kafka at {self._servers}; "
                f"the first, to {topic}: {reason}"
            ) from cause

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._client.close(timeout=10)


class KafkaConsumer(Consumer):
    """Reads through a kafka-python consumer in group ``group``; commits only when told to."""

    def __init__(self, client: kafka.KafkaConsumer, group: str, servers: str) -> None:
        self._client = client
        self.group = group
        self._servers = servers
        self.min_fetch_wait_ms = 0  # during a poll: what _pace_fetch_waits may wait, at most the poll's timeout

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        timeout_ms = int(timeout * 1000)
        self.min_fetch_wait_ms = min(MIN_FETCH_WAIT_MS, timeout_ms)
        with _KafkaErrors(self._servers, f"read for group {self.group!r}"):
            batches = self._client.poll(timeout_ms=timeout_ms, max_records=max_records)
        records: list[Record] = []
        for partition in sorted(batches, key=lambda tp: (tp.topic, tp.partition)):
            records += [
                Record(msg.topic, msg.partition, msg.offset, msg.key, msg.value, msg.timestamp)
                for msg in batches[partition]
            ]
        return records

    def commit(self, records: Sequence[Record]) -> None:
        if not records:
            return
        offsets = {
            TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
            for (topic, partition), offset in next_positions(records).items()
        }
        try:
            self._client.commit(offsets, timeout_ms=30_000)
        except kafka.errors.CommitFailedError as exc:
            raise BusError(
                f"group {self.group!r} on Kafka at {self._servers} rebalanced before the commit; "
                "the records will be delivered again"
            ) from exc
        except kafka.errors.KafkaError as exc:
            raise BusError(f"cannot commit group {self.group!r} on Kafka at {self._servers}: {_describe(exc)}") from exc

    def assignment(self) -> frozenset[tuple[str, int]]:
        """The partitions the group gave this member, as of its last poll."""
        with _KafkaErrors(self._servers, f"read the assignment of group {self.group!r}"):
            return frozenset((tp.topic, tp.partition) for tp in self._client.assignment())

    def close(self) -> None:
        self._client.close(autocommit=False)
