"""The consume-handle-produce-commit loop that the processor and the indexer share.

At-least-once, in this order, for every batch: read records; handle them (enrich, or write to the search store);
send the outputs and the dead letters; wait until the bus has acknowledged all of them; only then commit the
positions. A crash anywhere before the commit means the batch is read again, which the idempotent writes downstream
absorb. A record that cannot be handled (bad JSON, wrong schema, refused by the store) goes to the dead-letter
topic with the reason and its origin, and is counted; it never stops the stage. A transient failure (the search
cluster is down) is retried with the same batch after a back-off, without committing.

A stage runs until the stop event it was given is set: the process's signal event for a service, the pipeline's
own event in the one-process run. That is the only way to stop one.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from newswire.bus import MAX_MESSAGE_BYTES, Bus, Consumer, Producer, Record, message_size
from newswire.contract import DeadLetter, Origin, encode_deadletter
from newswire.errors import BusError, MessageTooLarge, RetryAfter
from newswire.metrics import BATCH_SECONDS

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Output:
    """A message for the next stage."""

    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record set aside, with why."""

    record: Record
    reason: str
    error_type: str


@dataclass(slots=True)
class BatchOutcome:
    """What handling a batch gave: outputs to send, records to dead-letter, and ``delivered``: what to run once the
    bus has acknowledged them all (a handler's memory of what it has sent, which a failed send must not change)."""

    outputs: list[Output] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    delivered: list[Callable[[], None]] = field(default_factory=list)


BatchHandler = Callable[[Sequence[Record]], BatchOutcome]


# Put at the end of the reason of a letter whose payload had to be cut to fit on the bus: such a letter says why the
# message failed, but cannot be replayed.
PAYLOAD_CUT_MARK = "[payload cut to fit the dead-letter topic: "


