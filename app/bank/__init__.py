"""The bank's Flask application: `create_app()` builds it from the environment.

Environment: DATABASE_URL, or DB_HOST, DB_PORT (default 3306), DB_NAME, DB_USER and DB_PASSWORD
for MariaDB/MySQL (default: SQLite file in the instance folder), DB_SSL_CA or DB_SSL_MODE for how it
connects to MariaDB/MySQL (bank.db_tls), SECRET_KEY (required
unless BANK_ENV=development), BANK_ENV (production | development), BANK_SQL_ECHO=1 to log SQL,
BANK_BCRYPT_ROUNDS, BANK_COOKIE_SECURE=0 to allow the session cookie over plain HTTP, and the
security settings in app/README.md (BANK_PROXY_HOPS, BANK_APPROVAL_LIMIT, BANK_MAX_BODY_BYTES,
BANK_SESSION_IDLE_MINUTES, BANK_SESSION_HOURS, BANK_HSTS_SECONDS).
"""
import os
from datetime import timedelta

from flask import Flask
from sqlalchemy import URL
from sqlalchemy.pool import QueuePool
from werkzeug.middleware.proxy_fix import ProxyFix

from . import db_tls
from .database import db, explain_tls_failures

_DEVELOPMENT_SECRET = "development only, not secret"


def _number(name, default):
    raw = os.environ.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()):
        raise RuntimeError(f"{name} must be a whole number, got {raw!r}")
    return int(raw)


def _approval_limit():
    from .money import parse_amount

    raw = os.environ.get("BANK_APPROVAL_LIMIT", "10000.00")
    try:
        return parse_amount(raw, "BANK_APPROVAL_LIMIT", allow_zero=True)
    except Exception as error:
        raise RuntimeError(str(error)) from None


def _settings(app):
    env = os.environ.get("BANK_ENV", "production")
    if env not in ("production", "development"):
        raise RuntimeError(f"BANK_ENV must be production or development, got {env!r}")
    development = env == "development"
    database_url = _database_url() or "sqlite:///" + os.path.join(app.instance_path, "bank.sqlite")
    return {
        "BANK_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or (_DEVELOPMENT_SECRET if development else None),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # How MySQL/MariaDB is reached (bank.db_tls): verified TLS with DB_SSL_CA, or DB_SSL_MODE=DISABLED.
        "DB_SSL_CA": os.environ.get("DB_SSL_CA") or None,
        "DB_SSL_MODE": os.environ.get("DB_SSL_MODE") or None,
        "SQLALCHEMY_ECHO": os.environ.get("BANK_SQL_ECHO") == "1",
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "BCRYPT_ROUNDS": _number("BANK_BCRYPT_ROUNDS", 12),
        # Password checks per 15-minute window: one username from one client, one username from
        # anywhere, one client whatever the usernames, and everything together.
        "LOGIN_LOCKOUT_SECONDS": 15 * 60,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_USER_MAX_FAILURES": 50,
        "LOGIN_CLIENT_MAX_FAILURES": 20,
        "LOGIN_GLOBAL_MAX_FAILURES": _number("BANK_LOGIN_GLOBAL_LIMIT", 1000),
        # Proxies in front of the app that append to X-Forwarded-For (1 behind the ALB): the client
        # address the login limits and session binding use is the one the outermost proxy saw.
        "PROXY_HOPS": _number("BANK_PROXY_HOPS", 0),
        "MAX_CONTENT_LENGTH": _number("BANK_MAX_BODY_BYTES", 64 * 1024),
        "APPROVAL_LIMIT_CENTS": _approval_limit(),
        "HSTS_SECONDS": _number("BANK_HSTS_SECONDS", 365 * 24 * 3600),
        "SESSION_COOKIE_NAME": "bank_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("BANK_COOKIE_SECURE", "0" if development else "1") == "1",
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=_number("BANK_SESSION_IDLE_MINUTES", 30)),
        "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=_number("BANK_SESSION_HOURS", 10)),
        "REMEMBER_COOKIE_DURATION": timedelta(0),
    }


_DB_PARTS = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")


def _database_url():
    """DATABASE_URL, or the URL the DB_* variables describe (as ECS passes them: the password alone
    comes from Secrets Manager or Parameter Store). None when neither is set."""
    url = os.environ.get("DATABASE_URL")
    given = [name for name in _DB_PARTS if os.environ.get(name)]
    if url and given:
        raise RuntimeError(f"set DATABASE_URL or the DB_* variables, not both (DATABASE_URL and {', '.join(given)} are set)")
    if url or not given:
        return url
    missing = [name for name in _DB_PARTS if name != "DB_PORT" and not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} must be set too when {', '.join(given)} {'is' if len(given) == 1 else 'are'}")
    port = os.environ.get("DB_PORT") or "3306"
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise RuntimeError(f"DB_PORT must be a port number from 1 to 65535, got {port!r}")
    # URL.create quotes every part, so a password with @ : / % or spaces reaches the server intact.
    return URL.create("mysql+pymysql", username=os.environ["DB_USER"], password=os.environ["DB_PASSWORD"],
                      host=os.environ["DB_HOST"], port=int(port), database=os.environ["DB_NAME"],
                      query={"charset": "utf8mb4"}).render_as_string(hide_password=False)


def _engine_options(database_url, tls, development):
    # Statement parameters (password hashes, customers' SSN ids) stay out of logs and error messages.
    options = {"hide_parameters": True, **_pool_options(database_url)}
    if database_url.startswith(("mysql", "mariadb")):
        from sqlalchemy.engine import make_url

        options["connect_args"] = tls.connect_args(development, make_url(database_url).query)
    else:
        tls.refuse_for_sqlite()
    return options


def _pool_options(database_url):
    if database_url.startswith(("mysql", "mariadb")):
        # RDS and MariaDB close idle connections; ping before use and recycle before they do.
        return {"pool_pre_ping": True, "pool_recycle": 280, "pool_size": 5, "max_overflow": 5}
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        # A few connections kept open halve the cost of a short request (SQLAlchemy 2.0 pools a SQLite
        # file by default too; said here so the sizes match MariaDB's). The pool hands a connection to
        # one thread at a time, so sqlite3's same-thread check is moot.
        return {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 5,
                "connect_args": {"check_same_thread": False, "timeout": 30}}
    return {}


def create_app(overrides=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(_settings(app))
    if overrides:
        app.config.update(overrides)
    tls = db_tls.Settings(app.config.get("DB_SSL_MODE"), app.config.get("DB_SSL_CA"))
    if "SQLALCHEMY_ENGINE_OPTIONS" not in app.config:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config["SQLALCHEMY_DATABASE_URI"], tls,
                                                                  app.config["BANK_ENV"] == "development")
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("SECRET_KEY must be set (or BANK_ENV=development on a laptop)")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)

    app.json.sort_keys = False  # keep fields in the documented order
    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"])
    db.init_app(app)
    explain_tls_failures(app, tls)

    from . import access, api, cli, pages, web

    app.url_map.converters["id"] = pages.IdConverter

    app.before_request(pages.refuse_large_bodies)
    access.init_app(app)
    # The API checks CSRF itself, only for cookie-authenticated requests (access.api_staff).
    access.csrf.exempt(api.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(web.blueprint)
    pages.init_app(app)
    cli.init_app(app)
    return app
