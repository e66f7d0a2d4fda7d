#!/bin/bash
# Configure and start a KRaft broker the way the official apache/kafka image does: every KAFKA_* variable becomes a
# server property (KAFKA_FOO_BAR -> foo.bar, a double underscore -> _, a triple one -> -), the log dir is formatted
# once with CLUSTER_ID, and the broker runs in the foreground.
set -euo pipefail
config=/opt/kafka/config/server.properties
: > "$config"
while IFS='=' read -r name value; do
    case "$name" in
        KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS) continue ;;
        KAFKA_*) ;;
        *) continue ;;
    esac
    key=${name#KAFKA_}
    key=${key,,}
    key=${key//___/-}
    key=${key//__/@}
    key=${key//_/.}
    key=${key//@/_}
    printf '%s=%s\n' "$key" "$value" >> "$config"
done < <(env)
grep -q '^log\.dirs=' "$config" || echo "log.dirs=/var/lib/kafka/data" >> "$config"
log_dir=$(sed -n 's/^log\.dirs=//p' "$config" | cut -d, -f1)
java_opts=(${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
           -Djava.awt.headless=true ${KAFKA_OPTS:-})
if [ ! -f "$log_dir/meta.properties" ]; then
    java "${java_opts[@]}" -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
        -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$config" --ignore-formatted
fi
exec java "${java_opts[@]}" -cp '/opt/kafka/libs/*' kafka.Kafka "$config"
