"""The schema is made and changed only by the migrations: an empty database and today's release
schema (made by create_all before migrations existed, tests/fixtures/release-schema.*.sql) both
upgrade to head and then agree with the models; head downgrades one step and upgrades again; a
release's tasks migrate one at a time under MariaDB's GET_LOCK, exactly once."""
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from bank import create_app, migrate
from bank.database import db
from servers import APP_DIR, PYTHON, Gunicorn, app_env

FIXTURES = Path(__file__).parent / "fixtures"
BANK = APP_DIR / "bank"


def make_app(url):
    tls = {"DB_SSL_MODE": "DISABLED"} if url.startswith("mysql") else {}
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "TESTING": True, "BCRYPT_ROUNDS": 4, **tls})


@pytest.fixture(params=["sqlite", "mariadb"])
def empty_database(request, tmp_path):
    """A URL of a database with nothing in it, on SQLite and on MariaDB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bank.sqlite'}"
    name = "migrations_" + re.sub(r"\W", "_", request.node.name)[-40:]
    return request.getfixturevalue("mariadb").create_database(name)


def load_release_schema(url):
    """Makes today's release schema (as its init-db did) in the empty database at `url`."""
    engine = create_engine(url)
    dialect = "sqlite" if engine.dialect.name == "sqlite" else "mariadb"
    statements = [s for s in (FIXTURES / f"release-schema.{dialect}.sql").read_text().split(";\n") if s.strip()]
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
        if dialect == "sqlite":  # what init-db wrote: the bank's numbering starts there
            connection.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('customers', 110109999), ('accounts', 360109999)")
    engine.dispose()


def schema_of(url):
    """Every table's definition as the database reports it, with counters left out."""
    engine = create_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name").all()
            schema = {name: re.sub(r"\s+", " ", sql) for name, sql in rows}
        else:
            schema = {}
            for (table,) in connection.exec_driver_sql("SHOW TABLES").all():
                ddl = connection.exec_driver_sql(f"SHOW CREATE TABLE `{table}`").one()[1]
                schema[table] = re.sub(r" AUTO_INCREMENT=\d+", "", ddl)
    engine.dispose()
    schema.pop("alembic_version", None)
    return schema


def test_an_empty_database_upgrades_to_head_and_matches_the_models(empty_database):
    app = make_app(empty_database)
    with app.app_context():
        assert migrate.upgrade() == (None, migrate.head())
        with db.engine.connect() as connection:
            assert migrate.differences_from_models(connection) == []
        from bank.customers import create_customer, open_account
        from bank.staff import create_staff

        robot = create_staff("migrated", "executive", "a-long-enough-secret")
        customer = create_customer({"ssn_id": "123456789", "name": "A", "address": "B", "age": 30, "state": "S",
                                    "city": "C"}, robot)
        account = open_account(customer.cust_id, "savings", robot)
        assert (customer.cust_id, account.acc_id) == (110110000, 360110000)  # the bank's numbering


def test_todays_release_schema_with_its_data_upgrades_to_head_keeping_the_data(empty_database, tmp_path):
    load_release_schema(empty_database)
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO staff (username, password_hash, role, active, created_at) "
                                "VALUES ('old-teller', :hash, 'teller', 1, '2025-01-02 03:04:05')"), {"hash": "x" * 60})
        connection.execute(text("INSERT INTO customers (ssn_id, name, address, age, state, city, status, created_at, "
                                "last_update) VALUES ('987654321', 'Old', 'Road', 40, 'S', 'C', 'active', "
                                "'2025-01-02 03:04:05', '2025-01-02 03:04:05')"))
    engine.dispose()

    app = make_app(empty_database)
    with app.app_context():
        before, after = migrate.upgrade()
        assert (before, after) == (migrate.RELEASE_SCHEMA_REVISION, migrate.head())
        with db.engine.connect() as connection:
            assert migrate.differences_from_models(connection) == []
            assert connection.execute(text("SELECT cust_id, name FROM customers")).all() == [(110110000, "Old")]
            assert connection.execute(text("SELECT username FROM staff")).scalar() == "old-teller"
        assert migrate.upgrade() == (migrate.head(), migrate.head())  # a second run changes nothing

    fresh = empty_database.replace("bank.sqlite", "fresh.sqlite") if "sqlite" in empty_database else None
    if fresh is None:
        name = empty_database.rsplit("/", 1)[1].split("?")[0]
        fresh = sibling_database(empty_database, name + "_fresh")
    with make_app(fresh).app_context():
        migrate.upgrade()
    assert schema_of(empty_database) == schema_of(fresh)


def sibling_database(url, name):
    """A new empty database on the MariaDB server of `url`."""
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        connection.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    engine.dispose()
    return re.sub(r"/[^/?]+(\?|$)", f"/{name}\\1", url, count=1)


def test_head_downgrades_one_step_and_upgrades_again(empty_database):
    app = make_app(empty_database)
    with app.app_context():
        migrate.upgrade()
        head = migrate.head()
        before, after = migrate.downgrade("-1")
        assert before == head and after != head
        with db.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names()) - {"alembic_version", "sqlite_sequence"}
            if after is None:
                assert tables == set()  # the first revision made every table
        assert migrate.upgrade() == (after, head)
        with db.engine.connect() as connection:
            assert migrate.differences_from_models(connection) == []


