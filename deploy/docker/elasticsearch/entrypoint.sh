#!/bin/bash
# Start the node the way the official image does: every variable whose name contains a dot is a setting (-E).
set -euo pipefail
settings=()
while IFS='=' read -r name value; do
    case "$name" in
        *.*) settings+=("-E" "$name=$value") ;;
    esac
done < <(env)
exec /usr/share/elasticsearch/bin/elasticsearch "${settings[@]}"
