"""The pure parts of ``newswire.services``: Java discovery, rendered config files, unpacking, the Kafka probe.

Nothing here starts Kafka or Elasticsearch; the probe talks to a fake broker on a loopback socket.
"""

from __future__ import annotations

import base64
import os
import socket
import stat
import struct
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from newswire import services
from newswire.errors import NewswireError
from newswire.services import ServicesConfig, ServicesError
from newswire.services.config import _passable, _paths, _reachable
from newswire.services.java import _es_java
from newswire.services.maven import _unpack_zip
from newswire.services.process import _failure_line, _running_pid


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def _fake_jdk(root: Path, name: str, version: str | None) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    if version is not None:
        (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\nOS_NAME="Linux"\n')
    return home


@pytest.mark.parametrize(
    ("version", "major"),
    [("17.0.15", 17), ("25.0.3", 25), ("21", 21), ("1.8.0_392", 8), ('"11.0.2"', 11), ("22-ea", 22), ("", None)],
)
def test_parse_java_version(version: str, major: int | None) -> None:
    assert services.parse_java_version(version) == major


def test_find_java_home_picks_oldest_or_newest_and_counts_aliases_once(tmp_path: Path) -> None:
    jdk17 = _fake_jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    jdk25 = _fake_jdk(tmp_path, "temurin-25-jdk-amd64", "25.0.3")
    _fake_jdk(tmp_path, "java-11", "11.0.2")
    _fake_jdk(tmp_path, "no-release", None)
    (tmp_path / "java-1.17.0-openjdk-amd64").symlink_to(jdk17)
    candidates = sorted(tmp_path.iterdir())

    assert services.find_java_home(17, newest=False, candidates=candidates) == jdk17
    assert services.find_java_home(17, newest=True, candidates=candidates) == jdk25
    assert services.find_java_home(21, newest=False, candidates=candidates) == jdk25
    assert services.find_java_home(26, newest=True, candidates=candidates) is None


def test_find_java_home_skips_folders_without_java(tmp_path: Path) -> None:
    broken = _fake_jdk(tmp_path, "jre-without-bin", "21.0.1")
    (broken / "bin" / "java").unlink()
    assert services.find_java_home(17, newest=True, candidates=[broken]) is None


def test_elasticsearch_8_runs_on_java_17_and_9_needs_21() -> None:
    assert services.es_min_java("8.19.21") == 17
    assert services.es_min_java("9.2.0") == 21


def test_kafka_cluster_id_is_16_bytes_of_url_safe_base64() -> None:
    for _ in range(200):
        cluster_id = services.new_kafka_cluster_id()
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_kafka_properties_listen_on_loopback_with_single_replicas(tmp_path: Path) -> None:
    config = ServicesConfig(home=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    props = _properties(services.render_kafka_properties(config, tmp_path / "data"))

    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["log.dirs"] == str(tmp_path / "data")
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_kafka_log4j_sends_warnings_to_the_log_file(tmp_path: Path) -> None:
    props = {key.strip(): value.strip() for key, value in _properties(services.render_kafka_log4j(tmp_path)).items()}
    assert props["rootLogger.level"] == "WARN"
    assert props["appender.file.fileName"] == str(tmp_path)


def test_elasticsearch_yml_is_single_node_on_loopback_without_security(tmp_path: Path) -> None:
    config = ServicesConfig(home=tmp_path, es_port=19200)
    settings = yaml.safe_load(services.render_es_yml(config, tmp_path / "data dir", tmp_path / "logs"))

    assert settings["network.host"] == "127.0.0.1"
    assert settings["http.port"] == 19200
    assert settings["discovery.type"] == "single-node"
    assert settings["xpack.security.enabled"] is False
    assert settings["cluster.routing.allocation.disk.threshold_enabled"] is False
    assert settings["path.data"] == str(tmp_path / "data dir")


def test_heap_sizes_are_checked(tmp_path: Path) -> None:
    assert services.render_es_jvm_options(ServicesConfig(home=tmp_path, es_heap="2g")) == "-Xms2g\n-Xmx2g\n"
    with pytest.raises(ServicesError, match="heap size 'lots'"):
        services.render_es_jvm_options(ServicesConfig(home=tmp_path, es_heap="lots"))
    assert issubclass(ServicesError, NewswireError)


def test_up_rejects_a_bad_config_before_doing_anything(tmp_path: Path) -> None:
    with pytest.raises(ServicesError, match="three different ports"):
        services.up(ServicesConfig(home=tmp_path / "home", kafka_port=9200))
    assert not (tmp_path / "home").exists()


def test_kafka_command_runs_the_broker_class_with_a_fixed_heap(tmp_path: Path) -> None:
    config = ServicesConfig(home=tmp_path, kafka_heap="256m")
    command = services.kafka_command(config, Path("/jdk"), _paths(config))

    assert command[0] == "/jdk/bin/java"
    assert {"-Xms256m", "-Xmx256m"} <= set(command)
    assert command[command.index("-cp") + 1] == f"{tmp_path}/kafka-4.3.1/libs/*"
    assert command[-2:] == ["kafka.Kafka", str(tmp_path / "kafka" / "server.properties")]


def test_unpack_zip_drops_the_top_folder_and_keeps_executable_bits(tmp_path: Path) -> None:
    archive = tmp_path / "dist.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        script = zipfile.ZipInfo("elasticsearch-1.0/bin/elasticsearch")
        script.external_attr = (stat.S_IFREG | 0o755) << 16
        zipped.writestr(script, "#!/bin/sh\n")
        zipped.writestr("elasticsearch-1.0/config/jvm.options", "-Xss1m\n")
    dest = tmp_path / "out"

    _unpack_zip(archive, dest)

    assert (dest / "bin" / "elasticsearch").stat().st_mode & 0o111
    assert (dest / "config" / "jvm.options").read_text() == "-Xss1m\n"


def test_unpack_zip_refuses_entries_that_leave_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("top/../../escape.txt", "x")
    with pytest.raises(ServicesError, match="leaves the folder"):
        _unpack_zip(archive, tmp_path / "out")


def test_install_says_when_maven_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("newswire.services.maven.shutil.which", lambda name: None)
    with pytest.raises(ServicesError, match="mvn not found"):
        services.install(ServicesConfig(home=tmp_path))


def test_status_and_down_on_an_empty_home(tmp_path: Path) -> None:
    config = ServicesConfig(home=tmp_path, kafka_port=1, es_port=2)
    services.down(config)
    report = services.status(config)

    assert set(report) == {"kafka", "elasticsearch"}
    assert not any(state.installed or state.running or state.answering for state in report.values())


def test_a_pid_file_naming_another_process_is_not_trusted(tmp_path: Path) -> None:
    paths = _paths(ServicesConfig(home=tmp_path))
    paths.run.mkdir(parents=True)
    paths.pid_file("kafka").write_text("1\n")
    assert _running_pid("kafka", paths) is None


def test_a_private_folder_is_not_passable_by_another_user(tmp_path: Path) -> None:
    stranger = (123456, 123456)
    owner = (os.getuid(), 123456)
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o711)
    assert _passable(private, stranger)
    assert _passable(private / "not-yet-created", stranger)
    private.chmod(0o700)
    assert not _passable(private, stranger)
    assert _passable(private, owner)
    assert not _reachable(private / "home", stranger)
    assert _reachable(private / "home", None)  # not root: Elasticsearch runs as ourselves


def test_the_failure_line_is_the_one_that_names_the_cause(tmp_path: Path) -> None:
    log = tmp_path / "elasticsearch.log"
    log.write_text("an older run failed: java.lang.IllegalStateException\n")
    start = log.stat().st_size
    with log.open("a") as out:
        out.write("starting\nfatal exception while booting: java.nio.file.AccessDeniedException: /x\n")
        out.write("ERROR: Elasticsearch died while starting up, with exit code 1\n")
    assert _failure_line(log, start) == "fatal exception while booting: java.nio.file.AccessDeniedException: /x"
    log.write_text("ERROR: could not find java in ES_JAVA_HOME at /nonexistent/bin/java\n")
    assert _failure_line(log, 0) == "ERROR: could not find java in ES_JAVA_HOME at /nonexistent/bin/java"


def test_a_java_home_without_java_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ServicesError, match=r"java21_home .* has no bin/java"):
        _es_java(ServicesConfig(home=tmp_path, java21_home=tmp_path))


def _fake_broker(listener: socket.socket, brokers: int, seen: list[tuple[int, int]]) -> None:
    connection, _ = listener.accept()
    with connection:
        size = struct.unpack(">i", connection.recv(4))[0]
        request = connection.recv(size)
        api_key, api_version, correlation_id = struct.unpack(">hhi", request[:8])
        seen.append((api_key, api_version))
        body = struct.pack(">iii", correlation_id, 0, brokers)
        connection.sendall(struct.pack(">i", len(body)) + body)


@pytest.mark.parametrize("brokers", [0, 1])
def test_kafka_probe_sends_metadata_v4_and_counts_brokers(brokers: int) -> None:
    seen: list[tuple[int, int]] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        broker = threading.Thread(target=_fake_broker, args=(listener, brokers, seen))
        broker.start()
        assert services.kafka_broker_count(listener.getsockname()[1]) == brokers
        broker.join(timeout=5)
    assert seen == [(3, 4)]


def test_kafka_probe_is_zero_when_nothing_listens() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert services.kafka_broker_count(port, timeout=0.5) == 0
