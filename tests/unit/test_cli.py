"""The command line: a user's mistake is one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newswire.app.cli import build_parser, main

NEWSWIRE = str(Path(sys.executable).with_name("newswire"))


def _run(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update(env_extra or {})
    return subprocess.run([NEWSWIRE, *args], capture_output=True, text=True, timeout=120, env=env)


def test_every_documented_command_is_there():
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert {"services", "run", "topics", "demo-feeds", "search", "subscribe", "stories", "story"} <= commands


def test_an_invalid_query_exits_2_with_one_line(capsys, tmp_path):
    code = main(["search", '"unclosed phrase" (wagner', "--data-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip().count("\n") == 0
    assert "missing ')'" in captured.err


def test_a_bad_setting_exits_2_naming_it(capsys):
    code = main(["search", "wagner", "--es", "elasticsearch:9200"])
    assert code == 2
    assert "NEWSWIRE_ES" in capsys.readouterr().err


def test_a_bad_environment_variable_exits_2_without_a_traceback():
    result = _run("topics", env_extra={"NEWSWIRE_TOPIC_PARTITIONS": "many"})
    assert result.returncode == 2
    assert "NEWSWIRE_TOPIC_PARTITIONS" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_feeds_says_what_is_missing(capsys, tmp_path):
    code = main(["run", "--data-dir", str(tmp_path)])
    assert code == 2
    assert "no feeds to poll" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["search", "wagner", "--es", "http://127.0.0.1:1"],
        ["stories", "wagner", "--es", "http://127.0.0.1:1"],
        ["story", "some-story", "--es", "http://127.0.0.1:1"],
        ["topics", "--kafka", "127.0.0.1:1"],
    ],
)
def test_an_unreachable_service_is_one_line_naming_where(args):
    result = _run(*args)
    assert result.returncode == 1, result.stderr
    assert "127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
