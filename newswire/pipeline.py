"""The whole pipeline in one process: ingest, process and index as threads over one bus and one search store.

With neither Kafka nor Elasticsearch configured it runs on the embedded bus and the embedded search store in the data
directory; with ``--kafka`` / ``--es`` the same three stages run against the real services (a single-box
deployment). The stages do not know which they have.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from newswire.bus import Bus, open_bus, pipeline_topics
from newswire.search import SearchStore
from newswire.settings import Settings
from newswire.stage import Stage

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backends:
    embedded_bus: bool
    embedded_store: bool

    @classmethod
    def for_settings(cls, settings: Settings) -> Backends:
        """Embedded parts for whatever the settings do not point at a real service."""
        return cls(embedded_bus=settings.kafka is None, embedded_store=settings.es is None)

    def describe(self, settings: Settings) -> str:
        bus = f"embedded bus in {settings.data_dir}" if self.embedded_bus else f"Kafka at {settings.kafka_servers}"
        store = (
            f"embedded search store in {settings.data_dir}"
            if self.embedded_store
            else f"Elasticsearch at {settings.es_url}"
        )
        return f"{bus}, {store}"


class Pipeline:
    """Ingest, process and index in one process until :meth:`stop` (or, with ``once``, until drained)."""

    def __init__(self, settings: Settings, backends: Backends) -> None:
        from newswire.indexer import open_store  # noqa: PLC0415 - stage packages load when a pipeline is built
        from newswire.indexer.service import build_index_stage  # noqa: PLC0415
        from newswire.processors.service import build_process_stage  # noqa: PLC0415

        self.settings = settings
        self.backends = backends
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.bus: Bus = open_bus(settings, embedded=backends.embedded_bus, client_id="newswire-run")
        self.bus.ensure_topics(pipeline_topics(settings))
        self.store: SearchStore = open_store(settings, embedded=backends.embedded_store)
        self.store.ensure_ready()
        self.stages: list[Stage] = [
            build_process_stage(settings, self.bus),
            build_index_stage(settings, self.bus, self.store),
        ]
        self._threads: list[threading.Thread] = []

    def run(self, stop: threading.Event, *, once: bool = False, idle_seconds: float = 3.0) -> None:
        """Run until ``stop`` is set; with ``once``, poll each feed once and return when everything is indexed."""
        from newswire.ingest.service import run_ingest  # noqa: PLC0415

        failures: list[BaseException] = []
        for stage in self.stages:
            thread = threading.Thread(target=self._guard, args=(stage, failures, stop), name=stage.name, daemon=True)
            thread.start()
            self._threads.append(thread)
        try:
            run_ingest(self.settings, self.bus, stop, once=once)
            if once:
                self._drain(stop, idle_seconds)
        finally:
            for stage in self.stages:
                stage.stop()
            for thread in self._threads:
                thread.join(timeout=60)
            self.store.refresh()
            self.store.close()
            self.bus.close()
        if failures:
            raise failures[0]

    def _drain(self, stop: threading.Event, idle_seconds: float) -> None:
        while not stop.is_set():
            if all(stage.idle_for() >= idle_seconds for stage in self.stages):
                return
            if not any(thread.is_alive() for thread in self._threads):
                return
            time.sleep(0.2)

    @staticmethod
    def _guard(stage: Stage, failures: list[BaseException], stop: threading.Event) -> None:
        try:
            stage.run()
        except BaseException as exc:
            logger.exception("%s stopped on an error; stopping the pipeline", stage.name)
            failures.append(exc)
            stop.set()
