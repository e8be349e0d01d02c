"""provisioner/Dockerfile (the `provisioner watch` image terraform/modules/fleet-watch runs) built by the
real engine from the node:26-bookworm-slim stand-in (scripts/docker/base-image.sh), its packages from
this machine's npm registry served on loopback (scripts/docker/npm-registry.mjs): it runs as uid 1000
on a read-only root file system as the task definition runs it, carries the product's runtime packages
only and no token, and its `watch --once` against a sandbox on the host (loopback, --network host)
launches the fleet file's agents and runs a queued build on one of them."""
import json
import os
import subprocess
import time

import pytest
import requests

from conftest import REPO, run

BASE_IMAGE = "node:26-bookworm-slim"
WATCH_TAG = "jenkins-fleet-watch:docker-suite"
# Where the task definition (terraform/modules/fleet-watch) finds the CLI and the fleet file.
CLI = ["node", "/opt/jenkins-fleet/bin/provisioner.mjs", "--config", "/opt/jenkins-fleet/fleet.yaml"]
NODE = "/usr/bin/node"  # this machine's Node runs the sandbox on the host


def wait_for(what, check, seconds=120):
    deadline = time.time() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.time() > deadline:
            raise AssertionError(f"{what} within {seconds} s")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def node_base_image(docker_env):
    run("bash", str(REPO / "scripts/docker/base-image.sh"), BASE_IMAGE,
        env={**docker_env, "PATH": f"{os.path.dirname(NODE)}:{docker_env['PATH']}",
             "BANK_DOCKER_CACHE": os.environ.get("BANK_DOCKER_CACHE", os.path.expanduser("~/.cache/jenkins-fleet/docker-base"))})
    return BASE_IMAGE


