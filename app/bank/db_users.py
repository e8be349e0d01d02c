"""The db-users step of a writer's ECS task (`python -m bank.db_users`, before the migrations and the
app): as the database's master user, make sure the app's and the migrator's MySQL users exist,
require TLS, have the password Secrets Manager holds now and their privileges: the app SELECT,
INSERT, UPDATE and DELETE on the app's database, the migrator every privilege on it and nothing else.
A changed password is set with RETAIN CURRENT PASSWORD (MySQL), so the tasks still running with the
old one keep working until they are replaced. A read-only database (a replica) is left alone.

It connects as the app does (bank.db_tls: DB_SSL_CA, the server's certificate and name verified), so
the master password never crosses an unverified connection. Environment: DB_HOST, DB_PORT (3306),
DB_NAME, DB_SSL_CA (required), MASTER_USERNAME, MASTER_PASSWORD, APP_DB_USER, APP_DB_PASSWORD,
MIGRATOR_DB_USER, MIGRATOR_DB_PASSWORD. Passwords come from the environment only and are sent as
escaped literals, never in an argument or a log line."""
import os
import re
import sys

import pymysql
from pymysql.constants import ER

from . import db_tls

APP_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
MIGRATOR_PRIVILEGES = "ALL PRIVILEGES"
REQUIRED = ("DB_HOST", "DB_NAME", "MASTER_USERNAME", "MASTER_PASSWORD", "APP_DB_USER", "APP_DB_PASSWORD",
            "MIGRATOR_DB_USER", "MIGRATOR_DB_PASSWORD")


class Refused(RuntimeError):
    """A setting is wrong or the server refused a step; the message says which, without a password."""


def _settings(environ):
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        raise Refused(f"{', '.join(missing)} must be set (the writer task's db-users container passes them)")
    port = environ.get("DB_PORT") or "3306"
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise Refused(f"DB_PORT must be a port number from 1 to 65535, got {port!r}")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", environ["DB_NAME"]):
        raise Refused(f"DB_NAME must be a MySQL identifier (a letter, then letters, digits, underscores), got {environ['DB_NAME']!r}")
    for name in ("APP_DB_USER", "MIGRATOR_DB_USER"):
        if len(environ[name]) > 32:
            raise Refused(f"{name} must be at most 32 characters (MySQL's limit), got {len(environ[name])}")
    if environ["APP_DB_USER"] == environ["MIGRATOR_DB_USER"]:
        raise Refused("APP_DB_USER and MIGRATOR_DB_USER must differ: the app must not hold the migrator's privileges")
    tls = db_tls.Settings.from_environ(environ)
    if tls.ca is None:
        raise Refused("DB_SSL_CA must be set: the users made here log in over TLS only, and the master user's "
                      f"password crosses only a verified connection (the image has RDS's CA bundle at {db_tls.IMAGE_CA_BUNDLE})")
    try:
        connect_args = tls.connect_args(development=False)
    except RuntimeError as error:
        raise Refused(str(error)) from None
    return environ["DB_HOST"], int(port), tls, connect_args


class Server:
    def __init__(self, host, port, tls, connect_args):
        self.host, self.port, self.tls, self.connect_args = host, port, tls, connect_args

    def connect(self, user, password):
        try:
            return pymysql.connect(host=self.host, port=self.port, user=user, password=password, autocommit=True,
                                   charset="utf8mb4", connect_timeout=20, **self.connect_args)
        except pymysql.err.OperationalError as error:
            if db_tls.is_tls_failure(error, self.tls):
                raise Refused(f"connecting to {self.host}:{self.port}: {db_tls.explain(error, self.host, self.tls)}") from None
            raise

    def logs_in(self, user, password):
        """Whether `password` is (one of) `user`'s passwords now (over the same verified TLS)."""
        try:
            self.connect(user, password).close()
            return True
        except pymysql.err.OperationalError as error:
            if error.args[0] == ER.ACCESS_DENIED_ERROR:
                return False
            raise


def _run(cursor, what, statement, args):
    try:
        cursor.execute(statement, args)
    except pymysql.err.MySQLError as error:
        # The statement holds a password: name the step, quote only the server's answer.
        raise Refused(f"{what} was refused: {error.args[1] if len(error.args) > 1 else error}") from None


def ensure(server, cursor, user, password, privileges, database, out):
    """`user`@'%' exists, requires TLS, logs in with `password` (the previous one kept where MySQL can)
    and holds `privileges` on `database`."""
    _run(cursor, f"looking {user} up", "SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = '%%'", (user,))
    if cursor.fetchone()[0] == 0:
        _run(cursor, f"creating {user}", "CREATE USER %s@'%%' IDENTIFIED BY %s REQUIRE SSL", (user, password))
        out(f"db-users: made {user} (TLS required)")
    else:
        # A user made before TLS was required keeps no plain-text door.
        _run(cursor, f"requiring TLS of {user}", "ALTER USER %s@'%%' REQUIRE SSL", (user,))
    if server.logs_in(user, password):
        out(f"db-users: {user}'s password is current")
    else:
        cursor.execute("SELECT VERSION()")
        mariadb = "MariaDB" in cursor.fetchone()[0]
        # MySQL keeps the old password valid beside the new one; MariaDB has no second password.
        retain = "" if mariadb else " RETAIN CURRENT PASSWORD"
        _run(cursor, f"setting {user}'s new password", f"ALTER USER %s@'%%' IDENTIFIED BY %s{retain}", (user, password))
        out(f"db-users: {user} has the new password" + ("" if mariadb else "; the previous one stays valid for running tasks"))
    _run(cursor, f"granting {privileges} on {database} to {user}", f"GRANT {privileges} ON `{database}`.* TO %s@'%%'", (user,))


def main(environ=os.environ, out=print):
    """Returns the exit code: 0 when both users are as wanted (or the database is a replica)."""
    try:
        server = Server(*_settings(environ))
        with server.connect(environ["MASTER_USERNAME"], environ["MASTER_PASSWORD"]) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT @@global.read_only")
            if cursor.fetchone()[0]:
                out(f"db-users: {server.host} is read-only (a replica): its users come from the writer")
                return 0
            ensure(server, cursor, environ["APP_DB_USER"], environ["APP_DB_PASSWORD"], APP_PRIVILEGES, environ["DB_NAME"], out)
            ensure(server, cursor, environ["MIGRATOR_DB_USER"], environ["MIGRATOR_DB_PASSWORD"], MIGRATOR_PRIVILEGES,
                   environ["DB_NAME"], out)
        return 0
    except Refused as error:
        print(f"db-users: {error}", file=sys.stderr)
        return 1
    except pymysql.err.MySQLError as error:
        print(f"db-users: {error.args[1] if len(error.args) > 1 else error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
