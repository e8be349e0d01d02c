"""The schema's history (Alembic revisions in bank/migrations/versions) and how it is applied: one
process at a time per database, under MariaDB's GET_LOCK (SQLite: its write lock), so that every
task of a release can run `upgrade()` as it starts and the release migrates exactly once, before any
of them serves. A database made by the release before migrations (tables, no alembic_version) is
adopted by stamping the revision that describes it."""
import functools
import logging
import os
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from .database import WRITE_LOCK_OPTION, db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
RELEASE_SCHEMA_REVISION = "0001"  # the schema create_all made before migrations existed
DEFAULT_LOCK_TIMEOUT = 600
logger = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    pass


def _config(connection=None):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head():
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(connection):
    return MigrationContext.configure(connection).get_current_revision()


def _lock_timeout():
    raw = os.environ.get("BANK_MIGRATION_LOCK_TIMEOUT", str(DEFAULT_LOCK_TIMEOUT))
    if not raw.isdigit() or int(raw) < 1:
        raise MigrationError(f"BANK_MIGRATION_LOCK_TIMEOUT must be a whole number of seconds >= 1, got {raw!r}")
    return int(raw)


@contextmanager
def _locked(timeout):
    """A connection that alone may change the schema until the block ends."""
    engine = db.engine
    if engine.dialect.name in ("mysql", "mariadb"):
        with engine.connect() as connection:
            # A named lock is server-wide and session-scoped: name it after the database, and it is
            # released when this connection closes even if the process dies.
            name = "bank-migrations:" + connection.execute(text("SELECT DATABASE()")).scalar()
            got = connection.execute(text("SELECT GET_LOCK(:name, :timeout)"), {"name": name[:64], "timeout": timeout}).scalar()
            connection.commit()
            if got != 1:
                raise MigrationError(f"another process held the migration lock {name!r} for {timeout} s "
                                     "(BANK_MIGRATION_LOCK_TIMEOUT); is a migration stuck?")
            try:
                with connection.begin():
                    yield connection
            finally:
                connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name[:64]})
                connection.commit()
    else:
        # SQLite: BEGIN IMMEDIATE takes the file's write lock for the whole migration; DDL is
        # transactional there, so a failed migration leaves nothing behind.
        with engine.connect().execution_options(**{WRITE_LOCK_OPTION: True}) as connection, connection.begin():
            yield connection


def _is_release_schema(connection):
    tables = set(inspect(connection).get_table_names())
    return "alembic_version" not in tables and "staff" in tables


def upgrade(revision="head"):
    """Brings the app's database to `revision` under the migration lock; returns (before, after).
    Needs an app context."""
    with _locked(_lock_timeout()) as connection:
        config = _config(connection)
        before = current(connection)
        if before is None and _is_release_schema(connection):
            logger.info("adopting the release schema made before migrations as revision %s", RELEASE_SCHEMA_REVISION)
            command.stamp(config, RELEASE_SCHEMA_REVISION)
            before = RELEASE_SCHEMA_REVISION
        command.upgrade(config, revision)
        return before, current(connection)


def downgrade(revision):
    """Takes the app's database back to `revision` (e.g. "-1") under the migration lock; returns (before, after)."""
    with _locked(_lock_timeout()) as connection:
        config = _config(connection)
        before = current(connection)
        command.downgrade(config, revision)
        return before, current(connection)


def require_current():
    """Raises MigrationError unless the database is at the newest revision this code knows."""
    with db.engine.connect() as connection:
        at = current(connection)
    if at != head():
        raise MigrationError(f"the database schema is at {at or 'no revision'}, this code needs {head()}: "
                             "run `flask --app bank migrate` (the image's command does it as it starts)")


@functools.cache
def _older_than_head():
    scripts = ScriptDirectory.from_config(_config())
    return frozenset(r.revision for r in scripts.iterate_revisions(scripts.get_current_head(), "base")) - {head()}


def schema_behind(session):
    """None when the database's schema is at this code's head or newer (a later release migrated it
    first: its migrations keep the old code working); otherwise why this code cannot serve it."""
    try:
        at = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        session.rollback()
        at = None
    if at is not None and at not in _older_than_head():
        return None
    return f"the database schema is at revision {at or 'none'}, this release needs {head()}"


def differences_from_models(connection):
    """What the models declare that the migrated schema lacks (or the reverse); empty when they agree."""
    from . import models  # noqa: F401

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def new_revision(message, autogenerate=True):
    """Writes the next revision (0002, 0003, ...) under bank/migrations/versions, autogenerated against
    the app's database (which must be at head). Returns its path."""
    rev_id = f"{int(head()) + 1:04d}"
    slug = "_".join(message.lower().split())[:40]
    with db.engine.connect() as connection:
        script = command.revision(_config(connection), message=message, autogenerate=autogenerate, rev_id=rev_id)
    # Name the file after its number, so the directory lists the history in order.
    path = Path(script.path)
    named = path.with_name(f"{rev_id}_{''.join(c for c in slug if c.isalnum() or c == '_')}.py")
    path.rename(named)
    return str(named)


def describe(before, after):
    if before == after:
        return f"schema at revision {after or 'none'}: nothing to do"
    return f"schema migrated from revision {before or 'none'} to {after or 'none'}"


def _read_only():
    if db.engine.dialect.name not in ("mysql", "mariadb"):
        return False
    with db.engine.connect() as connection:
        return bool(connection.execute(text("SELECT @@read_only")).scalar())


def upgrade_as_the_app_starts(log):
    """What the image's command does before serving: upgrade to head under the lock, unless
    BANK_MIGRATE_ON_START=0 or the database is a read-only replica (the primary's migration reaches
    it by replication). Raises on failure, so that a task that could not migrate never serves."""
    setting = os.environ.get("BANK_MIGRATE_ON_START", "1")
    if setting not in ("0", "1"):
        raise MigrationError(f"BANK_MIGRATE_ON_START must be 0 or 1, got {setting!r}")
    if setting == "0":
        log("BANK_MIGRATE_ON_START=0: not migrating (a one-off `flask --app bank migrate` does it)")
        return
    if _read_only():
        log("the database is read-only (a replica): not migrating")
        return
    log(describe(*upgrade()))
