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


class MariaDB:
    """mariadbd on 127.0.0.1:<free port> with its data in a temp dir. `url(db)` for SQLAlchemy."""

    PASSWORD = "test-only-password"  # a throwaway server that lives for one test run

    def __init__(self):
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
        self.log = open(self.dir / "mariadbd.log", "wb")
        self.process = subprocess.Popen(
            [self.mariadbd, "--no-defaults", *user, f"--datadir={data}", "--bind-address=127.0.0.1",
             f"--port={self.port}", f"--socket={self.dir / 'mariadb.sock'}", f"--pid-file={self.dir / 'mariadbd.pid'}",
             "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2",
             "--max-connections=300", "--skip-name-resolve"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while True:
            try:
                self._root().close()
                break
            except Exception:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"mariadbd did not start; see {self.dir / 'mariadbd.log'}:\n"
                                       + (self.dir / "mariadbd.log").read_text(errors="replace")[-2000:])
                time.sleep(0.1)
        with self._root() as connection, connection.cursor() as cursor:
            cursor.execute("CREATE USER 'bank'@'127.0.0.1' IDENTIFIED BY %s", (self.PASSWORD,))
            cursor.execute("GRANT ALL ON *.* TO 'bank'@'127.0.0.1'")
        return self

    def _root(self):
        import pymysql

        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", connect_timeout=2)

    def create_database(self, name):
        with self._root() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return self.url(name)

    def url(self, name):
        return f"mysql+pymysql://bank:{self.PASSWORD}@127.0.0.1:{self.port}/{name}?charset=utf8mb4"

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


def app_env(database_url, **extra):
    """The environment a gunicorn or flask CLI process of the app runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANK_", "FLASK_"))}
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "BANK_COOKIE_SECURE": "0",
        "BANK_BCRYPT_ROUNDS": "4",
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
