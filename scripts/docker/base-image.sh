#!/usr/bin/env bash
# Makes the base image app/Dockerfile starts FROM, here where Docker Hub cannot be reached: a Debian
# root filesystem from Debian's archive (debootstrap) with the same Python, imported into the engine
# at DOCKER_HOST under the official image's name, so the Dockerfile stays as it would be.
#   scripts/docker/base-image.sh python:3.11-slim-bookworm
# The root filesystem is cached as a tar (BANK_DOCKER_CACHE, default ~/.cache/jenkins-fleet/docker-base):
# the first run takes about two minutes, later ones a few seconds; an engine that has the image already
# is left alone. DEBIAN_MIRROR overrides the archive (default http://deb.debian.org/debian).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 IMAGE (python:3.11-slim-bookworm)" >&2; exit 2; }
image=$1
: "${DOCKER_HOST:?DOCKER_HOST must name the engine (scripts/docker/engine.sh start prints it)}"

# What the stand-in reproduces of the official python:3.X-slim-SUITE image: that suite's Debian with
# its python3 as python/python3, pip usable system-wide, venv, CA certificates, tzdata, C.UTF-8.
case "$image" in
  python:3.11-slim-bookworm) suite=bookworm; python_version=3.11 ;;
  *) echo "base-image: no recipe for $image (known: python:3.11-slim-bookworm, Debian 12's Python)" >&2; exit 2 ;;
esac
recipe_version=1 # raise when the recipe below changes, so cached tars are made again

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base-image: $image is already in the engine"
  exit 0
fi
for tool in debootstrap tar; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "base-image: $tool not found: apt-get install $tool (see scripts/system-packages.txt)" >&2; exit 1; }
done
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { echo "base-image: $keyring missing: apt-get install debian-archive-keyring" >&2; exit 1; }

cache=${BANK_DOCKER_CACHE:-$HOME/.cache/jenkins-fleet/docker-base}
mkdir -p "$cache"
tarball="$cache/${image//[:\/]/_}.v$recipe_version.tar"
exec 9>"$cache/.lock"
flock 9 # one debootstrap at a time; the others then find the tar

if [ ! -s "$tarball" ]; then
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "base-image: debootstrap $suite from ${DEBIAN_MIRROR:-http://deb.debian.org/debian} (about two minutes)"
  PATH="/usr/sbin:/sbin:$PATH" debootstrap --variant=minbase --keyring="$keyring" \
    --include="python3,python3-venv,python3-pip,ca-certificates,netbase,tzdata" \
    "$suite" "$root/fs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$root/debootstrap.log" 2>&1 || {
      echo "base-image: debootstrap failed; the end of its log:" >&2; tail -n 30 "$root/debootstrap.log" >&2; exit 1; }
  fs="$root/fs"
  # Like the official images: updates and security fixes from Debian's archive for later apt-get installs.
  rm -f "$fs/etc/apt/sources.list"
  cat > "$fs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Slim images leave documentation out of every package installed later too.
  cat > "$fs/etc/dpkg/dpkg.cfg.d/slim-image" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  rm -rf "$fs"/usr/share/doc/* "$fs"/usr/share/man/* "$fs"/usr/share/info/* "$fs"/var/cache/apt/archives/*.deb \
    "$fs"/var/lib/apt/lists/* "$fs"/var/log/*.log "$fs"/var/cache/debconf/*-old
  # The official image's pip installs into the system Python; Debian marks its own as externally managed.
  rm -f "$fs"/usr/lib/python3*/EXTERNALLY-MANAGED
  ln -sf /usr/bin/python3 "$fs/usr/local/bin/python"
  ln -sf /usr/bin/pip3 "$fs/usr/local/bin/pip"
  actual=$(chroot "$fs" /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ "$actual" = "$python_version" ] || { echo "base-image: $suite has Python $actual, not $python_version" >&2; exit 1; }
  chroot "$fs" /usr/bin/python3 -c 'import platform; print(platform.python_version())' > "$root/python-version"
  tar --numeric-owner -C "$fs" -cf "$root/rootfs.tar" .
  cp "$root/python-version" "$tarball.python-version"
  mv "$root/rootfs.tar" "$tarball"
  rm -rf "$root"
  trap - EXIT
fi

docker import \
  --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change "ENV PYTHON_VERSION=$(cat "$tarball.python-version")" \
  --change 'CMD ["python3"]' \
  --message "stand-in for $image: debootstrap $suite (scripts/docker/base-image.sh)" \
  "$tarball" "$image" >/dev/null
echo "base-image: imported $image ($(du -h "$tarball" | cut -f1) root filesystem, Python $(cat "$tarball.python-version"))"
