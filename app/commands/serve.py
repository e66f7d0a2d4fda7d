"""``newswire serve``: the HTTP search API and the search page (:mod:`newswire.app.api`) under uvicorn.

The store is chosen as for ``newswire search``: ``--embedded`` or an embedded store in the data directory (when
``--es`` is not given), Elasticsearch otherwise. Stops cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import functools
import logging
import socket
import threading

import uvicorn

from newswire.app.api import create_app
from newswire.app.parts import Default, Parts
from newswire.app.signals import stop_event
from newswire.errors import ConfigError, NewswireError
from newswire.settings import Settings

logger = logging.getLogger(__name__)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    serve = subparsers.add_parser(
        "serve",
        parents=parents,
        help="serve the search API and the search page over HTTP (runs until stopped)",
        description="GET / is the search page; GET /api/search, /api/articles/ID and /api/health answer JSON. "
        "The store is the one `newswire search` would use. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    serve.add_argument("--port", type=_port, default=8080, help="port to listen on; 0 picks a free one [8080]")
    serve.add_argument("--embedded", action="store_true", help="serve the embedded store in the data directory")
    serve.set_defaults(func=_serve)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; :class:`ConfigError` in one line when the address cannot be used.

    TCP_NODELAY is set on it (accepted connections inherit it): asyncio sets it only on sockets made with
    IPPROTO_TCP, and without it every answer after the first on a kept-alive connection waited about 40 ms for
    the client's delayed ACK (uvicorn writes an answer's head and body apart).
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        server = socket.create_server(address[:2], family=family)
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return server
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from exc


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    stop = stop_event()  # our handlers first: uvicorn restores them and replays the signal that stopped it
    parts = Parts.choose(settings, Default.FIND, embedded=args.embedded)
    app = create_app(functools.partial(parts.open_store, settings), allowed_hosts=settings.serve_hosts)
    sock = listen(args.host, args.port)
    config = uvicorn.Config(
        app,
        log_config=None,  # the CLI configured logging
        server_header=False,
        proxy_headers=False,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # A stop asked for by other code (the event set without a signal) ends the server too.
    watcher = threading.Thread(target=_exit_on, args=(stop, server), name="serve-stop", daemon=True)
    watcher.start()
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    store = (
        "the embedded store in " + str(settings.data_dir)
        if parts.embedded_store
        else "Elasticsearch at " + settings.es_url
    )
    logger.info("serving search on http://%s:%d/ from %s", shown, port, store)
    try:
        server.run(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits when the app's start-up fails
        raise NewswireError("the search server did not start; the log above says why") from exc
    finally:
        sock.close()
    return 0


def _exit_on(event: threading.Event, server: uvicorn.Server) -> None:
    event.wait()
    server.should_exit = True
