"""End-to-end fixtures: the demo feeds served on loopback, and newswire commands run as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import feedparser
import pytest
import yaml

from newswire.app.demo import DEMO_FEEDS, FeedServer

REPO = Path(__file__).resolve().parents[2]
NEWSWIRE = str(Path(sys.executable).with_name("newswire"))
STORIES = REPO / "processors" / "eval" / "stories.jsonl"


def compose_command(service: str) -> list[str]:
    """The command docker-compose.yml runs for ``service``."""
    spec = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"][service]
    command = spec["command"]
    assert command[0] == "newswire"
    return [NEWSWIRE, *command[1:]]


@dataclass
class Service:
    """A newswire command running as a child process, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> Service:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no last commit."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log:
            self._log.close()
        return self.process.returncode if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Start newswire commands; every one still running at the end is stopped."""
    started: list[Service] = []

    def start(name: str, argv: list[str], env: dict[str, str]) -> Service:
        service = Service(name, argv, env, tmp_path / f"{name}.log").start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def run_newswire(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NEWSWIRE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def base_env(**settings: str) -> dict[str, str]:
    """The process environment without any NEWSWIRE_* of the caller's, plus ``settings`` as NEWSWIRE_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update({f"NEWSWIRE_{name.upper()}": value for name, value in settings.items()})
    return env


@pytest.fixture
def demo_server() -> Iterator[FeedServer]:
    with FeedServer(DEMO_FEEDS) as server:
        yield server


def demo_entry_count() -> int:
    """How many distinct articles the demo feeds hold (what the index must end up with)."""
    links = set()
    for path in sorted(DEMO_FEEDS.glob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            links.add(entry.get("link") or entry.get("id"))
    return len(links)


def story_of_title() -> dict[str, str]:
    """Gold story label of each demo article, by title (the demo feeds are made from the labelled story set)."""
    labels = {}
    for line in STORIES.read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            labels[item["title"]] = item["story"]
    return labels


def wait_until(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> None:
    """Poll ``condition``; fail with ``what`` after ``timeout`` seconds (a deadline, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
