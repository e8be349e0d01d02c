"""What ships: the image definition and the gunicorn settings (the locks: test_dependencies.py)."""
import re
import runpy
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent


def dockerfile():
    return (APP / "Dockerfile").read_text()


def stages():
    """{stage name: its instructions} of the Dockerfile, in order."""
    found = {}
    for block in re.split(r"^(?=FROM )", dockerfile(), flags=re.M)[1:]:
        name = re.match(r"FROM \S+(?: AS (\S+))?", block).group(1)
        found[name] = block
    return found


def test_the_image_runs_gunicorn_as_a_non_root_user_with_a_health_check():
    runtime = stages()["runtime"]
    assert list(stages())[-1] == "runtime", "a plain docker build (dockerPush) must give the runtime image"
    assert re.search(r"^FROM python:3\.\d+-slim", dockerfile(), re.M)
    users = re.findall(r"^USER (\S+)", runtime, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^HEALTHCHECK .*CMD \["python", "healthcheck.py"\]', runtime, re.M)
    assert re.search(r'^CMD \["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"\]', runtime, re.M)
    assert "EXPOSE 8000" in runtime


def test_the_image_installs_only_hashed_pins():
    installs = re.findall(r"pip install (.*)", dockerfile())
    assert installs == ["--no-compile --require-hashes -r requirements.txt",
                        "--no-compile --require-hashes -r requirements-test.txt"]


def test_the_test_target_adds_mariadb_chromium_and_the_suite_and_runs_it_as_non_root():
    test = stages()["test"]
    assert re.search(r"apt-get install .*\bmariadb-server\b.*\bchromium\b", test)
    assert "COPY --chown=root:root tests ./tests" in test
    assert re.findall(r"^USER (\S+)", test, re.M) == ["bank"]
    assert re.search(r'^CMD \["python", "-m", "pytest"', test, re.M)


@pytest.mark.parametrize("bind, url", [
    (None, "http://127.0.0.1:8000/health"),
    ("0.0.0.0:8123", "http://127.0.0.1:8123/health"),
    ("127.0.0.5:9000", "http://127.0.0.5:9000/health"),
    ("[::]:8000", "http://127.0.0.1:8000/health"),
    ("[::1]:8001", "http://[::1]:8001/health"),
])
def test_the_health_check_asks_where_gunicorn_binds(monkeypatch, bind, url):
    if bind is None:
        monkeypatch.delenv("BANK_BIND", raising=False)
    else:
        monkeypatch.setenv("BANK_BIND", bind)
    assert runpy.run_path(str(APP / "healthcheck.py"))["health_url"]() == url


def test_the_image_bakes_in_no_secret_or_database_url():
    for line in dockerfile().splitlines():
        if line.startswith(("ENV", "ARG")) or line.startswith(" "):
            assert not re.search(r"SECRET|PASSWORD|DATABASE_URL|TOKEN", line), line


def test_gunicorn_binds_8000_with_workers_from_web_concurrency(monkeypatch):
    for name in ("BANK_BIND", "WEB_CONCURRENCY", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    settings = runpy.run_path(str(APP / "gunicorn.conf.py"))
    assert settings["bind"] == "0.0.0.0:8000"
    assert settings["accesslog"] == "-"
    assert settings["workers"] >= 2
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(APP / "gunicorn.conf.py"))["workers"] == 3


def test_wsgi_exposes_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bank.sqlite'}")
    module = runpy.run_path(str(APP / "wsgi.py"))
    assert module["app"].name == "bank"
    assert module["app"].config["SQLALCHEMY_DATABASE_URI"].endswith("bank.sqlite")


def test_a_missing_server_binary_fails_naming_the_package_to_install():
    from servers import MissingTool, _find

    with pytest.raises(MissingTool, match=r"no-such-mariadbd not found: install the Debian package mariadb-server"):
        _find("no-such-mariadbd", "mariadb-server")


def test_the_suite_can_use_a_mariadb_run_beside_it(mariadb):
    """What the test target does with BANK_TEST_MARIADB_URL: users for any client host, fresh databases."""
    from urllib.parse import quote

    from sqlalchemy import create_engine, text

    from servers import ExternalMariaDB

    # The suite's own server's administrator: root without a password when the run started it, the
    # account BANK_TEST_MARIADB_URL names when the server runs beside the container (the pipeline's).
    user, password = getattr(mariadb, "admin_user", "root"), getattr(mariadb, "admin_password", "")
    beside = ExternalMariaDB(f"mysql://{quote(user, safe='')}:{quote(password, safe='')}@{mariadb.host}:{mariadb.port}").start()
    engine = create_engine(beside.create_database("beside_check"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT DATABASE()")).scalar() == "beside_check"
        hosts = connection.execute(text("SELECT Host FROM mysql.user WHERE User = 'bank'")).scalars().all()
        assert "%" in hosts  # the suite's connections come from another container's address
    engine.dispose()


def test_a_malformed_beside_url_is_refused_naming_the_variable():
    from servers import ExternalMariaDB, MissingTool

    with pytest.raises(MissingTool, match="BANK_TEST_MARIADB_URL must look like mysql://ADMIN:PASSWORD@HOST:PORT"):
        ExternalMariaDB("postgres://x@db:5432")
