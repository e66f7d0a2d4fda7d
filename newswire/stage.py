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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from newswire.bus import Bus, Consumer, Producer, Record
from newswire.contract import DeadLetter, Origin, encode_deadletter
from newswire.errors import BusError, RetryAfter

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
    outputs: list[Output] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


BatchHandler = Callable[[Sequence[Record]], BatchOutcome]


def dead_letter(stage: str, rejection: Rejection, topic: str) -> Output:
    """The dead-letter message for ``rejection`` on ``topic``, keyed like the original."""
    record = rejection.record
    key = record.key.decode("utf-8", "replace") if record.key is not None else None
    letter = DeadLetter(
        stage=stage,
        reason=rejection.reason[:2000],
        error_type=rejection.error_type,
        origin=Origin(topic=record.topic, partition=record.partition, offset=record.offset, key=key),
        payload=record.value.decode("utf-8", "replace"),
    )
    return Output(topic=topic, key=record.key, value=encode_deadletter(letter))


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
    ) -> None:
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
        self.counters: Counter[str] = Counter()
        self.last_activity = time.monotonic()
        self._busy = False
        self._consuming = False  # set once the loop runs: a stage still warming up is not idle

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
        try:
            while not stop.is_set():
                records = consumer.poll(self.batch_size, self.poll_timeout)
                if records:
                    self._busy = True
                    try:
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

    def report(self) -> None:
        logger.info("%s: %s", self.name, ", ".join(f"{k}={v}" for k, v in sorted(self.counters.items())) or "idle")

    def _run_batch(
        self, records: Sequence[Record], consumer: Consumer, producer: Producer, stop: threading.Event
    ) -> None:
        backoff = 1.0
        while True:
            try:
                outcome = self.handle(records)
                for output in outcome.outputs:
                    producer.send(output.topic, output.key, output.value)
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
                    letter = dead_letter(self.name, rejection, self.deadletter_topic)
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
        try:
            consumer.commit(records)
        except BusError as exc:
            # The group moved on (rebalance or a long outage): the batch is delivered again; downstream is idempotent.
            self.counters["commit_failures"] += 1
            logger.warning("%s: commit of %d records failed, they will be read again: %s", self.name, len(records), exc)
            return
        self.counters["consumed"] += len(records)
        self.counters["produced"] += len(outcome.outputs)
        self.counters["deadlettered"] += len(outcome.rejections)