def test_nothing_outside_the_migrations_creates_tables():
    for path in BANK.rglob("*.py"):
        source = path.read_text()
        assert not re.search(r"\.(create_all|drop_all)\(", source), f"{path} makes tables outside the migrations"


def test_revisions_form_one_line_numbered_in_order():
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate._config())
    revisions = list(reversed(list(scripts.walk_revisions())))
    assert [r.revision for r in revisions] == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    assert len(scripts.get_heads()) == 1
    for revision in revisions:
        assert Path(revision.path).name.startswith(revision.revision + "_")


def flask_migrate(url, **env):
    return subprocess.Popen([PYTHON, "-m", "flask", "--app", "bank", "migrate"], cwd=APP_DIR,
                            env=app_env(url, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def hold_migration_lock(mariadb, database):
    """A connection holding the named lock bank.migrate takes for `database`, as a migrating task would."""
    connection = mariadb.admin(autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 5)", (f"bank-migrations:{database}",))
        assert cursor.fetchone()[0] == 1
    return connection


def test_two_tasks_starting_at_once_migrate_exactly_once_one_after_the_other(mariadb):
    url = mariadb.create_database("migrations_race")
    holder = hold_migration_lock(mariadb, "migrations_race")
    tasks = [flask_migrate(url), flask_migrate(url)]
    try:
        time.sleep(3)
        assert [t.poll() for t in tasks] == [None, None], "a task migrated while another held the lock"
        with mariadb.admin(database="migrations_race") as c, c.cursor() as cursor:
            cursor.execute("SHOW TABLES")
            assert cursor.fetchall() == ()
    finally:
        holder.close()  # the lock is released with the session, as when a migrating task dies
    outputs = [t.communicate(timeout=60)[0] for t in tasks]
    assert [t.returncode for t in tasks] == [0, 0], outputs
    migrated = [o for o in outputs if f"schema migrated from revision none to {migrate.head()}" in o]
    nothing = [o for o in outputs if f"schema at revision {migrate.head()}: nothing to do" in o]
    assert (len(migrated), len(nothing)) == (1, 1), outputs


def test_a_task_that_cannot_get_the_lock_in_time_fails_and_says_why(mariadb):
    url = mariadb.create_database("migrations_stuck")
    holder = hold_migration_lock(mariadb, "migrations_stuck")
    try:
        task = flask_migrate(url, BANK_MIGRATION_LOCK_TIMEOUT="1")
        output = task.communicate(timeout=60)[0]
    finally:
        holder.close()
    assert task.returncode == 1
    assert "another process held the migration lock 'bank-migrations:migrations_stuck' for 1 s" in output


def test_a_bad_lock_timeout_is_refused_naming_the_variable(tmp_path):
    task = flask_migrate(f"sqlite:///{tmp_path / 'bank.sqlite'}", BANK_MIGRATION_LOCK_TIMEOUT="soon")
    output = task.communicate(timeout=60)[0]
    assert task.returncode == 1
    assert "BANK_MIGRATION_LOCK_TIMEOUT must be a whole number of seconds >= 1, got 'soon'" in output


def test_gunicorn_migrates_before_serving_and_serves_the_migrated_schema(mariadb, tmp_path):
    url = mariadb.create_database("migrations_on_start")
    server = Gunicorn(app_env(url), workers=2, log_path=tmp_path / "access.log").start()
    try:
        assert f"schema migrated from revision none to {migrate.head()}" in server.logs()
    finally:
        server.stop()
    second = Gunicorn(app_env(url), workers=2).start()
    try:
        assert f"schema at revision {migrate.head()}: nothing to do" in second.logs()
    finally:
        second.stop()


def test_gunicorn_does_not_migrate_when_told_not_to_and_is_unhealthy_until_migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'bank.sqlite'}"
    server = Gunicorn(app_env(url, BANK_MIGRATE_ON_START="0"), workers=1).start(healthy=False)
    try:
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(server.url + "/health", timeout=5)
        assert answer.value.code == 503
        assert json.load(answer.value) == {
            "status": "unavailable", "error": f"the database schema is at revision none, this release needs {migrate.head()}"}
        assert "BANK_MIGRATE_ON_START=0: not migrating" in server.logs()
        assert inspect(create_engine(url)).get_table_names() == []
        subprocess.run([PYTHON, "-m", "flask", "--app", "bank", "migrate"], cwd=APP_DIR, env=app_env(url), check=True,
                       capture_output=True)  # the one-off migration task
        with urllib.request.urlopen(server.url + "/health", timeout=5) as response:
            assert response.status == 200
    finally:
        server.stop()


def test_health_is_503_while_the_schema_is_older_than_the_code_and_ok_when_newer(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'bank.sqlite'}")
    client = app.test_client()

    def schema(change):
        with app.app_context():
            change()

    schema(migrate.upgrade)
    assert client.get("/health").status_code == 200
    schema(lambda: migrate.downgrade("-1"))
    answer = client.get("/health")
    assert answer.status_code == 503
    assert answer.json["error"].endswith(f"this release needs {migrate.head()}")
    schema(migrate.upgrade)
    assert client.get("/health").status_code == 200

    def later_release():  # migrated first: its schema keeps this code working
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    schema(later_release)
    assert client.get("/health").status_code == 200
