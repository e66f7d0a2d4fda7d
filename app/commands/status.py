"""``newswire status``: how far behind each stage is, per consumer group and topic.

For the processor (its group on the raw topic) and the indexer (its group on the enriched topic): the committed
position, the end offset and the lag (end minus committed, summed over the partitions; a partition the group never
committed counts from 0, so a group that has not started shows everything waiting). A lag that keeps growing
means a stage is slower than what feeds it, or not running. The dead-letter topic's end offsets are shown too, as
the number of letters written (retention may have dropped some of them since).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from newswire.app.parts import Default, Parts
from newswire.bus import Bus
from newswire.settings import Settings


@dataclass(frozen=True, slots=True)
class GroupLag:
    """Where one consumer group stands on one topic."""

    stage: str
    group: str
    topic: str
    partitions: tuple[tuple[int, int, int], ...]  # (partition, committed, end)

    @property
    def committed(self) -> int:
        return sum(committed for _, committed, _ in self.partitions)

    @property
    def end(self) -> int:
        return sum(end for _, _, end in self.partitions)

    @property
    def lag(self) -> int:
        return sum(max(0, end - committed) for _, committed, end in self.partitions)

    def as_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "group": self.group,
            "topic": self.topic,
            "committed": self.committed,
            "end": self.end,
            "lag": self.lag,
            "partitions": [
                {"partition": p, "committed": c, "end": e, "lag": max(0, e - c)} for p, c, e in self.partitions
            ],
        }


def group_lag(bus: Bus, stage: str, group: str, topic: str) -> GroupLag:
    """The lag of ``group`` on ``topic``: per partition its committed position (0 if none) and the end offset."""
    ends = bus.end_offsets(topic)
    committed = bus.committed(group, topic)
    rows = tuple((p, committed.get(p, 0), ends[p]) for p in sorted(ends))
    return GroupLag(stage, group, topic, rows)


def pipeline_lag(bus: Bus, settings: Settings) -> list[GroupLag]:
    """The lag of the processor and the indexer, in pipeline order."""
    return [
        group_lag(bus, "processor", settings.processor_group, settings.topic_raw),
        group_lag(bus, "indexer", settings.indexer_group, settings.topic_enriched),
    ]


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    status = subparsers.add_parser(
        "status",
        parents=parents,
        help="per stage: committed offset, end offset and lag of its consumer group",
        description="Shows, for the processor and the indexer, the position their consumer group committed on the "
        "topic they read, the topic's end offset and the lag between them, and how many dead letters were written. "
        "Reads only: no group moves.",
    )
    status.add_argument("--embedded", action="store_true", help="read the embedded bus in the data directory")
    status.add_argument("--json", action="store_true", help="one JSON document, with the partitions")
    status.add_argument("--processor-group", dest="processor_group", help="[NEWSWIRE_PROCESSOR_GROUP]")
    status.add_argument("--indexer-group", dest="indexer_group", help="[NEWSWIRE_INDEXER_GROUP]")
    status.set_defaults(func=_status)


def _status(args: argparse.Namespace, settings: Settings) -> int:
    bus = Parts.choose(settings, Default.FIND, embedded=args.embedded).open_bus(settings, client_id="newswire-status")
    try:
        lags = pipeline_lag(bus, settings)
        deadletters = sum(bus.end_offsets(settings.topic_deadletter).values())
    finally:
        bus.close()
    if args.json:
        document = {"stages": [lag.as_json() for lag in lags], "deadletters": deadletters}
        print(json.dumps(document, indent=2))
        return 0
    print(f"{'STAGE':<10} {'GROUP':<28} {'TOPIC':<24} {'COMMITTED':>10} {'END':>10} {'LAG':>10}")
    for lag in lags:
        print(f"{lag.stage:<10} {lag.group:<28} {lag.topic:<24} {lag.committed:>10} {lag.end:>10} {lag.lag:>10}")
    print(f"dead letters written to {settings.topic_deadletter}: {deadletters}")
    return 0
