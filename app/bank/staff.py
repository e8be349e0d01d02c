"""Staff users: creating them, checking their passwords (bcrypt), and locking a username out after
repeated failures. The lockout lives in the database so every gunicorn worker enforces it."""
from datetime import timedelta

import bcrypt
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .database import db, run_write
from .errors import Conflict, TooManyAttempts, Unauthorized
from .models import LoginThrottle, Staff, utcnow
from .validation import password_field, role_field, username_field

# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
_UNKNOWN_USER_HASH = bcrypt.hashpw(b"no such staff user", bcrypt.gensalt(rounds=12))


def hash_password(password):
    rounds = current_app.config["BCRYPT_ROUNDS"]
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def create_staff(username, role, password):
    username = username_field(username)
    role = role_field(role)
    password = password_field(password)
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


def authenticate(username, password):
    """The active staff user with these credentials; raises Unauthorized or TooManyAttempts."""
    username = (username or "").strip().lower()[:40]
    now = utcnow()
    throttle = db.session.get(LoginThrottle, username)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        wait = int((throttle.locked_until - now).total_seconds()) + 1
        raise TooManyAttempts(
            f"too many failed logins for this username; try again in {wait // 60 + 1} minutes", wait
        )
    staff = db.session.query(Staff).filter_by(username=username).first()
    stored = staff.password_hash.encode() if staff else _UNKNOWN_USER_HASH
    good = bcrypt.checkpw((password or "").encode()[:72], stored)
    if good and staff is not None and staff.active:
        if throttle is not None:
            run_write(lambda session: session.query(LoginThrottle).filter_by(username=username).delete())
            staff = db.session.get(Staff, staff.staff_id)
        return staff
    _record_failure(username)
    raise Unauthorized("wrong username or password")


def _record_failure(username):
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    lockout = timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])

    def count(session):
        throttle = session.get(LoginThrottle, username, with_for_update=True)
        if throttle is None:
            throttle = LoginThrottle(username=username, failures=0)
            session.add(throttle)
        throttle.failures += 1
        if throttle.failures >= limit:
            throttle.locked_until = utcnow() + lockout
            throttle.failures = 0

    try:
        run_write(count)
    except IntegrityError:
        run_write(count)  # another worker inserted the row first; count on it
