"""The database handle and how the bank writes: one short transaction per operation that takes its
write locks up front (BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on MariaDB/MySQL)."""
import logging
import sqlite3
import time
from contextlib import contextmanager

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from . import db_tls

db = SQLAlchemy()
logger = logging.getLogger(__name__)

# MariaDB error codes after which the whole operation can safely run again: it was rolled back.
_RETRYABLE_MYSQL_ERRORS = {1205, 1213}  # lock wait timeout, deadlock
WRITE_LOCK_OPTION = "bank_write_lock"


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # pysqlite's own transaction handling would issue BEGIN lazily and never IMMEDIATE; take it over.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed deposit survives a power cut
    # Readers no longer wait for the writer. Persistent in the file, so this is cheap after the first
    # connection; it has to run here, outside any transaction.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection):
    if connection.dialect.name != "sqlite":
        return
    # A writer takes SQLite's single write lock at BEGIN, so two writers never both read a balance
    # and then race to upgrade their locks.
    immediate = connection.get_execution_options().get(WRITE_LOCK_OPTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _retryable(error):
    code = getattr(error.orig, "args", [None])[0]
    return code in _RETRYABLE_MYSQL_ERRORS


@contextmanager
def _one_write():
    session = db.session
    # End whatever read transaction the request opened (loading the staff user): the write lock
    # must be taken when the transaction begins, not upgraded half-way.
    session.commit()
    session.connection(execution_options={WRITE_LOCK_OPTION: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def run_write(operation, attempts=4):
    """Run `operation(session)` in its own write transaction and commit; retried from scratch when
    MariaDB reports a deadlock or lock timeout (the failed attempt was rolled back whole)."""
    for attempt in range(attempts):
        try:
            with _one_write() as session:
                return operation(session)
        except OperationalError as error:
            if attempt + 1 == attempts or not _retryable(error):
                raise
            logger.warning("write retried after MariaDB error %s (attempt %d)", error.orig.args[0], attempt + 1)
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def explain_tls_failures(app, tls):
    """A MySQL/MariaDB connection that fails over TLS (or for want of it) says which setting to check
    (bank.db_tls.explain), wherever it surfaces: migrations, /health, a request."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name not in ("mysql", "mariadb"):
        return

    @event.listens_for(engine, "do_connect")
    def connect(dialect, _record, cargs, cparams):
        try:
            return dialect.dbapi.connect(*cargs, **cparams)
        except dialect.dbapi.OperationalError as error:
            if not db_tls.is_tls_failure(error, tls):
                raise
            raise dialect.dbapi.OperationalError(error.args[0], db_tls.explain(error, cparams.get("host"), tls)) from error


def is_mysql():
    return db.engine.dialect.name in ("mysql", "mariadb")
