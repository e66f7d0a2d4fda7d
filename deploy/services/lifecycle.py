"""The commands: ``up``, ``down``, ``reset`` and ``status`` of both services on one home."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from newswire.errors import ServicesError
from newswire.services.config import ELASTICSEARCH, HOST, KAFKA, ServicesConfig, _Paths, _paths, _validate
from newswire.services.elasticsearch import _es_url, _start_es, es_health
from newswire.services.kafka import _start_kafka, kafka_broker_count
from newswire.services.maven import _install, _installed
from newswire.services.process import _cmdline, _locked, _port_open, _require_free, _rss_mib, _running_pid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceStatus:
    """One service as :func:`status` found it; ``answering`` means its port accepts a TCP connection."""

    name: str
    version: str
    installed: bool
    running: bool
    pid: int | None
    address: str
    answering: bool
    rss_mib: int | None


def _wait_ready(cfg: ServicesConfig, paths: _Paths, deadline: float, timeout: float) -> None:
    log = paths.log_file(KAFKA)
    while kafka_broker_count(cfg.kafka_port) < 1:
        if _running_pid(KAFKA, paths) is None:
            raise ServicesError(f"Kafka exited while starting; see {log} and {paths.logs / 'kafka-server.log'}")
        if time.monotonic() > deadline:
            raise ServicesError(f"Kafka did not answer on {HOST}:{cfg.kafka_port} within {timeout:.0f} s; see {log}")
        time.sleep(0.25)
    log = paths.log_file(ELASTICSEARCH)
    while es_health(cfg) is None:
        if _running_pid(ELASTICSEARCH, paths) is None:
            raise ServicesError(f"Elasticsearch exited while starting; see {log} and {paths.es_logs}")
        if time.monotonic() > deadline:
            raise ServicesError(f"Elasticsearch did not answer on {_es_url(cfg)} within {timeout:.0f} s; see {log}")
        time.sleep(0.25)


def up(cfg: ServicesConfig, timeout: float = 180) -> None:
    """Install what is missing, start what is not running, and wait until both services answer.

    Kafka answers a metadata request and Elasticsearch reports a yellow or green cluster within ``timeout``
    seconds (installing does not count against it), or :class:`ServicesError` says which did not and where its
    log is. Running it again while both run only checks that they answer.
    """
    _validate(cfg)
    paths = _paths(cfg)
    with _locked(paths.home):
        _install(cfg, paths)
        deadline = time.monotonic() + timeout
        if _running_pid(KAFKA, paths) is None:
            _require_free(cfg.kafka_port, "Kafka")
            _require_free(cfg.kafka_controller_port, "the Kafka controller")
            _start_kafka(cfg, paths)
        if _running_pid(ELASTICSEARCH, paths) is None:
            _require_free(cfg.es_port, "Elasticsearch")
            _start_es(cfg, paths, deadline, timeout)
        _wait_ready(cfg, paths, deadline, timeout)


def down(cfg: ServicesConfig, timeout: float = 60) -> None:
    """Stop both services by process id (SIGTERM, then SIGKILL after ``timeout`` seconds); nothing is deleted."""
    paths = _paths(cfg)
    with _locked(paths.home):
        _down(paths, timeout)


def _down(paths: _Paths, timeout: float) -> None:
    stopping: dict[str, int] = {}
    for service in (KAFKA, ELASTICSEARCH):
        pid = _running_pid(service, paths)
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        except PermissionError as exc:
            raise ServicesError(f"not allowed to stop {service} (pid {pid}); run as its owner or root") from exc
        stopping[service] = pid
        logger.info("stopping %s, pid %d", service, pid)
    deadline = time.monotonic() + timeout
    running = dict(stopping)
    while running and time.monotonic() < deadline:
        time.sleep(0.2)
        running = {service: pid for service, pid in running.items() if _cmdline(pid) is not None}
    for service, pid in running.items():
        logger.warning("%s (pid %d) ignored SIGTERM for %.0f s; killing it", service, pid, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # A killed JVM's threads may still hold its ports after its main thread is a zombie: wait until it is reaped
    # (gone from /proc), so that an `up` right after finds the ports free.
    reaped_by = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in stopping.values()) and time.monotonic() < reaped_by:
        time.sleep(0.1)
    for service in (KAFKA, ELASTICSEARCH):
        paths.pid_file(service).unlink(missing_ok=True)


def reset(cfg: ServicesConfig, timeout: float = 60) -> None:
    """Stop both services and delete their data (topics, offsets, indexes); installs, configs and logs stay."""
    paths = _paths(cfg)
    with _locked(paths.home):
        _down(paths, timeout)
        for data in (paths.kafka_data, paths.es_dir / "data", paths.es_dir / "tmp"):
            shutil.rmtree(data, ignore_errors=True)
        logger.info("deleted Kafka data under %s and Elasticsearch data under %s", paths.home, paths.es_base)


def status(cfg: ServicesConfig) -> dict[str, ServiceStatus]:
    """Each service: installed, running (with pid and resident memory), and whether its port accepts connections."""
    paths = _paths(cfg)
    report: dict[str, ServiceStatus] = {}
    for service, version, install_dir, port, address in (
        (KAFKA, cfg.kafka_version, paths.kafka_install, cfg.kafka_port, f"{HOST}:{cfg.kafka_port}"),
        (ELASTICSEARCH, cfg.es_version, paths.es_install, cfg.es_port, _es_url(cfg)),
    ):
        pid = _running_pid(service, paths)
        report[service] = ServiceStatus(
            name=service,
            version=version,
            installed=_installed(install_dir),
            running=pid is not None,
            pid=pid,
            address=address,
            answering=_port_open(port),
            rss_mib=None if pid is None else _rss_mib(pid),
        )
    return report
