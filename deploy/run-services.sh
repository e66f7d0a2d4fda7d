#!/usr/bin/env bash
# The docker-compose pipeline without Docker: the same service commands as background processes on the local
# Kafka and Elasticsearch (`newswire services up` starts those). Usage: deploy/run-services.sh [start|stop|status]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN=data/services
mkdir -p "$RUN"
# Kafka and Elasticsearch: NEWSWIRE_KAFKA / NEWSWIRE_ES when set, the settings' loopback defaults otherwise.
export NEWSWIRE_DATA_DIR="${NEWSWIRE_DATA_DIR:-data}"

start() {  # name, command...
  local name=$1; shift
  if [[ -f "$RUN/$name.pid" ]] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
    echo "$name: already running (pid $(cat "$RUN/$name.pid"))"; return
  fi
  setsid "$@" >>"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
  echo "$name: started (pid $!, log $RUN/$name.log)"
}

stop() {
  for pidfile in "$RUN"/*.pid; do
    [[ -e "$pidfile" ]] || continue
    local pid; pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null && echo "$(basename "$pidfile" .pid): stopping (pid $pid)" || true
    rm -f "$pidfile"
  done
}

case "${1:-start}" in
  start)
    start demo-feeds "$BIN/newswire" demo-feeds --port 8808
    "$BIN/newswire" topics
    NEWSWIRE_FEEDS="${NEWSWIRE_FEEDS:-deploy/demo/feeds.txt}" NEWSWIRE_ALLOW_PRIVATE_ADDRESSES=true \
      start ingest "$BIN/newswire" ingest
    start processor-1 "$BIN/newswire" process
    start processor-2 "$BIN/newswire" process
    start indexer "$BIN/newswire" index
    echo
    es=$("$BIN/python" -c 'from newswire.settings import load_settings; print(load_settings().es_url)')
    kafka=$("$BIN/python" -c 'from newswire.settings import load_settings; print(load_settings().kafka_servers)')
    echo "search:    $BIN/newswire search \"wagner mutiny\" --es $es"
    echo "subscribe: $BIN/newswire subscribe --kafka $kafka --from-beginning"
    echo "stop:      deploy/run-services.sh stop"
    ;;
  stop) stop ;;
  status)
    for pidfile in "$RUN"/*.pid; do
      [[ -e "$pidfile" ]] || continue
      name=$(basename "$pidfile" .pid); pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then echo "$name: running (pid $pid)"; else echo "$name: dead"; fi
    done ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