def dead_letter(stage: str, rejection: Rejection, topic: str, max_bytes: int = MAX_MESSAGE_BYTES) -> Output:
    """The dead-letter message for ``rejection`` on ``topic``, keyed like the original, at most ``max_bytes``.

    The letter carries the whole original payload when it fits; a payload too large for that (a message refused for
    its size, or one near the limit, since the envelope and JSON escaping add to it) is cut, and the reason ends in
    :data:`PAYLOAD_CUT_MARK` with the original size: the reason and origin always reach the topic.
    """
    record = rejection.record
    key = record.key.decode("utf-8", "replace") if record.key is not None else None
    payload = record.value.decode("utf-8", "replace")
    reason = rejection.reason[:2000]

    def encoded(payload: str, reason: str) -> bytes:
        letter = DeadLetter(
            stage=stage,
            reason=reason,
            error_type=rejection.error_type,
            origin=Origin(topic=record.topic, partition=record.partition, offset=record.offset, key=key),
            payload=payload,
        )
        return encode_deadletter(letter)

    value = encoded(payload, reason)
    if message_size(record.key, value) > max_bytes:
        cut_reason = f"{reason} {PAYLOAD_CUT_MARK}{len(record.value)} bytes, first ones kept]"
        keep = max(0, max_bytes // 2 - len(cut_reason.encode()) - 4096)
        while True:
            value = encoded(payload[:keep], cut_reason)
            if message_size(record.key, value) <= max_bytes or keep == 0:
                break
            keep //= 2  # escaping made it larger than its length (control characters become six bytes each)
    return Output(topic=topic, key=record.key, value=value)


class Stage:
    """Runs ``handle`` over batches from ``topics`` in consumer group ``group`` until its stop event is set."""

    def __init__(
        self,
        *,
        name: str,
        bus: Bus,
        topics: Sequence[str],
        group: str,
        handle: BatchHandler,
        deadletter_topic: str,
        batch_size: int = 64,
        poll_timeout: float = 1.0,
        max_backoff: float = 30.0,
        report_every: float = 30.0,
        lookahead: Callable[[Sequence[Record]], None] | None = None,
    ) -> None:
        """``lookahead``, when given, is told of each batch before it is handled, and of the next batch (what the
        bus holds already) before the current one is: a handler whose work runs elsewhere (the processor's spaCy
        worker) starts on the next batch while this one is finished, sent and committed. Only handled batches are
        ever committed, in order; one read ahead and not handled (a stop, a crash) is read again."""
        self.name = name
        self.bus = bus
        self.topics = list(topics)
        self.group = group
        self.handle = handle
        self.deadletter_topic = deadletter_topic
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.max_backoff = max_backoff
        self.report_every = report_every
        self.lookahead = lookahead
        self.counters: Counter[str] = Counter()
        self.deadletters: Counter[str] = Counter()  # by the error type of the rejection
        self.last_activity = time.monotonic()
        self._busy = False
        self._consuming = False  # set once the loop runs: a stage still warming up is not idle
        self._too_large = 0  # outputs of the batch in hand refused for their size

    def idle_for(self) -> float:
        """Seconds since the stage last finished a batch (or began consuming); 0 while it handles one, and before
        its loop has begun (a processor warming its model up has read nothing yet)."""
        if self._busy or not self._consuming:
            return 0.0
        return time.monotonic() - self.last_activity

    def run(self, stop: threading.Event) -> None:
        """Handle batches until ``stop`` is set; the batch in hand is finished, or left uncommitted to be read again."""
        consumer = self.bus.consumer(self.topics, self.group)
        producer = self.bus.producer()
        last_report = time.monotonic()
        logger.info("%s: consuming %s as group %s", self.name, ",".join(self.topics), self.group)
        self.last_activity = time.monotonic()
        self._consuming = True
        ahead: Sequence[Record] = ()
        try:
            while not stop.is_set():
                records = ahead or consumer.poll(self.batch_size, self.poll_timeout)
                ahead = ()
                if records:
                    self._busy = True
                    try:
                        if self.lookahead is not None:
                            self.lookahead(records)  # a batch read ahead was told already: the handler knows it
                            ahead = consumer.poll(self.batch_size, 0.0)
                            if ahead:
                                self.lookahead(ahead)
                        self._run_batch(records, consumer, producer, stop)
                    finally:
                        self.last_activity = time.monotonic()
                        self._busy = False
                if time.monotonic() - last_report >= self.report_every:
                    self.report()
                    last_report = time.monotonic()
        finally:
            self.report()
            producer.close()
            consumer.close()

    def run_over(self, batches: Iterable[Sequence[Record]], stop: threading.Event) -> None:
        """Handle ``batches`` (records read outside any consumer group, such as :meth:`Bus.read` gives) the way
        :meth:`run` handles what it polls, outputs and dead letters alike, committing nothing; return when they are
        done or ``stop`` is set. Replays (``newswire reprocess``) run a stage's handler this way."""
        producer = self.bus.producer()
        self._consuming = True
        try:
            for records in batches:
                if stop.is_set():
                    break
                if records:
                    self._run_batch(records, None, producer, stop)
        finally:
            self.report()
            producer.close()

    def report(self) -> None:
        logger.info("%s: %s", self.name, ", ".join(f"{k}={v}" for k, v in sorted(self.counters.items())) or "idle")

    def _run_batch(
        self, records: Sequence[Record], consumer: Consumer | None, producer: Producer, stop: threading.Event
    ) -> None:
        started = time.monotonic()
        backoff = 1.0
        while True:
            try:
                outcome = self.handle(records)
                outcome.rejections += self._send_outputs(records, outcome.outputs, producer)
                for rejection in outcome.rejections:
                    record = rejection.record
                    logger.warning(
                        "%s: dead-lettering %s[%d]@%d: %s",
                        self.name,
                        record.topic,
                        record.partition,
                        record.offset,
                        rejection.reason,
                    )
                    letter = dead_letter(self.name, rejection, self.deadletter_topic, self.bus.max_message_bytes)
                    producer.send(letter.topic, letter.key, letter.value)
                producer.flush()
            except (RetryAfter, BusError) as exc:
                if stop.is_set():
                    logger.warning("%s: stopping with an unfinished batch; it will be read again: %s", self.name, exc)
                    return
                wait = exc.seconds if isinstance(exc, RetryAfter) else backoff
                wait = min(wait, self.max_backoff) * random.uniform(0.8, 1.2)
                self.counters["retries"] += 1
                logger.warning("%s: batch of %d failed, retrying in %.1fs: %s", self.name, len(records), wait, exc)
                stop.wait(wait)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            break
        for callback in outcome.delivered:
            callback()
        try:
            if consumer is not None:
                consumer.commit(records)
        except BusError as exc:
            # The group moved on (rebalance or a long outage): the batch is delivered again; downstream is idempotent.
            self.counters["commit_failures"] += 1
            logger.warning("%s: commit of %d records failed, they will be read again: %s", self.name, len(records), exc)
            return
        self.counters["consumed"] += len(records)
        self.counters["produced"] += len(outcome.outputs) - self._too_large
        self.counters["deadlettered"] += len(outcome.rejections)
        self.deadletters.update(rejection.error_type for rejection in outcome.rejections)
        BATCH_SECONDS.labels(self.name).observe(time.monotonic() - started)

    def _send_outputs(
        self, records: Sequence[Record], outputs: Sequence[Output], producer: Producer
    ) -> list[Rejection]:
        """Send ``outputs``; an output too large for the bus (which no retry can fix) rejects the record it came from,
        the record with its key, instead of failing the batch for ever."""
        rejections: list[Rejection] = []
        self._too_large = 0
        by_key = {record.key: record for record in records if record.key is not None}
        for output in outputs:
            try:
                producer.send(output.topic, output.key, output.value)
            except MessageTooLarge as exc:
                self._too_large += 1
                source = by_key.get(output.key) if output.key is not None else None
                if source is None:
                    self.counters["dropped_too_large"] += 1
                    logger.error("%s: dropping an output for %s that came from no record of the batch: %s",
                                 self.name, output.topic, exc)  # fmt: skip
                    continue
                rejections.append(
                    Rejection(source, f"its output for {output.topic} is too large: {exc}", type(exc).__name__)
                )
        return rejections
