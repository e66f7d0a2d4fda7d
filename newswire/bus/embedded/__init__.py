"""The embedded bus: topics, partitions and consumer groups in one SQLite file, for running without Kafka.

It keeps the semantics of :mod:`newswire.bus` the way Kafka does, so a stage cannot tell the two apart:

- **Partitions and order.** A keyed message goes to Kafka's partition for its key (:mod:`newswire.bus.partitioner`,
  murmur2 like the Java client), so one key lands on the same partition number here and on Kafka. A message without
  a key goes round-robin over the partitions, one producer at a time (Kafka picks a partition too; nothing may rely
  on where an unkeyed message goes). Offsets are dense per partition from 0 when written; retention and compaction
  leave gaps, as on Kafka.
- **Acknowledgement and durability.** :meth:`Producer.send` only buffers; :meth:`Producer.flush` writes the buffer in
  one SQLite transaction, which is the acknowledgement: after it returns every message is on disk, and a crash can
  never leave part of a flush behind. The file is in WAL mode with ``synchronous=NORMAL`` by default: a committed
  flush survives the process being killed (even with SIGKILL), but the last flushes before a power cut or a kernel
  crash may be lost (never corrupted). ``synchronous="FULL"`` also survives power loss, at the cost of an fsync per
  flush. A flush that fails writes nothing and forgets its buffer; the caller sends again (the stage loop does).
- **Consumer groups.** A group's committed positions are stored in the file and survive restarts; a consumer reads
  from them (or from the beginning, or the end, when the group has none), advances its in-memory position as it
  returns records, and stores a position only on :meth:`Consumer.commit`. Several consumers of one group in one
  process split the partitions of each topic between them (partition ``p`` goes to the ``p % n``-th of the ``n``
  members subscribed to that topic, in joining order); when a member joins or leaves, every member goes back to the
  committed positions, and a commit for records read before that rebalance fails with :class:`BusError`, exactly
  like Kafka's eager rebalance, so nothing uncommitted is lost. A group is consumed by one process at a time: a
  consumer in a second live process raises :class:`BusError` (splitting a group across processes would need a
  coordinator, which is what Kafka is for).
- **Processes and threads.** Every producer and consumer has its own SQLite connection; writers queue on the file
  lock (``busy_timeout``), readers never block writers (WAL). Consumers in this process wake as soon as a producer
  in this process flushes; writes of other processes are noticed within :data:`CROSS_PROCESS_POLL` seconds.
- **Retention and compaction** run when a flush finds the last run older than ``maintenance_interval`` (and on
  :meth:`EmbeddedBus.maintain`). As on Kafka, retention deletes messages older than the topic's ``retention_ms``
  whether or not a group has read them, and a compacted topic keeps the latest message of each key (a compacted
  topic refuses messages without a key, like Kafka); until compaction runs, a reader sees the older values too.
- **Topics** must exist before they are used: :meth:`EmbeddedBus.ensure_topics` creates them; sending to or
  subscribing to an unknown topic raises :class:`BusError` rather than waiting.

The package: :mod:`~newswire.bus.embedded.storage` (the tables and the write transaction),
:mod:`~newswire.bus.embedded.bus` (:class:`EmbeddedBus`: topics and connections),
:mod:`~newswire.bus.embedded.producer`, :mod:`~newswire.bus.embedded.consumer` (group membership, positions,
commits), :mod:`~newswire.bus.embedded.groups` (what consumers of one process share) and
:mod:`~newswire.bus.embedded.retention`.
"""

from __future__ import annotations

from newswire.bus.embedded.bus import EmbeddedBus
from newswire.bus.embedded.consumer import CROSS_PROCESS_POLL, EmbeddedConsumer
from newswire.bus.embedded.producer import EmbeddedProducer
from newswire.bus.embedded.storage import TopicPartition

__all__ = ["CROSS_PROCESS_POLL", "EmbeddedBus", "EmbeddedConsumer", "EmbeddedProducer", "TopicPartition"]
