#!/usr/bin/env bash
# A real image registry (Debian's docker-registry, Distribution v2) on 127.0.0.1 for tests and CI:
#   scripts/docker/registry.sh start STATE_DIR [HTPASSWD_FILE]   prints REGISTRY=127.0.0.1:PORT
#   scripts/docker/registry.sh stop STATE_DIR
# Blobs live under STATE_DIR/data. With HTPASSWD_FILE (bcrypt entries) every request needs those
# credentials, as a production registry's do. Docker talks plain HTTP to 127.0.0.0/8 registries.
set -euo pipefail
usage() { echo "usage: $0 start STATE_DIR [HTPASSWD_FILE] | stop STATE_DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
state=$(mkdir -p "$2" && cd "$2" && pwd)
pidfile="$state/registry.pid"
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$action" in
  start)
    command -v docker-registry >/dev/null || {
      echo "registry: docker-registry not found: apt-get install docker-registry (see scripts/system-packages.txt)" >&2; exit 1; }
    if running; then
      cat "$state/address"
      exit 0
    fi
    auth=
    if [ $# -ge 3 ]; then
      htpasswd=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
      [ -s "$htpasswd" ] || { echo "registry: $3 is missing or empty" >&2; exit 1; }
      auth=$(printf 'auth:\n  htpasswd:\n    realm: bank-registry\n    path: %s\n' "$htpasswd")
    fi
    # A port nobody listens on now; a lost race shows as the registry exiting, and the next try picks another.
    for attempt in 1 2 3; do
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      cat > "$state/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(head -c 24 /dev/urandom | base64)
  headers:
    X-Content-Type-Options: [nosniff]
$auth
EOF
      chmod 600 "$state/config.yml"
      setsid docker-registry serve "$state/config.yml" > "$state/registry.log" 2>&1 < /dev/null &
      echo $! > "$pidfile"
      for _ in $(seq 1 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then
          echo "REGISTRY=127.0.0.1:$port" | tee "$state/address"
          exit 0
        fi
        running || break
        sleep 0.1
      done
      if running; then kill "$(cat "$pidfile")"; fi
      echo "registry: attempt $attempt on port $port failed: $(tail -n 3 "$state/registry.log")" >&2
    done
    exit 1
    ;;
  stop)
    if running; then
      pid=$(cat "$pidfile")
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile" "$state/address"
    ;;
  *) usage ;;
esac
