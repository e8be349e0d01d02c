"""The real Docker engine for these tests (scripts/docker/): dockerd on a socket of its own, the base
image made by debootstrap, this machine's package index served on loopback for the build, the app's
image and its test target built from app/Dockerfile, MariaDB on loopback. Everything runs with
--network host and listens on 127.0.0.1 only. The runtime image's database CA bundle is a CA made
for the run (served on loopback as the build fetches RDS's), and the MariaDB the image talks to
requires TLS with a certificate from that CA, as RDS does.

The engine's state (images, build cache) persists in BANK_DOCKER_STATE (default
~/.cache/jenkins-fleet/docker-engine) so that a second run is fast; one run at a time uses it (a lock),
and the engine is stopped when the run ends."""
import fcntl
import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app"
sys.path.insert(0, str(APP / "tests"))
from servers import CertificateAuthority, MariaDB, MissingTool, free_port  # noqa: E402

BASE_IMAGE = "python:3.11-slim-bookworm"
RUNTIME_TAG = "bank-app:docker-suite"
TEST_TAG = "bank-app:docker-suite-test"
# The tools these tests mean to use: Debian's docker client and daemon, debootstrap, docker-registry.
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def run(*args, env=None, check=True, timeout=1800, **kwargs):
    result = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def engine_state():
    """The engine's state directory, held by this run alone until the run ends."""
    state = Path(os.environ.get("BANK_DOCKER_STATE", Path.home() / ".cache" / "jenkins-fleet" / "docker-engine"))
    state.mkdir(parents=True, exist_ok=True)
    lock = open(state / "suite.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for another run's use of the Docker engine in {state}", file=sys.stderr)
        fcntl.flock(lock, fcntl.LOCK_EX)
    yield state
    lock.close()


@pytest.fixture(scope="session")
def docker_env(engine_state, tmp_path_factory):
    """The environment in which `docker` talks to this run's engine."""
    for tool, package in (("dockerd", "docker.io"), ("docker", "docker.io"), ("debootstrap", "debootstrap")):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in PATH.split(":")):
            pytest.fail(f"{tool} not found: apt-get install {package} (see scripts/system-packages.txt)", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the Docker engine needs root: run these tests as root", pytrace=False)
    env = {"PATH": PATH, "HOME": str(tmp_path_factory.mktemp("home")), "LANG": "C.UTF-8"}
    started = run("bash", str(REPO / "scripts/docker/engine.sh"), "start", str(engine_state), env=env)
    env["DOCKER_HOST"] = started.stdout.strip().split("=", 1)[1]
    try:
        yield env
    finally:
        run("docker", "container", "prune", "--force", env=env, check=False)
        run("docker", "image", "prune", "--force", env=env, check=False)  # untagged leftovers of earlier builds
        run("bash", str(REPO / "scripts/docker/engine.sh"), "stop", str(engine_state), env=env)


@pytest.fixture(scope="session")
def base_image(docker_env):
    run("bash", str(REPO / "scripts/docker/base-image.sh"), BASE_IMAGE,
        env={**docker_env, "BANK_DOCKER_CACHE": os.environ.get("BANK_DOCKER_CACHE", str(Path.home() / ".cache/jenkins-fleet/docker-base"))})
    return BASE_IMAGE


@pytest.fixture(scope="session")
def database_ca(tmp_path_factory):
    """The CA that stands for RDS's: the runtime image is built with it as its bundle (/etc/bank/db-ca.pem)."""
    try:
        return CertificateAuthority(tmp_path_factory.mktemp("database-ca"), "docker suite database CA")
    except MissingTool as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def ca_bundle_args(database_ca):
    """--build-arg values that make the build fetch the run's CA as its bundle, over HTTP on loopback, pinned
    by its SHA-256 as the pipeline pins RDS's."""
    served = database_ca.dir / "served"
    served.mkdir(exist_ok=True)
    bundle = database_ca.ca.read_bytes()
    (served / "db-ca-bundle.pem").write_bytes(bundle)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield ["--build-arg", f"DB_CA_BUNDLE_URL=http://127.0.0.1:{httpd.server_address[1]}/db-ca-bundle.pem",
           "--build-arg", f"DB_CA_BUNDLE_SHA256={hashlib.sha256(bundle).hexdigest()}"]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def build_args(engine_state, ca_bundle_args):
    """--build-arg values pointing pip at this machine's package index, served on loopback. The port is
    kept from run to run when it is free: the build arguments are part of the layer cache's key."""
    port_file = engine_state / "pip-index.port"
    for port in (port_file.read_text().strip() if port_file.exists() else "0", "0"):
        server = subprocess.Popen([sys.executable, str(REPO / "scripts/docker/pip-index.py"), "--port", port],
                                  stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        if line:
            break
        server.wait(timeout=30)
    else:
        pytest.fail("scripts/docker/pip-index.py printed nothing: is pip configured with an index?", pytrace=False)
    try:
        urls = json.loads(line)
        port_file.write_text(urls["PIP_INDEX_URL"].split(":")[2].split("/")[0])
        yield [arg for name, value in urls.items() if value for arg in ("--build-arg", f"{name}={value}")] + ca_bundle_args
    finally:
        server.terminate()
        server.wait(timeout=30)


def build(docker_env, build_args, tag, *options):
    started = time.time()
    run("docker", "build", "--network", "host", *build_args, *options, "--tag", tag, str(APP), env=docker_env)
    return time.time() - started


@pytest.fixture(scope="session")
def runtime_image(docker_env, base_image, build_args):
    build(docker_env, build_args, RUNTIME_TAG)
    return RUNTIME_TAG


@pytest.fixture(scope="session")
def test_image(docker_env, base_image, build_args):
    build(docker_env, build_args, TEST_TAG, "--target", "test")
    return TEST_TAG


@pytest.fixture(scope="session")
def tls_mariadb(database_ca):
    """MariaDB on loopback that requires TLS (require_secure_transport, as the RDS parameter group sets),
    with a certificate from the run's CA for the name localhost only."""
    cert, key = database_ca.issue("localhost")
    try:
        server = MariaDB(tls=(database_ca.ca, cert, key))
    except MissingTool as error:
        pytest.fail(str(error), pytrace=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def container(docker_env):
    """Starts containers (docker run -d ARGS) and removes them after the test; returns their ids."""
    started = []

    def start(*args, env=None):
        result = run("docker", "run", "--detach", "--network", "host", *args, env={**docker_env, **(env or {})})
        started.append(result.stdout.strip())
        return started[-1]

    yield start
    for container_id in started:
        run("docker", "rm", "--force", container_id, env=docker_env, check=False)

