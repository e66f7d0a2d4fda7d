"""What every long-running command shares: one stop event set by SIGTERM/SIGINT, and logging set-up."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

logger = logging.getLogger(__name__)

_stop = threading.Event()
_installed = False


def stop_event() -> threading.Event:
    """The process-wide stop event: set on the first SIGTERM or SIGINT; a second SIGINT exits at once."""
    global _installed  # noqa: PLW0603 - one set of signal handlers per process
    if not _installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        _installed = True
    return _stop


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _stop.is_set() and signum == signal.SIGINT:
        raise SystemExit(130)
    logger.info("received %s, stopping after the work in hand", signal.Signals(signum).name)
    _stop.set()


def configure_logging(level: str) -> None:
    """Log lines to stderr as ``time level logger: message``; noisy client libraries only from WARNING up."""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("kafka", "elastic_transport", "elasticsearch", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    # Our own error line names the unreachable node; the client's connection warnings would only repeat it.
    logging.getLogger("elastic_transport.node_pool").setLevel(logging.ERROR)
    logging.getLogger("elastic_transport.transport").setLevel(logging.ERROR)
