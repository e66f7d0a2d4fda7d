"""``newswire deadletters list|replay``: read the dead-letter topic, and send letters back where they came from.

``list`` reads the whole dead-letter topic without a consumer group and shows each letter: when it failed, the stage,
the reason, its origin (topic, partition, offset) and the article id (the key of the original message, which is the
article id on the article topics). A stage that dies after sending a letter and before committing the offset of the
record reads that record again and sends a second letter for it (at-least-once); letters of one stage with the same
origin are one letter, shown once with how many copies the topic holds, and replayed once.

``replay`` republishes the original payload of each chosen letter to its origin topic, with its original key, so
that the stage that refused it reads it again (after the fix of whatever refused it). The stages write idempotently
(an article id and revision written twice is stored once), so a replay of something that meanwhile got through is
harmless. Every replayed letter is recorded on the compacted topic ``<deadletter topic>.replayed`` (keyed by the
letter's partition and offset) after its payload is acknowledged; a second replay skips those and says how many.
A letter that fails again becomes a new letter, which a later replay can send again. A letter whose payload was cut
to fit on the bus (its reason ends in ``[payload cut ...``) cannot be replayed and is left out, counted.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from newswire.app.parts import Default, Parts
from newswire.bus import Bus, TopicSpec, pipeline_topics
from newswire.contract import DeadLetter, decode_deadletter, format_time
from newswire.errors import BusError, ContractError
from newswire.settings import Settings
from newswire.stage import PAYLOAD_CUT_MARK

logger = logging.getLogger(__name__)


def moment(text: str) -> datetime:
    """An ISO date or date-time from the command line, as UTC (a time without a zone is UTC)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Letter:
    """A dead letter with where it sits on the dead-letter topic."""

    partition: int
    offset: int
    letter: DeadLetter
    copies: int = 1  # letters on the topic for the same stage and origin (a stage that died before its commit)

    @property
    def ref(self) -> str:
        """The letter's identity on its topic, the key of its replay record."""
        return f"{self.partition}:{self.offset}"

    def as_json(self, replayed: bool) -> dict[str, Any]:
        origin = self.letter.origin
        return {
            "letter": self.ref,
            "failed_at": format_time(self.letter.failed_at),
            "stage": self.letter.stage,
            "reason": self.letter.reason,
            "error_type": self.letter.error_type,
            "origin": {"topic": origin.topic, "partition": origin.partition, "offset": origin.offset},
            "article_id": origin.key,
            "payload_bytes": len(self.letter.payload.encode("utf-8")),
            "replayed": replayed,
            "copies": self.copies,
        }


def replay_topic(settings: Settings) -> TopicSpec:
    """The compacted topic that records which letters were replayed."""
    return TopicSpec(f"{settings.topic_deadletter}.replayed", 1, None, compacted=True)


