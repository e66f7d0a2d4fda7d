"""Which partition a keyed message goes to: Kafka's default partitioner, so both bus drivers agree.

The Java client (and kafka-python's ``DefaultPartitioner``) hashes the key bytes with murmur2 (seed ``0x9747b28c``),
clears the sign bit and takes the remainder by the partition count. :func:`partition_for` computes exactly that, so
an article id lands on the same partition number on the embedded bus as on Kafka, and a topic moved from one to the
other keeps its per-key order.
"""

from __future__ import annotations

import struct

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash of ``data`` as the Java client returns it: a signed 32-bit integer."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    # Little-endian 32-bit words, as the Java code assembles them byte by byte.
    for (word,) in struct.iter_unpack("<I", data[:whole]):
        k = (word * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[whole:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition of a message with ``key`` in a topic of ``partitions`` partitions (Java ``toPositive % n``)."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, got {partitions}")
    return (murmur2(key) & 0x7FFFFFFF) % partitions
