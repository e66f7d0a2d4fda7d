"""The layering check of the test command fails on an arrow that runs upward, and passes on the tree as it is."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-layers"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as a wheel installs it, unpacked."""
    work = tmp_path_factory.mktemp("layers")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(work), str(ROOT)],
        check=True,
        capture_output=True,
        cwd=work,
    )
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    site = work / "site"
    with zipfile.ZipFile(next(work.glob("*.whl"))) as wheel:
        wheel.extractall(site)
    return site


def _check(site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(CHECK)],
        env={"LAYERS_SITE": str(site), "PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _with_line(installed: Path, tmp_path: Path, module: str, line: str) -> Path:
    site = tmp_path / "site"
    shutil.copytree(installed, site)
    path = site.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return site


def test_the_tree_as_it_is_keeps_every_contract(installed):
    result = _check(installed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("newswire.search", "from newswire.app import parts  # noqa", "app > stages and services installer > floor"),
        (
            "newswire.ingest.poll",
            "import newswire.indexer.service  # noqa",
            "app > stages and services installer > floor",
        ),
        ("newswire.bus.kafka", "import newswire.bus.embedded.bus  # noqa", "no bus driver imports the other"),
        ("newswire.processors.entities", "import kafka  # noqa", "kafka-python is used by the Kafka driver only"),
    ],
)
def test_an_arrow_that_breaks_the_layers_fails_the_check(installed, tmp_path, module, line, broken):
    result = _check(_with_line(installed, tmp_path, module, line))
    assert result.returncode != 0
    assert any(row.startswith(broken) and " BROKEN" in row for row in result.stdout.splitlines()), result.stdout
