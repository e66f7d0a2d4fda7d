"""Installing Kafka and Elasticsearch through ``mvn`` on ``deploy/services/pom.xml``, and unpacking them."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from newswire.errors import ServicesError
from newswire.services.config import ServicesConfig, _Paths, _paths
from newswire.services.process import _locked

logger = logging.getLogger(__name__)

DEFAULT_POM = Path(__file__).resolve().parent / "pom.xml"  # the Maven project this package drives, beside it
_INSTALLED_MARKER = ".newswire-installed"


def _installed(install_dir: Path) -> bool:
    return (install_dir / _INSTALLED_MARKER).is_file()


def install(cfg: ServicesConfig) -> None:
    """Install Kafka and Elasticsearch under ``cfg.home`` through Maven; does nothing for what is installed."""
    with _locked(cfg.home.absolute()):
        _install(cfg, _paths(cfg))


def _install(cfg: ServicesConfig, paths: _Paths) -> None:
    if not _installed(paths.kafka_install):
        staging = _fresh_dir(paths.home / f".{paths.kafka_install.name}.partial")
        _mvn(cfg, paths, "dependency:copy-dependencies@kafka", f"-Dkafka.libs={staging / 'libs'}")
        _publish(staging, paths.kafka_install)
        logger.info("installed Kafka %s in %s", cfg.kafka_version, paths.kafka_install)
    if not _installed(paths.es_install):
        download = _fresh_dir(paths.home / ".elasticsearch-download.partial")
        _mvn(cfg, paths, "dependency:copy@elasticsearch", f"-Des.dist={download}")
        staging = _fresh_dir(paths.es_base / f".{paths.es_install.name}.partial")
        _unpack_zip(download / f"elasticsearch-{cfg.es_version}.zip", staging)
        shutil.rmtree(download)
        _publish(staging, paths.es_install)
        logger.info("installed Elasticsearch %s in %s", cfg.es_version, paths.es_install)


def _fresh_dir(path: Path) -> Path:
    # A folder left by an interrupted install is thrown away, never trusted.
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _publish(staging: Path, install_dir: Path) -> None:
    (staging / _INSTALLED_MARKER).write_text("installed by newswire.services\n", encoding="utf-8")
    shutil.rmtree(install_dir, ignore_errors=True)
    staging.rename(install_dir)


def _mvn(cfg: ServicesConfig, paths: _Paths, goal: str, *defines: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServicesError("mvn not found on PATH; install Maven (apt-get install maven) to install the services")
    pom = cfg.pom or DEFAULT_POM
    if not pom.is_file():
        raise ServicesError(f"the services Maven project is missing: {pom}")
    command = [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom), goal, *defines]
    command += [f"-Dkafka.version={cfg.kafka_version}", f"-Des.version={cfg.es_version}"]
    if cfg.maven_repo is not None:
        command.append(f"-Dmaven.repo.local={cfg.maven_repo.absolute()}")
    paths.logs.mkdir(parents=True, exist_ok=True)
    log = paths.logs / "install.log"
    logger.info("resolving %s through Maven (%s)", goal, pom)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        out.write(result.stdout + result.stderr)
    if result.returncode != 0:
        errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("[ERROR]")]
        reason = errors[0].removeprefix("[ERROR]").strip()[:300] if errors else f"exit status {result.returncode}"
        raise ServicesError(f"mvn {goal} failed: {reason}; see {log}")


def _unpack_zip(archive_path: Path, dest: Path) -> None:
    """Unpack a distribution zip without its top folder, keeping the executable bits of its scripts."""
    with zipfile.ZipFile(archive_path) as archive:
        for entry in archive.infolist():
            parts = Path(entry.filename).parts[1:]
            if not parts:
                continue
            if ".." in parts or Path(entry.filename).is_absolute():
                raise ServicesError(f"refusing to unpack {archive_path}: entry {entry.filename!r} leaves the folder")
            target = dest.joinpath(*parts)
            if entry.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(entry) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            # Readable by all: Elasticsearch runs as another user than the one who installed it.
            target.chmod(((entry.external_attr >> 16) & 0o777 or 0o644) | 0o444)
    for folder, _, _ in os.walk(dest):
        os.chmod(folder, 0o755)  # noqa: S103 - Elasticsearch runs as another user and must read its install
