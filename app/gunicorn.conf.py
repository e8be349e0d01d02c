"""gunicorn settings for the bank app; every value can be overridden from the environment."""
import multiprocessing
import os

bind = os.environ.get("BANK_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(2 * multiprocessing.cpu_count() + 1, 8))))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# The load balancer's idle timeout is longer than keepalive, so it closes idle connections first.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The scheme (X-Forwarded-Proto) is believed only from these proxies (the load balancer's subnets).
# The client's address is BANK_PROXY_HOPS' business (the app's ProxyFix, which rewrites REMOTE_ADDR
# before the access log line is written, so the log names the client, not the load balancer).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def _without_server_banner():
    """gunicorn writes `Server: gunicorn` on every response and has no setting to leave it out; the
    banner only tells an attacker what to look up. Drop that line from the headers it writes (the
    workers fork from this process, so they inherit the change)."""
    from gunicorn.http import wsgi

    default_headers = wsgi.Response.default_headers
    if getattr(default_headers, "drops_server_banner", False):
        return

    def headers_without_server(self):
        return [line for line in default_headers(self) if not line.lower().startswith("server:")]

    headers_without_server.drops_server_banner = True
    wsgi.Response.default_headers = headers_without_server


_without_server_banner()


def on_starting(server):
    """Before any worker exists: bring the schema to this release's head under the database's
    migration lock (bank.migrate), so that of a release's tasks one migrates and the others find it
    done, and none serves an old schema. A failure stops gunicorn with a non-zero exit."""
    from bank import create_app
    from bank.database import db
    from bank.migrate import upgrade_as_the_app_starts

    app = create_app()
    with app.app_context():
        upgrade_as_the_app_starts(server.log.info)
        # Workers are forked from this process: they must not inherit its connections.
        db.engine.dispose()
