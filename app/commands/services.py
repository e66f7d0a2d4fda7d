"""``newswire services up|down|status|reset``: a real Kafka broker and Elasticsearch node on loopback, no Docker."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from newswire.settings import ELASTICSEARCH_PORT, KAFKA_PORT, LOOPBACK, Settings


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    parser = subparsers.add_parser(
        "services",
        parents=parents,
        help="install (from Maven Central) and run Kafka and Elasticsearch on loopback",
        description="Install Kafka and Elasticsearch through Maven (cached in ~/.m2), start them on 127.0.0.1, wait "
        "until both answer, and stop them by process id. Elasticsearch runs as an unprivileged user.",
    )
    parser.add_argument("action", choices=("up", "down", "status", "reset", "install"))
    parser.add_argument("--home", type=Path, default=Path(".services"), help="installs, data and logs [.services]")
    parser.add_argument("--kafka-port", type=int, default=KAFKA_PORT, help=f"Kafka's port [{KAFKA_PORT}]")
    parser.add_argument("--es-port", type=int, default=ELASTICSEARCH_PORT, help=f"port [{ELASTICSEARCH_PORT}]")
    parser.add_argument("--es-heap", default="1g", help="Elasticsearch heap size [1g]")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for the services to answer")
    parser.add_argument("--json", action="store_true", help="status as JSON")
    parser.set_defaults(func=_services)


def _services(args: argparse.Namespace, settings: Settings) -> int:
    from newswire.services import ServicesConfig, down, install, reset, status, up  # noqa: PLC0415

    config = ServicesConfig(
        home=args.home.resolve(), kafka_port=args.kafka_port, es_port=args.es_port, es_heap=args.es_heap
    )
    if args.action == "install":
        install(config)
    elif args.action == "up":
        up(config, timeout=args.timeout)
        print(f"kafka: {LOOPBACK}:{args.kafka_port}  elasticsearch: http://{LOOPBACK}:{args.es_port}")
    elif args.action == "down":
        down(config)
    elif args.action == "reset":
        reset(config)
    else:
        report = status(config)
        if args.json:
            print(json.dumps({name: _as_dict(state) for name, state in report.items()}, indent=2, default=str))
        else:
            for name, state in report.items():
                print(f"{name}: {_as_dict(state)}")
        return 0 if all(getattr(state, "running", False) for state in report.values()) else 3
    return 0


def _as_dict(state: object) -> dict[str, object]:
    fields = getattr(state, "__dataclass_fields__", None)
    if fields is None:
        return {"state": str(state)}
    return {name: getattr(state, name) for name in fields}
