"""``newswire feeds add|enable|status|import|export``: the feed list on the feeds topic."""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


def add_feeds_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    """Added in the next change."""
