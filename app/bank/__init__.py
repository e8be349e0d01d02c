"""The bank's Flask application: `create_app()` builds it from the environment.

Environment: DATABASE_URL, or DB_HOST, DB_PORT (default 3306), DB_NAME, DB_USER and DB_PASSWORD
for MariaDB/MySQL (default: SQLite file in the instance folder), SECRET_KEY (required
unless BANK_ENV=development), BANK_ENV (production | development), BANK_SQL_ECHO=1 to log SQL,
BANK_BCRYPT_ROUNDS, BANK_COOKIE_SECURE=0 to allow the session cookie over plain HTTP.
"""
import os
from datetime import timedelta

from flask import Flask
from sqlalchemy import URL
from sqlalchemy.pool import QueuePool

from .database import db

_DEVELOPMENT_SECRET = "development only, not secret"


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
        "SQLALCHEMY_ECHO": os.environ.get("BANK_SQL_ECHO") == "1",
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "BCRYPT_ROUNDS": int(os.environ.get("BANK_BCRYPT_ROUNDS", "12")),
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCKOUT_SECONDS": 15 * 60,
        "SESSION_COOKIE_NAME": "bank_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("BANK_COOKIE_SECURE", "0" if development else "1") == "1",
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=30),
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


def _engine_options(database_url):
    # Statement parameters (password hashes, customers' SSN ids) stay out of logs and error messages.
    return {"hide_parameters": True, **_pool_options(database_url)}


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
    if "SQLALCHEMY_ENGINE_OPTIONS" not in app.config:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("SECRET_KEY must be set (or BANK_ENV=development on a laptop)")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)

    app.json.sort_keys = False  # keep fields in the documented order
    db.init_app(app)

    from . import access, api, cli, pages, web

    access.init_app(app)
    # The API checks CSRF itself, only for cookie-authenticated requests (access.api_staff).
    access.csrf.exempt(api.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(web.blueprint)
    pages.init_app(app)
    cli.init_app(app)
    return app
