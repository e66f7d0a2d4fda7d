"""What the bus objects of this process share per file: consumer groups, their members and generations, and the
signal that wakes consumers after a flush.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


_member_ids = itertools.count(1)


@dataclass(eq=False)
class _Member:
    topics: tuple[str, ...]
    id: int = field(default_factory=lambda: next(_member_ids))

    def __str__(self) -> str:
        return f"member {self.id}"


@dataclass(eq=False)
class _Group:
    members: list[_Member] = field(default_factory=list)
    generation: int = 0


class _SharedFile:
    """What every bus object of this process on one file shares: the wake-up signal and the live groups."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.version = 0  # bumped on every flush of this process, under ``changed``
        self.groups_lock = threading.RLock()
        self.groups: dict[str, _Group] = {}

    def announce_write(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()


_shared_files: dict[Path, _SharedFile] = {}
_shared_files_lock = threading.Lock()


def _shared_file(path: Path) -> _SharedFile:
    with _shared_files_lock:
        return _shared_files.setdefault(path, _SharedFile())


def _drop_member(shared: _SharedFile, group_name: str, member: _Member) -> None:
    """Forget a member whose consumer was never closed, so that it does not keep its partitions for ever."""
    with shared.groups_lock:
        group = shared.groups.get(group_name)
        if group is not None and member in group.members:
            logger.warning("a consumer of group %s was dropped without close(); its partitions go back", group_name)
            group.members.remove(member)
            group.generation += 1
            if not group.members:
                del shared.groups[group_name]
