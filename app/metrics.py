"""The services' ``/metrics`` endpoints (:mod:`newswire.metrics`): started beside a service when it has a port."""

from __future__ import annotations

import logging
from collections import Counter

from newswire.app.parts import Parts
from newswire.bus import Bus
from newswire.metrics import COUNTERS, serve_metrics, watch_stage
from newswire.settings import Settings
from newswire.stage import Stage

logger = logging.getLogger(__name__)

__all__ = ["expose_service_metrics"]


def expose_service_metrics(
    settings: Settings, stage: Stage | None, parts: Parts, *, ingest_counters: Counter[str] | None = None
) -> Bus | None:
    """With ``settings.metrics_port`` set: serve ``/metrics`` and expose ``stage``'s counters and lag (read through a
    bus of its own from ``parts``, which the caller closes: returned), or the poller's ``ingest_counters``. Without
    it: nothing, and None."""
    if settings.metrics_port is None:
        return None
    if ingest_counters is not None:
        COUNTERS.watch("newswire_ingest_events", {}, ingest_counters, "event")
    lag_bus = parts.open_bus(settings, client_id="newswire-metrics") if stage is not None else None
    if stage is not None:
        watch_stage(stage, lag_bus)
    serve_metrics(settings.metrics_host, settings.metrics_port)
    return lag_bus
