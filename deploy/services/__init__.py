"""A real Kafka broker and a real Elasticsearch node on loopback, installed from Maven Central, without Docker.

``newswire services install|up|down|status|reset`` calls this package. :func:`install` runs ``mvn`` on
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

The package, one idea a module: :mod:`~newswire.services.config` (the settings and the folders under ``home``),
:mod:`~newswire.services.java` (which JDK runs what), :mod:`~newswire.services.maven` (installing),
:mod:`~newswire.services.process` (pid files, starting detached, ports), :mod:`~newswire.services.kafka` and
:mod:`~newswire.services.elasticsearch` (each engine's configuration, start and readiness probe), and
:mod:`~newswire.services.lifecycle` (the commands).
"""

from __future__ import annotations

from newswire.errors import ServicesError
from newswire.services.config import ELASTICSEARCH, ES_FALLBACK_ROOT, ES_USER, HOST, KAFKA, ServicesConfig
from newswire.services.elasticsearch import es_health, render_es_jvm_options, render_es_yml
from newswire.services.java import JVM_ROOT, es_min_java, find_java_home, java_major, parse_java_version
from newswire.services.kafka import (
    kafka_broker_count,
    kafka_command,
    kafka_install_dir,
    new_kafka_cluster_id,
    render_kafka_log4j,
    render_kafka_properties,
    start_kafka,
)
from newswire.services.lifecycle import ServiceStatus, down, reset, status, up
from newswire.services.maven import DEFAULT_POM, install

__all__ = [
    "DEFAULT_POM",
    "ELASTICSEARCH",
    "ES_FALLBACK_ROOT",
    "ES_USER",
    "HOST",
    "JVM_ROOT",
    "KAFKA",
    "ServiceStatus",
    "ServicesConfig",
    "ServicesError",
    "down",
    "es_health",
    "es_min_java",
    "find_java_home",
    "install",
    "java_major",
    "kafka_broker_count",
    "kafka_command",
    "kafka_install_dir",
    "new_kafka_cluster_id",
    "parse_java_version",
    "render_es_jvm_options",
    "render_es_yml",
    "render_kafka_log4j",
    "render_kafka_properties",
    "reset",
    "start_kafka",
    "status",
    "up",
]
