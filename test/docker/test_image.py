"""app/Dockerfile built by the real engine: the image runs as a non-root user against a MariaDB that
requires TLS, verifies the server with the CA bundle it was built with, migrates as it starts, and
serves /health, a login, a transfer and a statement; it refuses a database it cannot verify; its
`test` target runs the app's whole suite inside the container with MariaDB beside it."""
import re
import time
import xml.etree.ElementTree as ElementTree

import requests

from conftest import run, free_port

SECRET_KEY = "docker-suite-secret-key-0123456789"
IMAGE_CA_BUNDLE = "/etc/bank/db-ca.pem"  # bank.db_tls.IMAGE_CA_BUNDLE, where the task definition's DB_SSL_CA points


def wait_for(what, check, seconds=120):
    deadline = time.time() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.time() > deadline:
            raise AssertionError(f"{what} within {seconds} s")
        time.sleep(0.5)


def health(url):
    try:
        return requests.get(url + "/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def inspect(docker_env, name, template):
    return run("docker", "inspect", "--format", template, name, env=docker_env).stdout.strip()


def test_the_image_runs_as_a_non_root_user_and_installs_no_test_tools(docker_env, runtime_image):
    assert inspect(docker_env, runtime_image, "{{.Config.User}}") == "bank"
    assert run("docker", "run", "--rm", "--network", "host", runtime_image, "id", "-u", env=docker_env).stdout.strip() != "0"
    missing = run("docker", "run", "--rm", "--network", "host", runtime_image, "python", "-c",
                  "import importlib.util as u; print([m for m in ('pytest', 'playwright', 'requests') if u.find_spec(m)])",
                  env=docker_env).stdout.strip()
    assert missing == "[]", "the runtime image carries test packages"
    assert inspect(docker_env, runtime_image, "{{json .Config.Cmd}}") == '["gunicorn","-c","gunicorn.conf.py","wsgi:app"]'


def test_the_container_migrates_and_serves_health_a_login_a_transfer_and_a_statement(docker_env, runtime_image,
                                                                                        tls_mariadb, container):
    mariadb = tls_mariadb
    database = "docker_app"
    password = "Db pass@word:/%"
    mariadb.create_database(database)
    mariadb.create_user("ecs_app", password, "ALL", f"{database}.*")
    port = free_port()
    # Secrets reach the container as ECS passes them, in the environment, never in docker's argv.
    secrets = {"DB_PASSWORD": password, "SECRET_KEY": SECRET_KEY}
    name = container(
        "--health-interval", "2s",
        # The name the server's certificate holds, and the bundle the image was built with.
        "--env", "DB_HOST=localhost", "--env", f"DB_PORT={mariadb.port}", "--env", f"DB_NAME={database}",
        "--env", f"DB_SSL_CA={IMAGE_CA_BUNDLE}",
        "--env", "DB_USER=ecs_app", "--env", "DB_PASSWORD", "--env", "SECRET_KEY",
        "--env", f"BANK_BIND=127.0.0.1:{port}", "--env", "WEB_CONCURRENCY=2", "--env", "BANK_COOKIE_SECURE=0",
        runtime_image, env=secrets)
    url = f"http://127.0.0.1:{port}"
    wait_for("the container answers /health with 200", lambda: health(url))
    assert requests.get(url + "/health", timeout=5).json() == {"status": "ok"}
    logs = run("docker", "logs", name, env=docker_env)
    assert re.search(r"schema migrated from revision none to \d{4}", logs.stdout + logs.stderr)
    assert password not in logs.stdout + logs.stderr

    # gunicorn and its workers run as bank, not root.
    users = run("docker", "top", name, "-o", "pid,user,args", env=docker_env).stdout.splitlines()[1:]
    assert users and all(line.split()[1] not in ("root", "0") for line in users), users
    wait_for("docker reports the container healthy (the image's HEALTHCHECK on BANK_BIND)",
             lambda: inspect(docker_env, name, "{{.State.Health.Status}}") == "healthy")

    tokens = {}
    for username, role in (("exec1", "executive"), ("teller1", "teller")):
        run("docker", "exec", "--env", "BANK_STAFF_PASSWORD", name, "flask", "--app", "bank", "create-staff", username, role,
            env={**docker_env, "BANK_STAFF_PASSWORD": f"{role}-docker-password"})
        made = run("docker", "exec", name, "flask", "--app", "bank", "create-token", username, "--name", "docker suite",
                   env=docker_env)
        tokens[role] = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}

    # A person's login: the form with its CSRF token, then a page that needs the session.
    browser = requests.Session()
    form = browser.get(url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = browser.post(url + "/login", data={"csrf_token": token, "username": "teller1",
                                                  "password": "teller-docker-password"}, timeout=10, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/")
    assert "teller1" in browser.get(url + "/", timeout=10).text

    # A machine client of the API: a customer, two accounts, the opening cash, a transfer.
    executive, teller = tokens["executive"], tokens["teller"]
    customer = requests.post(url + "/api/v1/customers", headers=executive, timeout=10, json={
        "ssn_id": "555000111", "name": "Grace Hopper", "address": "1 Navy Way", "age": 45, "state": "VA", "city": "Arlington"})
    assert customer.status_code == 201, customer.text
    accounts = []
    for _ in range(2):
        opened = requests.post(url + "/api/v1/accounts", headers=executive, timeout=10,
                               json={"cust_id": customer.json()["cust_id"], "type": "savings"})
        assert opened.status_code == 201, opened.text
        accounts.append(opened.json()["acc_id"])
    assert accounts[0] == 360110000  # the bank's numbering, set by the migration
    deposit = requests.post(f"{url}/api/v1/accounts/{accounts[0]}/deposit", headers=teller, timeout=10,
                            json={"amount": "100.00"})
    assert deposit.status_code == 200 and deposit.json()["balance"] == "100.00", deposit.text
    transfer = requests.post(url + "/api/v1/transfers", headers=teller, timeout=10,
                             json={"from": accounts[0], "to": accounts[1], "amount": "30.00"})
    assert transfer.status_code == 201, transfer.text
    assert (transfer.json()["from_balance"], transfer.json()["to_balance"]) == ("70.00", "30.00")

    history = requests.get(f"{url}/api/v1/accounts/{accounts[0]}/transactions", headers=teller, timeout=10).json()
    assert [t["amount"] for t in history["transactions"]] == ["100.00", "-30.00"]
    statement = requests.get(f"{url}/api/v1/accounts/{accounts[0]}/statement.pdf", headers=teller, timeout=30)
    assert statement.status_code == 200
    assert statement.headers["Content-Type"] == "application/pdf" and statement.content.startswith(b"%PDF-")

    with mariadb.admin(database=database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT balance_cents FROM accounts ORDER BY acc_id")
        assert cursor.fetchall() == ((7000,), (3000,))


def test_the_container_stops_cleanly_on_sigterm(docker_env, runtime_image, container, tmp_path):
    port = free_port()
    name = container("--env", "SECRET_KEY", "--env", f"BANK_BIND=127.0.0.1:{port}", "--env", "WEB_CONCURRENCY=1",
                     runtime_image, env={"SECRET_KEY": SECRET_KEY})
    wait_for("the SQLite container answers /health", lambda: health(f"http://127.0.0.1:{port}"))
    started = time.time()
    run("docker", "stop", "--time", "30", name, env=docker_env)
    assert time.time() - started < 25, "gunicorn did not stop on SIGTERM before docker's deadline"
    assert inspect(docker_env, name, "{{.State.ExitCode}}") == "0"


def test_the_image_holds_the_pinned_bundle_and_refuses_a_database_it_cannot_verify(docker_env, runtime_image, tls_mariadb,
                                                                                   database_ca):
    bundle = run("docker", "run", "--rm", "--network", "host", runtime_image, "cat", IMAGE_CA_BUNDLE, env=docker_env).stdout
    assert bundle == database_ca.ca.read_text(), "the image carries the bundle its build was given"
    owner = run("docker", "run", "--rm", "--network", "host", runtime_image, "stat", "-c", "%U %a", IMAGE_CA_BUNDLE,
                env=docker_env).stdout.split()
    assert owner == ["root", "644"], "the app reads the bundle and cannot change it"
    tls_mariadb.create_database("docker_refused")
    tls_mariadb.create_user("refused_app", "refused-app-password", "ALL", "docker_refused.*")
    settings = {"DB_HOST": "localhost", "DB_PORT": str(tls_mariadb.port), "DB_NAME": "docker_refused", "DB_USER": "refused_app",
                "SECRET_KEY": SECRET_KEY, "DB_SSL_CA": IMAGE_CA_BUNDLE}

    def migrate(**changes):
        env = {name: value for name, value in {**settings, **changes}.items() if value is not None}
        flags = [arg for name in env for arg in ("--env", name)]
        return run("docker", "run", "--rm", "--network", "host", "--env", "DB_PASSWORD", *flags, runtime_image,
                   "flask", "--app", "bank", "migrate", env={**docker_env, **env, "DB_PASSWORD": "refused-app-password"},
                   check=False)

    misnamed = migrate(DB_HOST="127.0.0.1")  # the certificate names localhost only
    assert misnamed.returncode == 1 and "('127.0.0.1', DB_HOST)" in misnamed.stderr, misnamed.stderr
    unset = migrate(DB_SSL_CA=None)
    assert unset.returncode == 1 and "DB_SSL_CA is not set: in production" in unset.stderr, unset.stderr
    plain = migrate(DB_SSL_CA=None, DB_SSL_MODE="DISABLED")
    assert plain.returncode == 1 and "DB_SSL_MODE=DISABLED connects without TLS" in plain.stderr, plain.stderr
    assert migrate().returncode == 0


def junit_counts(path):
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = {key: sum(int(s.get(key, 0)) for s in suites) for key in ("tests", "failures", "errors", "skipped")}
    return total


def test_the_test_target_runs_the_whole_suite_inside_the_container_with_mariadb_beside_it(docker_env, test_image, tmp_path):
    from servers import MariaDB

    beside = MariaDB().start()  # its own server: the suite inside drops and creates databases and users
    results = tmp_path / "results"
    results.mkdir()
    results.chmod(0o777)  # the suite runs as the image's non-root user
    try:
        outcome = run("docker", "run", "--rm", "--network", "host",
                      "--env", f"BANK_TEST_MARIADB_URL=mysql://root:@127.0.0.1:{beside.port}",
                      "--volume", f"{results}:/results", test_image,
                      "python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--junitxml=/results/junit.xml",
                      env=docker_env, check=False, timeout=1800)
    finally:
        beside.stop()
    output = outcome.stdout + outcome.stderr
    assert outcome.returncode == 0, output[-6000:]
    counts = junit_counts(results / "junit.xml")
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, (counts, output[-3000:])
    assert counts["tests"] >= 400, counts
    for suite in ("test_browser.py", "test_concurrency.py", "test_migrations.py"):
        assert suite.removesuffix(".py") in (results / "junit.xml").read_text(), f"{suite} did not run inside the container"
