"""The whole pipeline in one process: ingest, process and index as threads over one bus and one search store.

With neither Kafka nor Elasticsearch configured it runs on the embedded bus and the embedded search store in the data
directory; with ``--kafka`` / ``--es`` the same three stages run against the real services (a single-box
deployment). The stages do not know which they have: :class:`~newswire.app.parts.Parts` decides.
"""

from __future__ import annotations

import logging
import threading
import time

from newswire.app.parts import Parts
from newswire.bus import Bus, pipeline_topics
from newswire.indexer.service import build_index_stage
from newswire.ingest.service import run_ingest
from newswire.processors.service import build_process_stage
from newswire.search import SearchStore
from newswire.settings import Settings
from newswire.stage import Stage

logger = logging.getLogger(__name__)

__all__ = ["Pipeline"]


class Pipeline:
    """Ingest, process and index in one process until the stop event is set (or, with ``once``, until drained).

    ``once`` says the run is one-shot (``newswire run --once``): the processor then skips its warm-up batch, which
    only spares a long-running service's first batch a cold model."""

    def __init__(self, settings: Settings, parts: Parts, *, once: bool = False) -> None:
        self.settings = settings
        self.parts = parts
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.bus: Bus = parts.open_bus(settings, client_id="newswire-run")
        self.bus.ensure_topics(pipeline_topics(settings))
        self.store: SearchStore = parts.open_store(settings)
        self.store.ensure_ready()
        self.stages: list[Stage] = [
            build_process_stage(settings, self.bus, warm_up=not once),
            build_index_stage(settings, self.bus, self.store),
        ]
        self._threads: list[threading.Thread] = []

    def run(self, stop: threading.Event, *, once: bool = False, idle_seconds: float = 3.0) -> None:
        """Run until ``stop`` is set; with ``once``, poll each feed once and return when everything is indexed.

        The stages stop when ingest has returned (on ``stop``, or drained with ``once``), so whatever ingest
        published is processed and indexed first; a stage that fails sets ``stop`` for all.
        """
        stages_stop = threading.Event()
        failures: list[BaseException] = []
        for stage in self.stages:
            thread = threading.Thread(
                target=self._guard, args=(stage, stages_stop, failures, stop), name=stage.name, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        try:
            run_ingest(self.settings, self.bus, stop, once=once)
            if once:
                self._drain(stop, idle_seconds)
        finally:
            stages_stop.set()
            for thread in self._threads:
                thread.join(timeout=60)
            self.store.refresh()
            self.store.close()
            self.bus.close()
        if failures:
            raise failures[0]

    def _drain(self, stop: threading.Event, idle_seconds: float) -> None:
        """Wait until every stage has committed all there is on its topics (ingest has returned, so nothing more
        comes), or, should offsets never tell, until every stage has been idle for ``idle_seconds``."""
        while not stop.is_set():
            if self._caught_up() or all(stage.idle_for() >= idle_seconds for stage in self.stages):
                return
            if not any(thread.is_alive() for thread in self._threads):
                return
            time.sleep(0.1)

    def _caught_up(self) -> bool:
        # In pipeline order: once the processor has committed all of the raw topic, what it sent on is on the
        # enriched topic already (it sends before it commits), so the indexer's position there is the last word.
        for stage in self.stages:
            if stage.idle_for() <= 0:
                return False
            for topic in stage.topics:
                committed = self.bus.committed(stage.group, topic)
                if any(committed.get(partition, 0) < end for partition, end in self.bus.end_offsets(topic).items()):
                    return False
        return True

    @staticmethod
    def _guard(
        stage: Stage, stages_stop: threading.Event, failures: list[BaseException], stop: threading.Event
    ) -> None:
        try:
            stage.run(stages_stop)
        except BaseException as exc:
            logger.exception("%s stopped on an error; stopping the pipeline", stage.name)
            failures.append(exc)
            stop.set()
