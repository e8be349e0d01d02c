#!/usr/bin/env bash
# npm-groovy-lint 16 (CodeNarc) over the library's shared classes (src/), the generated vars/ and
# the Jenkinsfile with the committed .groovylintrc.json; any finding, even an info, fails.
# --noserver: no CodeNarc server left behind.
set -euo pipefail
cd "$(dirname "$0")/../.."
shopt -s nullglob globstar
files=(src/**/*.groovy vars/*.groovy Jenkinsfile)
exec npx --no-install npm-groovy-lint --noserver --failon info "${files[@]}"