@pytest.fixture(scope="session")
def npm_registry():
    """NPM_CONFIG_REGISTRY for the build: this machine's registry, on loopback."""
    if not os.access(NODE, os.X_OK):
        pytest.fail(f"{NODE} not found: apt-get install nodejs (or the Node the repository runs on)", pytrace=False)
    server = subprocess.Popen([NODE, str(REPO / "scripts/docker/npm-registry.mjs")], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PATH": f"{os.path.dirname(NODE)}:/usr/bin:/bin"})
    line = server.stdout.readline()
    if not line:
        server.wait(timeout=30)
        pytest.fail("scripts/docker/npm-registry.mjs printed nothing: is npm configured with a registry?", pytrace=False)
    try:
        yield json.loads(line)["NPM_CONFIG_REGISTRY"]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def watch_image(docker_env, node_base_image, npm_registry):
    run("docker", "build", "--network", "host", "--build-arg", f"NPM_CONFIG_REGISTRY={npm_registry}",
        "--file", str(REPO / "provisioner/Dockerfile"), "--tag", WATCH_TAG, str(REPO), env=docker_env)
    return WATCH_TAG


@pytest.fixture
def sandbox(tmp_path):
    """`provisioner sandbox` on the host for the repository's fleet.yaml (the one baked into the image),
    with IAM evaluated against that fleet's provisioner-iam policy; yields (url, exports)."""
    out = (tmp_path / "sandbox.out").open("w+")
    child = subprocess.Popen(
        [NODE, str(REPO / "bin/provisioner.mjs"), "sandbox", "--state", str(tmp_path / "state"),
         "--fleet", str(REPO / "fleet.yaml"), "--boot-delay", "1s", "--ssm-online-delay", "1s"],
        stdout=out, stderr=subprocess.STDOUT, env={"PATH": f"{os.path.dirname(NODE)}:/usr/bin:/bin", "HOME": str(tmp_path)})
    try:
        def printed():
            out.seek(0)
            text = out.read()
            if child.poll() is not None:
                raise AssertionError(f"the sandbox exited with {child.returncode}: {text[-4000:]}")
            return text if "AWS_SECRET_ACCESS_KEY" in text else None
        text = wait_for("the sandbox prints its exports", printed, 60)
        exports = {}
        for line in text.splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export "):].partition("=")
                exports[name] = value.strip("'")
        yield exports["JENKINS_URL"].removesuffix("/jenkins/"), exports
    finally:
        child.terminate()
        child.wait(timeout=30)
        out.close()


def in_image(docker_env, image, *command, env=None, check=True):
    """Runs COMMAND as the task definition runs the container: uid 1000, read-only root, the host's loopback.
    Variables go in by name only (--env NAME), so their values are never in docker's argv."""
    names = [arg for name in (env or {}) for arg in ("--env", name)]
    return run("docker", "run", "--rm", "--read-only", "--user", "1000:1000", "--network", "host", *names, image, *command,
               env={**docker_env, **(env or {})}, check=check, timeout=300)


def test_the_watch_image_runs_as_uid_1000_with_the_runtime_packages_only(docker_env, watch_image):
    config = json.loads(run("docker", "image", "inspect", watch_image, env=docker_env).stdout)[0]["Config"]
    assert config["User"] == "node"
    assert config["Cmd"] == CLI + ["watch", "--json"]
    assert config.get("Entrypoint") in (None, []), "the task definition's command must be the whole command"
    assert run("docker", "run", "--rm", watch_image, "id", "-u", env=docker_env).stdout.strip() == "1000"
    listed = in_image(docker_env, watch_image, "node", "-e",
                      "const fs=require('fs');const d='/opt/jenkins-fleet/node_modules';"
                      "console.log(JSON.stringify(fs.readdirSync(d).flatMap(n=>n.startsWith('@')?fs.readdirSync(d+'/'+n).map(m=>n+'/'+m):[n])))")
    packages = set(json.loads(listed.stdout))
    product = json.loads((REPO / "package.json").read_text())
    sandbox = json.loads((REPO / "provisioner/sandbox/package.json").read_text())
    assert set(product["dependencies"]) <= packages
    # Neither the dev dependencies nor the sandbox package or what only it needs.
    unwanted = (set(product["devDependencies"]) | {"@jenkins-fleet/sandbox"} | set(sandbox["dependencies"])) - set(product["dependencies"])
    assert unwanted and not (unwanted & packages), sorted(unwanted & packages)
    files = in_image(docker_env, watch_image, "sh", "-c", "cd /opt/jenkins-fleet && ls -A && ls provisioner").stdout.split()
    assert "fleet.yaml" in files and "sandbox" not in files and "test" not in files and ".git" not in files
    assert in_image(docker_env, watch_image, "cat", "/opt/jenkins-fleet/fleet.yaml").stdout == (REPO / "fleet.yaml").read_text()
    # A read-only root: the CLI starts without writing anything (its build is made in the image; no compile cache).
    assert "--once" in in_image(docker_env, watch_image, *CLI, "watch", "--help").stdout


def test_watch_once_in_the_image_launches_the_fleet_and_runs_a_queued_build(docker_env, watch_image, sandbox):
    url, exports = sandbox
    queued = requests.post(f"{url}/_sandbox/builds", json={"label": "pull-request", "count": 1, "duration": "1s"}, timeout=10)
    assert queued.ok, queued.text
    build_id = queued.json()["builds"][0]["id"]

    # The token reaches the container as ECS passes a secret: in its environment, by name.
    result = in_image(docker_env, watch_image, *CLI, "watch", "--once", "--json", env=exports, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert exports["JENKINS_API_TOKEN"] not in result.stdout + result.stderr
    pools = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert any(line.get("type") == "pool" and line.get("pool") == "pullRequests" for line in pools), result.stdout[-4000:]

    state = requests.get(f"{url}/_sandbox/state", timeout=10).json()
    alive = [i for i in state["instances"] if i["state"] in ("pending", "running")]
    by_pool = {}
    for instance in alive:
        by_pool.setdefault(instance["tags"]["jenkins-fleet:pool"], []).append(instance["id"])
    # fleet.yaml: awsDeploy and awsDeploy2 keep two agents each; pullRequests (min 1) one for the queued build.
    assert {pool: len(ids) for pool, ids in by_pool.items()} == {"awsDeploy": 2, "awsDeploy2": 2, "pullRequests": 1}
    online = {n["name"] for n in state["nodes"] if n["online"]}
    assert all(f"{pool}-{i}" in online for pool, ids in by_pool.items() for i in ids), online

    def finished():
        builds = requests.get(f"{url}/_sandbox/builds", timeout=10).json()
        return next((b for b in builds if b["id"] == build_id and b["result"] is not None), None)
    build = wait_for("the queued build ran on the agent watch launched", finished)
    assert build["result"] == "SUCCESS" and build["node"] == f"pullRequests-{by_pool['pullRequests'][0]}"


def test_the_image_holds_no_token_and_no_build_argument(docker_env, watch_image):
    config = json.loads(run("docker", "image", "inspect", watch_image, env=docker_env).stdout)[0]["Config"]
    names = {e.split("=", 1)[0] for e in config.get("Env") or []}
    assert not names & {"JENKINS_API_TOKEN", "JENKINS_USER", "JENKINS_URL", "NPM_CONFIG_REGISTRY"}, names
    history = run("docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", watch_image, env=docker_env).stdout
    assert "JENKINS_API_TOKEN" not in history and "NPM_CONFIG_REGISTRY" not in history
