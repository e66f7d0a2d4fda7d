"""A Kafka broker of a test's own, for faults that must not touch the shared one (pausing it, cutting it).

It runs from the Kafka install that ``newswire services up`` made under the checkout's ``.services/`` (or under
``NEWSWIRE_TEST_SERVICES_HOME``, for a checkout whose services were started from another one), with its own
free ports, configuration and data folder under the test's temporary directory, started and stopped by process id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newswire.services import ServicesConfig, kafka_broker_count, kafka_install_dir, start_kafka
from tests.conftest import REPO
from tests.processes import alive

# Read when the module loads, as tests/conftest.py reads NEWSWIRE_TEST_KAFKA: the autouse fixture clears NEWSWIRE_*.
SERVICES_HOME = Path(os.environ.get("NEWSWIRE_TEST_SERVICES_HOME", REPO / ".services"))
START_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class OwnBroker:
    """A single-node KRaft broker on loopback, its process ``pid`` (not a child of ours: it runs detached)."""

    servers: str
    pid: int
    home: Path

    def pause(self) -> None:
        """SIGSTOP: the broker holds its connections open but answers nothing, as a hung or cut-off broker."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self, timeout: float = 30.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)  # a stopped process would not act on SIGTERM
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


@contextlib.contextmanager
def own_broker(root: Path, heap: str = "384m") -> Iterator[OwnBroker]:
    """Start a broker with its home at ``root``, wait until it answers, and stop it when the block ends."""
    config = ServicesConfig(home=root, kafka_port=free_port(), kafka_controller_port=free_port(), kafka_heap=heap)
    install = SERVICES_HOME / f"kafka-{config.kafka_version}"
    if not (install / "libs").is_dir():
        pytest.fail(
            f"no Kafka {config.kafka_version} install at {install}: run `newswire services up` in {REPO} "
            "(or set NEWSWIRE_TEST_SERVICES_HOME to the .services folder of the checkout that ran it)",
            pytrace=False,
        )
    root.mkdir(parents=True, exist_ok=True)
    kafka_install_dir(config).symlink_to(install, target_is_directory=True)
    pid = start_kafka(config)
    broker = OwnBroker(f"127.0.0.1:{config.kafka_port}", pid, root)
    try:
        deadline = time.monotonic() + START_SECONDS
        while kafka_broker_count(config.kafka_port) < 1:
            if not alive(pid):
                pytest.fail(f"the test's own Kafka broker exited while starting; see {root / 'logs'}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"the test's own Kafka broker did not answer within {START_SECONDS:.0f}s", pytrace=False)
            time.sleep(0.25)
        yield broker
    finally:
        broker.stop()
