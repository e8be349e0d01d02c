"""A writer region's ECS task, container by container, as terraform/modules/app-region renders it
(test/terraform/provider/plans/app-region.writer-task.json, which the offline plan checks against the
module): each container's command and environment run against the image built from app/Dockerfile,
in the order their dependsOn gives, against a MariaDB that requires TLS. A command the image lacks, a
variable it does not read (the app refuses to start without DB_SSL_CA) or a privilege the migrator or
the app's DML-only user lacks fails here. Only the values that name AWS are replaced: the database's
address and port, and each secret's value by the secret its valueFrom names."""
import json
import re

import pytest
import requests

from conftest import REPO, free_port, run
from test_image import health, wait_for

TASK = REPO / "test/terraform/provider/plans/app-region.writer-task.json"
MASTER = ("bank_admin", "master 'pw\" \\ %s")
SECRETS = {  # what each secret the task definition names holds here: (part of the secret's name, JSON key) -> value
    ("rds!db-", "username"): MASTER[0], ("rds!db-", "password"): MASTER[1],
    ("/db-app-", "username"): "bank_app", ("/db-app-", "password"): "app 'pw\" \\ %d",
    ("/db-migrator-", "username"): "bank_migrator", ("/db-migrator-", "password"): "migrator 'pw\" \\",
    ("/secret-key-", ""): "writer-task-secret-key-0123456789abcdef",
}


def secret_value(value_from):
    """The test's value for a valueFrom ("<secret arn>:<json key>::" or a whole secret's ARN)."""
    name, _, key = value_from.partition(":secret:")[2].partition(":")
    for (part, json_key), value in SECRETS.items():
        if part in name and json_key == key.rstrip(":"):
            return value
    raise AssertionError(f"the task reads a secret this test does not know: {value_from}")


def in_start_order(task):
    """Container names in the order ECS starts them (each after the ones it depends on)."""
    order = []
    while len(order) < len(task):
        ready = [name for name, c in task.items() if name not in order
                 and all(d["containerName"] in order and d["condition"] == "SUCCESS" for d in c["dependsOn"])]
        assert ready, f"the containers' dependsOn form a cycle or name a container that is not there: {task}"
        order.extend(sorted(ready))
    return order


@pytest.fixture(scope="module")
def server(tls_mariadb):
    """The writer's database as RDS hands it over: the app's database exists, the master user may do anything."""
    task = json.loads(TASK.read_text())
    database = task["migrate"]["environment"]["DB_NAME"]
    tls_mariadb.create_database(database)
    with tls_mariadb.admin() as connection, connection.cursor() as cursor:
        for user in (MASTER[0], SECRETS[("/db-app-", "username")], SECRETS[("/db-migrator-", "username")]):
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        cursor.execute(f"CREATE USER '{MASTER[0]}'@'%%' IDENTIFIED BY %s REQUIRE SSL", (MASTER[1],))
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{MASTER[0]}'@'%' WITH GRANT OPTION")
    return tls_mariadb


def container_env(definition, server, **extra):
    """The container's environment as ECS gives it: its plain values (the database's address replaced by
    this server's, whose certificate names localhost) and its secrets' values."""
    env = dict(definition["environment"])
    env.update({"DB_HOST": "localhost", "DB_PORT": str(server.port)})
    env.update({name: secret_value(value_from) for name, value_from in definition["secrets"].items()})
    env.update(extra)
    return env


def docker_args(env):
    """--env NAME for each variable: values travel in docker's environment, never in its argv."""
    return [arg for name in env for arg in ("--env", name)]


