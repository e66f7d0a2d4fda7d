"""Which parts a command runs on: the embedded bus and search store, or Kafka and Elasticsearch. One rule, here.

For the bus and for the search store alike, in this order:

1. ``--embedded`` (on the commands that read: search, stories, story, serve, subscribe, feeds) means embedded;
2. a configured service means that service: ``--kafka`` / ``NEWSWIRE_KAFKA`` for the bus, ``--es`` /
   ``NEWSWIRE_ES`` for the store;
3. otherwise the command's :class:`Default`:

   - ``CREATE`` (``newswire run``): the embedded part, created in the data directory;
   - ``FIND`` (the commands that read): the embedded part when the data directory holds one (``newswire run`` made
     it), the local service on loopback otherwise;
   - ``SERVICE`` (``ingest``, ``process``, ``index``, ``topics``: the services of a deployment): the local service.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from newswire.bus import Bus, open_bus

if TYPE_CHECKING:
    from pathlib import Path

    from newswire.search import SearchStore
    from newswire.settings import Settings

__all__ = ["Default", "Parts"]


class Default(Enum):
    """What a command uses for a part that is neither forced embedded nor configured (see the module's rule)."""

    CREATE = "create"
    FIND = "find"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Parts:
    """The bus and the search store one command runs on."""

    embedded_bus: bool
    embedded_store: bool

    @classmethod
    def choose(cls, settings: Settings, default: Default, *, embedded: bool = False) -> Parts:
        """The parts the rule gives for ``settings`` and the command's ``default``; ``embedded`` is ``--embedded``."""

        def is_embedded(configured: bool, file: Path) -> bool:
            if embedded:
                return True
            if configured or default is Default.SERVICE:
                return False
            return default is Default.CREATE or file.exists()

        return cls(
            embedded_bus=is_embedded(settings.kafka is not None, settings.embedded_bus_path),
            embedded_store=is_embedded(settings.es is not None, settings.embedded_store_path),
        )

    def describe(self, settings: Settings) -> str:
        """One line naming both parts, as ``newswire run`` prints it."""
        bus = f"embedded bus in {settings.data_dir}" if self.embedded_bus else f"Kafka at {settings.kafka_servers}"
        store = (
            f"embedded search store in {settings.data_dir}"
            if self.embedded_store
            else f"Elasticsearch at {settings.es_url}"
        )
        return f"{bus}, {store}"

    def open_bus(self, settings: Settings, *, client_id: str) -> Bus:
        """The bus; nothing is created until it is used."""
        return open_bus(settings, embedded=self.embedded_bus, client_id=client_id)

    def open_store(self, settings: Settings) -> SearchStore:
        """The search store; call :meth:`SearchStore.ensure_ready` before writing."""
        from newswire.indexer import open_store  # noqa: PLC0415 - the store drivers load only when a store is used

        return open_store(settings, embedded=self.embedded_store)
