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
# Client address from the ALB's X-Forwarded-For only when the proxy is the load balancer.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


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
