"""Real servers for the tests and the benchmark: a throwaway MariaDB in a temp dir and gunicorn
serving the app, each on a free loopback port, stopped and removed afterwards."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
# The interpreter running the tests (the virtualenv built from the locks, here and in Jenkins)
# runs the app too, so the servers see the same packages as the tests.
PYTHON = sys.executable


class MissingTool(RuntimeError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _find(name, package):
    path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if path is None:
        raise MissingTool(f"{name} not found: install the Debian package {package} (apt-get install {package})")
    return path


class CertificateAuthority:
    """A throwaway certificate authority made with openssl in `directory`: its certificate (`ca`) and
    the server certificates it signs, as RDS's CAs sign a database's."""

    def __init__(self, directory, name="bank test CA"):
        self.openssl = shutil.which("openssl") or _find("openssl", "openssl")
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        slug = "".join(c if c.isalnum() else "-" for c in name)
        self.key, self.ca = self.dir / f"{slug}.key", self.dir / f"{slug}.pem"
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2", "-subj", f"/O=bank tests/CN={name}",
                      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                      "-keyout", self.key, "-out", self.ca)

    def _openssl(self, *args):
        result = subprocess.run([self.openssl, *map(str, args)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {result.stderr[-2000:]}")

    def issue(self, *names):
        """A server certificate (and its key) for the DNS names or IP addresses `names`; returns (cert, key)."""
        stem = self.dir / ("server-" + "-".join(n.replace(":", "_") for n in names))
        alt = ",".join(("IP:" if n.replace(".", "").isdigit() or ":" in n else "DNS:") + n for n in names)
        extensions = stem.with_suffix(".ext")
        extensions.write_text(f"subjectAltName={alt}\nbasicConstraints=critical,CA:FALSE\n"
                              "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        key, request, cert = stem.with_suffix(".key"), stem.with_suffix(".csr"), stem.with_suffix(".pem")
        self._openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={names[0]}", "-keyout", key, "-out", request)
        self._openssl("x509", "-req", "-sha256", "-days", "2", "-in", request, "-CA", self.ca, "-CAkey", self.key,
                      "-CAcreateserial", "-extfile", extensions, "-out", cert)
        return cert, key


class _Server:
    """What the tests use of a MariaDB server: databases, users, an admin connection, URLs."""

    PASSWORD = "test-only-password"  # the app user's, on a throwaway server or database
    host = "127.0.0.1"
    client_host = "127.0.0.1"  # where the app's connections come from, as MariaDB sees it

    def admin(self, **options):
        raise NotImplementedError

    def create_user(self, name, password, grants="ALL", on="*.*"):
        account = f"'{name}'@'{self.client_host}'"
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE OR REPLACE USER {account.replace('%', '%%')} IDENTIFIED BY %s", (password,))
            cursor.execute(f"GRANT {grants} ON {on} TO {account}")

    def create_database(self, name):
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return self.url(name)

    def url(self, name, user="bank", password=None):
        from sqlalchemy import URL

        return URL.create("mysql+pymysql", username=user, password=password or self.PASSWORD, host=self.host,
                          port=self.port, database=name, query={"charset": "utf8mb4"}).render_as_string(hide_password=False)


class MariaDB(_Server):
    """mariadbd on 127.0.0.1:<free port> with its data in a temp dir, started and removed by the run."""

    def __init__(self, tls=None):
        """tls: (CA bundle, server certificate, key): the server then speaks TLS with them and refuses
        connections without it (require_secure_transport), as RDS does with its parameter group."""
        self.tls = tls
        self.install_db = _find("mariadb-install-db", "mariadb-server")
        self.mariadbd = _find("mariadbd", "mariadb-server")
        self.dir = Path(tempfile.mkdtemp(prefix="bank-mariadb-"))
        self.port = free_port()
        self.process = None

    def start(self):
        data = self.dir / "data"
        as_root = os.geteuid() == 0
        user = ["--user=mysql"] if as_root else []
        if as_root:
            shutil.chown(self.dir, "mysql", "mysql")
        subprocess.run(
            [self.install_db, "--no-defaults", *user, f"--datadir={data}",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        tls = []
        if self.tls:
            for option, source in zip(("ssl-ca", "ssl-cert", "ssl-key"), self.tls):
                copy = self.dir / f"{option}.pem"
                shutil.copyfile(source, copy)
                if as_root:
                    shutil.chown(copy, "mysql", "mysql")
                tls.append(f"--{option}={copy}")
            tls.append("--require-secure-transport=ON")
        self.log = open(self.dir / "mariadbd.log", "wb")
        self.process = subprocess.Popen(
            [self.mariadbd, "--no-defaults", *user, f"--datadir={data}", "--bind-address=127.0.0.1",
             f"--port={self.port}", f"--socket={self.dir / 'mariadb.sock'}", f"--pid-file={self.dir / 'mariadbd.pid'}",
             "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2",
             "--max-connections=300", "--skip-name-resolve", *tls],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while True:
            try:
                self.admin(connect_timeout=2).close()
                break
            except Exception:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"mariadbd did not start; see {self.dir / 'mariadbd.log'}:\n"
                                       + (self.dir / "mariadbd.log").read_text(errors="replace")[-2000:])
                time.sleep(0.1)
        self.create_user("bank", self.PASSWORD)
        return self

    def admin(self, **options):
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user="root", password="", **options)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ExternalMariaDB(_Server):
    """A server run beside the tests (a MariaDB container next to the test container), named by
    BANK_TEST_MARIADB_URL=mysql://ADMIN:PASSWORD@HOST:PORT: an account that may create databases and
    users and SET GLOBAL. The tests' databases and users are made there and dropped or replaced on the next run."""

    client_host = "%"

    def __init__(self, url):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mariadb") or not parts.hostname or not parts.username:
            raise MissingTool(f"BANK_TEST_MARIADB_URL must look like mysql://ADMIN:PASSWORD@HOST:PORT, got scheme "
                              f"{parts.scheme!r} and host {parts.hostname!r}")
        self.host, self.port = parts.hostname, parts.port or 3306
        self.admin_user, self.admin_password = unquote(parts.username), unquote(parts.password or "")

    def start(self):
        deadline = time.time() + 60
        while True:  # a server started beside the tests may still be initialising
            try:
                self.admin(connect_timeout=2).close()
                break
            except Exception as error:
                if time.time() > deadline:
                    raise RuntimeError(f"BANK_TEST_MARIADB_URL: no answer from {self.host}:{self.port} within a minute: {error}")
                time.sleep(0.5)
        self.create_user("bank", self.PASSWORD)
        return self

    def admin(self, **options):
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=self.admin_user, password=self.admin_password, **options)

    def stop(self):
        pass


