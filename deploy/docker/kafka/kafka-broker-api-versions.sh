#!/bin/bash
# What the official image's script of this name runs: ask the broker for its API versions (the health check).
exec java -Xmx128m -cp '/opt/kafka/libs/*' org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
