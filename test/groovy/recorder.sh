#!/usr/bin/env bash
# A stand-in for a tool the harness must not run for real (docker, terraform, python, pytest):
# records its argv, environment and (for docker login) stdin under $HARNESS_RECORDS, then
# answers like the tool would. Installed by symlink under the tool's name.
set -u
name=$(basename "$0")
call="$HARNESS_RECORDS/$(date +%s%N)-$$-$name"
mkdir -p "$call"
printf '%s\0' "$name" "$@" > "$call/argv"
env -0 > "$call/env"

# The first argument that is not an option: the subcommand.
sub=
for arg in "$@"; do
  case "$arg" in -*) ;; *) sub=$arg; break ;; esac
done

case "$name" in
  docker)
    case "$sub" in
      login) cat > "$call/stdin"; echo "Login Succeeded" ;;
      pull) exit "${HARNESS_DOCKER_PULL_EXIT:-0}" ;;
      build) exit "${HARNESS_DOCKER_BUILD_EXIT:-0}" ;;
      # testInContainer: the database (run --detach), the test container (create, start --attach
      # exiting HARNESS_DOCKER_TEST_EXIT) and its JUnit file (cp; HARNESS_DOCKER_JUNIT=none: none).
      run) echo "0123456789ab-database"; exit "${HARNESS_DOCKER_RUN_EXIT:-0}" ;;
      create) echo "0123456789ab-tests" ;;
      start) exit "${HARNESS_DOCKER_TEST_EXIT:-0}" ;;
      cp)
        [ "${HARNESS_DOCKER_JUNIT:-}" != none ] || exit 1
        mkdir -p "$(dirname "${!#}")"
        printf '<testsuites><testsuite name="pytest" tests="2" failures="0"/></testsuites>\n' > "${!#}" ;;
      # As docker push reports it: "<tag>: digest: sha256:<64 hex> size: <n>" (HARNESS_DOCKER_PUSH_DIGEST
      # empty: no digest line). HARNESS_DOCKER_DIGEST_<tag> gives one tag another digest.
      push)
        tag=${!#}; tag=${tag##*:}
        per_tag="HARNESS_DOCKER_DIGEST_${tag//[^A-Za-z0-9_]/_}"
        digest=${!per_tag:-${HARNESS_DOCKER_PUSH_DIGEST-sha256:4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a}}
        echo "The push refers to repository [${!#%:*}]"
        if [ -n "$digest" ]; then echo "$tag: digest: $digest size: 1573"; fi
        exit "${HARNESS_DOCKER_PUSH_EXIT:-0}" ;;
    esac ;;
  terraform)
    case "$sub" in
      version) echo "Terraform v${HARNESS_TERRAFORM_VERSION:-1.11.4}"; echo "on linux_amd64" ;;
      plan)
        for arg in "$@"; do
          case "$arg" in -out=*) printf 'recorded plan %s%s\n' "${HARNESS_PLAN_CONTENT:-1}" "${TF_VAR_region:+ of $TF_VAR_region}" > "${arg#-out=}" ;; esac
        done
        exit "${HARNESS_PLAN_EXIT:-2}" ;;
      show) echo "Terraform will perform the following actions: (recorded plan)" ;;
      apply) exit "${HARNESS_APPLY_EXIT:-0}" ;;
    esac ;;
  python*)
    if [ "${1:-}" = -c ]; then echo "${HARNESS_PYTHON_VERSION:-3.11.2}"; exit 0; fi
    if [ "${1:-}" = -m ]; then
      case "${2:-}" in
        venv) target="${!#}"; sleep "${HARNESS_VENV_SECONDS:-0}"; mkdir -p "$target/bin"; ln -sf "$(readlink -f "$0")" "$target/bin/python" ;;
        pip) [ "${3:-}" = freeze ] && echo "flask==2.2.2" ;;
        pytest)
          for arg in "$@"; do
            case "$arg" in --junitxml=*) printf '<testsuites><testsuite name="pytest" tests="1" failures="0"/></testsuites>\n' > "${arg#--junitxml=}" ;; esac
          done
          exit "${HARNESS_PYTEST_EXIT:-0}" ;;
      esac
    fi ;;
esac
exit 0