def read_letters(
    bus: Bus, settings: Settings, *, reason: str | None = None, since: datetime | None = None
) -> list[Letter]:
    """The letters on the dead-letter topic, oldest first per partition; ``reason`` is a case-insensitive substring of
    the reason or the error type, ``since`` a time the letter failed at or after. A message on the topic that is not a
    dead letter is logged and left out. Letters of one stage and one origin record are one: the first, with the number
    of copies."""
    wanted = reason.lower() if reason else None
    letters: list[Letter] = []
    first_of: dict[tuple[str, str, int, int], int] = {}  # (stage, topic, partition, offset) -> index in letters
    for batch in bus.read(settings.topic_deadletter):
        for record in batch:
            try:
                letter = decode_deadletter(record.value)
            except ContractError as exc:
                logger.warning("not a dead letter at %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
                continue
            if wanted and wanted not in letter.reason.lower() and wanted not in letter.error_type.lower():
                continue
            if since is not None and letter.failed_at < since:
                continue
            origin = letter.origin
            if origin.partition is not None and origin.offset is not None:
                where = (letter.stage, origin.topic, origin.partition, origin.offset)
                if where in first_of:
                    index = first_of[where]
                    letters[index] = replace(letters[index], copies=letters[index].copies + 1)
                    continue
                first_of[where] = len(letters)
            letters.append(Letter(record.partition, record.offset, letter))
    return letters


def replayed_refs(bus: Bus, settings: Settings, *, create: bool = True) -> set[str]:
    """The letters a replay already sent back; without ``create``, none when no replay ever ran (nothing made)."""
    if create:
        bus.ensure_topics([replay_topic(settings)])
    else:
        try:
            bus.end_offsets(replay_topic(settings).name)
        except BusError:  # no replay topic yet: the letters were just read, so the bus itself answers
            return set()
    return {record.key.decode() for batch in bus.read(replay_topic(settings).name) for record in batch if record.key}


@dataclass(frozen=True, slots=True)
class Replay:
    """What a replay did: letters sent back, skipped as replayed before, and left out because their payload was cut."""

    replayed: int
    skipped: int
    cut: int


def replay(bus: Bus, settings: Settings, letters: list[Letter]) -> Replay:
    """Send ``letters`` back to their origin topics, skipping those replayed before and those whose payload is cut."""
    done = replayed_refs(bus, settings)
    whole = [letter for letter in letters if PAYLOAD_CUT_MARK not in letter.letter.reason]
    fresh = [letter for letter in whole if letter.ref not in done]
    outcome = Replay(len(fresh), len(whole) - len(fresh), len(letters) - len(whole))
    if not fresh:
        return outcome
    producer = bus.producer()
    try:
        for item in fresh:
            origin = item.letter.origin
            key = origin.key.encode("utf-8") if origin.key is not None else None
            producer.send(origin.topic, key, item.letter.payload.encode("utf-8"))
        producer.flush()  # the payloads are stored before any letter is marked replayed
        for item in fresh:
            record = {"replayed_at": format_time(datetime.now(UTC)), "to": item.letter.origin.topic}
            producer.send(replay_topic(settings).name, item.ref.encode(), json.dumps(record).encode())
        producer.flush()
    finally:
        producer.close()
    return outcome


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    deadletters = subparsers.add_parser("deadletters", help="list the dead letters, or replay them after a fix")
    actions = deadletters.add_subparsers(dest="deadletters_action", metavar="ACTION", required=True)
    choice = argparse.ArgumentParser(add_help=False)
    choice.add_argument("--embedded", action="store_true", help="use the embedded bus in the data directory")
    choice.add_argument("--reason", metavar="TEXT", help="only letters whose reason or error type contains TEXT")
    choice.add_argument("--since", type=moment, metavar="TIME", help="only letters that failed at or after TIME")
    parents = [*parents, choice]

    listing = actions.add_parser("list", parents=parents, help="time, stage, reason, origin and article of each")
    listing.add_argument("--json", action="store_true", help="one JSON object per letter")
    listing.set_defaults(func=_list)

    again = actions.add_parser(
        "replay",
        parents=parents,
        help="send the original messages back to their topics (each letter once)",
        description="Republishes the payload of each chosen letter to its origin topic with its original key, so "
        "the stage that refused it reads it again. Letters replayed before are skipped.",
    )
    again.set_defaults(func=_replay)


def _open(args: argparse.Namespace, settings: Settings) -> Bus:
    bus = Parts.choose(settings, Default.FIND, embedded=args.embedded).open_bus(settings, client_id="newswire-letters")
    bus.ensure_topics([topic for topic in pipeline_topics(settings) if topic.name == settings.topic_deadletter])
    return bus


def _list(args: argparse.Namespace, settings: Settings) -> int:
    bus = _open(args, settings)
    try:
        letters = read_letters(bus, settings, reason=args.reason, since=args.since)
        done = replayed_refs(bus, settings, create=False)
    finally:
        bus.close()
    if args.json:
        for item in letters:
            print(json.dumps(item.as_json(item.ref in done), ensure_ascii=False))
        return 0
    for item in letters:
        letter, origin = item.letter, item.letter.origin
        where = f"{origin.topic}[{origin.partition}]@{origin.offset}"
        mark = (f" ({item.copies} copies)" if item.copies > 1 else "") + (" (replayed)" if item.ref in done else "")
        reason = " ".join(letter.reason.split())
        reason = reason if len(reason) <= 100 else reason[:99] + "…"
        print(f"{format_time(letter.failed_at)}  {letter.stage:<9}  {where}  {origin.key or '-'}{mark}\n    {reason}")
    print(f"{len(letters)} dead letters")
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    bus = _open(args, settings)
    try:
        letters = read_letters(bus, settings, reason=args.reason, since=args.since)
        done = replay(bus, settings, letters)
    finally:
        bus.close()
    print(f"replayed {done.replayed} dead letters to their topics; {done.skipped} replayed before, skipped")
    if done.cut:
        print(f"{done.cut} letters not replayed: their payload was cut to fit the dead-letter topic")
    return 0
