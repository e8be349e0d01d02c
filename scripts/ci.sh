#!/usr/bin/env bash
# The one command that prepares a fresh Debian 12 machine and runs every test suite:
# installs the system packages the suites need, then `npm ci`, then `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(sed -e 's/#.*//' scripts/system-packages.txt | xargs)
missing=()
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci: installing system packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm test
