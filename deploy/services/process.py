"""The services as processes: the lock on a home, pid files, starting detached, ports, memory, launcher logs."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from newswire.errors import ServicesError
from newswire.services.config import HOST, KAFKA, _Paths

# The Elasticsearch server JVM (not its short-lived CLI launcher) names this main class on its command line.
_ES_MAIN = "org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch"


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Serialise install/up/down/reset on one home, so two commands never start two brokers."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cmdline(pid: int) -> list[str] | None:
    """The arguments of a live process, or ``None`` for no such process (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if state.rpartition(")")[2].split()[:1] == ["Z"]:
        return None
    return [arg.decode("utf-8", errors="replace") for arg in raw.split(b"\0") if arg]


def _markers(service: str, paths: _Paths) -> tuple[str, ...]:
    if service == KAFKA:
        return ("kafka.Kafka", str(paths.kafka_config))
    return (_ES_MAIN, f"-Des.path.home={paths.es_install}")


def _is_ours(pid: int, markers: Sequence[str]) -> bool:
    args = _cmdline(pid)
    return args is not None and all(marker in args for marker in markers)


def _running_pid(service: str, paths: _Paths) -> int | None:
    """The pid of this home's ``service``: from its pid file, or found by command line if that file was lost."""
    markers = _markers(service, paths)
    with contextlib.suppress(OSError, ValueError):
        pid = int(paths.pid_file(service).read_text(encoding="utf-8").strip())
        if _is_ours(pid, markers):
            return pid
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_ours(int(entry.name), markers):
            return int(entry.name)
    return None


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _require_free(port: int, what: str) -> None:
    if _port_open(port):
        raise ServicesError(f"port {HOST}:{port} for {what} is taken by a process this services home did not start")


def _rss_mib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return None


def _spawn_detached(command: Sequence[str], log: Path, cwd: Path, env: dict[str, str]) -> int:
    """Start ``command`` in a new session with its output appended to ``log``; return its pid.

    A shell starts it in the background and exits at once, so the service is not a child of this process: it
    survives us and never lingers as an unreaped child if we live on.
    """
    result = subprocess.run(
        ["/bin/sh", "-c", '"$@" >>"$0" 2>&1 </dev/null & echo $!', str(log), *command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        raise ServicesError(f"could not start {command[0]}: {result.stderr.strip() or 'no pid'}; see {log}")
    return int(result.stdout.strip())


def _base_env(home: Path) -> dict[str, str]:
    # The services get a clean environment: a stray JAVA_TOOL_OPTIONS or ES_JAVA_OPTS must not change them.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(home)}


def _failure_line(log: Path, start: int) -> str | None:
    """The line of what a launcher wrote to ``log`` after ``start`` that most likely says why it failed."""
    try:
        with log.open("rb") as written:
            written.seek(start)
            lines = [line.strip() for line in written.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        return None
    telling = [line for line in lines if "Exception" in line or "could not" in line.lower()]
    chosen = (telling or lines or [""])[0 if telling else -1]
    return chosen[:300] or None
