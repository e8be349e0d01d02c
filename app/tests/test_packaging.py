"""What ships: the image definition and the gunicorn settings (the locks: test_dependencies.py)."""
import re
import runpy
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent


def dockerfile():
    return (APP / "Dockerfile").read_text()


def test_the_image_runs_gunicorn_as_a_non_root_user_with_a_health_check():
    text = dockerfile()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, re.M)
    assert "pip install" in text and "-r requirements.txt" in text
    assert re.search(r'^CMD \["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"\]', text, re.M)
    assert "EXPOSE 8000" in text


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
