"""A real Kafka broker and a real Elasticsearch node on loopback, installed from Maven Central, without Docker.

``newswire services install|up|down|status|reset`` calls this module. :func:`install` runs ``mvn`` on
``deploy/services/pom.xml`` (Maven caches the artifacts in ``~/.m2``; nothing is fetched from anywhere else), and
everything else lives under one folder, ``ServicesConfig.home``::

    home/
    ├── kafka-4.3.1/libs/         the broker's jars, run as ``java -cp 'libs/*' kafka.Kafka``
    ├── elasticsearch-8.19.21/    the unpacked integ-test-zip distribution
    ├── kafka/                    server.properties, log4j2.properties, data/ (the KRaft log dir, formatted once)
    ├── elasticsearch/            config/ (ES_PATH_CONF), data/, tmp/
    ├── logs/                     kafka.log, kafka-server.log, elasticsearch.log, elasticsearch/, install.log
    └── run/                      kafka.pid, elasticsearch.pid

Both processes start in a session of their own, so they outlive the command that started them, and are stopped by
process id. Elasticsearch refuses to run as root, so as root it runs as the unprivileged system user ``newswire``
(created when missing), who owns its config, data, logs and run folders; when that user cannot pass through
``home`` (a 0700 folder above it), Elasticsearch's tree moves to ``/var/lib/newswire/es-<hash of home>``. The
integ-test-zip has no ``analysis-common`` module: see ``deploy/services/README.md`` for what analysis it offers.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from newswire.errors import ServicesError

__all__ = [
    "ELASTICSEARCH",
    "KAFKA",
    "ServiceStatus",
    "ServicesConfig",
    "ServicesError",
    "down",
    "find_java_home",
    "install",
    "reset",
    "status",
    "up",
]

logger = logging.getLogger(__name__)

KAFKA = "kafka"
ELASTICSEARCH = "elasticsearch"
ES_USER = "newswire"
HOST = "127.0.0.1"
JVM_ROOT = Path("/usr/lib/jvm")
# Where Elasticsearch's tree goes when its user cannot pass through the services home (a 0700 folder above it).
ES_FALLBACK_ROOT = Path("/var/lib/newswire")
DEFAULT_POM = Path(__file__).resolve().parent.parent / "deploy" / "services" / "pom.xml"
_INSTALLED_MARKER = ".newswire-installed"
# The Elasticsearch server JVM (not its short-lived CLI launcher) names this main class on its command line.
_ES_MAIN = "org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch"
_HEAP = re.compile(r"[1-9][0-9]*[kmgKMG]")


@dataclass(frozen=True)
class ServicesConfig:
    """Where and how the local services run.

    ``java17_home`` runs Kafka and ``java21_home`` runs Elasticsearch; when ``None`` each is looked up under
    ``/usr/lib/jvm`` (and next to ``java`` on PATH): the oldest JDK >= 17 for Kafka, the newest >= 21 for
    Elasticsearch (an Elasticsearch 8 also runs on 17 when no newer JDK is there). ``pom`` defaults to this
    checkout's ``deploy/services/pom.xml``; ``maven_repo`` overrides ``~/.m2/repository``.
    """

    home: Path
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    es_port: int = 9200
    es_heap: str = "1g"
    kafka_heap: str = "512m"
    kafka_version: str = "4.3.1"
    es_version: str = "8.19.21"
    java17_home: Path | None = None
    java21_home: Path | None = None
    pom: Path | None = None
    maven_repo: Path | None = None


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


# --- Java -------------------------------------------------------------------------------------------------------


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


# --- configuration files ----------------------------------------------------------------------------------------


def new_kafka_cluster_id() -> str:
    """A KRaft cluster id in Kafka's own form: 16 random bytes, URL-safe base64 without padding."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        # Kafka's Uuid.randomUuid() never hands out ids that start with '-': they read as options on command lines.
        if not cluster_id.startswith("-"):
            return cluster_id


def _properties_value(value: object) -> str:
    return str(value).replace("\\", "\\\\")


