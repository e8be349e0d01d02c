"""What a request presents instead of a password: a browser's session (a random token in the
signed cookie, the session itself on the server) or a machine client's API token. Both are looked
up by the SHA-256 of the token, so the database holds nothing that can be replayed, and both end on
the server: logout, a password change or disabling the staff member ends sessions everywhere."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request, session

from .database import db, run_write
from .errors import NotFound, Unauthorized
from .models import ApiToken, Staff, StaffSession, utcnow

TOKEN_PREFIX = "bank_"
# Writing last_seen_at on every request would make every page a write; this often is enough for an
# idle timeout measured in minutes.
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _client_fingerprint():
    """The client a session is bound to: its address (as the load balancer saw it) and browser."""
    seen = f"{request.remote_addr or ''}\0{request.headers.get('User-Agent', '')}"
    return hashlib.sha256(seen.encode()).hexdigest()


# --- browser sessions ---------------------------------------------------------------------------

def start_session(staff):
    """A new server-side session for this staff member; its token goes into the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()

    def insert(session):
        session.add(StaffSession(session_hash=_digest(token), staff_id=staff.staff_id, created_at=now,
                                 last_seen_at=now, client_hash=_client_fingerprint()))

    run_write(insert)
    staff.session_token = token
    return token


def check_session():
    """Before anything else reads the session: a cookie presented by another client ends that
    session on the server, for its owner too (Flask-Login's strong protection would only ignore it
    for this request)."""
    token = session.get("_user_id")
    if token is not None:
        session_staff(token)


def session_staff(token):
    """The staff member whose live session this token is, or None (unknown, ended, idle too long,
    past its absolute lifetime, presented by another client, or the staff member disabled)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    cached = g.get("session_staff")
    if cached is not None and cached[0] == token:
        return cached[1]
    staff = _session_staff(token)
    g.session_staff = (token, staff)
    return staff


def _session_staff(token):
    config = current_app.config
    row = db.session.get(StaffSession, _digest(token))
    if row is None:
        return None
    now = utcnow()
    expired = (now - row.created_at >= config["SESSION_ABSOLUTE_LIFETIME"]
               or now - row.last_seen_at >= config["SESSION_IDLE_TIMEOUT"])
    if expired or row.client_hash != _client_fingerprint():
        _delete_session(row.session_hash)
        return None
    staff = db.session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    if now - row.last_seen_at >= min(_TOUCH_EVERY, config["SESSION_IDLE_TIMEOUT"] / 4):
        session_hash = row.session_hash
        run_write(lambda session: session.query(StaffSession).filter_by(session_hash=session_hash)
                  .update({"last_seen_at": now}))
        staff = db.session.get(Staff, row.staff_id)
    staff.session_token = token
    return staff


def _delete_session(session_hash):
    run_write(lambda session: session.query(StaffSession).filter_by(session_hash=session_hash).delete())


def end_session(token):
    if token:
        _delete_session(_digest(token))
        g.pop("session_staff", None)


def end_other_sessions(staff, keep_token):
    keep = _digest(keep_token)
    run_write(lambda session: session.query(StaffSession)
              .filter(StaffSession.staff_id == staff.staff_id, StaffSession.session_hash != keep).delete())


# --- API tokens ----------------------------------------------------------------------------------

def issue_token(staff, name):
    """A new API token for this staff member: (ApiToken row, the token). The token is shown once."""
    name = " ".join((name or "").split())[:100] or "unnamed"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def insert(session):
        row = ApiToken(staff_id=staff.staff_id, name=name, token_hash=_digest(token))
        session.add(row)
        session.flush()
        return row.token_id

    return db.session.get(ApiToken, run_write(insert)), token


def revoke_token(token_id):
    def revoke(session):
        row = session.get(ApiToken, token_id, with_for_update=True)
        if row is None:
            raise NotFound(f"token: no API token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()

    run_write(revoke)


def token_staff(token):
    """The active staff member this API token belongs to; raises Unauthorized otherwise."""
    refused = Unauthorized("this API token is not valid (unknown, revoked, or its staff user is disabled)")
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise refused
    row = db.session.query(ApiToken).filter_by(token_hash=_digest(token)).one_or_none()
    if row is None or row.revoked_at is not None:
        raise refused
    staff = db.session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise refused
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
        token_id = row.token_id
        run_write(lambda session: session.query(ApiToken).filter_by(token_id=token_id).update({"last_used_at": now}))
        staff = db.session.get(Staff, staff.staff_id)
    return staff