def mariadb_for_tests():
    """The MariaDB the tests use: BANK_TEST_MARIADB_URL's when set, else one started in a temp dir."""
    url = os.environ.get("BANK_TEST_MARIADB_URL")
    return ExternalMariaDB(url) if url else MariaDB()


def app_env(database_url, **extra):
    """The environment a gunicorn or flask CLI process of the app runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANK_", "FLASK_"))}
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "BANK_COOKIE_SECURE": "0",
        "BANK_BCRYPT_ROUNDS": "4",
        # The test servers speak plain text on loopback; tests of TLS set DB_SSL_CA instead.
        "DB_SSL_MODE": "DISABLED",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update(extra)
    return env


def flask_cli(env, *args, input_text=None):
    return subprocess.run([PYTHON, "-m", "flask", "--app", "bank", *args], cwd=APP_DIR, env=env,
                          input=input_text, capture_output=True, text=True, check=True)


class Gunicorn:
    """gunicorn -c gunicorn.conf.py wsgi:app on a free loopback port."""

    def __init__(self, env, workers=4, log_path=None):
        self.port = free_port()
        self.env = {**env, "WEB_CONCURRENCY": str(workers), "BANK_BIND": f"127.0.0.1:{self.port}",
                    "GUNICORN_ACCESS_LOG": os.devnull if log_path is None else str(log_path)}
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self, healthy=True):
        """Returns once /health answers 200 (healthy=False: answers at all, even 503)."""
        try:
            import gunicorn  # noqa: F401
        except ImportError:
            raise MissingTool("gunicorn is not importable: install the Debian package gunicorn "
                              "(or pip install -r requirements.txt)") from None
        self.output = tempfile.TemporaryFile()
        self.process = subprocess.Popen([PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=APP_DIR,
                                        env=self.env, stdout=self.output, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        import urllib.error
        import urllib.request

        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except urllib.error.HTTPError:
                if not healthy:
                    return self
            except Exception:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                self.output.seek(0)
                raise RuntimeError("gunicorn did not start:\n" + self.output.read().decode(errors="replace")[-3000:])
            time.sleep(0.1)

    def logs(self):
        self.output.seek(0)
        return self.output.read().decode(errors="replace")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


if __name__ == "__main__":
    sys.exit("servers.py is a library for the tests and the benchmark")
