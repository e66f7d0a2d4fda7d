"""The Elasticsearch node: its configuration, the unprivileged user it runs as, starting it, its health."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from newswire.errors import ServicesError
from newswire.services.config import ELASTICSEARCH, ES_USER, HOST, ServicesConfig, _es_ids, _heap, _Paths
from newswire.services.java import _es_java
from newswire.services.process import _base_env, _failure_line, _running_pid

logger = logging.getLogger(__name__)


def render_es_yml(cfg: ServicesConfig, data_dir: Path, logs_dir: Path) -> str:
    """``elasticsearch.yml`` for a single node on 127.0.0.1 with security off (loopback use only)."""
    settings: dict[str, object] = {
        "cluster.name": "newswire",
        "node.name": "newswire-1",
        "path.data": str(data_dir),
        "path.logs": str(logs_dir),
        "network.host": HOST,
        "http.port": cfg.es_port,
        "discovery.type": "single-node",
        "xpack.security.enabled": False,
        # A nearly full disk must not turn test indexes read-only.
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "action.destructive_requires_name": False,
    }
    lines = ["# Written by newswire.services on every start; edit ServicesConfig instead."]
    # JSON scalars are valid YAML scalars, and quote paths safely.
    lines += [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_es_jvm_options(cfg: ServicesConfig) -> str:
    """The ``jvm.options.d`` file that sets the Elasticsearch heap."""
    heap = _heap(cfg.es_heap, "Elasticsearch")
    return f"-Xms{heap}\n-Xmx{heap}\n"


def _es_account() -> tuple[int, int] | None:
    """The (uid, gid) Elasticsearch runs as, creating the ``newswire`` user when we are root and it is missing."""
    ids = _es_ids()
    if ids != (-1, -1):
        return ids
    try:
        account = pwd.getpwnam(ES_USER)
    except KeyError:
        useradd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
        created = subprocess.run(
            [*useradd, "--shell", "/usr/sbin/nologin", ES_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            account = pwd.getpwnam(ES_USER)
        except KeyError:
            reason = created.stderr.strip() or f"exit status {created.returncode}"
            raise ServicesError(f"could not create the system user {ES_USER} for Elasticsearch: {reason}") from None
        logger.info("created system user %s to run Elasticsearch (it refuses to run as root)", ES_USER)
    return account.pw_uid, account.pw_gid


def _own(path: Path, account: tuple[int, int] | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if account is None or path.stat().st_uid == account[0]:
        return
    os.chown(path, *account)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), *account, follow_symlinks=False)


def _prepare_es(cfg: ServicesConfig, paths: _Paths, account: tuple[int, int] | None) -> None:
    if not paths.es_config.is_dir():
        shutil.copytree(paths.es_install / "config", paths.es_config)
    (paths.es_config / "elasticsearch.yml").write_text(
        render_es_yml(cfg, paths.es_dir / "data", paths.es_logs), encoding="utf-8"
    )
    (paths.es_config / "jvm.options.d").mkdir(exist_ok=True)
    (paths.es_config / "jvm.options.d" / "newswire.options").write_text(render_es_jvm_options(cfg), encoding="utf-8")
    es_folders = (paths.es_dir, paths.es_config, paths.es_dir / "data", paths.es_dir / "tmp", paths.es_logs)
    for path in (*es_folders, paths.es_run):
        _own(path, account)
    paths.logs.mkdir(parents=True, exist_ok=True)
    if account is not None:
        # Fail with a clear line now rather than with an AccessDeniedException deep in the node's log.
        launcher = paths.es_install / "bin" / "elasticsearch"
        probe = subprocess.run(
            ["/bin/sh", "-c", 'test -x "$0" && test -w "$1"', str(launcher), str(paths.es_run)],
            user=account[0],
            group=account[1],
            extra_groups=[],
            check=False,
        )
        if probe.returncode != 0:
            raise ServicesError(
                f"Elasticsearch runs as user {ES_USER}, who cannot reach {paths.es_base}; make its parent folders "
                "searchable by others (chmod o+x) or use a services home outside private folders"
            )


def _start_es(cfg: ServicesConfig, paths: _Paths, deadline: float, timeout: float) -> int:
    java = _es_java(cfg)
    account = _es_account()
    _prepare_es(cfg, paths, account)
    pid_file = paths.pid_file(ELASTICSEARCH)
    pid_file.unlink(missing_ok=True)
    env = _base_env(paths.es_dir) | {
        "ES_JAVA_HOME": str(java),
        "ES_PATH_CONF": str(paths.es_config),
        "ES_TMPDIR": str(paths.es_dir / "tmp"),
    }
    log = paths.log_file(ELASTICSEARCH)
    log_start = log.stat().st_size if log.exists() else 0
    # With -d the launcher returns once the node has started and leaves the server JVM alone in our new session.
    with log.open("ab") as out:
        launcher = subprocess.Popen(
            [str(paths.es_install / "bin" / "elasticsearch"), "-d", "-p", str(pid_file)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=paths.es_dir,
            env=env,
            start_new_session=True,
            user=None if account is None else account[0],
            group=None if account is None else account[1],
            extra_groups=None if account is None else [],
        )
    try:
        returncode = launcher.wait(timeout=max(deadline - time.monotonic(), 1.0))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()
        raise ServicesError(
            f"Elasticsearch did not answer on {_es_url(cfg)} within {timeout:.0f} s; see {log}"
        ) from None
    if returncode != 0:
        reason = _failure_line(log, log_start) or f"exit status {returncode}"
        raise ServicesError(f"Elasticsearch failed to start: {reason}; see {log}")
    pid = _running_pid(ELASTICSEARCH, paths)
    if pid is None:
        raise ServicesError(f"Elasticsearch started but its process is gone; see {log} and {paths.es_logs}")
    logger.info("started Elasticsearch %s, pid %d, on %s", cfg.es_version, pid, _es_url(cfg))
    return pid


def _es_url(cfg: ServicesConfig) -> str:
    return f"http://{HOST}:{cfg.es_port}"


def es_health(cfg: ServicesConfig, wait_seconds: int = 1) -> str | None:
    """The cluster status once it is yellow or better (waiting up to ``wait_seconds``), else ``None``."""
    url = f"{_es_url(cfg)}/_cluster/health?wait_for_status=yellow&timeout={wait_seconds}s"
    try:
        with urllib.request.urlopen(url, timeout=wait_seconds + 5) as response:  # noqa: S310 - our own loopback URL
            health = json.loads(response.read())
    except (OSError, ValueError):
        return None
    if not isinstance(health, dict) or health.get("timed_out") or health.get("status") not in ("yellow", "green"):
        return None
    return str(health["status"])
