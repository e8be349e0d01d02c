"""Staff users: creating them, checking their passwords (bcrypt), changing and disabling them, and
limiting password checks per user and client, per client, per user and overall. The limits live in
the database so every gunicorn worker enforces them."""
from datetime import timedelta
from functools import lru_cache

import bcrypt
from flask import current_app
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .database import db, run_write
from .errors import Conflict, NotFound, TooManyAttempts, Unauthorized
from .models import ApiToken, LoginLimit, Staff, StaffSession, utcnow
from .validation import password_field, role_field, username_field


@lru_cache(maxsize=8)
def unknown_user_hash(rounds):
    """Checked against when the username is unknown, at the configured cost, so a wrong name costs
    as long as a wrong password."""
    return bcrypt.hashpw(b"no such staff user", bcrypt.gensalt(rounds=rounds))


def hash_password(password):
    rounds = current_app.config["BCRYPT_ROUNDS"]
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def create_staff(username, role, password):
    username = username_field(username)
    role = role_field(role)
    password = password_field(password, username=username)
    password_hash = hash_password(password)

    def insert(session):
        if session.query(Staff).filter_by(username=username).first():
            raise Conflict(f"username: staff user {username!r} already exists")
        staff = Staff(username=username, role=role, password_hash=password_hash, active=True)
        session.add(staff)
        session.flush()
        return staff.staff_id

    try:
        staff_id = run_write(insert)
    except IntegrityError:
        raise Conflict(f"username: staff user {username!r} already exists") from None
    return db.session.get(Staff, staff_id)


def find_staff(username):
    staff = db.session.query(Staff).filter_by(username=username).one_or_none()
    if staff is None:
        raise NotFound(f"username: no staff user {username!r}")
    return staff


def _end_sessions(session, staff_id):
    session.query(StaffSession).filter_by(staff_id=staff_id).delete()


def set_password(username, password):
    """A new password (a reset by an administrator or the person's own change); every session of
    that staff member ends, and the limits on their name start afresh."""
    staff = find_staff(username)
    password_hash = hash_password(password_field(password, username=staff.username))

    def update(session):
        session.query(Staff).filter_by(staff_id=staff.staff_id).update({"password_hash": password_hash})
        _end_sessions(session, staff.staff_id)
        session.query(LoginLimit).filter(LoginLimit.scope.like(f"user:{staff.username}@%")).delete(
            synchronize_session=False)
        session.query(LoginLimit).filter_by(scope=f"user:{staff.username}").delete()

    run_write(update)


def set_active(username, active):
    """Disable (sessions end, API tokens are revoked) or enable a staff member."""
    staff = find_staff(username)

    def update(session):
        session.query(Staff).filter_by(staff_id=staff.staff_id).update({"active": active})
        if not active:
            _end_sessions(session, staff.staff_id)
            session.query(ApiToken).filter_by(staff_id=staff.staff_id, revoked_at=None).update(
                {"revoked_at": utcnow()})

    run_write(update)


def _matches(password, stored):
    try:
        return bcrypt.checkpw((password or "").encode()[:72], stored)
    except ValueError:
        # A hash bcrypt cannot read (a seeded placeholder, a damaged row) matches nothing; spend
        # the same time as a real check so it is not told apart.
        bcrypt.checkpw(b"x", unknown_user_hash(current_app.config["BCRYPT_ROUNDS"]))
        return False


def authenticate(username, password, client):
    """The active staff user with these credentials; raises Unauthorized or TooManyAttempts.
    `client` is the address the request came from (the load balancer's view of it)."""
    username = (username or "").strip().lower()[:40]
    client = (client or "unknown")[:64]
    scopes = _scopes(username, client)
    _reserve(scopes)
    staff = db.session.query(Staff).filter_by(username=username).first()
    if staff is not None:
        good = _matches(password, staff.password_hash.encode())
    else:
        good = _matches(password, unknown_user_hash(current_app.config["BCRYPT_ROUNDS"]))
    if good and staff.active:
        _give_back(scopes, reset=scopes[0][0])
        return db.session.get(Staff, staff.staff_id)
    raise Unauthorized("wrong username or password")


def _scopes(username, client):
    config = current_app.config
    return [
        (f"user:{username}@{client}", config["LOGIN_MAX_FAILURES"]),
        (f"user:{username}", config["LOGIN_USER_MAX_FAILURES"]),
        (f"client:{client}", config["LOGIN_CLIENT_MAX_FAILURES"]),
        ("global", config["LOGIN_GLOBAL_MAX_FAILURES"]),
    ]


def _create_missing(names, now, window):
    """The limit rows, inserted where missing (an insert that ignores an existing row). Locking a
    row that is not there yet would take a gap lock on MariaDB, and two logins inserting into the
    same gap deadlock; rows that exist are locked by key alone."""
    rows = [{"scope": name, "failures": 0, "window_ends": now + window} for name in names]
    if db.engine.dialect.name == "sqlite":
        statement = sqlite_insert(LoginLimit).values(rows).on_conflict_do_nothing()
    else:
        statement = mysql_insert(LoginLimit).values(rows).prefix_with("IGNORE")
    run_write(lambda session: session.execute(statement))


def _locked_rows(session, names, now, window):
    """The limit rows, locked in one order (no deadlock between two logins), windows renewed."""
    rows = (session.query(LoginLimit).filter(LoginLimit.scope.in_(sorted(names)))
            .order_by(LoginLimit.scope).populate_existing().with_for_update().all())
    for row in rows:
        if row.window_ends <= now:
            row.failures, row.window_ends = 0, now + window
    return {row.scope: row for row in rows}


def _reserve(scopes):
    """Count this password check against every scope before it runs, or refuse it."""
    window = timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
    limits = dict(scopes)

    _create_missing(limits, utcnow(), window)

    def reserve(session):
        now = utcnow()
        rows = _locked_rows(session, limits, now, window)
        blocked = [row for name, row in rows.items() if row.failures >= limits[name]]
        if blocked:
            return max(int((row.window_ends - now).total_seconds()) + 1 for row in blocked)
        for row in rows.values():
            row.failures += 1
        return None

    wait = run_write(reserve)
    if wait is not None:
        raise TooManyAttempts(f"too many failed logins; try again in {wait // 60 + 1} minutes", wait)


def _give_back(scopes, reset):
    """A success: its check no longer counts, and the user's count from this client starts again."""

    def give_back(session):
        rows = session.query(LoginLimit).filter(LoginLimit.scope.in_([name for name, _ in scopes])).with_for_update()
        for row in rows:
            row.failures = 0 if row.scope == reset else max(row.failures - 1, 0)

    run_write(give_back)
