"""The app reaches MySQL/MariaDB over TLS that verifies the server (DB_SSL_CA), against a MariaDB that
refuses connections without TLS (require_secure_transport, as the RDS parameter group sets) and whose
certificate, made by a CA of the test's own, names localhost only: the right CA and name work; a
wrong CA, a wrong name, a server without TLS or a client without it fail with a sentence naming the
setting to check; production never connects in plain text unless told to."""
import subprocess

import pytest
import requests
from sqlalchemy import text

from bank import create_app
from bank.database import db
from servers import APP_DIR, PYTHON, CertificateAuthority, Gunicorn, app_env

DATABASE = "bank_tls"
TLS_VARIABLES = ("DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_SSL_CA", "DB_SSL_MODE")


@pytest.fixture(scope="module")
def server(tls_mariadb):
    tls_mariadb.create_database(DATABASE)
    tls_mariadb.create_user("tls_app", "tls-app-password", "ALL", f"{DATABASE}.*")
    return tls_mariadb


@pytest.fixture(scope="module")
def wrong_ca(tmp_path_factory):
    """A CA that signed nothing the server holds, with the same name as the right one."""
    return CertificateAuthority(tmp_path_factory.mktemp("wrong-ca"), "bank test database CA").ca


def task_env(server, host="localhost", **settings):
    """The environment of a task on this server (DB_* as ECS passes them), with TLS `settings`."""
    env = app_env("unused")
    for name in TLS_VARIABLES:
        env.pop(name, None)
    env.update({"DB_HOST": host, "DB_PORT": str(server.port), "DB_NAME": DATABASE, "DB_USER": "tls_app",
                "DB_PASSWORD": "tls-app-password"})
    env.update({name: str(value) for name, value in settings.items()})
    return env