def test_the_writer_task_runs_against_the_image_in_its_order(docker_env, runtime_image, server, container):
    task = json.loads(TASK.read_text())
    assert in_start_order(task) == ["db-users", "migrate", "app"]
    assert {c["image"] for c in task.values()} == {task["app"]["image"]}, "every container runs the app's image"
    assert [name for name, c in task.items() if c["essential"]] == ["app"]
    shown = []

    for name in ("db-users", "migrate"):
        definition = task[name]
        env = container_env(definition, server)
        finished = run("docker", "run", "--rm", "--network", "host", *docker_args(env), runtime_image, *definition["command"],
                       env={**docker_env, **env}, check=False, timeout=300)
        assert finished.returncode == 0, f"{name}: {finished.stdout}{finished.stderr}"
        shown.append(finished.stdout + finished.stderr)
    assert "db-users: made bank_app (TLS required)" in shown[0] and "db-users: made bank_migrator (TLS required)" in shown[0]
    assert re.search(r"schema migrated from revision none to \d{4}", shown[1])

    # The app, as the service runs it (the image's own command), on a free port of loopback instead of 8000.
    app = task["app"]
    assert app["command"] is None
    port = free_port()
    env = container_env(app, server, BANK_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2")
    name = container(*docker_args(env), runtime_image, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for("the app answers /health with 200", lambda: health(url))
    logs = run("docker", "logs", name, env=docker_env)
    shown.append(logs.stdout + logs.stderr)
    assert "BANK_MIGRATE_ON_START=0: not migrating" in shown[-1]

    for username, role in (("exec-t", "executive"), ("teller-t", "teller")):
        run("docker", "exec", "--env", "BANK_STAFF_PASSWORD", name, "flask", "--app", "bank", "create-staff", username, role,
            env={**docker_env, "BANK_STAFF_PASSWORD": f"pass-for-the-{role}-desk"})
    tokens = {}
    for username in ("exec-t", "teller-t"):
        made = run("docker", "exec", name, "flask", "--app", "bank", "create-token", username, "--name", "writer task",
                   env=docker_env)
        tokens[username] = {"Authorization": f"Bearer {made.stdout.split()[-1]}"}
    customer = requests.post(url + "/api/v1/customers", headers=tokens["exec-t"], timeout=10, json={
        "ssn_id": "555000333", "name": "Katherine Johnson", "address": "1 NASA Way", "age": 50, "state": "VA", "city": "Hampton"})
    assert customer.status_code == 201, customer.text
    accounts = []
    for _ in range(2):
        opened = requests.post(url + "/api/v1/accounts", headers=tokens["exec-t"], timeout=10,
                               json={"cust_id": customer.json()["cust_id"], "type": "savings"})
        assert opened.status_code == 201, opened.text
        accounts.append(opened.json()["acc_id"])
    deposit = requests.post(f"{url}/api/v1/accounts/{accounts[0]}/deposit", headers=tokens["teller-t"], timeout=10,
                            json={"amount": "90.00"})
    assert deposit.status_code == 200, deposit.text
    transfer = requests.post(url + "/api/v1/transfers", headers=tokens["teller-t"], timeout=10,
                             json={"from": accounts[0], "to": accounts[1], "amount": "40.00"})
    assert transfer.status_code == 201, transfer.text
    assert (transfer.json()["from_balance"], transfer.json()["to_balance"]) == ("50.00", "40.00")

    # BANK_PROXY_HOPS=1: the login limits count the address the load balancer appended, not the load balancer's.
    def form_login(client, password):
        page = requests.get(url + "/login", headers={"X-Forwarded-For": client}, timeout=10)
        cookie = page.headers["Set-Cookie"].split(";")[0]  # Secure cookie: sent back by hand over plain HTTP
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return requests.post(url + "/login", data={"csrf_token": token, "username": "teller-t", "password": password},
                             headers={"X-Forwarded-For": client, "Cookie": cookie}, timeout=10, allow_redirects=False)

    guesser, teller = "198.51.100.7", "203.0.113.20"
    answers = [form_login(guesser, "not-the-password-at-all").status_code for _ in range(6)]
    assert answers == [401] * 5 + [429], answers
    assert form_login(teller, "pass-for-the-teller-desk").status_code == 302, "the guesser locked out every client"

    for password in (MASTER[1], *(v for (_, k), v in SECRETS.items() if k == "password")):
        assert all(password not in output for output in shown), "a password reached a log"


def test_a_later_task_of_the_same_release_finds_users_and_schema_in_place(docker_env, runtime_image, server):
    task = json.loads(TASK.read_text())
    for _ in range(2):
        outputs = []
        for name in ("db-users", "migrate"):
            env = container_env(task[name], server)
            finished = run("docker", "run", "--rm", "--network", "host", *docker_args(env), runtime_image,
                           *task[name]["command"], env={**docker_env, **env}, timeout=300)
            outputs.append(finished.stdout + finished.stderr)
    assert "db-users: bank_app's password is current" in outputs[0]
    assert "db-users: bank_migrator's password is current" in outputs[0]
    assert re.search(r"schema at revision \d{4}: nothing to do", outputs[1])
