"""Where the app finds its database: DATABASE_URL, or DB_HOST, DB_PORT, DB_NAME, DB_USER and
DB_PASSWORD as ECS passes them (the password alone from Secrets Manager or Parameter Store)."""
import subprocess

import pytest

from bank import create_app
from servers import APP_DIR, PYTHON, Gunicorn, app_env

DB_VARIABLES = ("DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_SSL_CA", "DB_SSL_MODE")


@pytest.fixture
def environment(monkeypatch):
    for name in DB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    return monkeypatch


def test_the_db_variables_make_a_mariadb_url_with_every_part_quoted(environment):
    for name, value in {"DB_HOST": "db.internal", "DB_PORT": "3307", "DB_NAME": "bank", "DB_USER": "app@bank",
                        "DB_PASSWORD": "p@ss:w/rd% ?#", "DB_SSL_MODE": "DISABLED"}.items():
        environment.setenv(name, value)
    from sqlalchemy.engine import make_url

    url = make_url(create_app().config["SQLALCHEMY_DATABASE_URI"])
    assert (url.drivername, url.host, url.port, url.database) == ("mysql+pymysql", "db.internal", 3307, "bank")
    assert (url.username, url.password) == ("app@bank", "p@ss:w/rd% ?#")
    assert url.query == {"charset": "utf8mb4"}


def test_db_port_defaults_to_3306(environment):
    for name in ("DB_HOST", "DB_NAME", "DB_USER", "DB_PASSWORD"):
        environment.setenv(name, "x")
    environment.setenv("DB_SSL_MODE", "DISABLED")
    assert ":3306/" in create_app().config["SQLALCHEMY_DATABASE_URI"]


@pytest.mark.parametrize("variables, message", [
    ({"DB_HOST": "db"}, "DB_NAME, DB_USER, DB_PASSWORD must be set too when DB_HOST is"),
    ({"DB_HOST": "db", "DB_NAME": "bank", "DB_USER": "app"}, "DB_PASSWORD must be set too when DB_HOST, DB_NAME, DB_USER are"),
    ({"DB_HOST": "db", "DB_NAME": "bank", "DB_USER": "app", "DB_PASSWORD": "pw", "DB_PORT": "33o6"},
     "DB_PORT must be a port number from 1 to 65535, got '33o6'"),
    ({"DB_HOST": "db", "DB_NAME": "bank", "DB_USER": "app", "DB_PASSWORD": "pw", "DB_PORT": "70000"},
     "DB_PORT must be a port number from 1 to 65535, got '70000'"),
    ({"DATABASE_URL": "sqlite:///x", "DB_HOST": "db"}, "set DATABASE_URL or the DB_* variables, not both (DATABASE_URL and DB_HOST are set)"),
])
def test_incomplete_or_conflicting_database_settings_are_refused_naming_the_variables(environment, variables, message):
    for name, value in variables.items():
        environment.setenv(name, value)
    with pytest.raises(RuntimeError) as error:
        create_app()
    assert str(error.value) == message
    assert "pw" not in str(error.value)


def test_empty_db_variables_count_as_unset(environment, tmp_path):
    for name in DB_VARIABLES:
        environment.setenv(name, "")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_gunicorn_migrates_and_serves_with_only_the_db_variables(mariadb):
    password = "Pa ss@w:rd/%#?"
    mariadb.create_database("settings_db_vars")
    mariadb.create_user("ecs_task", password, "ALL", "settings_db_vars.*")
    env = app_env("unused")
    del env["DATABASE_URL"]
    env.update({"DB_HOST": mariadb.host, "DB_PORT": str(mariadb.port), "DB_NAME": "settings_db_vars",
                "DB_USER": "ecs_task", "DB_PASSWORD": password})
    server = Gunicorn(env, workers=1).start()
    try:
        assert "schema migrated from revision none to" in server.logs()
        subprocess.run([PYTHON, "-m", "flask", "--app", "bank", "create-staff", "ecs-user", "teller"], cwd=APP_DIR,
                       env={**env, "BANK_STAFF_PASSWORD": "a-long-enough-secret"}, check=True, capture_output=True)
    finally:
        server.stop()
    assert password not in server.logs()