def flask_migrate(env):
    return subprocess.run([PYTHON, "-m", "flask", "--app", "bank", "migrate"], cwd=APP_DIR, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def environment(monkeypatch):
    for name in TLS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("BANK_ENV", raising=False)
    return monkeypatch


def test_with_the_right_ca_and_name_the_app_migrates_and_serves_over_tls(server, database_ca):
    env = task_env(server, DB_SSL_CA=database_ca.ca)
    gunicorn = Gunicorn(env, workers=1).start()
    try:
        assert "schema migrated from revision none to" in gunicorn.logs()
        made = subprocess.run([PYTHON, "-m", "flask", "--app", "bank", "create-staff", "tls-teller", "teller"], cwd=APP_DIR,
                              env={**env, "BANK_STAFF_PASSWORD": "over-tls-only-please"}, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        token = subprocess.run([PYTHON, "-m", "flask", "--app", "bank", "create-token", "tls-teller", "--name", "tls"],
                               cwd=APP_DIR, env=env, capture_output=True, text=True, check=True).stdout.split()[-1]
        assert requests.get(gunicorn.url + "/health", timeout=10).json() == {"status": "ok"}
        answer = requests.get(gunicorn.url + "/api/v1/approvals", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        gunicorn.stop()


def test_the_connection_is_encrypted_with_tls_1_2_or_newer(server, database_ca, environment):
    for name, value in task_env(server, DB_SSL_CA=database_ca.ca).items():
        if name.startswith("DB_"):
            environment.setenv(name, value)
    app = create_app()
    with app.app_context():
        version = db.session.execute(text("SHOW SESSION STATUS LIKE 'Ssl_version'")).one()[1]
        cipher = db.session.execute(text("SHOW SESSION STATUS LIKE 'Ssl_cipher'")).one()[1]
        db.session.remove()
        db.engine.dispose()
    assert version in ("TLSv1.2", "TLSv1.3") and cipher


def test_a_ca_that_did_not_sign_the_servers_certificate_is_refused_naming_db_ssl_ca(server, wrong_ca):
    result = flask_migrate(task_env(server, DB_SSL_CA=wrong_ca))
    assert result.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert f"must be signed by a CA in DB_SSL_CA={wrong_ca}" in result.stderr
    assert "Traceback" not in result.stderr, "one sentence, not a stack"
    assert "tls-app-password" not in result.stdout + result.stderr


def test_a_host_name_the_certificate_does_not_name_is_refused_naming_db_host(server, database_ca):
    result = flask_migrate(task_env(server, host="127.0.0.1", DB_SSL_CA=database_ca.ca))
    assert result.returncode == 1
    assert "Hostname mismatch" in result.stderr or "IP address mismatch" in result.stderr, result.stderr
    assert "name the host connected to ('127.0.0.1', DB_HOST)" in result.stderr


def test_without_tls_the_server_refuses_the_app(server, database_ca):
    result = flask_migrate(task_env(server, DB_SSL_MODE="DISABLED"))
    assert result.returncode == 1
    # MariaDB under require_secure_transport answers Access denied (MySQL: "insecure transport").
    assert "Access denied for user 'tls_app'" in result.stderr
    assert "DB_SSL_MODE=DISABLED connects without TLS, which a server that requires TLS refuses" in result.stderr
    assert "tls-app-password" not in result.stderr
    # The same user and password, over TLS: it was the missing TLS the server refused.
    assert flask_migrate(task_env(server, DB_SSL_CA=database_ca.ca)).returncode == 0


def test_a_server_without_tls_is_refused_before_any_credential_is_sent(mariadb, database_ca):
    mariadb.create_database("bank_no_tls")
    env = task_env(mariadb, host="127.0.0.1", DB_SSL_CA=database_ca.ca)
    env.update({"DB_NAME": "bank_no_tls", "DB_USER": "bank", "DB_PASSWORD": mariadb.PASSWORD})
    result = flask_migrate(env)
    assert result.returncode == 1
    assert "SSL is required but the server doesn't support it" in result.stderr
    assert f"DB_SSL_CA={database_ca.ca} asks for TLS and 127.0.0.1 offers none; nothing was sent" in result.stderr


def test_health_logs_why_the_database_does_not_answer(server, wrong_ca):
    # A replica's task does not migrate: it starts, and /health (503) and its log say what is wrong.
    gunicorn = Gunicorn(task_env(server, DB_SSL_CA=wrong_ca, BANK_MIGRATE_ON_START="0"), workers=1).start(healthy=False)
    try:
        answer = requests.get(gunicorn.url + "/health", timeout=10)
        assert answer.status_code == 503 and answer.json()["error"] == "the database does not answer"
        assert "DB_SSL_CA" not in answer.text, "anyone may ask /health: the reason goes to the log only"
    finally:
        gunicorn.stop()
    assert "health: the database does not answer" in gunicorn.logs()
    assert f"DB_SSL_CA={wrong_ca}" in gunicorn.logs()


def test_production_without_a_tls_setting_refuses_to_start(environment):
    for name, value in {"DB_HOST": "db.internal", "DB_NAME": "bank", "DB_USER": "app", "DB_PASSWORD": "pw"}.items():
        environment.setenv(name, value)
    with pytest.raises(RuntimeError, match=r"^DB_SSL_CA is not set: in production the app connects to MySQL/MariaDB "
                                           r"only over TLS that verifies the server; .*DB_SSL_MODE=DISABLED"):
        create_app()
    environment.setenv("BANK_ENV", "development")
    assert create_app().config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"ssl_disabled": True}


def test_the_ca_bundle_is_checked_as_the_app_starts(environment, tmp_path, database_ca):
    for name, value in {"DB_HOST": "db.internal", "DB_NAME": "bank", "DB_USER": "app", "DB_PASSWORD": "pw"}.items():
        environment.setenv(name, value)
    server_only, _ = database_ca.issue("db.internal")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    cases = {
        str(tmp_path / "missing.pem"): "cannot be read: No such file or directory",
        str(tmp_path): "cannot be read",
        str(garbage): "is not a PEM bundle of CA certificates",
        str(server_only): "holds no CA certificate",
    }
    for path, problem in cases.items():
        environment.setenv("DB_SSL_CA", path)
        with pytest.raises(RuntimeError) as error:
            create_app()
        assert str(error.value).startswith(f"DB_SSL_CA={path} {problem}"), str(error.value)
    environment.setenv("DB_SSL_CA", str(database_ca.ca))
    context = create_app().config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["ssl"]
    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"
    assert context.minimum_version.name == "TLSv1_2"


@pytest.mark.parametrize("settings, message", [
    ({"DB_SSL_MODE": "REQUIRED"}, "DB_SSL_MODE must be VERIFY_IDENTITY or DISABLED, got 'REQUIRED'"),
    ({"DB_SSL_MODE": "VERIFY_IDENTITY"}, "DB_SSL_MODE=VERIFY_IDENTITY needs DB_SSL_CA"),
    ({"DB_SSL_MODE": "DISABLED", "DB_SSL_CA": "/etc/bank/db-ca.pem"},
     "DB_SSL_MODE=DISABLED contradicts DB_SSL_CA=/etc/bank/db-ca.pem: unset one of them"),
    ({"DATABASE_URL": "mysql+pymysql://app:pw@db/bank?ssl_disabled=1", "DB_SSL_MODE": "DISABLED"},
     "DATABASE_URL carries TLS options (ssl_disabled); set DB_SSL_CA"),
    ({"DATABASE_URL": "sqlite:////tmp/bank.sqlite", "DB_SSL_CA": "/etc/bank/db-ca.pem"},
     "DB_SSL_CA is set but the database is SQLite: set DB_HOST, DB_NAME, DB_USER and DB_PASSWORD"),
])
def test_conflicting_or_unknown_tls_settings_are_refused_naming_them(environment, settings, message):
    if "DATABASE_URL" not in settings:
        for name, value in {"DB_HOST": "db.internal", "DB_NAME": "bank", "DB_USER": "app", "DB_PASSWORD": "pw"}.items():
            environment.setenv(name, value)
    for name, value in settings.items():
        environment.setenv(name, value)
    with pytest.raises(RuntimeError) as error:
        create_app()
    assert str(error.value).startswith(message), str(error.value)


# --- The image's bundle (python -m bank.db_ca_bundle, app/Dockerfile's runtime stage) ----------

@pytest.fixture
def bundle_server(tmp_path):
    """Files of `tmp_path/served` over HTTP on loopback, as truststore.pki.rds.amazonaws.com serves the bundle."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def install_bundle(url, sha256, destination, pin_file=None):
    env = {"PATH": "/usr/bin:/bin", "DB_CA_BUNDLE_URL": url, **({"DB_CA_BUNDLE_SHA256": sha256} if sha256 else {})}
    return subprocess.run([PYTHON, "-m", "bank.db_ca_bundle", str(destination), *([str(pin_file)] if pin_file else [])],
                          cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=120)


def test_the_image_installs_the_bundle_only_with_its_pinned_sha256(bundle_server, database_ca, wrong_ca, tmp_path):
    import hashlib

    served, base = bundle_server
    bundle = database_ca.ca.read_bytes() + wrong_ca.read_bytes()
    (served / "global-bundle.pem").write_bytes(bundle)
    digest = hashlib.sha256(bundle).hexdigest()
    destination = tmp_path / "etc" / "bank" / "db-ca.pem"

    done = install_bundle(f"{base}/global-bundle.pem", digest.upper(), destination)
    assert done.returncode == 0, done.stderr
    assert destination.read_bytes() == bundle and destination.stat().st_mode & 0o777 == 0o644
    assert f"2 CA certificates from {base}/global-bundle.pem (sha256 {digest})" in done.stdout

    elsewhere = tmp_path / "other.pem"
    changed = install_bundle(f"{base}/global-bundle.pem", "0" * 64, elsewhere)
    assert changed.returncode == 1 and not elsewhere.exists()
    assert f"has SHA-256 {digest}, not DB_CA_BUNDLE_SHA256={'0' * 64}: refusing it" in changed.stderr
    unpinned = install_bundle(f"{base}/global-bundle.pem", None, elsewhere)
    assert unpinned.returncode == 1 and "the build argument DB_CA_BUNDLE_SHA256 must be the SHA-256" in unpinned.stderr
    missing = install_bundle(f"{base}/nothing-here.pem", digest, elsewhere)
    assert missing.returncode == 1 and f"cannot fetch DB_CA_BUNDLE_URL={base}/nothing-here.pem: HTTP Error 404" in missing.stderr


def test_the_hash_committed_in_the_pin_file_decides_unless_the_build_argument_overrides_it(bundle_server, database_ca,
                                                                                           tmp_path):
    import hashlib

    served, base = bundle_server
    bundle = database_ca.ca.read_bytes()
    (served / "global-bundle.pem").write_bytes(bundle)
    digest = hashlib.sha256(bundle).hexdigest()
    url = f"{base}/global-bundle.pem"
    pin = tmp_path / "db-ca-bundle.sha256"

    pin.write_text(f"# checked by someone, as app/README.md says\n\n{digest}\n")
    pinned = install_bundle(url, None, tmp_path / "pinned.pem", pin)
    assert pinned.returncode == 0, pinned.stderr
    assert (tmp_path / "pinned.pem").read_bytes() == bundle

    pin.write_text("# a comment only: nobody has checked the bundle yet\n")
    unpinned = install_bundle(url, None, tmp_path / "unpinned.pem", pin)
    assert unpinned.returncode == 1 and not (tmp_path / "unpinned.pem").exists()
    assert f"{pin} must hold the SHA-256 (64 hex digits, one line) of the bundle someone checked, found no hash" in unpinned.stderr
    overridden = install_bundle(url, digest, tmp_path / "overridden.pem", pin)
    assert overridden.returncode == 0, overridden.stderr

    pin.write_text(f"{'0' * 64}\n")
    stale = install_bundle(url, None, tmp_path / "stale.pem", pin)
    assert stale.returncode == 1 and f"has SHA-256 {digest}, not {'0' * 64}, pinned in {pin}: refusing it" in stale.stderr
    pin.write_text(f"{digest}\n{digest}\n")
    twice = install_bundle(url, None, tmp_path / "twice.pem", pin)
    assert twice.returncode == 1 and "found 2 lines" in twice.stderr
    missing = install_bundle(url, None, tmp_path / "missing.pem", tmp_path / "no-such-pin")
    assert missing.returncode == 1 and "cannot read the pin file" in missing.stderr


def test_the_committed_pin_file_holds_comments_and_at_most_one_sha256():
    import re

    lines = [line.strip() for line in (APP_DIR / "db-ca-bundle.sha256").read_text(encoding="ascii").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) <= 1 and all(re.fullmatch(r"[0-9a-f]{64}", line) for line in lines), lines


def test_the_image_refuses_a_bundle_that_holds_more_than_ca_certificates(bundle_server, database_ca, tmp_path):
    import hashlib

    served, base = bundle_server
    server_cert, server_key = database_ca.issue("db.internal")
    for name, content, problem in (
        ("with-key.pem", database_ca.ca.read_bytes() + server_key.read_bytes(), "and a private key"),
        ("with-server.pem", database_ca.ca.read_bytes() + server_cert.read_bytes(), "holds 2 certificates, 1 of them CAs"),
        ("empty.pem", b"", "is not a PEM bundle of certificates"),
    ):
        (served / name).write_bytes(content)
        result = install_bundle(f"{base}/{name}", hashlib.sha256(content).hexdigest(), tmp_path / name)
        assert result.returncode == 1 and problem in result.stderr, result.stderr
        assert not (tmp_path / name).exists()


def test_the_runtime_image_installs_the_bundle_where_db_ssl_ca_points():
    from bank import db_tls
    from test_packaging import stages

    runtime = stages()["runtime"]
    assert "\nCOPY --chown=root:root db-ca-bundle.sha256 /etc/bank/db-ca-bundle.sha256\n" in runtime
    assert f"RUN python -m bank.db_ca_bundle {db_tls.IMAGE_CA_BUNDLE} /etc/bank/db-ca-bundle.sha256" in runtime
    assert f"ARG DB_CA_BUNDLE_URL={db_tls.RDS_GLOBAL_BUNDLE_URL}" in runtime
    assert "\nARG DB_CA_BUNDLE_SHA256\n" in runtime, "no default: the pin is the committed file's unless a build overrides it"
    assert runtime.index("bank.db_ca_bundle") < runtime.index("USER bank"), "installed by root, read-only for the app"
