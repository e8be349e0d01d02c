"""The db-users step of a writer's task (`python -m bank.db_users`), as the task runs it, against a
MariaDB that requires TLS: it makes the app's and the migrator's users (TLS required, DML for the app,
the schema for the migrator), changes a password only when the new one does not log in yet, leaves a
read-only replica alone, verifies the server like the app, fails the task on a refused statement, and
never shows a password. Then the writer task's whole sequence: db-users, migrate as the migrator, the
app as its DML-only user without migrating."""
import subprocess

import pymysql
import pytest
import requests

from servers import APP_DIR, PYTHON, Gunicorn, app_env

DATABASE = "bank_writer"
MASTER = ("bank_admin", "master 'pass\" \\ %s")
APP = ("bank_app", "app 'pass\\word\" %")
MIGRATOR = ("bank_migrator", "migrator 'pa%ss\" \\")
PASSWORDS = (MASTER[1], APP[1], MIGRATOR[1])


@pytest.fixture(scope="module")
def server(tls_mariadb):
    """The TLS server with an empty app database and a master user as RDS makes one (every privilege,
    and the right to grant them)."""
    tls_mariadb.create_database(DATABASE)
    with tls_mariadb.admin() as connection, connection.cursor() as cursor:
        for user in (APP[0], MIGRATOR[0], MASTER[0]):
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        cursor.execute(f"CREATE USER '{MASTER[0]}'@'%%' IDENTIFIED BY %s REQUIRE SSL", (MASTER[1],))
        cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{MASTER[0]}'@'%' WITH GRANT OPTION")
    return tls_mariadb


