"""The ``newswire`` command: services, the one-process pipeline, search, subscribe, and each stage's commands.

Every flag whose name matches a setting (``--kafka``, ``--es``, ``--data-dir``, ...) overrides the ``NEWSWIRE_*``
environment variable of that setting. A mistake of the user's (a bad setting, an unreachable broker, an invalid
query) is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newswire.app.signals import configure_logging
from newswire.errors import ConfigError, InvalidQuery, NewswireError
from newswire.settings import Settings, load_settings

# One module a group of sub-commands, in the order `newswire --help` lists them.
COMMAND_MODULES = (
    "newswire.app.commands.services",
    "newswire.app.commands.run",
    "newswire.app.commands.read",
    "newswire.app.commands.stories",
    "newswire.app.commands.alerts",
    "newswire.app.commands.ingest",
    "newswire.app.commands.feeds",
    "newswire.app.commands.process",
    "newswire.app.commands.index",
    "newswire.app.commands.serve",
    "newswire.app.commands.status",
    "newswire.app.commands.deadletters",
    "newswire.app.commands.reindex",
    "newswire.app.commands.reprocess",
)

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


def common_parser() -> argparse.ArgumentParser:
    """The flags every command takes; each maps onto the setting of the same name."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("common settings (flags override NEWSWIRE_* environment variables)")
    group.add_argument("--kafka", metavar="HOST:PORT", help="Kafka bootstrap servers [NEWSWIRE_KAFKA]")
    group.add_argument("--es", metavar="URL", help="Elasticsearch URL [NEWSWIRE_ES]")
    group.add_argument("--data-dir", type=Path, metavar="DIR", help="state and embedded stores [NEWSWIRE_DATA_DIR]")
    group.add_argument("--feeds", metavar="FILE|URLS", help="OPML file, URL list file, or URLs [NEWSWIRE_FEEDS]")
    group.add_argument(
        "--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="log level [NEWSWIRE_LOG_LEVEL]"
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parents = [common_parser()]
    parser = argparse.ArgumentParser(
        prog="newswire",
        description="Follow how the press covers a story: feeds in, entities and topics added, search and stream out.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers, parents)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment with every parsed flag named like a setting on top."""
    overrides: dict[str, Any] = {
        name: value for name, value in vars(args).items() if name in Settings.model_fields and value is not None
    }
    return load_settings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newswire`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from(args)
        configure_logging(settings.log_level)
        code: int = args.func(args, settings)
    except (ConfigError, InvalidQuery) as exc:
        print(f"newswire {args.command}: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except NewswireError as exc:
        print(f"newswire {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
