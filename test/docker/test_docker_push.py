"""dockerPush's script (resources/bank-pipeline/dockerPush.sh) with the real engine against a real
registry on loopback that wants a login (Debian's docker-registry, htpasswd): it builds app/Dockerfile,
pushes every tag, returns the digest the registry has (Docker-Content-Digest), and leaves no
credential on disk."""
import base64
import os
import shutil
import subprocess

import bcrypt
import pytest
import requests

from conftest import APP, REPO, run

USERNAME = "jenkins-pusher"
PASSWORD = "registry-secret-0f9e8d7c"
IMAGE = "bankco/banking-app"
MANIFEST_TYPES = ", ".join(("application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.oci.image.manifest.v1+json"))


@pytest.fixture(scope="session")
def registry(docker_env, tmp_path_factory):
    """REGISTRY (127.0.0.1:PORT) of a registry that accepts USERNAME/PASSWORD only."""
    state = tmp_path_factory.mktemp("registry")
    htpasswd = state / "htpasswd"
    htpasswd.write_text(f"{USERNAME}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(6)).decode()}\n")
    started = run("bash", str(REPO / "scripts/docker/registry.sh"), "start", str(state), str(htpasswd), env=docker_env)
    yield started.stdout.strip().splitlines()[-1].split("=", 1)[1]
    run("bash", str(REPO / "scripts/docker/registry.sh"), "stop", str(state), env=docker_env)


@pytest.fixture
def workspace(tmp_path):
    """A checkout of the app as Jenkins has it, and WORKSPACE_TMP beside it."""
    root = tmp_path / "bank-app_main"
    shutil.copytree(APP, root / "app", ignore=shutil.ignore_patterns(".venv", ".venv.lock", "instance", "__pycache__"))
    (tmp_path / "bank-app_main@tmp").mkdir()
    return root


def docker_push(docker_env, build_args, registry, workspace, password=PASSWORD, tags=("42", "abc1234", "latest")):
    env = {
        **docker_env,
        "REGISTRY": registry, "IMAGE": IMAGE, "TAGS": "\n".join(tags), "CONTEXT_DIR": "app",
        "DOCKERFILE": "app/Dockerfile", "PUSH": "true", "REVISION": "abc1234def", "SOURCE_URL": "https://git.example/bank-app",
        "RESULT_FILE": "build/docker-image.txt", "WORKSPACE_TMP": str(workspace.parent / "bank-app_main@tmp"),
        "DOCKER_USERNAME": USERNAME, "DOCKER_PASSWORD": password,
        # No bridge on this machine: the build reaches the package index on loopback through the host's network.
        "BUILD_NETWORK": "host",
    }
    names = []
    for flag, value in zip(build_args[::2], build_args[1::2]):
        name, _, arg = value.partition("=")
        names.append(name)
        env[f"BUILD_ARG__{name}"] = arg
    env["BUILD_ARG_NAMES"] = " ".join(names)
    return subprocess.run(["bash", str(REPO / "resources/bank-pipeline/dockerPush.sh")], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=1800)


def credentials_left(*roots):
    """Files under `roots` that hold the password or the auth string docker login writes."""
    secrets = (PASSWORD.encode(), base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()))
    found = []
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as handle:
                    data = handle.read()
                if any(secret in data for secret in secrets):
                    found.append(path)
    return found


def test_docker_push_builds_pushes_every_tag_and_returns_the_registrys_digest(docker_env, base_image, build_args,
                                                                               registry, workspace):
    pushed = docker_push(docker_env, build_args, registry, workspace)
    assert pushed.returncode == 0, pushed.stdout[-4000:] + pushed.stderr[-4000:]
    assert PASSWORD not in pushed.stdout + pushed.stderr
    reference = (workspace / "build/docker-image.txt").read_text().strip()
    repository, _, digest = reference.partition("@")
    assert repository == f"{registry}/{IMAGE}" and digest.startswith("sha256:") and len(digest) == 71, reference

    api = f"http://{registry}/v2/{IMAGE}"
    auth = (USERNAME, PASSWORD)
    assert requests.get(f"{api}/tags/list", timeout=10).status_code == 401  # the registry really wants the login
    assert sorted(requests.get(f"{api}/tags/list", auth=auth, timeout=10).json()["tags"]) == ["42", "abc1234", "latest"]
    for tag in ("42", "abc1234", "latest"):
        answer = requests.head(f"{api}/manifests/{tag}", auth=auth, headers={"Accept": MANIFEST_TYPES}, timeout=10)
        assert answer.status_code == 200
        assert answer.headers["Docker-Content-Digest"] == digest, tag

    # What was pushed is the app's runtime image, labelled with the build's revision.
    manifest = requests.get(f"{api}/manifests/{digest}", auth=auth, headers={"Accept": MANIFEST_TYPES}, timeout=10).json()
    config = requests.get(f"{api}/blobs/{manifest['config']['digest']}", auth=auth, timeout=10).json()["config"]
    assert config["User"] == "bank"
    assert config["Cmd"] == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    assert config["Labels"]["org.opencontainers.image.revision"] == "abc1234def"

    home = docker_env["HOME"]
    assert credentials_left(workspace, workspace.parent / "bank-app_main@tmp", home) == []
    assert not os.path.exists(os.path.join(home, ".docker", "config.json"))
    assert list((workspace.parent / "bank-app_main@tmp").iterdir()) == [], "DOCKER_CONFIG was not removed"


def test_a_wrong_registry_password_fails_the_step_pushes_nothing_and_leaves_no_credential(docker_env, base_image,
                                                                                          build_args, registry, workspace):
    refused = docker_push(docker_env, build_args, registry, workspace, password="not-the-password", tags=("refused-1",))
    assert refused.returncode != 0
    assert "unauthorized" in (refused.stdout + refused.stderr).lower()
    assert not (workspace / "build/docker-image.txt").exists()
    tags = requests.get(f"http://{registry}/v2/{IMAGE}/tags/list", auth=(USERNAME, PASSWORD), timeout=10)
    assert "refused-1" not in (tags.json().get("tags") or []) if tags.status_code == 200 else tags.status_code == 404
    assert credentials_left(workspace, workspace.parent / "bank-app_main@tmp", docker_env["HOME"]) == []
    assert list((workspace.parent / "bank-app_main@tmp").iterdir()) == []
