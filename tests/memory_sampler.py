"""A service's resident memory (VmRSS of its process, or of it and every process under it, such as ingest's parser
processes), sampled in a thread while a test runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.5


def _own_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _rss_mib(pid: int, tree: bool) -> float | None:
    """The resident memory of ``pid`` (with ``tree``, summed with its descendants'); ``None`` once it is gone."""
    own = _own_rss_mib(pid)
    if own is None or not tree:
        return own
    try:
        children = [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        children = []
    return own + sum(_own_rss_mib(child) or 0.0 for child in children)


@dataclass
class MemorySampler:
    """Reads a service's resident memory (with ``tree``, its process tree's) every half second in a thread, from
    :meth:`start` until :meth:`stop`."""

    pid: int
    tree: bool = False  # the process and every process under it
    samples: list[tuple[float, float]] = field(default_factory=list)  # (monotonic time, MiB)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> MemorySampler:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            rss = _rss_mib(self.pid, self.tree)
            if rss is not None:
                self.samples.append((time.monotonic(), rss))

    def stop(self) -> None:
        self._stop.set()

    def between(self, start: float, end: float) -> list[float]:
        return [rss for when, rss in self.samples if start <= when <= end]

    def trace(self, origin: float) -> str:
        """The samples as ``seconds from origin: MiB``, every fourth, for a failure message."""
        return ", ".join(f"{when - origin:.0f}s: {rss:.0f}" for when, rss in self.samples[::4])

    def at(self, moment: float) -> float:
        """The first sample at or after ``moment``."""
        return next(rss for when, rss in self.samples if when >= moment)
