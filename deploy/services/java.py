"""Which JDK runs which service: Kafka on the oldest Java >= 17, Elasticsearch on the newest >= 21."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from newswire.errors import ServicesError
from newswire.services.config import ServicesConfig

JVM_ROOT = Path("/usr/lib/jvm")


def parse_java_version(version: str) -> int | None:
    """The feature version of a Java version string: ``"17.0.15"`` -> 17, ``"1.8.0_392"`` -> 8, ``"25"`` -> 25."""
    match = re.match(r"(\d+)(?:\.(\d+))?", version.strip().strip('"'))
    if match is None:
        return None
    major = int(match[1])
    if major == 1 and match[2] is not None:
        return int(match[2])
    return major


def java_major(java_home: Path) -> int | None:
    """The feature version of the JDK at ``java_home``, from its ``release`` file; ``None`` when unreadable."""
    try:
        text = (java_home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="?([^"\n]+)"?', text, re.MULTILINE)
    return parse_java_version(match[1]) if match else None


def find_java_home(min_major: int, *, newest: bool, candidates: Sequence[Path] | None = None) -> Path | None:
    """A Java home of at least ``min_major``: the newest such when ``newest``, else the oldest; ``None`` if none.

    ``candidates`` defaults to the folders under ``/usr/lib/jvm`` and the home of ``java`` on PATH; symlinked
    aliases of one JDK count once.
    """
    found: dict[Path, int] = {}
    for candidate in _default_java_candidates() if candidates is None else candidates:
        home = candidate.resolve()
        if home in found or not (home / "bin" / "java").is_file():
            continue
        major = java_major(home)
        if major is not None and major >= min_major:
            found[home] = major
    ranked = sorted(found, key=lambda home: (found[home], str(home)))
    if not ranked:
        return None
    return ranked[-1] if newest else ranked[0]


def _default_java_candidates() -> list[Path]:
    candidates = sorted(JVM_ROOT.iterdir()) if JVM_ROOT.is_dir() else []
    java = shutil.which("java")
    if java is not None:
        candidates.append(Path(java).resolve().parent.parent)
    return candidates


def es_min_java(es_version: str) -> int:
    """The oldest Java the given Elasticsearch version runs on (9.x needs 21, 8.x 17)."""
    major = parse_java_version(es_version) or 0
    return 21 if major >= 9 else 17


def _checked_java(home: Path, setting: str) -> Path:
    if not (home / "bin" / "java").is_file():
        raise ServicesError(f"{setting} {home} has no bin/java")
    return home


def _kafka_java(cfg: ServicesConfig) -> Path:
    if cfg.java17_home is not None:
        return _checked_java(cfg.java17_home, "java17_home")
    home = find_java_home(17, newest=False)
    if home is None:
        raise ServicesError(f"no Java 17 or newer found under {JVM_ROOT} for Kafka; install openjdk-17-jre-headless")
    return home


def _es_java(cfg: ServicesConfig) -> Path:
    if cfg.java21_home is not None:
        return _checked_java(cfg.java21_home, "java21_home")
    home = find_java_home(21, newest=True)
    minimum = es_min_java(cfg.es_version)
    if home is None and minimum < 21:
        home = find_java_home(minimum, newest=True)
    if home is None:
        raise ServicesError(
            f"no Java {minimum} or newer found under {JVM_ROOT} for Elasticsearch {cfg.es_version}; "
            "install a JDK there or pass java21_home"
        )
    return home
