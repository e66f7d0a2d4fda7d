"""The parser pool: its worker processes do not outlive a poller that is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.processes import alive

POLLER = """
import asyncio, sys
from datetime import UTC, datetime
from newswire.ingest import parsepool

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Wagner</title>' \\
    b'<link>https://example.org/a</link></item></channel></rss>'
asyncio.run(parsepool.parse_in_worker(FEED, url="https://example.org/feed", content_type="application/rss+xml",
                                      max_entries=10, fetched=datetime.now(UTC)))
print(" ".join(str(pid) for pid in parsepool._get_pool()._processes), flush=True)
sys.stdin.read()
"""


def test_parser_workers_exit_when_the_poller_is_killed():
    workers: list[int] = []
    with subprocess.Popen(
        [sys.executable, "-c", POLLER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as poller:
        try:
            workers = [int(pid) for pid in poller.stdout.readline().split()]
            assert workers, "the pool started no worker"
            assert all(alive(pid) for pid in workers)
            os.kill(poller.pid, signal.SIGKILL)
            poller.wait()
            deadline = time.monotonic() + 30
            while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = [pid for pid in workers if alive(pid)]
            assert not left, f"parser workers {left} outlived their killed poller"
        finally:
            poller.kill()
            for pid in workers:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
