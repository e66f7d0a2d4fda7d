"""The Kafka broker: its configuration files and command line, starting it, and asking whether it answers."""

from __future__ import annotations

import base64
import logging
import socket
import struct
import subprocess
import uuid
from pathlib import Path

from newswire.errors import ServicesError
from newswire.services.config import HOST, KAFKA, ServicesConfig, _heap, _Paths, _paths
from newswire.services.java import _kafka_java
from newswire.services.process import _base_env, _spawn_detached

logger = logging.getLogger(__name__)


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


def kafka_install_dir(cfg: ServicesConfig) -> Path:
    """Where the Kafka install of ``cfg`` lives (under its home); :func:`~newswire.services.up` puts it there."""
    return _paths(cfg).kafka_install


def start_kafka(cfg: ServicesConfig) -> int:
    """Start the broker of ``cfg``, detached, from the install in :func:`kafka_install_dir`, formatting its data
    folder on the first start; its process id. Unlike :func:`~newswire.services.up` it installs nothing and does not
    wait for the broker to answer (see :func:`kafka_broker_count`)."""
    return _start_kafka(cfg, _paths(cfg))


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