def render_kafka_properties(cfg: ServicesConfig, data_dir: Path) -> str:
    """``server.properties`` for a single-node KRaft broker+controller that listens on 127.0.0.1 only."""
    settings: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.bootstrap.servers": f"{HOST}:{cfg.kafka_controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{cfg.kafka_port},CONTROLLER://{HOST}:{cfg.kafka_controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{cfg.kafka_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": data_dir,
        "num.partitions": 1,
        # One broker: every internal topic must make do with one replica, or it is never created.
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        # Tests start consumer groups all the time; the default 3 s join delay would slow each of them.
        "group.initial.rebalance.delay.ms": 0,
    }
    lines = ["# Written by newswire.services on every start; edit ServicesConfig instead."]
    lines += [f"{key}={_properties_value(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_kafka_log4j(log_file: Path) -> str:
    """Kafka's log4j2 configuration: warnings to ``log_file``, plus the one line that says the broker started."""
    return "\n".join(
        [
            "status = warn",
            "appender.file.type = File",
            "appender.file.name = file",
            f"appender.file.fileName = {_properties_value(log_file)}",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = WARN",
            "rootLogger.appenderRef.file.ref = file",
            "logger.started.name = kafka.server.KafkaRaftServer",
            "logger.started.level = INFO",
            "",
        ]
    )


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


def _heap(size: str, what: str) -> str:
    if not _HEAP.fullmatch(size):
        raise ServicesError(f"{what} heap size {size!r} is not a JVM size such as 512m or 1g")
    return size


def render_es_jvm_options(cfg: ServicesConfig) -> str:
    """The ``jvm.options.d`` file that sets the Elasticsearch heap."""
    heap = _heap(cfg.es_heap, "Elasticsearch")
    return f"-Xms{heap}\n-Xmx{heap}\n"


def kafka_command(cfg: ServicesConfig, java_home: Path, paths: _Paths) -> list[str]:
    """The broker's java command line (what ``kafka-server-start.sh`` would run, without the shell scripts)."""
    heap = _heap(cfg.kafka_heap, "Kafka")
    return [
        str(java_home / "bin" / "java"),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.kafka_dir / 'log4j2.properties'}",
        "-cp",
        f"{paths.kafka_install / 'libs'}/*",
        "kafka.Kafka",
        str(paths.kafka_config),
    ]


# --- install ----------------------------------------------------------------------------------------------------


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


# --- processes --------------------------------------------------------------------------------------------------


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


def _start_kafka(cfg: ServicesConfig, paths: _Paths) -> int:
    java = _kafka_java(cfg)
    for path in (paths.kafka_dir, paths.logs, paths.run):
        path.mkdir(parents=True, exist_ok=True)
    paths.kafka_config.write_text(render_kafka_properties(cfg, paths.kafka_data), encoding="utf-8")
    log4j = paths.kafka_dir / "log4j2.properties"
    log4j.write_text(render_kafka_log4j(paths.logs / "kafka-server.log"), encoding="utf-8")
    log = paths.log_file(KAFKA)
    command = kafka_command(cfg, java, paths)
    if not (paths.kafka_data / "meta.properties").is_file():
        cluster_id = new_kafka_cluster_id()
        storage_tool = [*command[:-2], "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id]
        with log.open("a", encoding="utf-8") as out:
            formatted = subprocess.run(
                [*storage_tool, "-c", str(paths.kafka_config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=paths.kafka_dir,
                env=_base_env(paths.kafka_dir),
                check=False,
                timeout=120,
            )
        if formatted.returncode != 0:
            raise ServicesError(f"formatting the Kafka log dir {paths.kafka_data} failed; see {log}")
        logger.info("formatted Kafka log dir %s (cluster id %s)", paths.kafka_data, cluster_id)
    pid = _spawn_detached(command, log, paths.kafka_dir, _base_env(paths.kafka_dir))
    paths.pid_file(KAFKA).write_text(f"{pid}\n", encoding="utf-8")
    logger.info("started Kafka %s, pid %d, on %s:%d", cfg.kafka_version, pid, HOST, cfg.kafka_port)
    return pid


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


# --- readiness --------------------------------------------------------------------------------------------------


def kafka_broker_count(port: int, timeout: float = 2.0) -> int:
    """The brokers a Metadata (v4) request to 127.0.0.1:``port`` lists; 0 when the broker does not answer yet.

    Kafka opens its client port only once the broker has caught up with the metadata log, and lists itself only
    once registered, so a non-zero count means clients can work.
    """
    correlation_id = 1
    client_id = b"newswire-services"
    # Header v1 (api key 3 = Metadata, version 4), then an empty topic list and allow_auto_topic_creation=false.
    request = struct.pack(">hhih", 3, 4, correlation_id, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as connection:
            connection.sendall(struct.pack(">i", len(request)) + request)
            header = _recv_exactly(connection, 4)
            (size,) = struct.unpack(">i", header)
            body = _recv_exactly(connection, min(size, 12))
    except (OSError, EOFError):
        return 0
    if len(body) < 12:
        return 0
    answered_id, _throttle_ms, brokers = struct.unpack(">iii", body)
    return brokers if answered_id == correlation_id else 0


def _recv_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


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


# --- commands ---------------------------------------------------------------------------------------------------


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
