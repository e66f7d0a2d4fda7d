"""Where and how the services run: :class:`ServicesConfig`, its checks, and the folders under its home."""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from newswire.errors import ServicesError
from newswire.settings import ELASTICSEARCH_PORT, KAFKA_PORT, LOOPBACK

KAFKA = "kafka"
ELASTICSEARCH = "elasticsearch"
ES_USER = "newswire"
HOST = LOOPBACK
# Where Elasticsearch's tree goes when its user cannot pass through the services home (a 0700 folder above it).
ES_FALLBACK_ROOT = Path("/var/lib/newswire")
_HEAP = re.compile(r"[1-9][0-9]*[kmgKMG]")


@dataclass(frozen=True)
class ServicesConfig:
    """Where and how the local services run.

    ``java17_home`` runs Kafka and ``java21_home`` runs Elasticsearch; when ``None`` each is looked up under
    ``/usr/lib/jvm`` (and next to ``java`` on PATH): the oldest JDK >= 17 for Kafka, the newest >= 21 for
    Elasticsearch (an Elasticsearch 8 also runs on 17 when no newer JDK is there). ``pom`` defaults to the
    ``pom.xml`` beside this package (``deploy/services/pom.xml``); ``maven_repo`` overrides ``~/.m2/repository``.
    """

    home: Path
    kafka_port: int = KAFKA_PORT
    kafka_controller_port: int = 9093
    es_port: int = ELASTICSEARCH_PORT
    es_heap: str = "1g"
    kafka_heap: str = "512m"
    kafka_version: str = "4.3.1"
    es_version: str = "8.19.21"
    java17_home: Path | None = None
    java21_home: Path | None = None
    pom: Path | None = None
    maven_repo: Path | None = None


@dataclass(frozen=True)
class _Paths:
    home: Path
    kafka_install: Path
    kafka_dir: Path
    logs: Path
    run: Path
    # Elasticsearch's install, config, data, logs and pid file: under home, unless its user cannot reach home.
    es_base: Path
    es_install: Path

    @property
    def kafka_config(self) -> Path:
        return self.kafka_dir / "server.properties"

    @property
    def kafka_data(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def es_dir(self) -> Path:
        return self.es_base / "elasticsearch"

    @property
    def es_config(self) -> Path:
        return self.es_dir / "config"

    @property
    def es_logs(self) -> Path:
        return self.es_base / "logs" / "elasticsearch"

    @property
    def es_run(self) -> Path:
        return self.es_base / "run"

    def pid_file(self, service: str) -> Path:
        return (self.es_run if service == ELASTICSEARCH else self.run) / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"


def _validate(cfg: ServicesConfig) -> None:
    _heap(cfg.es_heap, "Elasticsearch")
    _heap(cfg.kafka_heap, "Kafka")
    ports = {"kafka_port": cfg.kafka_port, "kafka_controller_port": cfg.kafka_controller_port, "es_port": cfg.es_port}
    for name, port in ports.items():
        if not 0 < port < 65536:
            raise ServicesError(f"{name} {port} is not a TCP port")
    if len(set(ports.values())) < len(ports):
        raise ServicesError(f"the services need three different ports, got {ports}")


def _heap(size: str, what: str) -> str:
    if not _HEAP.fullmatch(size):
        raise ServicesError(f"{what} heap size {size!r} is not a JVM size such as 512m or 1g")
    return size


def _paths(cfg: ServicesConfig) -> _Paths:
    home = cfg.home.absolute()
    es_base = home
    if not _reachable(home, _es_ids()):
        es_base = ES_FALLBACK_ROOT / f"es-{hashlib.sha256(str(home).encode()).hexdigest()[:12]}"
    return _Paths(
        home=home,
        kafka_install=home / f"kafka-{cfg.kafka_version}",
        kafka_dir=home / "kafka",
        logs=home / "logs",
        run=home / "run",
        es_base=es_base,
        es_install=es_base / f"elasticsearch-{cfg.es_version}",
    )


def _es_ids() -> tuple[int, int] | None:
    """The (uid, gid) Elasticsearch will run as, without creating anything; ``None`` when that is ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(ES_USER)
    except KeyError:
        return (-1, -1)  # created on first start: a stranger to every folder
    return account.pw_uid, account.pw_gid


def _reachable(folder: Path, ids: tuple[int, int] | None) -> bool:
    """Whether the user ``ids`` (``None``: ourselves) may pass through ``folder`` and each folder above it."""
    return ids is None or all(_passable(step, ids) for step in (folder, *folder.parents))


def _passable(folder: Path, ids: tuple[int, int]) -> bool:
    try:
        found = folder.stat()
    except FileNotFoundError:
        return True  # created later by us, with the usual 0755
    owner, group = found.st_uid == ids[0], found.st_gid == ids[1]
    return bool(found.st_mode & (stat.S_IXUSR if owner else stat.S_IXGRP if group else stat.S_IXOTH))