def task_env(server, ca, host="localhost", **changes):
    """The db-users container's environment, as the task definition passes it (secrets included)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
           "DB_HOST": host, "DB_PORT": str(server.port), "DB_NAME": DATABASE, "DB_SSL_CA": str(ca),
           "MASTER_USERNAME": MASTER[0], "MASTER_PASSWORD": MASTER[1], "APP_DB_USER": APP[0], "APP_DB_PASSWORD": APP[1],
           "MIGRATOR_DB_USER": MIGRATOR[0], "MIGRATOR_DB_PASSWORD": MIGRATOR[1]}
    env.update(changes)
    return {name: value for name, value in env.items() if value is not None}


def db_users(env):
    result = subprocess.run([PYTHON, "-m", "bank.db_users"], cwd=APP_DIR, env=env, capture_output=True, text=True,
                            timeout=120)
    for password in PASSWORDS + (env.get("APP_DB_PASSWORD", ""), env.get("MIGRATOR_DB_PASSWORD", "")):
        assert not password or password not in result.stdout + result.stderr, "a password was shown"
    return result


def login(server, ca, user, password, **options):
    return pymysql.connect(host="localhost", port=server.port, user=user, password=password, database=DATABASE,
                           ssl_ca=str(ca), ssl_verify_cert=True, ssl_verify_identity=True, autocommit=True, **options)


def grants(server, user):
    with server.admin() as connection, connection.cursor() as cursor:
        cursor.execute(f"SHOW GRANTS FOR '{user}'@'%'")
        return [row[0] for row in cursor.fetchall()]


def test_a_writer_gets_both_users_with_tls_required_and_their_privileges(server, database_ca):
    with server.admin() as connection, connection.cursor() as cursor:
        for user in (APP[0], MIGRATOR[0]):
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
    result = db_users(task_env(server, database_ca.ca))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"db-users: made {APP[0]} (TLS required)", f"db-users: {APP[0]}'s password is current",
                                          f"db-users: made {MIGRATOR[0]} (TLS required)", f"db-users: {MIGRATOR[0]}'s password is current"]
    app_grants, migrator_grants = grants(server, APP[0]), grants(server, MIGRATOR[0])
    assert any(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{DATABASE}`.*" in g for g in app_grants), app_grants
    assert any(f"GRANT ALL PRIVILEGES ON `{DATABASE}`.*" in g for g in migrator_grants), migrator_grants
    for user_grants in (app_grants, migrator_grants):
        assert any("REQUIRE SSL" in g for g in user_grants), user_grants
        assert not any(" ON *.* " in g and "USAGE" not in g for g in user_grants), user_grants

    with login(server, database_ca.ca, *APP) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        with pytest.raises(pymysql.err.OperationalError, match="CREATE command denied"):
            cursor.execute("CREATE TABLE probe (id INT)")
    with login(server, database_ca.ca, *MIGRATOR) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE probe (id INT)")
        cursor.execute("DROP TABLE probe")
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            cursor.execute("CREATE DATABASE another_one")
    # TLS is required of both, whatever the server's own setting.
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        pymysql.connect(host="127.0.0.1", port=server.port, user=APP[0], password=APP[1], ssl_disabled=True)


def test_a_password_that_logs_in_already_is_left_as_it_is(server, database_ca):
    assert db_users(task_env(server, database_ca.ca)).returncode == 0
    again = db_users(task_env(server, database_ca.ca))
    assert again.returncode == 0, again.stderr
    assert f"db-users: {APP[0]}'s password is current" in again.stdout
    assert f"db-users: {MIGRATOR[0]}'s password is current" in again.stdout


def test_a_rotated_password_is_set_and_then_logs_in(server, database_ca):
    assert db_users(task_env(server, database_ca.ca)).returncode == 0
    rotated = "rotated 'app' \\ password %d"
    result = db_users(task_env(server, database_ca.ca, APP_DB_PASSWORD=rotated))
    assert result.returncode == 0, result.stderr
    assert rotated not in result.stdout + result.stderr
    # MariaDB keeps one password; on MySQL (RDS) the previous one stays valid too (RETAIN CURRENT PASSWORD).
    assert f"db-users: {APP[0]} has the new password" in result.stdout
    login(server, database_ca.ca, APP[0], rotated).close()
    assert db_users(task_env(server, database_ca.ca)).returncode == 0  # back, for the other tests


def test_a_read_only_replica_is_left_alone(server, database_ca):
    with server.admin() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{APP[0]}'@'%'")
        cursor.execute("SET GLOBAL read_only = 1")
    try:
        result = db_users(task_env(server, database_ca.ca))
    finally:
        with server.admin() as connection, connection.cursor() as cursor:
            cursor.execute("SET GLOBAL read_only = 0")
    assert result.returncode == 0, result.stderr
    assert "db-users: localhost is read-only (a replica): its users come from the writer" in result.stdout
    with server.admin() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM mysql.user WHERE User = %s", (APP[0],))
        assert cursor.fetchone()[0] == 0
    assert db_users(task_env(server, database_ca.ca)).returncode == 0


def test_it_verifies_the_server_as_the_app_does(server, database_ca, tmp_path):
    from servers import CertificateAuthority

    wrong = CertificateAuthority(tmp_path, "another CA").ca
    refused = db_users(task_env(server, wrong))
    assert refused.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr and f"DB_SSL_CA={wrong}" in refused.stderr
    misnamed = db_users(task_env(server, database_ca.ca, host="127.0.0.1"))
    assert misnamed.returncode == 1 and "('127.0.0.1', DB_HOST)" in misnamed.stderr
    unset = db_users(task_env(server, database_ca.ca, DB_SSL_CA=None))
    assert unset.returncode == 1
    assert "db-users: DB_SSL_CA must be set: the users made here log in over TLS only" in unset.stderr
    plain = db_users(task_env(server, database_ca.ca, DB_SSL_MODE="DISABLED"))
    assert plain.returncode == 1 and "DB_SSL_MODE=DISABLED contradicts DB_SSL_CA" in plain.stderr


@pytest.mark.parametrize("changes, message", [
    ({"MASTER_PASSWORD": None, "APP_DB_USER": None}, "MASTER_PASSWORD, APP_DB_USER must be set"),
    ({"DB_NAME": "bank`; DROP"}, "DB_NAME must be a MySQL identifier"),
    ({"DB_PORT": "3306x"}, "DB_PORT must be a port number from 1 to 65535, got '3306x'"),
    ({"MIGRATOR_DB_USER": APP[0]}, "APP_DB_USER and MIGRATOR_DB_USER must differ"),
])
def test_wrong_settings_fail_naming_them(server, database_ca, changes, message):
    result = db_users(task_env(server, database_ca.ca, **changes))
    assert result.returncode == 1
    assert message in result.stderr


def test_a_statement_the_server_refuses_fails_the_task(server, database_ca):
    with server.admin() as connection, connection.cursor() as cursor:
        cursor.execute("DROP USER IF EXISTS 'weak_admin'@'%'")
        cursor.execute("CREATE USER 'weak_admin'@'%' IDENTIFIED BY 'weak-admin-pw' REQUIRE SSL")
        # May look users up and make them, may not grant privileges.
        cursor.execute("GRANT CREATE USER ON *.* TO 'weak_admin'@'%'")
        cursor.execute("GRANT SELECT ON mysql.user TO 'weak_admin'@'%'")
    result = db_users(task_env(server, database_ca.ca, MASTER_USERNAME="weak_admin", MASTER_PASSWORD="weak-admin-pw"))
    assert result.returncode == 1
    assert f"db-users: granting SELECT, INSERT, UPDATE, DELETE on {DATABASE} to {APP[0]} was refused" in result.stderr
    assert "weak-admin-pw" not in result.stdout + result.stderr


def test_the_writer_task_runs_db_users_then_migrates_as_the_migrator_then_serves_as_the_dml_user(server, database_ca):
    """What terraform/modules/app-region starts in a writer's task, in its order and with its settings."""
    assert db_users(task_env(server, database_ca.ca)).returncode == 0
    database = {"DB_HOST": "localhost", "DB_PORT": str(server.port), "DB_NAME": DATABASE, "DB_SSL_CA": str(database_ca.ca)}
    base = {k: v for k, v in app_env("unused").items() if k not in ("DATABASE_URL", "DB_SSL_MODE")}
    migrator = {**base, **database, "DB_USER": MIGRATOR[0], "DB_PASSWORD": MIGRATOR[1]}
    migrated = subprocess.run([PYTHON, "-m", "flask", "--app", "bank", "migrate"], cwd=APP_DIR, env=migrator,
                              capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema migrated from revision none to" in migrated.stdout

    app = {**base, **database, "DB_USER": APP[0], "DB_PASSWORD": APP[1], "BANK_MIGRATE_ON_START": "0", "BANK_PROXY_HOPS": "1"}
    server_process = Gunicorn(app, workers=1).start()
    try:
        for username, role in (("exec-w", "executive"), ("teller-w", "teller")):
            made = subprocess.run([PYTHON, "-m", "flask", "--app", "bank", "create-staff", username, role], cwd=APP_DIR,
                                  env={**app, "BANK_STAFF_PASSWORD": f"pass-for-the-{role}-desk"}, capture_output=True, text=True)
            assert made.returncode == 0, made.stderr[-3000:]
        tokens = {}
        for username in ("exec-w", "teller-w"):
            made = subprocess.run([PYTHON, "-m", "flask", "--app", "bank", "create-token", username, "--name", "writer"],
                                  cwd=APP_DIR, env=app, check=True, capture_output=True, text=True)
            tokens[username] = {"Authorization": f"Bearer {made.stdout.split()[-1]}"}
        url = server_process.url
        customer = requests.post(url + "/api/v1/customers", headers=tokens["exec-w"], timeout=10, json={
            "ssn_id": "555000222", "name": "Ada Byron", "address": "1 St James's Square", "age": 36, "state": "London",
            "city": "Westminster"})
        assert customer.status_code == 201, customer.text
        accounts = [requests.post(url + "/api/v1/accounts", headers=tokens["exec-w"], timeout=10,
                                  json={"cust_id": customer.json()["cust_id"], "type": "savings"}).json()["acc_id"] for _ in range(2)]
        deposit = requests.post(f"{url}/api/v1/accounts/{accounts[0]}/deposit", headers=tokens["teller-w"], timeout=10,
                                json={"amount": "80.00"})
        assert deposit.status_code == 200, deposit.text
        transfer = requests.post(url + "/api/v1/transfers", headers=tokens["teller-w"], timeout=10,
                                 json={"from": accounts[0], "to": accounts[1], "amount": "30.00"})
        assert transfer.status_code == 201, transfer.text
        assert (transfer.json()["from_balance"], transfer.json()["to_balance"]) == ("50.00", "30.00")
    finally:
        server_process.stop()
    assert "not migrating" in server_process.logs()
