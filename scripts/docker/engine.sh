#!/usr/bin/env bash
# A Docker engine for this machine's tests and CI, on a unix socket under STATE_DIR only:
#   scripts/docker/engine.sh start STATE_DIR   starts dockerd unless it already runs there; prints DOCKER_HOST=...
#   scripts/docker/engine.sh stop STATE_DIR    stops it (its images and build cache stay in STATE_DIR/data)
# No bridge, no iptables, no NAT: containers and builds use --network host, so nothing is sent to
# a private address range and nothing outside STATE_DIR changes. Needs root and Debian's docker.io.
set -euo pipefail
usage() { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
state=$(mkdir -p "$2" && cd "$2" && pwd)
socket="$state/docker.sock"
pidfile="$state/dockerd.pid"
export DOCKER_HOST="unix://$socket"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$action" in
  start)
    if ! command -v dockerd >/dev/null && [ ! -x /usr/sbin/dockerd ]; then
      echo "engine: dockerd not found: apt-get install docker.io (see scripts/system-packages.txt)" >&2
      exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
      echo "engine: dockerd needs root (run as root or through sudo)" >&2
      exit 1
    fi
    if ! running; then
      # An empty daemon.json of its own: /etc/docker/daemon.json, if any, belongs to someone else.
      echo '{}' > "$state/daemon.json"
      # exec-root holds containerd's sockets, whose paths must stay under 108 bytes: keep it short.
      exec_root=$(mktemp -d /tmp/dockerd-exec.XXXXXX)
      echo "$exec_root" > "$state/exec-root"
      # dockerd outlives this script: it must not keep open what the caller had open (a caller's
      # lock file above all, which would stay locked for as long as the engine runs).
      for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ]; then eval "exec $fd>&-"; fi
      done
      PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH" setsid dockerd \
        --config-file "$state/daemon.json" \
        --data-root "$state/data" --exec-root "$exec_root" --pidfile "$pidfile" \
        --host "$DOCKER_HOST" \
        --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ipv6=false \
        > "$state/dockerd.log" 2>&1 < /dev/null &
      for _ in $(seq 1 600); do
        if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then break; fi
        if ! kill -0 $! 2>/dev/null; then
          echo "engine: dockerd exited; its log:" >&2; tail -n 30 "$state/dockerd.log" >&2; exit 1
        fi
        sleep 0.1
      done
      docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || {
        echo "engine: dockerd did not answer within a minute; its log:" >&2; tail -n 30 "$state/dockerd.log" >&2; exit 1; }
    fi
    echo "DOCKER_HOST=$DOCKER_HOST"
    ;;
  stop)
    if running; then
      pid=$(cat "$pidfile")
      kill "$pid"
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "engine: dockerd $pid did not stop within 30 s" >&2; exit 1
      fi
    fi
    if [ -f "$state/exec-root" ]; then
      exec_root=$(cat "$state/exec-root")
      # dockerd leaves its network namespace bind-mounted there; unmount before removing.
      awk -v root="$exec_root/" 'index($2, root) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r mount; do
        umount -l "$mount" 2>/dev/null || true
      done
      rm -rf "$exec_root"
      rm -f "$state/exec-root"
    fi
    ;;
  *) usage ;;
esac
